"""User-space instructions per I/O operation on boucle's loop, counted by
valgrind's callgrind: a measure that a busy, shared machine does not blur
(io.py's rates and CPU times move by 5-10 % from run to run on it), for
changes too small for io.py to show.

    python crates/bench/python/io_instructions.py [--only echo,streams,accept] [BOUCLE_DIR ...]

Each workload runs in one process on one boucle loop, both ends included:
echo (50 socketpairs, a Protocol echo server and a Protocol client), streams
(an asyncio streams echo server on loopback TCP, the same Protocol clients)
and accept (an asyncio streams server writing one byte and closing, 50 raw
non-blocking client sockets at a time connecting, reading it and aborting).
Each is run at two sizes under callgrind; the difference of the two totals
over the difference of the sizes is the marginal cost of one operation
(round trip or connection), start-up and teardown excluded. Each BOUCLE_DIR
(a directory holding a `boucle` package, e.g. an unpacked wheel of another
commit) is measured too, put first on PYTHONPATH; without one, the installed
boucle only. Needs valgrind; takes about two minutes per boucle.
"""

import argparse
import asyncio
import os
import re
import socket
import struct
import subprocess
import sys

SIZES = {"echo": (20000, 60000), "streams": (20000, 60000), "accept": (2000, 6000)}
CONNS = 50
ECHO = b"x" * 64


class EchoServer(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


class EchoClient(asyncio.Protocol):
    """Counts round trips down in `left` (shared by all clients)."""

    left = 0

    def __init__(self, done):
        self.done = done

    def connection_made(self, transport):
        self.transport = transport
        transport.write(ECHO)

    def data_received(self, data):
        EchoClient.left -= 1
        if EchoClient.left > 0:
            self.transport.write(data)
        elif not self.done.done():
            self.done.set_result(None)


async def echo(n):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    EchoClient.left = n
    for _ in range(CONNS):
        a, b = socket.socketpair()
        await loop.connect_accepted_socket(EchoServer, a)
        await loop.create_connection(lambda: EchoClient(done), sock=b)
    await done


async def streams(n):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    EchoClient.left = n

    async def handler(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()
    for _ in range(CONNS):
        await loop.create_connection(lambda: EchoClient(done), host, port)
    await done


async def accept(n):
    loop = asyncio.get_running_loop()

    async def greet(reader, writer):
        writer.write(b"x")
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0, backlog=1024)
    address = server.sockets[0].getsockname()
    left = [n]

    async def client():
        while left[0] > 0:
            left[0] -= 1
            sock = socket.socket()
            sock.setblocking(False)
            await loop.sock_connect(sock, address)
            await loop.sock_recv(sock, 1)
            # An RST, so that no TIME_WAIT piles up.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()

    await asyncio.gather(*[client() for _ in range(CONNS)])
    server.close()


WORKLOADS = {"echo": echo, "streams": streams, "accept": accept}


def instructions(workload, n, boucle_dir):
    """Callgrind's total instruction count for one run of workload at size n."""
    env = dict(os.environ)
    if boucle_dir:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [boucle_dir, env.get("PYTHONPATH")]))
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, __file__, "--child", workload, str(n)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    m = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not m:
        raise SystemExit(f"callgrind run failed: {proc.stderr.strip()[-500:]}")
    return int(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    ap.add_argument("--child", nargs=2, metavar=("WORKLOAD", "N"), help=argparse.SUPPRESS)
    ap.add_argument("boucle_dirs", nargs="*", metavar="BOUCLE_DIR")
    args = ap.parse_args()
    if args.child:
        import boucle

        workload, n = args.child
        boucle.run(WORKLOADS[workload](int(n)))
        return
    dirs = args.boucle_dirs or [None]
    for workload in args.only.split(","):
        small, large = SIZES[workload]
        unit = "connection" if workload == "accept" else "round trip"
        for d in dirs:
            per_op = (instructions(workload, large, d) - instructions(workload, small, d)) / (large - small)
            print(f"{workload:8} {d or 'installed boucle':40} {per_op:10,.0f} instructions per {unit}",
                  flush=True)


if __name__ == "__main__":
    main()
