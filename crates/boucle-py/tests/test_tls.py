"""TLS on boucle.Loop: ssl= on connections and servers (TCP, Unix, accepted
sockets), start_tls, handshake timeouts, and the failures (unknown CA, wrong
host name) as asyncio reports them. The certificates are made for the
session with the ``openssl`` command-line tool: a CA and a server
certificate for ``localhost`` / 127.0.0.1 that it signs, and a second CA
nobody trusts. On boucle and on asyncio's selector loop; loopback only."""

import asyncio
import shutil
import socket
import ssl
import subprocess

import pytest

import boucle

BOUND = 10.0

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl tool")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_ca(d, name):
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
        "-subj", f"/CN=boucle {name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d,
    )


def _make_leaf(d, name, ca):
    (d / f"{name}.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\n"
        "subjectKeyIdentifier=hash\n"
    )
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=localhost", cwd=d,
    )
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
        "-extfile", f"{name}.ext", cwd=d,
    )


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    _make_ca(d, "ca")
    _make_ca(d, "stranger")
    _make_leaf(d, "server", "ca")
    _make_leaf(d, "unknown", "stranger")
    return d


@pytest.fixture
def server_ctx(certs):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs / "server.pem", certs / "server.key")
    return ctx


@pytest.fixture
def stranger_ctx(certs):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs / "unknown.pem", certs / "unknown.key")
    return ctx


@pytest.fixture
def client_ctx(certs):
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    return ctx


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


async def _upper(reader, writer):
    try:
        while line := await reader.readline():
            writer.write(line.upper())
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    writer.close()


async def _tls_server(server_ctx, **kwargs):
    server = await asyncio.start_server(_upper, "127.0.0.1", 0, ssl=server_ctx, **kwargs)
    return server, server.sockets[0].getsockname()[1]


def test_tls_round_trip_with_streams(loop, server_ctx, client_ctx):
    async def main():
        server, port = await _tls_server(server_ctx)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost")
        writer.write(b"secret\n")
        assert await reader.readline() == b"SECRET\n"
        transport = writer.transport
        assert transport.get_extra_info("peercert")["subject"] == ((("commonName", "localhost"),),)
        assert transport.get_extra_info("cipher") is not None
        assert isinstance(transport.get_extra_info("ssl_object"), ssl.SSLObject)
        assert transport.get_extra_info("sslcontext") is client_ctx
        assert transport.get_extra_info("peername")[1] == port
        assert transport.get_extra_info("socket") is not None
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
    run(loop, main())
    assert loop.errors == []


def test_tls_host_name_from_host(loop, server_ctx, client_ctx):
    async def main():
        server, port = await _tls_server(server_ctx)
        reader, writer = await asyncio.open_connection("localhost", port, ssl=client_ctx,
                                                       family=socket.AF_INET)
        writer.write(b"by name\n")
        assert await reader.readline() == b"BY NAME\n"
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_tls_large_payload_both_ways(loop, server_ctx, client_ctx):
    async def main():
        server, port = await _tls_server(server_ctx, limit=1 << 22)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost", limit=1 << 22)
        line = b"x" * (2 * 1024 * 1024) + b"\n"
        writer.write(line)
        got = await reader.readline()
        assert got == line.upper()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_tls_protocol_level(loop, server_ctx, client_ctx):
    class Collect(asyncio.Protocol):
        def __init__(self):
            self.data = bytearray()
            self.lost = loop.create_future()

        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.data += data
            if self.data.endswith(b"\n"):
                self.transport.write(b"got " + bytes(self.data))
                self.transport.close()

        def connection_lost(self, exc):
            self.lost.set_result(exc)

    async def main():
        server = await loop.create_server(Collect, "127.0.0.1", 0, ssl=server_ctx,
                                          ssl_handshake_timeout=5, ssl_shutdown_timeout=5)
        port = server.sockets[0].getsockname()[1]
        client = Collect()
        transport, _ = await loop.create_connection(
            lambda: client, "127.0.0.1", port, ssl=client_ctx,
            server_hostname="localhost", ssl_handshake_timeout=5, ssl_shutdown_timeout=5)
        assert not transport.is_closing()
        transport.write(b"hi\n")
        while not client.data:
            await asyncio.sleep(0.001)
        await client.lost
        assert client.data.startswith(b"got hi")
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_unknown_ca(loop, stranger_ctx, client_ctx):
    async def main():
        server, port = await _tls_server(stranger_ctx)
        with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
            await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx,
                                          server_hostname="localhost")
        # ssl=True: the system's default CAs, which do not know ours either.
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection("localhost", port, ssl=True,
                                          family=socket.AF_INET)
        server.close()
        await server.wait_closed()
    run(loop, main())
    assert loop.errors == []


def test_wrong_host_name(loop, server_ctx, client_ctx):
    async def main():
        server, port = await _tls_server(server_ctx)
        with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
            await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx,
                                          server_hostname="not-localhost.example")
        server.close()
        await server.wait_closed()
    run(loop, main())
    assert loop.errors == []


def test_plain_client_on_tls_server(loop, server_ctx):
    async def main():
        server, port = await _tls_server(server_ctx)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.0\r\n\r\n")
        # The server drops a client that does not speak TLS (after a TLS
        # alert, or none).
        reply = await reader.read()
        assert reply == b"" or reply[:1] == b"\x15"
        writer.close()
        server.close()
        await server.wait_closed()
    run(loop, main())
    assert loop.errors == []


def test_handshake_timeout(loop, client_ctx):
    async def main():
        silent = socket.create_server(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        with pytest.raises(ConnectionAbortedError, match="SSL handshake is taking longer"):
            await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx,
                                          server_hostname="localhost",
                                          ssl_handshake_timeout=0.05)
        silent.close()
    run(loop, main())


def test_start_tls_both_sides(loop, server_ctx, client_ctx):
    async def handle(reader, writer):
        assert await reader.readline() == b"STARTTLS\n"
        writer.write(b"go ahead\n")
        await writer.drain()
        await writer.start_tls(server_ctx)
        assert writer.get_extra_info("sslcontext") is server_ctx
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"STARTTLS\n")
        assert await reader.readline() == b"go ahead\n"
        await writer.start_tls(client_ctx, server_hostname="localhost")
        assert writer.get_extra_info("peercert") is not None
        writer.write(b"now secret\n")
        assert await reader.readline() == b"NOW SECRET\n"
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_start_tls_bad_arguments(loop, client_ctx):
    async def main():
        server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, proto = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        with pytest.raises(TypeError, match="sslcontext is expected"):
            await loop.start_tls(transport, proto, object())
        transport.close()
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_start_tls_fails_with_unknown_ca(loop, stranger_ctx, client_ctx):
    async def handle(reader, writer):
        try:
            await writer.start_tls(stranger_ctx)
        except (ssl.SSLError, ConnectionError):
            pass
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, proto = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        with pytest.raises(ssl.SSLCertVerificationError):
            await loop.start_tls(transport, proto, client_ctx, server_hostname="localhost")
        assert transport.is_closing()
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_tls_over_unix_sockets(loop, server_ctx, client_ctx, tmp_path):
    path = str(tmp_path / "tls.sock")

    async def main():
        server = await asyncio.start_unix_server(_upper, path, ssl=server_ctx)
        with pytest.raises(ValueError, match="server_hostname"):
            await loop.create_unix_connection(asyncio.Protocol, path, ssl=client_ctx)
        reader, writer = await asyncio.open_unix_connection(
            path, ssl=client_ctx, server_hostname="localhost")
        writer.write(b"unix tls\n")
        assert await reader.readline() == b"UNIX TLS\n"
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
    run(loop, main())


def test_tls_connect_accepted_socket(loop, server_ctx, client_ctx):
    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data[::-1])

    async def main():
        listener = socket.create_server(("127.0.0.1", 0))
        listener.setblocking(False)
        port = listener.getsockname()[1]
        client = asyncio.ensure_future(asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"))
        conn, _ = await loop.sock_accept(listener)
        transport, _ = await loop.connect_accepted_socket(Echo, conn, ssl=server_ctx,
                                                          ssl_handshake_timeout=5)
        reader, writer = await client
        writer.write(b"olleh")
        assert await reader.readexactly(5) == b"hello"
        writer.close()
        await writer.wait_closed()
        transport.close()
        listener.close()
    run(loop, main())
