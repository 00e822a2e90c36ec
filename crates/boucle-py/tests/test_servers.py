"""Servers and connections: create_server / Server, create_connection,
connect_accepted_socket; bad input included (Unix sockets:
test_unix_servers.py, datagram endpoints: test_datagrams.py). On boucle and on asyncio's selector loop where both behave alike
(a few 3.12+/3.13 behaviours are checked on boucle only); loopback only."""

import asyncio
import errno
import os
import socket
import sys
from asyncio import trsock

import pytest


BOUND = 10.0
HAS_IPV6 = socket.has_ipv6
try:
    socket.socket(socket.AF_INET6).close()
except OSError:
    HAS_IPV6 = False


def run(loop, coro):
    return loop.run_until_complete(asyncio.wait_for(coro, BOUND))


class Echo(asyncio.Protocol):
    """Sends back what it receives; records its transport."""

    instances = None

    def __init__(self, loop):
        self.lost = loop.create_future()
        if Echo.instances is not None:
            Echo.instances.append(self)

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def connection_lost(self, exc):
        if not self.lost.done():
            self.lost.set_result(exc)


class Client(asyncio.Protocol):
    def __init__(self, loop):
        self.data = bytearray()
        self.lost = loop.create_future()

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.data += data

    def connection_lost(self, exc):
        self.lost.set_result(exc)


async def _until(predicate):
    for _ in range(10_000):
        if predicate():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never became true")


async def _echo_once(loop, transport, proto, payload=b"hello"):
    transport.write(payload)
    await _until(lambda: len(proto.data) >= len(payload))
    assert bytes(proto.data) == payload


# create_server and Server.


def test_server_round_trip_and_attributes(loop):
    async def main():
        server = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0)
        assert server.get_loop() is loop
        assert server.is_serving()
        (sock,) = server.sockets
        assert isinstance(sock, trsock.TransportSocket)
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        transport, proto = await loop.create_connection(lambda: Client(loop), host, port)
        assert transport.get_extra_info("peername") == (host, port)
        await _echo_once(loop, transport, proto)
        transport.close()
        assert await proto.lost is None
        server.close()
        assert not server.is_serving()
        assert server.sockets == ()
        await server.wait_closed()
        with pytest.raises(ConnectionRefusedError):
            await loop.create_connection(lambda: Client(loop), host, port)
    run(loop, main())


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6")
def test_server_on_a_host_list(loop):
    async def main():
        server = await loop.create_server(lambda: Echo(loop), ["127.0.0.1", "::1"], 0)
        families = sorted(s.family for s in server.sockets)
        assert families == sorted([socket.AF_INET, socket.AF_INET6])
        for s in server.sockets:
            if s.family == socket.AF_INET6:
                assert s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
            addr = s.getsockname()
            transport, proto = await loop.create_connection(
                lambda: Client(loop), addr[0], addr[1])
            await _echo_once(loop, transport, proto, b"v%d" % s.family)
            transport.close()
            await proto.lost
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_start_serving_false(loop):
    async def main():
        server = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0,
                                          start_serving=False)
        assert not server.is_serving()
        port = server.sockets[0].getsockname()[1]
        # Not listening yet: refused.
        with pytest.raises(ConnectionRefusedError):
            await loop.create_connection(lambda: Client(loop), "127.0.0.1", port)
        await server.start_serving()
        await server.start_serving()
        assert server.is_serving()
        transport, proto = await loop.create_connection(lambda: Client(loop),
                                                        "127.0.0.1", port)
        await _echo_once(loop, transport, proto)
        transport.close()
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_serve_forever_and_cancel(loop):
    async def main():
        server = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0,
                                          start_serving=False)
        task = asyncio.ensure_future(server.serve_forever())
        await asyncio.sleep(0)
        assert server.is_serving()
        with pytest.raises(RuntimeError, match="already being awaited"):
            await server.serve_forever()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not server.is_serving()
        with pytest.raises(RuntimeError, match="is closed"):
            await server.serve_forever()
    run(loop, main())


def test_serve_forever_ends_when_closed(loop):
    async def main():
        server = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0)
        task = asyncio.ensure_future(server.serve_forever())
        await asyncio.sleep(0)
        server.close()
        with pytest.raises(asyncio.CancelledError):
            await task
    run(loop, main())


def test_async_with(loop):
    async def main():
        async with await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0) as server:
            assert server.is_serving()
        assert not server.is_serving()
        await server.wait_closed()
    run(loop, main())


def test_wait_closed_waits_for_connections(bloop):
    # asyncio's 3.12 behaviour (3.11's wait_closed returns at once).
    loop = bloop

    async def main():
        Echo.instances = []
        server = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, proto = await loop.create_connection(lambda: Client(loop),
                                                        "127.0.0.1", port)
        await _echo_once(loop, transport, proto)
        server.close()
        waiting = asyncio.ensure_future(server.wait_closed())
        await asyncio.sleep(0.01)
        assert not waiting.done()
        # The live connection goes on after close().
        proto.data.clear()
        await _echo_once(loop, transport, proto, b"more")
        transport.close()
        await waiting
        await server.wait_closed()
    try:
        run(loop, main())
    finally:
        Echo.instances = None


def test_close_and_abort_clients(bloop):
    loop = bloop

    async def main():
        Echo.instances = []
        server = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        clients = []
        for _ in range(3):
            transport, proto = await loop.create_connection(lambda: Client(loop),
                                                            "127.0.0.1", port)
            await _echo_once(loop, transport, proto)
            clients.append(proto)
        server.close()
        Echo.instances[0].transport.pause_reading()
        server.close_clients()
        await asyncio.gather(*(e.lost for e in Echo.instances))
        for proto in clients:
            await proto.lost
        await server.wait_closed()
        # abort_clients on a fresh server with a client.
        Echo.instances = []
        server = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, proto = await loop.create_connection(lambda: Client(loop),
                                                        "127.0.0.1", port)
        await _echo_once(loop, transport, proto)
        server.abort_clients()
        assert await Echo.instances[0].lost is None
        await proto.lost
        server.close()
        await server.wait_closed()
    try:
        run(loop, main())
    finally:
        Echo.instances = None


def test_many_clients_at_once(loop):
    async def main():
        server = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0, backlog=200)
        port = server.sockets[0].getsockname()[1]

        async def one(i):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"%d\n" % i)
            line = await reader.readline()
            writer.close()
            await writer.wait_closed()
            return int(line)

        assert await asyncio.gather(*(one(i) for i in range(100))) == list(range(100))
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_reuse_port(loop):
    if not hasattr(socket, "SO_REUSEPORT"):
        pytest.skip("no SO_REUSEPORT")

    async def main():
        first = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0, reuse_port=True)
        port = first.sockets[0].getsockname()[1]
        second = await loop.create_server(lambda: Echo(loop), "127.0.0.1", port,
                                          reuse_port=True)
        assert second.sockets[0].getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        first.close()
        second.close()
        await first.wait_closed()
        await second.wait_closed()
    run(loop, main())


def test_port_in_use(loop):
    async def main():
        first = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0)
        port = first.sockets[0].getsockname()[1]
        with pytest.raises(OSError, match="error while attempting to bind") as info:
            await loop.create_server(lambda: Echo(loop), "127.0.0.1", port)
        assert info.value.errno == errno.EADDRINUSE
        first.close()
        await first.wait_closed()
    run(loop, main())


def test_server_on_a_given_socket(loop):
    async def main():
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = await loop.create_server(lambda: Echo(loop), sock=sock)
        port = sock.getsockname()[1]
        transport, proto = await loop.create_connection(lambda: Client(loop),
                                                        "127.0.0.1", port)
        await _echo_once(loop, transport, proto)
        transport.close()
        server.close()
        await server.wait_closed()
        assert sock.fileno() == -1
    run(loop, main())


def test_create_server_bad_arguments(loop):
    async def main():
        factory = lambda: Echo(loop)  # noqa: E731
        with pytest.raises(ValueError, match="Neither host/port nor sock"):
            await loop.create_server(factory)
        with socket.socket() as sock:
            with pytest.raises(ValueError, match="can not be specified at the same time"):
                await loop.create_server(factory, "127.0.0.1", 0, sock=sock)
        with socket.socket(type=socket.SOCK_DGRAM) as sock:
            with pytest.raises(ValueError, match="A Stream Socket was expected"):
                await loop.create_server(factory, sock=sock)
        with pytest.raises(TypeError, match="ssl argument must be an SSLContext"):
            await loop.create_server(factory, "127.0.0.1", 0, ssl=True)
        with pytest.raises(ValueError, match="ssl_handshake_timeout is only meaningful"):
            await loop.create_server(factory, "127.0.0.1", 0, ssl_handshake_timeout=1)
        with pytest.raises(socket.gaierror):
            await loop.create_server(factory, "no-such-host.invalid", 0)
    run(loop, main())


# create_connection.


# A port nobody listens on: port 1 (tcpmux, unused) on a loopback address of
# its own. Not a freed ephemeral port of 127.0.0.1: the client's own
# ephemeral port could be that number, and it would connect to itself.
CLOSED = ("127.0.0.4", 1)


def test_connection_refused(loop):
    async def main():
        with pytest.raises(ConnectionRefusedError):
            await loop.create_connection(lambda: Client(loop), *CLOSED)
    run(loop, main())


def test_all_errors_group(bloop):
    loop = bloop

    async def main():
        with pytest.raises(ExceptionGroup) as info:
            await loop.create_connection(lambda: Client(loop), *CLOSED, all_errors=True)
        assert isinstance(info.value.exceptions[0], ConnectionRefusedError)
    run(loop, main())


def test_local_addr_and_happy_eyeballs(loop):
    async def main():
        server = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, proto = await loop.create_connection(
            lambda: Client(loop), "127.0.0.1", port, local_addr=("127.0.0.1", 0),
            happy_eyeballs_delay=0.05, interleave=1,
        )
        assert transport.get_extra_info("sockname")[0] == "127.0.0.1"
        await _echo_once(loop, transport, proto)
        transport.close()
        await proto.lost
        if HAS_IPV6:
            with pytest.raises(OSError, match="no matching local address"):
                await loop.create_connection(lambda: Client(loop), "127.0.0.1", port,
                                             local_addr=("::1", 0))
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_create_connection_on_a_connected_socket(loop):
    async def main():
        server = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0)
        sock = socket.create_connection(server.sockets[0].getsockname())
        transport, proto = await loop.create_connection(lambda: Client(loop), sock=sock)
        assert sock.gettimeout() == 0
        await _echo_once(loop, transport, proto)
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_create_connection_bad_arguments(loop):
    async def main():
        factory = lambda: Client(loop)  # noqa: E731
        with pytest.raises(ValueError, match="host and port was not specified"):
            await loop.create_connection(factory)
        with pytest.raises(ValueError, match="server_hostname is only meaningful"):
            await loop.create_connection(factory, "127.0.0.1", 1, server_hostname="x")
        with pytest.raises(ValueError, match="server_hostname when using ssl"):
            await loop.create_connection(factory, ssl=True, sock=socket.socket())
        with pytest.raises(ValueError, match="ssl_handshake_timeout is only meaningful"):
            await loop.create_connection(factory, "127.0.0.1", 1, ssl_handshake_timeout=1)
        with socket.socket() as sock:
            with pytest.raises(ValueError, match="can not be specified at the same time"):
                await loop.create_connection(factory, "127.0.0.1", 1, sock=sock)
        with socket.socket(type=socket.SOCK_DGRAM) as sock:
            with pytest.raises(ValueError, match="A Stream Socket was expected"):
                await loop.create_connection(factory, sock=sock)
        closed = socket.socket()
        closed.close()
        with pytest.raises(OSError):
            await loop.create_connection(factory, sock=closed)
    run(loop, main())


def test_reset_by_server(loop):
    class Resetter(asyncio.Protocol):
        def connection_made(self, transport):
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            transport.abort()

    async def main():
        server = await loop.create_server(Resetter, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, proto = await loop.create_connection(lambda: Client(loop),
                                                        "127.0.0.1", port)
        exc = await proto.lost
        assert exc is None or isinstance(exc, ConnectionResetError)
        server.close()
        await server.wait_closed()
    run(loop, main())


# connect_accepted_socket.


def test_connect_accepted_socket(loop):
    async def main():
        listener = socket.create_server(("127.0.0.1", 0))
        client = socket.create_connection(listener.getsockname())
        conn, _ = listener.accept()
        listener.close()
        transport, proto = await loop.connect_accepted_socket(lambda: Echo(loop), conn)
        assert transport.get_extra_info("peername") == client.getsockname()
        client.setblocking(False)
        await loop.sock_sendall(client, b"accepted")
        assert await loop.sock_recv(client, 100) == b"accepted"
        client.close()
        await proto.lost
        with socket.socket(type=socket.SOCK_DGRAM) as sock:
            with pytest.raises(ValueError, match="A Stream Socket was expected"):
                await loop.connect_accepted_socket(lambda: Echo(loop), sock)
    run(loop, main())


@pytest.mark.skipif(sys.platform != "linux", reason="linux loopback")
def test_accept_survives_a_client_gone_before_accept(loop):
    async def main():
        server = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0)
        addr = server.sockets[0].getsockname()
        quitter = socket.create_connection(addr)
        quitter.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        quitter.close()
        transport, proto = await loop.create_connection(lambda: Client(loop), *addr)
        await _echo_once(loop, transport, proto)
        transport.close()
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_failing_protocol_factory(bloop):
    loop = bloop
    calls = []
    errors = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))

    def factory():
        calls.append(None)
        if len(calls) == 1:
            raise ZeroDivisionError("no protocol for you")
        return Echo(loop)

    async def main():
        server = await loop.create_server(factory, "127.0.0.1", 0)
        addr = server.sockets[0].getsockname()
        # The first client is dropped (its socket closed: it reads EOF) ...
        reader, writer = await asyncio.open_connection(*addr)
        assert await reader.read() == b""
        writer.close()
        # ... and the server serves the next one.
        transport, proto = await loop.create_connection(lambda: Client(loop), *addr)
        await _echo_once(loop, transport, proto)
        transport.close()
        server.close()
        await server.wait_closed()
    loop.set_debug(True)
    run(loop, main())
    assert errors[0]["message"] == "Error on transport creation for incoming connection"
    assert isinstance(errors[0]["exception"], ZeroDivisionError)


def test_accept_out_of_fds_pauses_then_resumes(loop, monkeypatch):
    import resource

    from asyncio import constants

    monkeypatch.setattr(constants, "ACCEPT_RETRY_DELAY", 0.005)
    errors = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))

    async def main():
        server = await loop.create_server(lambda: Echo(loop), "127.0.0.1", 0)
        addr = server.sockets[0].getsockname()
        client = socket.socket()
        client.setblocking(False)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        lowest = os.dup(0)
        os.close(lowest)
        # No new fd can be made: accept() fails with EMFILE.
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest, hard))
        try:
            await loop.sock_connect(client, addr)
            await _until(lambda: errors)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        assert errors[0]["message"] == "socket.accept() out of system resource"
        assert errors[0]["exception"].errno == errno.EMFILE
        # Accepting starts again after the delay: the client is served.
        await loop.sock_sendall(client, b"late")
        assert await loop.sock_recv(client, 10) == b"late"
        client.close()
        server.close()
        await server.wait_closed()
    run(loop, main())
