"""Stream socket transports: protocol callbacks, buffered protocols, writes,
flow control, closing, errors. Each test runs on boucle and on asyncio's
selector loop (the reference); the peer is a plain socket on loopback or a
socketpair, and every wait is bounded."""

import asyncio
import socket
import struct
from asyncio import trsock

import pytest

import boucle

BOUND = 10.0


@pytest.fixture(params=["boucle", "asyncio"])
def loop(request):
    loop = boucle.new_event_loop() if request.param == "boucle" else asyncio.SelectorEventLoop()
    errors = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    loop.errors = errors
    yield loop
    loop.close()


def run(loop, coro):
    return loop.run_until_complete(asyncio.wait_for(coro, BOUND))


class Recorder(asyncio.Protocol):
    """Records every callback; ``done`` resolves at connection_lost."""

    def __init__(self, loop, keep_open=False):
        self.events = []
        self.data = bytearray()
        self.transport = None
        self.keep_open = keep_open
        self.done = loop.create_future()
        self.got_eof = loop.create_future()
        self.paused = 0
        self.resumed = 0

    def connection_made(self, transport):
        self.transport = transport
        self.events.append("made")

    def data_received(self, data):
        assert isinstance(data, bytes)
        self.data += data

    def eof_received(self):
        self.events.append("eof")
        self.got_eof.set_result(None)
        return self.keep_open

    def pause_writing(self):
        self.paused += 1

    def resume_writing(self):
        self.resumed += 1

    def connection_lost(self, exc):
        self.events.append("lost")
        self.done.set_result(exc)


async def _connected(loop, proto=None, family=socket.AF_UNIX):
    """(transport, protocol, peer): the transport on one end of a pair."""
    if family == socket.AF_UNIX:
        a, b = socket.socketpair()
    else:
        srv = socket.create_server(("127.0.0.1", 0))
        a = socket.create_connection(srv.getsockname())
        b, _ = srv.accept()
        srv.close()
    a.setblocking(False)
    b.setblocking(False)
    proto = proto or Recorder(loop)
    transport, _ = await loop.create_connection(lambda: proto, sock=a)
    return transport, proto, b


async def _recv_all(loop, peer, n):
    got = bytearray()
    while len(got) < n:
        chunk = await loop.sock_recv(peer, n - len(got))
        assert chunk, "peer saw EOF early"
        got += chunk
    return bytes(got)


def test_round_trip_and_callbacks(loop):
    async def main():
        transport, proto, peer = await _connected(loop)
        assert proto.events == ["made"]
        assert transport.get_protocol() is proto
        transport.write(b"ping")
        assert await _recv_all(loop, peer, 4) == b"ping"
        await loop.sock_sendall(peer, b"pong")
        while len(proto.data) < 4:
            await asyncio.sleep(0)
        assert proto.data == b"pong"
        peer.shutdown(socket.SHUT_WR)
        await proto.got_eof
        # eof_received returned False: the transport closes itself.
        assert await proto.done is None
        assert proto.events == ["made", "eof", "lost"]
        assert transport.is_closing()
        peer.close()
    run(loop, main())
    assert loop.errors == []


def test_extra_info_tcp(loop):
    async def main():
        transport, proto, peer = await _connected(loop, family=socket.AF_INET)
        sock = transport.get_extra_info("socket")
        assert isinstance(sock, trsock.TransportSocket)
        assert transport.get_extra_info("peername") == peer.getsockname()
        assert transport.get_extra_info("sockname") == peer.getpeername()
        assert transport.get_extra_info("nope", 42) == 42
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        transport.close()
        assert await proto.done is None
        peer.close()
    run(loop, main())


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_extra_info_of_accepted_connections(loop, host):
    # boucle gives the transports of a listener bound to one IPv4 address
    # that address as "sockname" (no getsockname per connection); the
    # wildcard listener's connections ask their socket.
    async def main():
        got = loop.create_future()

        class Keep(asyncio.Protocol):
            def connection_made(self, transport):
                got.set_result(transport)

        server = await loop.create_server(Keep, host, 0)
        port = server.sockets[0].getsockname()[1]
        peer = socket.create_connection(("127.0.0.1", port))
        transport = await got
        assert transport.get_extra_info("sockname") == ("127.0.0.1", port)
        assert transport.get_extra_info("peername") == peer.getsockname()
        transport.close()
        await asyncio.sleep(0)
        # Still there once the connection is gone, as in asyncio.
        assert isinstance(transport.get_extra_info("socket"), trsock.TransportSocket)
        peer.close()
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_buffered_protocol(loop):
    class Buffered(asyncio.BufferedProtocol):
        def __init__(self):
            self.buf = bytearray(7)  # small, so reads take several rounds
            self.got = bytearray()
            self.sizes = []
            self.done = loop.create_future()

        def connection_made(self, transport):
            self.transport = transport

        def get_buffer(self, sizehint):
            self.sizes.append(sizehint)
            return self.buf

        def buffer_updated(self, nbytes):
            self.got += self.buf[:nbytes]

        def eof_received(self):
            return False

        def connection_lost(self, exc):
            self.done.set_result(exc)

    async def main():
        proto = Buffered()
        transport, _, peer = await _connected(loop, proto)
        payload = bytes(range(256)) * 4
        await loop.sock_sendall(peer, payload)
        peer.shutdown(socket.SHUT_WR)
        assert await proto.done is None
        assert proto.got == payload
        assert len(proto.sizes) >= len(payload) // 7
        peer.close()
    run(loop, main())


def test_get_buffer_empty_is_an_error(loop):
    class Empty(asyncio.BufferedProtocol):
        def __init__(self):
            self.done = loop.create_future()

        def get_buffer(self, sizehint):
            return bytearray()

        def buffer_updated(self, nbytes):
            raise AssertionError("no buffer, no update")

        def connection_lost(self, exc):
            self.done.set_result(exc)

    async def main():
        proto = Empty()
        transport, _, peer = await _connected(loop, proto)
        await loop.sock_sendall(peer, b"x")
        exc = await proto.done
        assert isinstance(exc, RuntimeError)
        peer.close()
    run(loop, main())
    assert [c["message"] for c in loop.errors] == [
        "Fatal error: protocol.get_buffer() call failed."
    ]


def test_write_types_and_writelines(loop):
    async def main():
        transport, proto, peer = await _connected(loop)
        with pytest.raises(TypeError, match="bytes-like"):
            transport.write("text")
        with pytest.raises(TypeError):
            transport.writelines([b"a", "b"])
        data = bytearray(b"abc")
        transport.write(data)
        data[:] = b"zzz"  # written already: the change is not sent
        transport.write(memoryview(b"def"))
        transport.write(b"")
        transport.writelines([b"g", bytearray(b"h"), memoryview(b"i")])
        assert await _recv_all(loop, peer, 9) == b"abcdefghi"
        transport.close()
        await proto.done
        peer.close()
    run(loop, main())


def test_peer_that_never_reads_bounds_the_buffer(loop):
    async def main():
        transport, proto, peer = await _connected(loop, family=socket.AF_INET)
        transport.set_write_buffer_limits(high=32 * 1024, low=8 * 1024)
        assert transport.get_write_buffer_limits() == (8 * 1024, 32 * 1024)
        chunk = b"x" * 16 * 1024
        written = 0
        # Write as a well-behaved producer does: until told to pause.
        for _ in range(10_000):
            if proto.paused:
                break
            transport.write(chunk)
            written += len(chunk)
            await asyncio.sleep(0)
        assert proto.paused == 1 and proto.resumed == 0
        size = transport.get_write_buffer_size()
        assert 32 * 1024 < size <= 32 * 1024 + len(chunk)
        # Nothing drains while the peer does not read.
        for _ in range(5):
            await asyncio.sleep(0)
        assert transport.get_write_buffer_size() == size
        got = await _recv_all(loop, peer, written)
        assert got == chunk * (written // len(chunk))
        assert transport.get_write_buffer_size() == 0
        assert proto.resumed == 1
        transport.close()
        await proto.done
        peer.close()
    run(loop, main())


def test_write_buffer_limits_defaults_and_errors(loop):
    async def main():
        transport, proto, peer = await _connected(loop)
        assert transport.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
        transport.set_write_buffer_limits(low=1000)
        assert transport.get_write_buffer_limits() == (1000, 4000)
        transport.set_write_buffer_limits(high=100)
        assert transport.get_write_buffer_limits() == (25, 100)
        with pytest.raises(ValueError):
            transport.set_write_buffer_limits(high=1, low=2)
        with pytest.raises(ValueError):
            transport.set_write_buffer_limits(high=-2, low=-1)
        transport.close()
        await proto.done
        peer.close()
    run(loop, main())


def test_limit_zero_pauses_on_first_buffered_byte(loop):
    async def main():
        transport, proto, peer = await _connected(loop)
        transport.set_write_buffer_limits(high=0)
        while not proto.paused:
            transport.write(b"y" * 65536)
        assert proto.paused == 1
        transport.abort()
        assert await proto.done is None
        assert transport.get_write_buffer_size() == 0
        peer.close()
    run(loop, main())


def test_write_eof(loop):
    async def main():
        transport, proto, peer = await _connected(loop)
        assert transport.can_write_eof()
        transport.write(b"last")
        transport.write_eof()
        transport.write_eof()  # twice is fine
        with pytest.raises(RuntimeError, match="write_eof"):
            transport.write(b"more")
        assert await _recv_all(loop, peer, 4) == b"last"
        assert await loop.sock_recv(peer, 10) == b""
        # Still reading after write_eof.
        await loop.sock_sendall(peer, b"reply")
        while len(proto.data) < 5:
            await asyncio.sleep(0)
        transport.close()
        await proto.done
        peer.close()
    run(loop, main())


def test_eof_received_true_keeps_writing(loop):
    async def main():
        proto = Recorder(loop, keep_open=True)
        transport, _, peer = await _connected(loop, proto)
        peer.shutdown(socket.SHUT_WR)
        await proto.got_eof
        await asyncio.sleep(0)
        assert not transport.is_closing()
        transport.write(b"after eof")
        assert await _recv_all(loop, peer, 9) == b"after eof"
        transport.close()
        assert await proto.done is None
        peer.close()
    run(loop, main())


def test_close_flushes_the_buffer_first(loop):
    async def main():
        transport, proto, peer = await _connected(loop, family=socket.AF_INET)
        payload = b"z" * (4 * 1024 * 1024)
        transport.write(payload)
        assert transport.get_write_buffer_size() > 0
        transport.close()
        transport.close()
        assert transport.is_closing()
        got = await _recv_all(loop, peer, len(payload))
        assert got == payload
        assert await proto.done is None
        assert await loop.sock_recv(peer, 1) == b""
        peer.close()
    run(loop, main())


def test_abort_drops_the_buffer(loop):
    async def main():
        transport, proto, peer = await _connected(loop, family=socket.AF_INET)
        transport.write(b"z" * (4 * 1024 * 1024))
        transport.abort()
        assert transport.is_closing()
        assert transport.get_write_buffer_size() == 0
        assert await proto.done is None
        transport.write(b"dropped")  # after the loss: ignored
        peer.close()
    run(loop, main())


def test_reset_peer_is_connection_lost_not_noise(loop):
    async def main():
        transport, proto, peer = await _connected(loop, family=socket.AF_INET)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()  # RST
        exc = await proto.done
        assert isinstance(exc, ConnectionResetError)
        assert proto.events == ["made", "lost"]
    run(loop, main())
    assert loop.errors == []


def test_write_to_reset_peer(loop):
    async def main():
        transport, proto, peer = await _connected(loop, family=socket.AF_INET)
        transport.pause_reading()
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()
        await asyncio.sleep(0.01)
        for _ in range(10):
            transport.write(b"into the void")
        exc = await proto.done
        assert isinstance(exc, (ConnectionResetError, BrokenPipeError))
    run(loop, main())
    assert loop.errors == []


def test_pause_and_resume_reading(loop):
    async def main():
        transport, proto, peer = await _connected(loop)
        assert transport.is_reading()
        transport.pause_reading()
        transport.pause_reading()
        assert not transport.is_reading()
        await loop.sock_sendall(peer, b"held")
        for _ in range(5):
            await asyncio.sleep(0)
        assert proto.data == b""
        transport.resume_reading()
        transport.resume_reading()
        assert transport.is_reading()
        while len(proto.data) < 4:
            await asyncio.sleep(0)
        assert proto.data == b"held"
        transport.close()
        assert not transport.is_reading()
        await proto.done
        peer.close()
    run(loop, main())


def test_set_protocol(loop):
    async def main():
        transport, first, peer = await _connected(loop)
        second = Recorder(loop)
        transport.set_protocol(second)
        assert transport.get_protocol() is second
        await loop.sock_sendall(peer, b"to second")
        while len(second.data) < 9:
            await asyncio.sleep(0)
        assert first.data == b""
        transport.close()
        assert await second.done is None
        assert not first.done.done()
        peer.close()
    run(loop, main())


def test_protocol_error_goes_to_the_handler(loop):
    class Broken(Recorder):
        def data_received(self, data):
            raise ZeroDivisionError("boom")

    async def main():
        proto = Broken(loop)
        transport, _, peer = await _connected(loop, proto)
        await loop.sock_sendall(peer, b"x")
        exc = await proto.done
        assert isinstance(exc, ZeroDivisionError)
        peer.close()
    run(loop, main())
    assert len(loop.errors) == 1
    ctx = loop.errors[0]
    assert ctx["message"] == "Fatal error: protocol.data_received() call failed."
    assert isinstance(ctx["exception"], ZeroDivisionError)
    assert "transport" in ctx and "protocol" in ctx


def test_pause_writing_error_goes_to_the_handler(loop):
    class Broken(Recorder):
        def pause_writing(self):
            raise ValueError("no pausing")

    async def main():
        proto = Broken(loop)
        transport, _, peer = await _connected(loop, proto)
        transport.set_write_buffer_limits(high=0)
        for _ in range(64):
            transport.write(b"q" * 65536)
            if loop.errors:
                break
        transport.abort()
        await proto.done
        peer.close()
    run(loop, main())
    assert loop.errors[0]["message"] == "protocol.pause_writing() failed"


def test_many_writes_after_loss_warn(loop, caplog):
    async def main():
        transport, proto, peer = await _connected(loop)
        transport.abort()
        await proto.done
        for _ in range(7):
            transport.write(b"late")
        peer.close()
    with caplog.at_level("WARNING", logger="asyncio"):
        run(loop, main())
    assert "socket.send() raised exception." in caplog.text


def test_unclosed_transport_warns(loop):
    import gc
    import warnings

    async def main():
        transport, proto, peer = await _connected(loop)
        await asyncio.sleep(0)
        # Off the loop (no reader), only this frame holds the transport.
        transport.pause_reading()
        sock = transport.get_extra_info("socket")
        proto.transport = None
        return sock, peer

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sock, peer = run(loop, main())
        gc.collect()
    assert any("unclosed transport" in str(w.message) for w in caught)
    assert sock.fileno() == -1
    peer.close()


def test_streams_on_top(loop):
    async def handle(reader, writer):
        line = await reader.readline()
        writer.write(line.upper())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello streams\n")
        await writer.drain()
        assert await reader.readline() == b"HELLO STREAMS\n"
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_streams_drain_against_slow_reader(loop):
    async def main():
        transport, proto, peer = await _connected(loop, family=socket.AF_INET)
        transport.close()
        await proto.done
        peer.close()
        got = bytearray()
        release = asyncio.Event()

        async def slow(reader, writer):
            await release.wait()
            got.extend(await reader.read())
            writer.close()

        server = await asyncio.start_server(slow, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.transport.set_write_buffer_limits(high=16384)
        total = 0
        drained = asyncio.ensure_future(asyncio.sleep(0))
        while True:
            writer.write(b"s" * 65536)
            total += 65536
            drained = asyncio.ensure_future(writer.drain())
            await asyncio.sleep(0.001)
            if not drained.done():
                break
        assert writer.transport.get_write_buffer_size() > 16384
        release.set()
        await drained
        writer.close()
        await writer.wait_closed()
        while len(got) < total:
            await asyncio.sleep(0.001)
        assert len(got) == total
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_calls_after_a_flushed_close_are_harmless(loop):
    async def main():
        transport, proto, peer = await _connected(loop, family=socket.AF_INET)
        transport.write(b"w" * (4 * 1024 * 1024))
        transport.close()
        got = await _recv_all(loop, peer, 4 * 1024 * 1024)
        assert len(got) == 4 * 1024 * 1024
        assert await proto.done is None
        transport.pause_reading()
        transport.resume_reading()
        peer.close()
        return transport
    transport = run(loop, main())
    assert transport.is_closing()
    assert transport.get_write_buffer_size() == 0


def test_boucle_write_after_flushed_close_and_abort():
    loop = boucle.new_event_loop()

    async def main():
        transport, proto, peer = await _connected(loop, family=socket.AF_INET)
        transport.write(b"w" * (4 * 1024 * 1024))
        transport.close()
        await _recv_all(loop, peer, 4 * 1024 * 1024)
        await proto.done
        # asyncio's selector transport raises here (its loop is None).
        transport.write(b"dropped")
        transport.abort()
        peer.close()
    try:
        run(loop, main())
    finally:
        loop.close()


def test_wide_memoryview_counts_bytes(loop):
    import array

    async def main():
        transport, proto, peer = await _connected(loop)
        words = array.array("i", range(1000))
        transport.write(memoryview(words))
        assert await _recv_all(loop, peer, len(words) * words.itemsize) == words.tobytes()
        transport.close()
        await proto.done
        peer.close()
    run(loop, main())


def test_repr(loop):
    async def main():
        transport, proto, peer = await _connected(loop)
        assert "fd=" in repr(transport)
        transport.close()
        await proto.done
        assert "closed" in repr(transport)
        peer.close()
    run(loop, main())
