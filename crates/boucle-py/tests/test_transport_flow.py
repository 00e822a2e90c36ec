"""Stream socket transports: writes, write buffer limits and flow control,
write_eof, close and abort with data buffered, pause and resume reading,
streams draining against a slow reader. Each test runs on boucle and on
asyncio's selector loop (the reference); every wait is bounded."""

import asyncio
import socket

import pytest

from transport_support import Recorder, connected, recording_loop, recv_all, run


@pytest.fixture(params=["boucle", "asyncio"])
def loop(request):
    yield from recording_loop(request.param)


def test_write_types_and_writelines(loop):
    async def main():
        transport, proto, peer = await connected(loop)
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
        assert await recv_all(loop, peer, 9) == b"abcdefghi"
        transport.close()
        await proto.done
        peer.close()
    run(loop, main())
def test_peer_that_never_reads_bounds_the_buffer(loop):
    async def main():
        transport, proto, peer = await connected(loop, family=socket.AF_INET)
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
        got = await recv_all(loop, peer, written)
        assert got == chunk * (written // len(chunk))
        assert transport.get_write_buffer_size() == 0
        assert proto.resumed == 1
        transport.close()
        await proto.done
        peer.close()
    run(loop, main())
def test_write_buffer_limits_defaults_and_errors(loop):
    async def main():
        transport, proto, peer = await connected(loop)
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
        transport, proto, peer = await connected(loop)
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
        transport, proto, peer = await connected(loop)
        assert transport.can_write_eof()
        transport.write(b"last")
        transport.write_eof()
        transport.write_eof()  # twice is fine
        with pytest.raises(RuntimeError, match="write_eof"):
            transport.write(b"more")
        assert await recv_all(loop, peer, 4) == b"last"
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
        transport, _, peer = await connected(loop, proto)
        peer.shutdown(socket.SHUT_WR)
        await proto.got_eof
        await asyncio.sleep(0)
        assert not transport.is_closing()
        transport.write(b"after eof")
        assert await recv_all(loop, peer, 9) == b"after eof"
        transport.close()
        assert await proto.done is None
        peer.close()
    run(loop, main())
def test_close_flushes_the_buffer_first(loop):
    async def main():
        transport, proto, peer = await connected(loop, family=socket.AF_INET)
        payload = b"z" * (4 * 1024 * 1024)
        transport.write(payload)
        assert transport.get_write_buffer_size() > 0
        transport.close()
        transport.close()
        assert transport.is_closing()
        got = await recv_all(loop, peer, len(payload))
        assert got == payload
        assert await proto.done is None
        assert await loop.sock_recv(peer, 1) == b""
        peer.close()
    run(loop, main())
def test_abort_drops_the_buffer(loop):
    async def main():
        transport, proto, peer = await connected(loop, family=socket.AF_INET)
        transport.write(b"z" * (4 * 1024 * 1024))
        transport.abort()
        assert transport.is_closing()
        assert transport.get_write_buffer_size() == 0
        assert await proto.done is None
        transport.write(b"dropped")  # after the loss: ignored
        peer.close()
    run(loop, main())
def test_pause_and_resume_reading(loop):
    async def main():
        transport, proto, peer = await connected(loop)
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
def test_streams_drain_against_slow_reader(loop):
    async def main():
        transport, proto, peer = await connected(loop, family=socket.AF_INET)
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
def test_wide_memoryview_counts_bytes(loop):
    import array

    async def main():
        transport, proto, peer = await connected(loop)
        words = array.array("i", range(1000))
        transport.write(memoryview(words))
        assert await recv_all(loop, peer, len(words) * words.itemsize) == words.tobytes()
        transport.close()
        await proto.done
        peer.close()
    run(loop, main())
