"""connect_read_pipe / connect_write_pipe: pipes, FIFOs, ptys and sockets.
Each test runs on boucle and on asyncio's own loop, so that it checks boucle
does what asyncio does; every wait is bounded (a timeout, never a sleep)."""

import asyncio
import os
import socket

import pytest

import boucle

BOUND = 10.0


def run(loop, coro):
    return loop.run_until_complete(asyncio.wait_for(coro, BOUND))


class Reader(asyncio.Protocol):
    """Records what a read pipe transport reports."""

    def __init__(self, loop):
        self.events = []
        self.data = bytearray()
        self.lost = loop.create_future()

    def connection_made(self, transport):
        self.transport = transport
        self.events.append("made")

    def data_received(self, data):
        self.data += data

    def eof_received(self):
        self.events.append("eof")

    def connection_lost(self, exc):
        self.events.append("lost")
        self.lost.set_result(exc)


class Writer(asyncio.Protocol):
    """Records what a write pipe transport reports."""

    def __init__(self, loop):
        self.events = []
        self.lost = loop.create_future()
        self.resumed = None

    def connection_made(self, transport):
        self.transport = transport
        self.events.append("made")

    def pause_writing(self):
        self.events.append("pause")

    def resume_writing(self):
        self.events.append("resume")
        if self.resumed is not None and not self.resumed.done():
            self.resumed.set_result(None)

    def connection_lost(self, exc):
        self.events.append("lost")
        self.lost.set_result(exc)


def _drain_fd(fd):
    """Everything readable now from the non-blocking ``fd``."""
    out = bytearray()
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return bytes(out)
        if not chunk:
            return bytes(out)
        out += chunk


# Reading.


def test_read_pipe_data_eof_and_lost(loop):
    r, w = os.pipe()
    rfile = open(r, "rb", buffering=0)
    proto = Reader(loop)

    async def main():
        transport, p = await loop.connect_read_pipe(lambda: proto, rfile)
        assert p is proto and proto.transport is transport
        assert transport.get_extra_info("pipe") is rfile
        assert not os.get_blocking(r)
        assert transport.is_reading()
        os.write(w, b"hello ")
        os.write(w, b"pipe")
        os.close(w)
        exc = await proto.lost
        return transport, exc

    transport, exc = run(loop, main())
    assert exc is None
    assert bytes(proto.data) == b"hello pipe"
    assert proto.events == ["made", "eof", "lost"]
    assert transport.is_closing()
    assert rfile.closed  # the transport owns the pipe


def test_read_pipe_pause_and_resume(loop):
    r, w = os.pipe()
    proto = Reader(loop)

    async def main():
        transport, _ = await loop.connect_read_pipe(lambda: proto, open(r, "rb", 0))
        os.write(w, b"a")
        for _ in range(100):
            if proto.data:
                break
            await asyncio.sleep(0)
        transport.pause_reading()
        assert not transport.is_reading()
        transport.pause_reading()  # twice: no-op
        os.write(w, b"b")
        for _ in range(10):
            await asyncio.sleep(0)
        paused_data = bytes(proto.data)
        transport.resume_reading()
        assert transport.is_reading()
        os.close(w)
        await proto.lost
        return paused_data

    assert run(loop, main()) == b"a"
    assert bytes(proto.data) == b"ab"


def test_read_pipe_close_calls_connection_lost(loop):
    r, w = os.pipe()
    proto = Reader(loop)

    async def main():
        transport, _ = await loop.connect_read_pipe(lambda: proto, open(r, "rb", 0))
        transport.close()
        transport.close()  # twice: no-op
        assert transport.is_closing()
        return await proto.lost

    try:
        assert run(loop, main()) is None
        assert proto.events == ["made", "lost"]
    finally:
        os.close(w)


def test_read_pipe_refuses_a_regular_file(loop, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x")
    with open(path, "rb") as f:
        with pytest.raises(ValueError):
            run(loop, loop.connect_read_pipe(lambda: Reader(loop), f))
        with pytest.raises(ValueError):
            run(loop, loop.connect_write_pipe(lambda: Writer(loop), f))


def test_read_pipe_fifo(loop, tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    rfd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    wfd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    proto = Reader(loop)

    async def main():
        await loop.connect_read_pipe(lambda: proto, open(rfd, "rb", 0))
        os.write(wfd, b"through a fifo")
        os.close(wfd)
        return await proto.lost

    assert run(loop, main()) is None
    assert bytes(proto.data) == b"through a fifo"


def test_read_pty_until_the_other_side_closes(loop):
    # A character device; the end is EIO, which closes quietly.
    master, slave = os.openpty()
    proto = Reader(loop)
    errors = []
    loop.set_exception_handler(lambda lp, ctx: errors.append(ctx))

    async def main():
        await loop.connect_read_pipe(lambda: proto, open(master, "rb", 0))
        os.write(slave, b"tty line\n")
        # A pty hands data over in a kernel work queue: wait for it (bounded).
        deadline = loop.time() + BOUND / 2
        while b"tty line" not in proto.data and loop.time() < deadline:
            await asyncio.sleep(0.001)
        os.close(slave)
        return await proto.lost

    exc = run(loop, main())
    assert b"tty line" in proto.data
    assert exc is None or (isinstance(exc, OSError) and exc.errno == 5)
    assert errors == []


def test_read_pipe_from_a_socket(loop):
    a, b = socket.socketpair()
    proto = Reader(loop)

    async def main():
        await loop.connect_read_pipe(lambda: proto, a)
        b.sendall(b"socket data")
        b.close()
        return await proto.lost

    assert run(loop, main()) is None
    assert bytes(proto.data) == b"socket data"


# Writing.


def test_write_pipe_writes_in_order(loop):
    r, w = os.pipe()
    os.set_blocking(r, False)
    wfile = open(w, "wb", 0)
    proto = Writer(loop)

    async def main():
        transport, _ = await loop.connect_write_pipe(lambda: proto, wfile)
        assert transport.get_extra_info("pipe") is wfile
        assert transport.can_write_eof()
        transport.write(b"one ")
        transport.write(bytearray(b"two "))
        transport.write(memoryview(b"three"))
        transport.write(b"")
        assert transport.get_write_buffer_size() == 0
        transport.close()
        return await proto.lost

    try:
        assert run(loop, main()) is None
        assert _drain_fd(r) == b"one two three"
        assert wfile.closed
        assert proto.events == ["made", "lost"]
    finally:
        os.close(r)


def test_write_pipe_flow_control_at_the_marks(loop):
    # 1 MiB into a 64 KiB pipe: the rest is buffered, pause_writing at the
    # high mark, resume_writing once the reader drains below the low one.
    r, w = os.pipe()
    os.set_blocking(r, False)
    proto = Writer(loop)
    payload = bytes(range(256)) * 4096

    async def main():
        transport, _ = await loop.connect_write_pipe(lambda: proto, open(w, "wb", 0))
        transport.set_write_buffer_limits(high=4096, low=1024)
        assert transport.get_write_buffer_limits() == (1024, 4096)
        transport.write(payload)
        buffered = transport.get_write_buffer_size()
        assert 0 < buffered < len(payload)
        assert proto.events == ["made", "pause"]
        proto.resumed = loop.create_future()
        received = bytearray()
        while len(received) < len(payload):
            received += _drain_fd(r)
            await asyncio.sleep(0)
        await proto.resumed
        assert transport.get_write_buffer_size() == 0
        transport.close()
        await proto.lost
        return bytes(received)

    try:
        assert run(loop, main()) == payload
        assert proto.events == ["made", "pause", "resume", "lost"]
    finally:
        os.close(r)


def test_write_buffer_limits_refuse_bad_marks(loop):
    r, w = os.pipe()

    async def main():
        transport, _ = await loop.connect_write_pipe(lambda: Writer(loop), open(w, "wb", 0))
        with pytest.raises(ValueError):
            transport.set_write_buffer_limits(high=10, low=20)
        transport.abort()

    try:
        run(loop, main())
    finally:
        os.close(r)


def test_write_eof_writes_the_buffer_first(loop):
    r, w = os.pipe()
    os.set_blocking(r, False)
    proto = Writer(loop)
    payload = b"x" * 300_000

    async def main():
        transport, _ = await loop.connect_write_pipe(lambda: proto, open(w, "wb", 0))
        transport.write(payload)
        transport.write_eof()
        assert transport.is_closing()
        transport.write(b"dropped")  # after write_eof: ignored
        received = bytearray()
        while not proto.lost.done():
            received += _drain_fd(r)
            await asyncio.sleep(0)
        received += _drain_fd(r)
        return bytes(received), proto.lost.result()

    try:
        received, exc = run(loop, main())
        assert received == payload
        assert exc is None
        assert os.read(r, 1) == b""  # the reader sees end of file
    finally:
        os.close(r)


def test_abort_drops_the_buffer(loop):
    r, w = os.pipe()
    os.set_blocking(r, False)
    proto = Writer(loop)

    async def main():
        transport, _ = await loop.connect_write_pipe(lambda: proto, open(w, "wb", 0))
        transport.write(b"y" * 300_000)
        assert transport.get_write_buffer_size() > 0
        transport.abort()
        assert transport.get_write_buffer_size() == 0
        return await proto.lost

    try:
        assert run(loop, main()) is None
        assert len(_drain_fd(r)) < 300_000
    finally:
        os.close(r)


def test_write_to_a_closed_reader_is_a_broken_pipe(loop):
    r, w = os.pipe()
    proto = Writer(loop)

    async def main():
        transport, _ = await loop.connect_write_pipe(lambda: proto, open(w, "wb", 0))
        os.close(r)
        transport.write(b"nobody reads this")
        exc = await proto.lost
        for _ in range(6):  # later writes are dropped (a warning after 5)
            transport.write(b"more")
        return exc

    exc = run(loop, main())
    # Written at once: EPIPE; or the peer's close was seen first: None.
    assert exc is None or isinstance(exc, BrokenPipeError)


def test_reader_gone_while_data_is_buffered(loop):
    r, w = os.pipe()
    proto = Writer(loop)

    async def main():
        transport, _ = await loop.connect_write_pipe(lambda: proto, open(w, "wb", 0))
        transport.write(b"z" * 300_000)  # fills the pipe, the rest buffered
        assert transport.get_write_buffer_size() > 0
        os.close(r)
        return await proto.lost

    assert isinstance(run(loop, main()), BrokenPipeError)


def test_reader_gone_while_idle_ends_the_transport(loop):
    r, w = os.pipe()
    proto = Writer(loop)

    async def main():
        transport, _ = await loop.connect_write_pipe(lambda: proto, open(w, "wb", 0))
        await asyncio.sleep(0)
        os.close(r)
        exc = await proto.lost
        assert transport.is_closing()
        return exc

    assert run(loop, main()) is None


def test_write_refuses_str(loop):
    r, w = os.pipe()

    async def main():
        transport, _ = await loop.connect_write_pipe(lambda: Writer(loop), open(w, "wb", 0))
        # asyncio 3.11 asserts; boucle raises TypeError.
        expected = TypeError if isinstance(loop, boucle.Loop) else (TypeError, AssertionError)
        with pytest.raises(expected):
            transport.write("text")
        transport.close()

    try:
        run(loop, main())
    finally:
        os.close(r)


def test_write_pipe_to_a_socket(loop):
    a, b = socket.socketpair()
    proto = Writer(loop)

    async def main():
        transport, _ = await loop.connect_write_pipe(lambda: proto, a)
        transport.write(b"to a socket")
        transport.close()
        return await proto.lost

    try:
        assert run(loop, main()) is None
        assert b.recv(100) == b"to a socket"
    finally:
        b.close()


def test_write_pty(loop):
    master, slave = os.openpty()
    os.set_blocking(master, False)
    proto = Writer(loop)

    async def main():
        transport, _ = await loop.connect_write_pipe(lambda: proto, open(slave, "wb", 0))
        transport.write(b"to the tty\n")
        received = bytearray()
        deadline = loop.time() + BOUND / 2
        while loop.time() < deadline:
            try:
                received += os.read(master, 100)
            except BlockingIOError:
                pass
            if b"to the tty" in received:
                break
            await asyncio.sleep(0.001)
        transport.close()
        await proto.lost
        return bytes(received)

    try:
        assert b"to the tty" in run(loop, main())
    finally:
        os.close(master)


def test_abort_after_close_reports_once():
    # boucle only: asyncio 3.11 calls connection_lost twice here and logs
    # the AttributeError of the second call.
    loop = boucle.new_event_loop()
    r, w = os.pipe()
    proto = Writer(loop)
    errors = []
    loop.set_exception_handler(lambda lp, ctx: errors.append(ctx))

    async def main():
        transport, _ = await loop.connect_write_pipe(lambda: proto, open(w, "wb", 0))
        transport.close()
        transport.abort()
        transport.abort()
        await proto.lost
        for _ in range(5):
            await asyncio.sleep(0)

    try:
        run(loop, main())
        assert proto.events == ["made", "lost"]
        assert errors == []
    finally:
        loop.close()
        os.close(r)
