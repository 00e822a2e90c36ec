"""The server side of io.py: one I/O workload's server on one event loop, in this
fresh process, until its stdin closes.

    python io_server.py LOOP SERVER      LOOP: asyncio | uvloop | rloop | boucle
                                         SERVER: echo_streams | echo_protocol | accept | aiohttp

Prints `boucle-io-port PORT` once it listens on 127.0.0.1 (or
`boucle-bench-unavailable REASON`). A thread answers each `cpu` line on stdin
with `boucle-io-cpu SECONDS` (the process's CPU time, time.process_time), so
the driver can measure the server's CPU over its load window; EOF on stdin
ends the process.
"""

import asyncio
import os
import sys
import threading
import time

from worker import UNAVAILABLE_TAG, runner

PORT_TAG = "boucle-io-port"
CPU_TAG = "boucle-io-cpu"
HELLO = "Hello, World!"


def answer_stdin():
    for line in sys.stdin:
        if line.strip() == "cpu":
            print(f"{CPU_TAG} {time.process_time():.6f}", flush=True)
    os._exit(0)


async def echo_streams_server():
    """tcp_echo, streams flavour: what asyncio users write with start_server."""

    async def echo(reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    return await asyncio.start_server(echo, "127.0.0.1", 0, backlog=1024)


class Echo(asyncio.Protocol):
    """tcp_echo, Protocol flavour: data_received writes back what came."""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def connection_lost(self, exc):
        self.transport = None


async def echo_protocol_server():
    loop = asyncio.get_running_loop()
    return await loop.create_server(Echo, "127.0.0.1", 0, backlog=1024)


async def accept_server():
    """accept_storm: every connection gets one byte, then the server closes it."""

    async def greet(reader, writer):
        writer.write(b"x")
        writer.close()

    return await asyncio.start_server(greet, "127.0.0.1", 0, backlog=1024)


async def aiohttp_server():
    """aiohttp's "hello world": GET / answers 13 bytes of text; no access log."""
    from aiohttp import web

    async def hello(request):
        return web.Response(text=HELLO)

    app = web.Application()
    app.add_routes([web.get("/", hello)])
    app_runner = web.AppRunner(app, access_log=None)
    await app_runner.setup()
    site = web.TCPSite(app_runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    return app_runner


SERVERS = {
    "echo_streams": echo_streams_server,
    "echo_protocol": echo_protocol_server,
    "accept": accept_server,
    "aiohttp": aiohttp_server,
}


async def serve(kind):
    server = await SERVERS[kind]()
    if kind == "aiohttp":
        port = server.addresses[0][1]
    else:
        port = server.sockets[0].getsockname()[1]
    print(f"{PORT_TAG} {port}", flush=True)
    await asyncio.Event().wait()  # until the driver closes stdin


def main(argv):
    if len(argv) != 2 or argv[1] not in SERVERS:
        print(__doc__, file=sys.stderr)
        return 2
    loop, kind = argv
    for module in [loop] * (loop != "asyncio") + ["aiohttp"] * (kind == "aiohttp"):
        try:
            __import__(module)
        except ImportError as e:
            print(f"{UNAVAILABLE_TAG} {module} is not installed: {e}", flush=True)
            return 0
    threading.Thread(target=answer_stdin, daemon=True).start()
    try:
        runner(loop)(serve(kind))
    except NotImplementedError as e:
        print(f"{UNAVAILABLE_TAG} {loop}: {type(e).__name__} {e}".rstrip(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
