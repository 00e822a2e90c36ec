"""loop.sendfile on stream transports and loop.sock_sendfile on sockets:
zero-copy os.sendfile, the fallback for other files, writes refused
meanwhile, a peer or a transport that goes mid-file. On boucle and on
asyncio's selector loop (some cases on boucle only); loopback only."""

import asyncio
import io
import os
import socket
import struct

import pytest

import boucle

from transport_support import BOUND, connected, recv_all, run


def test_sendfile_through_the_transport(loop, tmp_path):
    path = tmp_path / "payload"
    payload = bytes(range(256)) * 1000
    path.write_bytes(payload)

    async def main():
        transport, proto, peer = await connected(loop)
        with open(path, "rb") as f:
            sent, got = await asyncio.gather(
                loop.sendfile(transport, f, offset=256, count=100_000),
                recv_all(loop, peer, 100_000),
            )
            assert sent == 100_000
            assert f.tell() == 256 + 100_000
        assert got == payload[256:256 + 100_000]
        # The protocol is back in place, reading again.
        assert transport.get_protocol() is proto and transport.is_reading()
        transport.close()
        await proto.done
        with open(path, "rb") as f:
            with pytest.raises(RuntimeError, match="closing"):
                await loop.sendfile(transport, f)
        peer.close()
    run(loop, main())


def test_sendfile_is_zero_copy_and_blocks_writes(loop, tmp_path, monkeypatch):

    path = tmp_path / "payload"
    payload = os.urandom(3 * 1024 * 1024)
    path.write_bytes(payload)
    calls = []
    real = os.sendfile
    monkeypatch.setattr(os, "sendfile", lambda *a: calls.append(a) or real(*a))

    async def main():
        transport, proto, peer = await connected(loop)
        with open(path, "rb") as f:
            task = asyncio.ensure_future(loop.sendfile(transport, f, fallback=False))
            await asyncio.sleep(0)
            with pytest.raises(RuntimeError, match="sendfile is in progress"):
                transport.write(b"no")
            got = await recv_all(loop, peer, len(payload))
            assert await task == len(payload)
            assert f.tell() == len(payload)
        assert got == payload
        assert calls  # os.sendfile did the work
        transport.write(b"after")  # writes work again
        assert await recv_all(loop, peer, 5) == b"after"
        transport.close()
        await proto.done
        peer.close()
    run(loop, main())


def test_sendfile_of_a_non_file_falls_back(loop):
    import io

    async def main():
        transport, proto, peer = await connected(loop)
        data = io.BytesIO(b"in memory" * 1000)
        sent, got = await asyncio.gather(loop.sendfile(transport, data),
                                         recv_all(loop, peer, 9000))
        assert sent == 9000 and got == b"in memory" * 1000
        data.seek(0)
        with pytest.raises(asyncio.SendfileNotAvailableError):
            await loop.sendfile(transport, data, fallback=False)
        transport.close()
        await proto.done
        peer.close()
    run(loop, main())


def test_sendfile_to_a_peer_that_leaves(loop, tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"b" * (16 * 1024 * 1024))

    async def main():
        transport, proto, peer = await connected(loop, family=socket.AF_INET)
        with open(path, "rb") as f:
            task = asyncio.ensure_future(loop.sendfile(transport, f))
            await asyncio.sleep(0.01)
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            peer.close()
            with pytest.raises(ConnectionError):
                await task
        transport.abort()
        await proto.done
    run(loop, main())


def test_abort_during_sendfile():
    # boucle only: asyncio's selector loop hangs here (its _call_connection_lost
    # fails on the empty waiter that is already set).
    import tempfile

    loop = boucle.new_event_loop()

    async def main():
        transport, proto, peer = await connected(loop, family=socket.AF_INET)
        with tempfile.TemporaryFile() as f:
            f.truncate(64 * 1024 * 1024)
            task = asyncio.ensure_future(loop.sendfile(transport, f))
            while not transport._sendfile_wait:
                await asyncio.sleep(0.001)
            transport.abort()
            with pytest.raises(ConnectionError, match="closed"):
                await task
        assert await proto.done is None
        peer.close()
    try:
        run(loop, main())
    finally:
        loop.close()


def test_sock_sendfile_sends_the_range_asked(loop, pair, tmp_path):
    a, b = pair
    path = tmp_path / "data"
    path.write_bytes(bytes(range(256)) * 1024)

    async def main():
        received = bytearray()

        async def reader():
            while len(received) < 100_000:
                received.extend(await loop.sock_recv(a, 65536))

        with open(path, "rb") as f:
            sent, _ = await asyncio.gather(
                loop.sock_sendfile(b, f, offset=10, count=100_000), reader()
            )
            assert f.tell() == 100_010
        return sent, bytes(received)

    sent, received = run(loop, main())
    assert sent == 100_000
    assert received == path.read_bytes()[10:100_010]


def test_sock_sendfile_is_zero_copy_and_waits_for_room(bloop, pair, tmp_path, monkeypatch):
    # 4 MiB through a socket pair: the socket fills many times over, so the
    # os.sendfile loop waits for room on the loop; no fallback allowed.
    import boucle._sendfile as native

    calls = []
    real = native.os.sendfile

    def counting(*args):
        calls.append(args[3])
        return real(*args)

    monkeypatch.setattr(native.os, "sendfile", counting)
    a, b = pair
    path = tmp_path / "big"
    data = os.urandom(1 << 22)
    path.write_bytes(data)

    async def main():
        received = bytearray()

        async def reader():
            while len(received) < len(data) - 1:
                received.extend(await bloop.sock_recv(a, 1 << 16))

        with open(path, "rb") as f:
            sent, _ = await asyncio.wait_for(
                asyncio.gather(bloop.sock_sendfile(b, f, offset=1, fallback=False), reader()),
                BOUND,
            )
            assert f.tell() == len(data)
        return sent, bytes(received)

    sent, received = run(bloop, main())
    assert sent == len(data) - 1
    assert received == data[1:]
    assert len(calls) > 1


def test_sock_sendfile_of_what_is_not_a_file_falls_back_or_says_so(loop, pair):
    a, b = pair
    with pytest.raises(asyncio.SendfileNotAvailableError):
        run(loop, loop.sock_sendfile(b, io.BytesIO(b"abc"), fallback=False))

    async def main():
        sent = await loop.sock_sendfile(b, io.BytesIO(b"abc"))
        return sent, await loop.sock_recv(a, 10)

    assert run(loop, main()) == (3, b"abc")
