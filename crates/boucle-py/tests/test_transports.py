"""Stream socket transports: protocol callbacks, buffered protocols,
closing, errors (writes and flow control: test_transport_flow.py). Each
test runs on boucle and on asyncio's selector loop (the reference); the peer
is a plain socket on loopback or a socketpair, and every wait is bounded."""

import asyncio
import socket
import struct
from asyncio import trsock

import pytest

import boucle
from transport_support import Recorder, connected, recording_loop, recv_all, run


@pytest.fixture(params=["boucle", "asyncio"])
def loop(request):
    yield from recording_loop(request.param)


def test_round_trip_and_callbacks(loop):
    async def main():
        transport, proto, peer = await connected(loop)
        assert proto.events == ["made"]
        assert transport.get_protocol() is proto
        transport.write(b"ping")
        assert await recv_all(loop, peer, 4) == b"ping"
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
        transport, proto, peer = await connected(loop, family=socket.AF_INET)
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
        transport, _, peer = await connected(loop, proto)
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
        transport, _, peer = await connected(loop, proto)
        await loop.sock_sendall(peer, b"x")
        exc = await proto.done
        assert isinstance(exc, RuntimeError)
        peer.close()
    run(loop, main())
    assert [c["message"] for c in loop.errors] == [
        "Fatal error: protocol.get_buffer() call failed."
    ]


def test_reset_peer_is_connection_lost_not_noise(loop):
    async def main():
        transport, proto, peer = await connected(loop, family=socket.AF_INET)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()  # RST
        exc = await proto.done
        assert isinstance(exc, ConnectionResetError)
        assert proto.events == ["made", "lost"]
    run(loop, main())
    assert loop.errors == []


def test_write_to_reset_peer(loop):
    async def main():
        transport, proto, peer = await connected(loop, family=socket.AF_INET)
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


def test_set_protocol(loop):
    async def main():
        transport, first, peer = await connected(loop)
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
        transport, _, peer = await connected(loop, proto)
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
        transport, _, peer = await connected(loop, proto)
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
        transport, proto, peer = await connected(loop)
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
        transport, proto, peer = await connected(loop)
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


def test_calls_after_a_flushed_close_are_harmless(loop):
    async def main():
        transport, proto, peer = await connected(loop, family=socket.AF_INET)
        transport.write(b"w" * (4 * 1024 * 1024))
        transport.close()
        got = await recv_all(loop, peer, 4 * 1024 * 1024)
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
        transport, proto, peer = await connected(loop, family=socket.AF_INET)
        transport.write(b"w" * (4 * 1024 * 1024))
        transport.close()
        await recv_all(loop, peer, 4 * 1024 * 1024)
        await proto.done
        # asyncio's selector transport raises here (its loop is None).
        transport.write(b"dropped")
        transport.abort()
        peer.close()
    try:
        run(loop, main())
    finally:
        loop.close()


def test_repr(loop):
    async def main():
        transport, proto, peer = await connected(loop)
        assert "fd=" in repr(transport)
        transport.close()
        await proto.done
        assert "closed" in repr(transport)
        peer.close()
    run(loop, main())
