"""Unix stream servers and connections: create_unix_server (stale socket
files, cleanup on close), create_unix_connection, asyncio's Unix streams, bad
input. On boucle and on asyncio's selector loop (cleanup_socket, asyncio
3.13's behaviour, on boucle only); sockets in pytest's tmp dir."""

import asyncio
import errno
import os
import socket

import pytest

from test_servers import Client, Echo, _echo_once, run


def test_unix_server_and_connection(loop, tmp_path):
    path = str(tmp_path / "echo.sock")

    async def main():
        server = await loop.create_unix_server(lambda: Echo(loop), path)
        assert server.sockets[0].getsockname() == path
        transport, proto = await loop.create_unix_connection(lambda: Client(loop), path)
        assert transport.get_extra_info("peername") == path
        await _echo_once(loop, transport, proto)
        transport.write_eof()
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()
        # Connecting through a given socket as well.
        server = await loop.create_unix_server(lambda: Echo(loop), path)
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(path)
        transport, proto = await loop.create_unix_connection(lambda: Client(loop), sock=sock)
        await _echo_once(loop, transport, proto)
        transport.close()
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_unix_server_replaces_a_stale_socket_only(loop, tmp_path):
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays
    assert os.path.exists(path)

    async def main():
        server = await loop.create_unix_server(lambda: Echo(loop), path)
        transport, proto = await loop.create_unix_connection(lambda: Client(loop), path)
        await _echo_once(loop, transport, proto)
        transport.close()
        server.close()
        await server.wait_closed()
        other = tmp_path / "regular"
        other.write_text("not a socket")
        with pytest.raises(OSError) as info:
            await loop.create_unix_server(lambda: Echo(loop), str(other))
        assert info.value.errno == errno.EADDRINUSE
        assert other.read_text() == "not a socket"
    run(loop, main())


def test_unix_server_removes_its_file_on_close(bloop, tmp_path):
    # asyncio 3.13's cleanup_socket=True, on every version here.
    loop = bloop
    path = str(tmp_path / "clean.sock")

    async def main():
        server = await loop.create_unix_server(lambda: Echo(loop), path)
        assert os.path.exists(path)
        server.close()
        await server.wait_closed()
        assert not os.path.exists(path)
        server = await loop.create_unix_server(lambda: Echo(loop), path, cleanup_socket=False)
        server.close()
        await server.wait_closed()
        assert os.path.exists(path)
    run(loop, main())


def test_unix_bad_arguments(loop, tmp_path):
    async def main():
        factory = lambda: Client(loop)  # noqa: E731
        with pytest.raises(FileNotFoundError):
            await loop.create_unix_connection(factory, str(tmp_path / "missing"))
        with pytest.raises(ValueError, match="no path and sock"):
            await loop.create_unix_connection(factory)
        with socket.socket() as sock:
            with pytest.raises(ValueError, match="UNIX Domain Stream Socket"):
                await loop.create_unix_connection(factory, sock=sock)
            with pytest.raises(ValueError, match="UNIX Domain Stream Socket"):
                await loop.create_unix_server(factory, sock=sock)
        with pytest.raises(ValueError, match="path was not specified"):
            await loop.create_unix_server(factory)
        with socket.socket(socket.AF_UNIX) as sock:
            with pytest.raises(ValueError, match="path and sock"):
                await loop.create_unix_server(factory, str(tmp_path / "x"), sock=sock)
    run(loop, main())


def test_unix_streams(loop, tmp_path):
    path = str(tmp_path / "streams.sock")

    async def handle(reader, writer):
        writer.write((await reader.readline())[::-1])
        await writer.drain()
        writer.close()

    async def main():
        server = await asyncio.start_unix_server(handle, path)
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"abc\n")
        assert await reader.read() == b"\ncba"
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
    run(loop, main())
