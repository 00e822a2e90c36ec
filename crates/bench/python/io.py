"""The Python event loops on I/O: asyncio, uvloop, rloop and boucle's
(crates/boucle-py) as servers, under one fixed client in a separate process
(io_client.py on uvloop, or wrk for HTTP), one fresh server process per run,
rounds interleaved, medians over rounds, and boucle's speed-up over each peer
(the median over rounds of boucle's rate / the peer's in the same round, so a
slow spell of the machine hits both sides of a ratio alike; > 1 means boucle
is faster).

    python crates/bench/python/io.py [--runs 5] [--seconds 1] [--only tcp_echo_streams,aiohttp_hello]

Cases: tcp_echo in two flavours (asyncio streams: start_server, read, write,
drain; and a Protocol whose data_received writes back), 50 connections each
echoing 64 bytes back and forth; accept_storm, 50 clients at a time each making
a new connection, reading the server's one byte and aborting; aiohttp_hello,
aiohttp's web server answering GET / under `wrk -t1 -c50`. Beside the rate,
the server's CPU time per operation (process_time over the measured window),
which a client that is itself the bottleneck does not hide.

Run it with an interpreter that has uvloop, rloop, aiohttp and boucle installed
(`pip install uvloop rloop "aiohttp>=3.9,<4"` into the venv with boucle), and
wrk on the PATH; a loop or tool that is missing is reported unavailable.
"""

import argparse
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "io_server.py")
CLIENT = os.path.join(HERE, "io_client.py")
LOOPS = ["asyncio", "uvloop", "rloop", "boucle"]
PEERS = ["uvloop", "rloop"]
CONNS = 50
WARMUP_S = 0.3
# (case, io_server.py's server, the load: an io_client.py workload or "wrk", unit)
CASES = [
    ("tcp_echo_streams", "echo_streams", "tcp_echo", "round trips/s"),
    ("tcp_echo_protocol", "echo_protocol", "tcp_echo", "round trips/s"),
    ("accept_storm", "accept", "accept_storm", "connections/s"),
    ("aiohttp_hello", "aiohttp", "wrk", "requests/s"),
]
START_TIMEOUT_S = 30


class Lines:
    """A child's stdout lines, read by a thread, so waits can time out."""

    def __init__(self, proc):
        self.proc, self.queue = proc, queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def wait_for(self, *tags, timeout=START_TIMEOUT_S):
        """The first line starting with one of tags; raises on EOF or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.queue.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise RuntimeError(f"no {tags} line within {timeout} s") from None
            if line is None:
                raise RuntimeError(f"exited (rc {self.proc.wait()}) before a {tags} line")
            if line.startswith(tags):
                return line


class Server:
    """io_server.py on one loop: its port, and its CPU time on demand."""

    def __init__(self, loop, kind):
        self.proc = subprocess.Popen(
            [sys.executable, SERVER, loop, kind], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE,
        )
        self.lines = Lines(self.proc)
        try:
            line = self.lines.wait_for("boucle-io-port", "boucle-bench-unavailable")
        except RuntimeError as e:
            self.close()
            tail = (self.proc.stderr.read().strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"server {e}: {tail}") from None
        if line.startswith("boucle-bench-unavailable"):
            self.close()
            raise LookupError(line.split(" ", 1)[1])
        self.port = int(line.split()[1])

    def cpu(self):
        self.proc.stdin.write("cpu\n")
        self.proc.stdin.flush()
        return float(self.lines.wait_for("boucle-io-cpu").split()[1])

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def client_load(server, workload, seconds):
    """io_client.py against server: (ops, window seconds, server CPU seconds)."""
    proc = subprocess.Popen(
        [sys.executable, CLIENT, workload, str(server.port), str(CONNS), str(WARMUP_S), str(seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = Lines(proc)
    try:
        lines.wait_for("boucle-io-phase start")
        cpu0 = server.cpu()
        lines.wait_for("boucle-io-phase end", timeout=seconds + START_TIMEOUT_S)
        cpu1 = server.cpu()
        fields = dict(w.split("=", 1) for w in lines.wait_for("boucle-io-client").split()[1:])
    except RuntimeError as e:
        proc.kill()
        tail = (proc.stderr.read().strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"client {e}: {tail}") from None
    proc.wait(timeout=START_TIMEOUT_S)
    return int(fields["ops"]), float(fields["seconds"]), cpu1 - cpu0


def wrk(port, seconds):
    """(requests, seconds) from one wrk run of whole seconds (wrk's -d takes no
    fractions); raises if wrk saw errors."""
    proc = subprocess.run(
        ["wrk", "-t1", f"-c{CONNS}", f"-d{max(1, round(seconds))}s", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=seconds + START_TIMEOUT_S,
    )
    m = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", proc.stdout)
    if proc.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed: {proc.stdout.strip()} {proc.stderr.strip()}")
    for bad in ("Non-2xx", "Socket errors"):
        if bad in proc.stdout:
            raise RuntimeError("wrk: " + next(x for x in proc.stdout.splitlines() if bad in x).strip())
    scale = {"ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(3)]
    return int(m.group(1)), float(m.group(2)) * scale


def wrk_load(server, seconds):
    # No separate warm-up: wrk's shortest run is 1 s; aiohttp's first requests
    # are inside the window.
    cpu0 = server.cpu()
    ops, elapsed = wrk(server.port, seconds)
    return ops, elapsed, server.cpu() - cpu0


def run_one(loop, kind, load, seconds):
    """{rate, cpu_us} for one fresh server process, or raises LookupError/RuntimeError."""
    server = Server(loop, kind)
    try:
        if load == "wrk":
            ops, elapsed, cpu = wrk_load(server, seconds)
        else:
            ops, elapsed, cpu = client_load(server, load, seconds)
    finally:
        server.close()
    if ops == 0:
        raise RuntimeError("no operation completed")
    return {"rate": ops / elapsed, "cpu_us": cpu / ops * 1e6}


def paired(rounds, a, b):
    """The median over rounds of a's rate / b's, rounds where both ran."""
    ratios = [r[a] / r[b] for r in rounds if a in r and b in r]
    return statistics.median(ratios) if ratios else None


def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}"


def versions():
    out = [f"Python {sys.version.split()[0]}"]
    for module in ("uvloop", "rloop", "aiohttp"):
        try:
            mod = __import__(module)
            out.append(f"{module} {getattr(mod, '__version__', '?')}")
        except ImportError:
            out.append(f"{module} missing")
    return ", ".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0, help="measured window per run")
    ap.add_argument("--only", help="comma-separated cases")
    ap.add_argument("--loops", default=",".join(LOOPS), help="comma-separated loops")
    args = ap.parse_args()
    loops = args.loops.split(",")
    cases = [c for c in CASES if not args.only or c[0] in args.only.split(",")]
    began = time.monotonic()
    print(f"{versions()}; load average {os.getloadavg()[0]:.2f}")
    print(f"{args.runs} rounds of {args.seconds} s (after {WARMUP_S} s warm-up), medians; "
          f"one server process per run; client: io_client.py on uvloop, or wrk")
    for case, kind, load, unit in cases:
        samples = {loop: [] for loop in loops}
        rounds = []  # per round: {loop: rate}
        why = {}
        if load == "wrk" and shutil.which("wrk") is None:
            print(f"\n{case}: wrk is not installed (apt-get install wrk)")
            continue
        for _ in range(args.runs):
            rounds.append({})
            for loop in loops:
                if loop in why:
                    continue
                try:
                    sample = run_one(loop, kind, load, args.seconds)
                except (LookupError, RuntimeError) as e:
                    why[loop] = str(e)
                    continue
                samples[loop].append(sample)
                rounds[-1][loop] = sample["rate"]
        med = {
            loop: {k: statistics.median(s[k] for s in ss) for k in ("rate", "cpu_us")}
            for loop, ss in samples.items() if ss
        }
        b = med.get("boucle", {}).get("rate")
        print(f"\n{case}  ({unit}, higher is better; server CPU us per op, lower is better)")
        print(f"  {'loop':<9}{unit:>18}{'server CPU us/op':>18}{'boucle speed-up':>18}")
        for loop in loops:
            if loop not in med:
                print(f"  {loop:<9}  unavailable: {why.get(loop, 'no sample')}")
                continue
            m = med[loop]
            ratio = paired(rounds, "boucle", loop) if loop != "boucle" else None
            cells = [fmt(m["rate"]), fmt(m["cpu_us"]), fmt(ratio) + "x" if ratio else "-"]
            print(f"  {loop:<9}" + "".join(f"{c:>18}" for c in cells))
            if loop in why:
                print(f"  {'':<9}  (a later run failed: {why[loop]})")
        best = max((p for p in PEERS if p in med), key=lambda p: med[p]["rate"], default=None)
        if b and best:
            print(f"  boucle vs the better of uvloop and rloop ({best}): "
                  f"{paired(rounds, 'boucle', best):.2f}x")
    print(f"\n{time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
