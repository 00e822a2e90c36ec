"""The client side of io.py: the same load for every server, from this separate
process, on one fixed loop (uvloop when installed, else asyncio's).

    python io_client.py WORKLOAD PORT CONNS WARMUP_S SECONDS
                                         WORKLOAD: tcp_echo | accept_storm

tcp_echo: CONNS connections to 127.0.0.1:PORT, each sending 64 bytes and
waiting for their echo, over and over. accept_storm: CONNS at a time, each a
new connection that waits for the server's one byte, then aborts (an RST, so
that no TIME_WAIT piles up over the runs). After WARMUP_S seconds of load it
prints `boucle-io-phase start`, after SECONDS more `boucle-io-phase end`, then
`boucle-io-client loop=L ops=N seconds=S` with the operations (round trips,
connections) completed in that window.
"""

import asyncio
import socket
import struct
import sys
import time

ECHO = b"x" * 64
PHASE_TAG = "boucle-io-phase"
CLIENT_TAG = "boucle-io-client"


class Window:
    """Counts operations, only between start() and end()."""

    def __init__(self):
        self.counting = False
        self.running = True
        self.ops = 0

    def done(self):
        if self.counting:
            self.ops += 1


class EchoClient(asyncio.Protocol):
    def __init__(self, window, lost):
        self.window, self.lost, self.pending = window, lost, 0

    def connection_made(self, transport):
        self.transport = transport
        transport.write(ECHO)

    def data_received(self, data):
        self.pending += len(data)
        while self.pending >= len(ECHO):
            self.pending -= len(ECHO)
            self.window.done()
            if self.window.running:
                self.transport.write(ECHO)

    def connection_lost(self, exc):
        if not self.lost.done():
            self.lost.set_result(exc)


async def tcp_echo(port, conns, window):
    loop = asyncio.get_running_loop()
    transports = []
    for _ in range(conns):
        lost = loop.create_future()
        t, _ = await loop.create_connection(lambda: EchoClient(window, lost), "127.0.0.1", port)
        t.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transports.append((t, lost))
    return transports


class OneByte(asyncio.Protocol):
    def __init__(self, got):
        self.got = got

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if not self.got.done():
            self.got.set_result(data)

    def eof_received(self):
        if not self.got.done():
            self.got.set_result(b"")

    def connection_lost(self, exc):
        if not self.got.done():
            self.got.set_result(exc)


LINGER_0 = struct.pack("ii", 1, 0)


async def accept_worker(port, window):
    loop = asyncio.get_running_loop()
    while window.running:
        got = loop.create_future()
        t, _ = await loop.create_connection(lambda: OneByte(got), "127.0.0.1", port)
        data = await got
        if data != b"x":
            raise SystemExit(f"accept_storm: the server sent {data!r}, not b'x'")
        t.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_0)
        t.abort()
        window.done()


async def drive(workload, port, conns, warmup, seconds):
    window = Window()
    conns_made, workers = [], []
    if workload == "tcp_echo":
        conns_made = await tcp_echo(port, conns, window)
    else:
        workers = [asyncio.create_task(accept_worker(port, window)) for _ in range(conns)]
    await asyncio.sleep(warmup)
    print(f"{PHASE_TAG} start", flush=True)
    window.counting = True
    start = time.perf_counter()
    await asyncio.sleep(seconds)
    window.counting = False
    elapsed = time.perf_counter() - start
    print(f"{PHASE_TAG} end", flush=True)
    window.running = False
    if workers:
        await asyncio.gather(*workers)
    for t, lost in conns_made:
        t.close()
    return window.ops, elapsed


def main(argv):
    if len(argv) != 5 or argv[0] not in ("tcp_echo", "accept_storm"):
        print(__doc__, file=sys.stderr)
        return 2
    workload, port, conns, warmup, seconds = argv[0], int(argv[1]), int(argv[2]), float(argv[3]), float(argv[4])
    try:
        import uvloop

        name, run = "uvloop", uvloop.run
    except ImportError:
        name, run = "asyncio", asyncio.run
    ops, elapsed = run(drive(workload, port, conns, warmup, seconds))
    print(f"{CLIENT_TAG} loop={name} ops={ops} seconds={elapsed:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
