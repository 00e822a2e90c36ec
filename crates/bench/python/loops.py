"""The Python event loops side by side: asyncio, uvloop, rloop and boucle's
(crates/boucle-py), on worker.py's workloads, one fresh process per run,
rounds interleaved, medians over rounds, and boucle's speed-up over each
peer (the peer's median / boucle's, > 1 means boucle is faster).

    python crates/bench/python/loops.py [--runs 5] [--only spawn_join,wait_n]

Run it with an interpreter that has uvloop, rloop and boucle installed (the
test venv scripts/test.sh makes, plus `pip install uvloop rloop`); a loop
that is missing is reported unavailable.
"""

import argparse
import os
import statistics
import subprocess
import sys

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
LOOPS = ["asyncio", "uvloop", "rloop", "boucle"]
# boucle with time_base="call" too, where the time base is what is measured.
CALL_TOO = {"wait_n", "timer_lateness"}
PEERS = ["uvloop", "rloop"]
# (workload, size, primary metric (lower is better), other metrics shown)
CASES = [
    ("spawn_join", "100000", "ns_per_task", []),
    ("yield_many", "100x1000", "ns_per_yield", []),
    ("ping_pong", "50000", "ns_per_round_trip", []),
    ("timeout_churn", "50000", "ns_per_iter", []),
    ("wait_n", "10000/1000ms", "overhead_ms", ["inversions", "max_gap_ms"]),
    ("wait_n", "100000/1000ms", "overhead_ms", ["inversions", "max_gap_ms"]),
    ("timer_lateness", "10000/1000ms", "p99_us", ["p50_us", "max_us", "early"]),
]


def run_one(loop, workload, size):
    proc = subprocess.run(
        [sys.executable, WORKER, loop, workload, size],
        capture_output=True, text=True, timeout=300,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("boucle-bench-unavailable"):
            return None, line.split(" ", 1)[1]
        if line.startswith("boucle-bench-result"):
            fields = dict(w.split("=", 1) for w in line.split()[1:])
            return fields, None
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return None, f"worker failed: {tail}"


def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", help="comma-separated workloads")
    args = ap.parse_args()
    cases = [c for c in CASES if not args.only or c[0] in args.only.split(",")]
    print(f"Python {sys.version.split()[0]}; {args.runs} rounds, medians; one process per run")
    for workload, size, primary, others in cases:
        loops = LOOPS + (["boucle-call"] if workload in CALL_TOO else [])
        samples = {loop: [] for loop in loops}
        why = {}
        for _ in range(args.runs):
            for loop in loops:
                if loop in why:
                    continue
                fields, err = run_one(loop, workload, size)
                if err:
                    why[loop] = err
                else:
                    samples[loop].append(fields)
        med = {
            loop: {k: statistics.median(float(f[k]) for f in fs) for k in [primary, *others]}
            for loop, fs in samples.items() if fs
        }
        b = med.get("boucle", {}).get(primary)
        print(f"\n{workload} {size}  ({primary}, lower is better)")
        cols = [primary, *others, "boucle speed-up"]
        print(f"  {'loop':<11}" + "".join(f"{c:>18}" for c in cols))
        for loop in loops:
            if loop in why and loop not in med:
                print(f"  {loop:<11}  unavailable: {why[loop]}")
                continue
            m = med[loop]
            ratio = m[primary] / b if b and not loop.startswith("boucle") and b > 0 else None
            cells = [fmt(m[k]) for k in [primary, *others]] + [fmt(ratio) + "x" if ratio else "-"]
            print(f"  {loop:<11}" + "".join(f"{c:>18}" for c in cells))
        best = [med[p][primary] for p in PEERS if p in med]
        if b and best and primary != "p99_us":
            print(f"  boucle vs the better of uvloop and rloop: {min(best) / b:.2f}x")


if __name__ == "__main__":
    main()
