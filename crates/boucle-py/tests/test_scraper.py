"""aiohttp on boucle: the seeds' scraper (examples/seeds/004_scraper_web_aiohttp.py)
run unchanged on asyncio's loop and on boucle's against local servers this module
starts (threads of this process: Python's http.server on 127.0.0.1 and ::1, plain
and TLS, plus raw sockets that reset or hang up), with per-URL successes and errors
and the same output on both loops; then aiohttp's own client and server in one
loop, over HTTP and HTTPS (a self-signed certificate made with the openssl CLI),
a Unix socket and a WebSocket, and a client timeout on a server that never
answers.

aiohttp comes from PyPI (scripts/test.sh installs it); without it the module is
skipped.
"""

import asyncio
import http.server
import os
import pathlib
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import threading

import pytest

aiohttp = pytest.importorskip(
    "aiohttp", reason="aiohttp is not installed (pip install 'aiohttp>=3.9,<4'; scripts/test.sh does)"
)
from aiohttp import web  # noqa: E402

import boucle  # noqa: E402

SEEDS = pathlib.Path(__file__).resolve().parent.parent / "examples" / "seeds"
SCRAPER = "004_scraper_web_aiohttp.py"
LOOPS = ["asyncio", "boucle"]
BIG = 1_000_000  # characters: many reads, and the client's flow control


def page(n):
    """n characters, two UTF-8 bytes each: the scraper counts characters."""
    return "é" * n


class Pages(http.server.BaseHTTPRequestHandler):
    """GET /page/N: N characters (text/html, utf-8); anything else: a 404 with a body."""

    protocol_version = "HTTP/1.1"  # keep-alive: aiohttp reuses its connections

    def do_GET(self):
        m = re.fullmatch(r"/page/(\d+)", self.path)
        status, body = (200, page(int(m.group(1)))) if m else (404, "introuvable")
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def serve_http(host, context=None):
    """A threaded http.server on host, port 0; with context, TLS. Returns the server."""
    cls = Server6 if ":" in host else http.server.ThreadingHTTPServer
    server = cls((host, 0), Pages)
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def serve_raw(how):
    """A listening socket on 127.0.0.1 that reads each request, then hangs up:
    how="reset" with an RST (SO_LINGER 0), how="close" with a plain FIN."""
    listener = socket.create_server(("127.0.0.1", 0))

    def run():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                if how == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    threading.Thread(target=run, daemon=True).start()
    return listener


def refusing_socket(family=socket.AF_INET, host="127.0.0.1"):
    """A socket bound to a port and never listening: connections to it are
    refused. Kept open while it is used, so that no client's ephemeral port
    can be that number (a connection to itself: ::1 has no other address to
    put the port on)."""
    s = socket.socket(family)
    s.bind((host, 0))
    return s


def self_signed(directory, name):
    """(cert, key) paths: a self-signed certificate for 127.0.0.1, ::1 and localhost."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is not installed")
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def server_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Two unrelated self-signed certificates: "trusted" (the clients load it as
    their CA) and "stranger" (nobody does)."""
    d = tmp_path_factory.mktemp("certs")
    return {"trusted": self_signed(d, "trusted"), "stranger": self_signed(d, "stranger")}


@pytest.fixture(scope="module")
def servers(certs):
    """Every local server of the scraper tests; their base URLs by name."""
    made = {
        "v4": serve_http("127.0.0.1"),
        "v6": serve_http("::1"),
        "tls": serve_http("127.0.0.1", server_context(*certs["trusted"])),
        "tls_stranger": serve_http("127.0.0.1", server_context(*certs["stranger"])),
    }
    raw = {"reset": serve_raw("reset"), "close": serve_raw("close"),
           "refused4": refusing_socket(), "refused6": refusing_socket(socket.AF_INET6, "::1")}
    urls = {
        "v4": "http://127.0.0.1:%d" % made["v4"].server_address[1],
        "v6": "http://[::1]:%d" % made["v6"].server_address[1],
        "tls": "https://127.0.0.1:%d" % made["tls"].server_address[1],
        "tls_stranger": "https://127.0.0.1:%d" % made["tls_stranger"].server_address[1],
        "reset": "http://127.0.0.1:%d" % raw["reset"].getsockname()[1],
        "close": "http://127.0.0.1:%d" % raw["close"].getsockname()[1],
        "refused4": "http://127.0.0.1:%d" % raw["refused4"].getsockname()[1],
        "refused6": "http://[::1]:%d" % raw["refused6"].getsockname()[1],
    }
    yield urls
    for s in made.values():
        s.shutdown()
        s.server_close()
    for s in raw.values():
        s.close()


def scrape(loop, urls, ca=None):
    """Runs the seed's scraper on loop ("asyncio" or "boucle") over urls; its stdout.
    ca: a certificate file the default SSL context trusts (SSL_CERT_FILE), so the
    seed's unchanged ClientSession verifies our self-signed servers."""
    env = dict(os.environ)
    if ca is not None:
        env["SSL_CERT_FILE"] = str(ca)
    proc = subprocess.run(
        [sys.executable, str(SEEDS / "run_seed.py"), "--loop", loop, str(SEEDS / SCRAPER), *urls],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def without_timings(text):
    return re.sub(r"\d+\.\d+s", "<t>", text)


def result_lines(out):
    """The per-URL lines, between "=== Résultats ===" and the total time."""
    lines = out.splitlines()
    start = lines.index("=== Résultats ===") + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("Temps total"))
    return [line for line in lines[start:end] if line]


@pytest.fixture(scope="module")
def plain_urls(servers):
    s = servers
    return [
        f"{s['v4']}/page/1000",
        f"{s['v6']}/page/2000",
        f"{s['v4']}/nulle-part",  # a 404: the seed reports it as a success (no raise_for_status)
        f"{s['v4']}/page/{BIG}",
        f"{s['reset']}/",
        f"{s['close']}/",
        f"{s['refused4']}/",
        f"{s['refused6']}/",
    ] * 2  # as the seed's "* 3": the same hosts again, concurrently, on pooled connections


def expected_plain(s):
    one = [
        f"✓ {s['v4']}/page/1000: 1000 bytes",
        f"✓ {s['v6']}/page/2000: 2000 bytes",
        f"✓ {s['v4']}/nulle-part: 11 bytes",
        f"✓ {s['v4']}/page/{BIG}: {BIG} bytes",
        f"✗ {s['reset']}/: [Errno 104] Connection reset by peer",
        f"✗ {s['close']}/: Server disconnected",
    ]
    for key, addr in (("refused4", "('127.0.0.1', %s)"), ("refused6", "('::1', %s, 0, 0)")):
        host_port = s[key].split("//", 1)[1]
        port = host_port.rsplit(":", 1)[1]
        host = host_port.rsplit(":", 1)[0].strip("[]")
        one.append(
            f"✗ {s[key]}/: Cannot connect to host {host}:{port} ssl:default "
            f"[Connect call failed {addr % port}]"
        )
    return one * 2


@pytest.mark.parametrize("loop", LOOPS)
def test_scraper_successes_and_errors_per_url(loop, servers, plain_urls):
    out = scrape(loop, plain_urls)
    assert out.startswith("Téléchargement des pages...\n\n=== Résultats ===\n")
    assert re.search(r"\nTemps total: \d+\.\d\ds\n$", out), out
    assert result_lines(out) == expected_plain(servers)


def test_scraper_same_output_on_asyncio_and_boucle(plain_urls):
    on_asyncio = scrape("asyncio", plain_urls)
    on_boucle = scrape("boucle", plain_urls)
    assert without_timings(on_boucle) == without_timings(on_asyncio)


@pytest.fixture(scope="module")
def tls_urls(servers):
    s = servers
    return [
        f"{s['tls']}/page/500",
        f"{s['tls']}/page/{BIG}",
        f"{s['tls']}/absente",
        f"{s['tls_stranger']}/page/1",  # a certificate no CA we trust signed
        f"{s['v4'].replace('http:', 'https:')}/page/1",  # TLS to a plain-HTTP server
    ]


@pytest.mark.parametrize("loop", LOOPS)
def test_scraper_over_https(loop, servers, tls_urls, certs):
    lines = result_lines(scrape(loop, tls_urls, ca=certs["trusted"][0]))
    assert lines[:3] == [
        f"✓ {servers['tls']}/page/500: 500 bytes",
        f"✓ {servers['tls']}/page/{BIG}: {BIG} bytes",
        f"✓ {servers['tls']}/absente: 11 bytes",
    ]
    assert lines[3].startswith(f"✗ {servers['tls_stranger']}/page/1: Cannot connect to host")
    assert "CERTIFICATE_VERIFY_FAILED" in lines[3] and "self-signed certificate" in lines[3]
    assert lines[4].startswith("✗ https://127.0.0.1:")
    assert "SSL" in lines[4], lines[4]


def test_scraper_over_https_same_output_on_asyncio_and_boucle(tls_urls, certs):
    ca = certs["trusted"][0]
    on_asyncio = scrape("asyncio", tls_urls, ca=ca)
    on_boucle = scrape("boucle", tls_urls, ca=ca)
    assert without_timings(on_boucle) == without_timings(on_asyncio)


# ----- aiohttp's client and server in one loop -----


def run_on(loop, coro):
    factory = boucle.new_event_loop if loop == "boucle" else asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        if loop == "boucle":
            assert isinstance(runner.get_loop(), boucle.Loop)
        return runner.run(coro)


def app():
    async def hello(request):
        return web.Response(text="Bonjour " + request.match_info["nom"])

    async def echo(request):
        body = await request.read()
        return web.json_response({"taille": len(body), "debut": body[:4].decode()})

    async def stream(request):
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for i in range(100):
            await response.write(b"%05d" % i * 200)
        await response.write_eof()
        return response

    application = web.Application(client_max_size=16 * 2**20)
    application.add_routes([web.get("/bonjour/{nom}", hello), web.post("/echo", echo),
                            web.get("/flux", stream)])
    return application


async def serve_app(host="127.0.0.1", ssl_context=None):
    runner = web.AppRunner(app())
    await runner.setup()
    site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port


async def round_trips(base, **client_options):
    async with asyncio.timeout(20):
        async with aiohttp.ClientSession(**client_options) as session:
            async with session.get(f"{base}/bonjour/boucle") as r:
                assert (r.status, await r.text()) == (200, "Bonjour boucle")
            upload = b"abcd" + os.urandom(4 * 2**20)
            async with session.post(f"{base}/echo", data=upload) as r:
                assert await r.json() == {"taille": len(upload), "debut": "abcd"}
            async with session.get(f"{base}/flux") as r:
                got = await r.read()
                assert got == b"".join(b"%05d" % i * 200 for i in range(100))
            async with session.get(f"{base}/rien") as r:
                assert r.status == 404
            # 20 requests at once over the session's pool
            texts = await asyncio.gather(
                *(fetch_text(session, f"{base}/bonjour/n{i}") for i in range(20))
            )
            assert texts == [f"Bonjour n{i}" for i in range(20)]


async def fetch_text(session, url):
    async with session.get(url) as r:
        return await r.text()


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_aiohttp_client_and_server_round_trip(loop, host):
    async def main():
        runner, port = await serve_app(host)
        try:
            url_host = f"[{host}]" if ":" in host else host
            await round_trips(f"http://{url_host}:{port}")
        finally:
            await runner.cleanup()

    run_on(loop, main())


@pytest.mark.parametrize("loop", LOOPS)
def test_aiohttp_https_round_trip_and_unknown_ca(loop, certs):
    cert, key = certs["trusted"]
    client_ctx = ssl.create_default_context(cafile=str(cert))
    stranger_ctx = ssl.create_default_context(cafile=str(certs["stranger"][0]))

    async def main():
        runner, port = await serve_app(ssl_context=server_context(cert, key))
        try:
            await round_trips(f"https://127.0.0.1:{port}", connector=aiohttp.TCPConnector(ssl=client_ctx))
            # a client that trusts another CA: the handshake fails, the server lives on
            async with aiohttp.ClientSession() as session:
                with pytest.raises(aiohttp.ClientConnectorCertificateError) as err:
                    await session.get(f"https://127.0.0.1:{port}/bonjour/x", ssl=stranger_ctx)
                assert "CERTIFICATE_VERIFY_FAILED" in str(err.value)
                # wrong host name: the certificate is for 127.0.0.1, ::1 and localhost
                wrong_name = ssl.create_default_context(cafile=str(cert))
                with pytest.raises(aiohttp.ClientConnectorCertificateError) as err:
                    await session.get(f"https://127.0.0.1:{port}/bonjour/x", ssl=wrong_name,
                                      server_hostname="ailleurs.example")
                assert "ailleurs.example" in str(err.value)
                async with session.get(f"https://127.0.0.1:{port}/bonjour/encore", ssl=client_ctx) as r:
                    assert await r.text() == "Bonjour encore"
        finally:
            await runner.cleanup()

    run_on(loop, main())


@pytest.mark.parametrize("loop", LOOPS)
def test_aiohttp_over_a_unix_socket(loop, tmp_path):
    path = str(tmp_path / "aiohttp.sock")

    async def main():
        runner = web.AppRunner(app())
        await runner.setup()
        await web.UnixSite(runner, path).start()
        try:
            # the host in the URL is only the Host header: the connector dials the path
            await round_trips("http://boucle.invalid", connector=aiohttp.UnixConnector(path=path))
        finally:
            await runner.cleanup()

    run_on(loop, main())


@pytest.mark.parametrize("loop", LOOPS)
def test_aiohttp_websocket_echo(loop):
    async def ws_echo(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(msg.data.upper())
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data[::-1])
        return ws

    async def main():
        application = web.Application()
        application.add_routes([web.get("/ws", ws_echo)])
        runner = web.AppRunner(application)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        try:
            async with asyncio.timeout(20):
                async with aiohttp.ClientSession() as session:
                    async with session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
                        for i in range(50):
                            await ws.send_str(f"message {i}")
                            assert await ws.receive_str() == f"MESSAGE {i}"
                        big = os.urandom(2**20)
                        await ws.send_bytes(big)
                        assert await ws.receive_bytes() == big[::-1]
                        await ws.close()
                    assert ws.closed
        finally:
            await runner.cleanup()

    run_on(loop, main())


@pytest.mark.parametrize("loop", LOOPS)
def test_aiohttp_client_timeout_on_a_server_that_never_answers(loop):
    """A server (on the loop under test) that reads the request and says
    nothing: aiohttp's timeout (a loop timer) ends the request, the
    connection closes, and the session still works afterwards."""

    async def main():
        silent_conns = []
        hung_up = asyncio.Event()

        async def silent(reader, writer):
            silent_conns.append(writer)
            await reader.readuntil(b"\r\n\r\n")
            if not await reader.read(1):  # EOF: the client gave up and closed
                hung_up.set()
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        runner, ok_port = await serve_app()
        try:
            async with asyncio.timeout(20):
                async with aiohttp.ClientSession() as session:
                    loop_ = asyncio.get_running_loop()
                    start = loop_.time()
                    with pytest.raises(asyncio.TimeoutError):
                        await session.get(f"http://127.0.0.1:{port}/",
                                          timeout=aiohttp.ClientTimeout(total=0.05))
                    assert 0.04 <= loop_.time() - start < 5
                    await hung_up.wait()
                    async with session.get(f"http://127.0.0.1:{ok_port}/bonjour/apres") as r:
                        assert await r.text() == "Bonjour apres"
            assert len(silent_conns) == 1
        finally:
            server.close()
            await server.wait_closed()
            await runner.cleanup()

    run_on(loop, main())
