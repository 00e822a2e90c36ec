"""The native reader of stream transports (src/pump.rs: ReadPump) on its own,
with a stand-in transport that records what the pump hands it: every byte in
order, the end of stream after the data (also when data and FIN come in one
event, which readiness must not lose), errors through _fatal_error, and no
lost wake-up when reads come back short (the fd is then not re-armed)."""

import asyncio
import socket

import pytest

import boucle
from boucle import _boucle

BOUND = 10.0  # seconds: a test that waits longer has hung


class Recorder:
    """What SocketTransport offers the pump, recording the calls."""

    def __init__(self, loop):
        self._conn_lost = 0
        self._buffered = False
        self._protocol = self
        self.data = bytearray()
        self.chunks = 0
        self.eof = loop.create_future()
        self.errors = []

    def data_received(self, data):
        assert type(data) is bytes
        self.data += data
        self.chunks += 1

    def _read_eof(self):
        if not self.eof.done():
            self.eof.set_result(len(self.data))

    def _fatal_error(self, exc, message):
        self.errors.append((exc, message))
        if not self.eof.done():
            self.eof.set_exception(exc)

    def _read_ready(self):
        raise AssertionError("the buffered path is not taken for a Protocol")


@pytest.fixture
def loop():
    loop = boucle.new_event_loop()
    yield loop
    loop.close()


def _pump(loop, sock, size=256 * 1024):
    rec = Recorder(loop)
    view = memoryview(bytearray(size))
    pump = _boucle.ReadPump(loop, rec, sock, view)
    loop._add_io(sock.fileno(), False, pump, ())
    return rec


def test_every_byte_arrives_in_order_then_the_end(loop):
    a, b = socket.socketpair()
    a.setblocking(False)
    payload = bytes(range(256)) * 4096  # 1 MiB: several full buffers

    async def main():
        rec = _pump(loop, a, size=64 * 1024)

        def feed(rest):
            while rest:
                try:
                    n = b.send(rest)
                except BlockingIOError:
                    loop.call_later(0.001, feed, rest)
                    return
                rest = rest[n:]
            b.shutdown(socket.SHUT_WR)

        b.setblocking(False)
        feed(memoryview(payload))
        got = await asyncio.wait_for(rec.eof, BOUND)
        assert got == len(payload)
        assert bytes(rec.data) == payload
        assert rec.chunks >= len(payload) // (64 * 1024)
        assert rec.errors == []

    loop.run_until_complete(main())
    loop.remove_reader(a)
    a.close()
    b.close()


def test_data_and_the_peers_close_in_one_event_give_both(loop):
    # The FIN is already queued behind the data when the event comes: the
    # short read empties the data, and the end of stream must still be seen
    # although no new edge announces it.
    a, b = socket.socketpair()
    a.setblocking(False)
    b.sendall(b"last words")
    b.close()

    async def main():
        rec = _pump(loop, a)
        assert await asyncio.wait_for(rec.eof, BOUND) == len(b"last words")
        assert bytes(rec.data) == b"last words"

    loop.run_until_complete(main())
    loop.remove_reader(a)
    a.close()


def test_short_reads_do_not_lose_the_next_data(loop):
    # Ping-pong: each read comes back short (the fd is not re-armed), and
    # each next message must still wake the reader.
    a, b = socket.socketpair()
    a.setblocking(False)

    async def main():
        rec = _pump(loop, a)
        for i in range(200):
            msg = b"msg %d;" % i
            want = len(rec.data) + len(msg)
            b.send(msg)
            for _ in range(int(BOUND * 1000)):
                if len(rec.data) >= want:
                    break
                await asyncio.sleep(0.001)
            assert len(rec.data) == want, i
        b.close()
        await asyncio.wait_for(rec.eof, BOUND)
        assert bytes(rec.data) == b"".join(b"msg %d;" % i for i in range(200))

    loop.run_until_complete(main())
    loop.remove_reader(a)
    a.close()


def test_a_reset_peer_goes_to_fatal_error(loop):
    a, b = socket.socketpair()
    a.setblocking(False)
    # A TCP reset, made on loopback: SO_LINGER 0 then close.
    srv = socket.create_server(("127.0.0.1", 0))
    c = socket.create_connection(srv.getsockname())
    s, _ = srv.accept()
    srv.close()
    s.setblocking(False)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()

    async def main():
        rec = _pump(loop, s)
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(rec.eof, BOUND)
        (exc, message), = rec.errors
        assert isinstance(exc, ConnectionResetError)
        assert message == "Fatal read error on socket transport"

    loop.run_until_complete(main())
    loop.remove_reader(s)
    s.close()
    a.close()
    b.close()


def test_a_failing_data_received_is_reported_and_the_loop_goes_on(loop):
    a, b = socket.socketpair()
    a.setblocking(False)

    async def main():
        rec = _pump(loop, a)

        def boom(data):
            raise ValueError("protocol bug")

        rec._protocol = type("P", (), {"data_received": staticmethod(boom)})()
        b.send(b"x")
        with pytest.raises(ValueError):
            await asyncio.wait_for(rec.eof, BOUND)
        (exc, message), = rec.errors
        assert message == "Fatal error: protocol.data_received() call failed."

    loop.run_until_complete(main())
    loop.remove_reader(a)
    a.close()
    b.close()


def test_a_lost_connection_reads_nothing(loop):
    a, b = socket.socketpair()
    a.setblocking(False)

    async def main():
        rec = _pump(loop, a)
        rec._conn_lost = 1
        b.send(b"ignored")
        await asyncio.sleep(0.01)
        assert rec.data == b"" and not rec.eof.done()
        # Nothing was read: the data is still there.
        assert a.recv(100) == b"ignored"

    loop.run_until_complete(main())
    loop.remove_reader(a)
    a.close()
    b.close()


def test_bad_buffers_are_refused(loop):
    a, b = socket.socketpair()
    with pytest.raises(ValueError):
        _boucle.ReadPump(loop, Recorder(loop), a, memoryview(bytearray(0)))
    a.close()
    b.close()


class WriteRecorder:
    """What SocketTransport offers the pump's write: the fast-path flag and
    the Python paths, recording which one each write took."""

    def __init__(self):
        self._write_fast = True
        self.slow = []
        self.rest = []
        self.errors = []

    def _write_py(self, data):
        self.slow.append(data)

    def _write_rest(self, data, sent):
        self.rest.append((data, sent))
        self._write_fast = False

    def _fatal_error(self, exc, message):
        self.errors.append((type(exc), message))


def test_native_write_sends_bytes_and_hands_the_rest_to_python(loop):
    a, b = socket.socketpair()
    a.setblocking(False)
    try:
        rec = WriteRecorder()
        pump = _boucle.ReadPump(loop, rec, a, memoryview(bytearray(16)))
        pump.write(b"hello")
        assert b.recv(16) == b"hello" and not rec.slow and not rec.rest
        # Not bytes, empty, or the flag down: the Python write.
        view = memoryview(b"abc")
        pump.write(view)
        pump.write(b"")
        rec._write_fast = False
        pump.write(b"later")
        assert rec.slow == [view, b"", b"later"]
        # A send the kernel takes only in part: the rest goes to _write_rest.
        rec._write_fast = True
        big = b"x" * (8 * 1024 * 1024)
        pump.write(big)
        assert len(rec.rest) == 1 and rec.rest[0][0] is big
        assert 0 < rec.rest[0][1] < len(big)
        # A failing send ends the connection through _fatal_error.
        rec._write_fast = True
        b.close()
        a.shutdown(socket.SHUT_WR)
        pump.write(b"lost")
        assert rec.errors == [(BrokenPipeError, "Fatal write error on socket transport")]
    finally:
        a.close()
        b.close()
