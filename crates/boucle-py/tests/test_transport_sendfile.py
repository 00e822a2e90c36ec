"""loop.sendfile on stream transports: zero-copy os.sendfile, the fallback
for other files, writes refused meanwhile, a peer or a transport that goes
mid-file. On boucle and on asyncio's selector loop (one case on boucle
only); loopback only."""

import asyncio
import socket
import struct

import pytest

import boucle

from test_transports import _connected, _recv_all, run


def test_sendfile_through_the_transport(loop, tmp_path):
    path = tmp_path / "payload"
    payload = bytes(range(256)) * 1000
    path.write_bytes(payload)

    async def main():
        transport, proto, peer = await _connected(loop)
        with open(path, "rb") as f:
            sent, got = await asyncio.gather(
                loop.sendfile(transport, f, offset=256, count=100_000),
                _recv_all(loop, peer, 100_000),
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
    import os

    path = tmp_path / "payload"
    payload = os.urandom(3 * 1024 * 1024)
    path.write_bytes(payload)
    calls = []
    real = os.sendfile
    monkeypatch.setattr(os, "sendfile", lambda *a: calls.append(a) or real(*a))

    async def main():
        transport, proto, peer = await _connected(loop)
        with open(path, "rb") as f:
            task = asyncio.ensure_future(loop.sendfile(transport, f, fallback=False))
            await asyncio.sleep(0)
            with pytest.raises(RuntimeError, match="sendfile is in progress"):
                transport.write(b"no")
            got = await _recv_all(loop, peer, len(payload))
            assert await task == len(payload)
            assert f.tell() == len(payload)
        assert got == payload
        assert calls  # os.sendfile did the work
        transport.write(b"after")  # writes work again
        assert await _recv_all(loop, peer, 5) == b"after"
        transport.close()
        await proto.done
        peer.close()
    run(loop, main())


def test_sendfile_of_a_non_file_falls_back(loop):
    import io

    async def main():
        transport, proto, peer = await _connected(loop)
        data = io.BytesIO(b"in memory" * 1000)
        sent, got = await asyncio.gather(loop.sendfile(transport, data),
                                         _recv_all(loop, peer, 9000))
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
        transport, proto, peer = await _connected(loop, family=socket.AF_INET)
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
        transport, proto, peer = await _connected(loop, family=socket.AF_INET)
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
