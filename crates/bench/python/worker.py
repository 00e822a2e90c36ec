"""boucle-bench's Python peers: one workload on asyncio or uvloop in this fresh process.

    python worker.py RUNTIME WORKLOAD SIZE     RUNTIME: asyncio | uvloop | rloop | boucle | boucle-call
    python worker.py --versions

Prints the same line as the Rust worker (`boucle-bench-result key=value ...`), or
`boucle-bench-unavailable REASON`. Each workload is written the way asyncio users write
it and mirrors src/rt/*.rs: same sizes, same seeded delays (splitmix64 + Lemire's
multiply-shift, exactly as src/stats.rs), same checks, same metrics (nearest-rank
percentiles with integer arithmetic, as stats::percentile_sorted). Times are taken with
time.perf_counter_ns / time.monotonic_ns from inside the running loop, start-up excluded.
"""

import asyncio
import os
import resource
import sys
import time

RESULT_TAG = "boucle-bench-result"
UNAVAILABLE_TAG = "boucle-bench-unavailable"
DELAY_SEED = 42
ECHO_BYTES = 64
ACCEPT_CONCURRENCY = 100  # workload::ACCEPT_CONCURRENCY
CHURN_TIMEOUT_S = 1.0
MASK64 = (1 << 64) - 1
# Background load (STYLE rule 23): timers armed 1 h ahead through the workload.
BACKGROUND_TIMERS = int(os.environ.get("BOUCLE_BENCH_BACKGROUND_TIMERS", "0") or 0)
BACKGROUND_DELAY_S = 3600.0


def splitmix64(state):
    """One step: returns (new_state, output), as stats::SplitMix64::next_u64."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def uniform_delays_ns(seed, n, span_ns):
    """n delays uniform in [0, span_ns) in whole nanoseconds, as stats::uniform_delays."""
    state, out = seed, []
    for _ in range(n):
        state, r = splitmix64(state)
        out.append((r * span_ns) >> 64)
    return out


def percentile_sorted(sorted_xs, p_bp):
    """Nearest rank with p in basis points (9900 = p99), as stats::percentile_sorted."""
    n = len(sorted_xs)
    if n == 0:
        return None
    rank = max(-(-(min(p_bp, 10_000) * n) // 10_000), 1)
    return sorted_xs[rank - 1]


def spread(samples_ns):
    """(p50_us, p99_us, max_us, negatives), as stats::Spread::of."""
    v = sorted(samples_ns)
    if not v:
        return 0.0, 0.0, 0.0, 0
    us = lambda ns: ns / 1e3  # noqa: E731
    negatives = sum(1 for x in v if x < 0)
    return us(percentile_sorted(v, 5000)), us(percentile_sorted(v, 9900)), us(v[-1]), negatives


def adjacent_inversions(xs):
    """(count, largest gap) of adjacent pairs with xs[i] > xs[i + 1]."""
    count, gap = 0, 0.0
    for a, b in zip(xs, xs[1:]):
        if a > b:
            count += 1
            gap = max(gap, a - b)
    return count, gap


def parse_size(text):
    """N, NxM or N/Tms -> (n, m, span_ms), as workload::Size."""
    counts, span_ms = text, 0
    if "/" in text:
        counts, span = text.split("/", 1)
        if not span.endswith("ms"):
            raise ValueError(f"bad size {text!r}")
        span_ms = int(span[:-2])
    n, m = (counts.split("x", 1) + ["0"])[:2] if "x" in counts else (counts, "0")
    return int(n.replace("_", "")), int(m.replace("_", "")), span_ms


def rss_kb(field="VmRSS:"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def peak_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ----- workloads: each returns (wall_ns, extra) and runs inside the loop -----


async def spawn_join(n):
    async def task(i):
        return i

    start = time.perf_counter_ns()
    tasks = [asyncio.create_task(task(i)) for i in range(n)]
    for i, t in enumerate(tasks):
        got = await t
        assert got == i, f"task {i} returned {got}"
    return time.perf_counter_ns() - start, None


async def yield_many(tasks, yields):
    async def task():
        for _ in range(yields):
            await asyncio.sleep(0)

    start = time.perf_counter_ns()
    handles = [asyncio.create_task(task()) for _ in range(tasks)]
    for h in handles:
        await h
    return time.perf_counter_ns() - start, None


async def wait_n(delays_ns):
    completed = []

    async def task(delay_ns):
        await asyncio.sleep(delay_ns / 1e9)
        completed.append(delay_ns)

    start = time.perf_counter_ns()
    tasks = [asyncio.create_task(task(d)) for d in delays_ns]
    for t in tasks:
        await t
    return time.perf_counter_ns() - start, completed


if hasattr(asyncio, "timeout"):  # Python 3.11+

    async def one_timeout():
        async with asyncio.timeout(CHURN_TIMEOUT_S):
            await asyncio.sleep(0)

else:

    async def one_timeout():
        await asyncio.wait_for(asyncio.sleep(0), CHURN_TIMEOUT_S)


async def timeout_churn(iters):
    async def churn():
        for _ in range(iters):
            await one_timeout()

    start = time.perf_counter_ns()
    await asyncio.create_task(churn())
    return time.perf_counter_ns() - start, None


async def timer_lateness(delays_ns):
    # asyncio has no sleep_until: sleep for what is left until the deadline, on the
    # monotonic clock the loop uses, and observe the wake with a fresh monotonic_ns().
    async def task(deadline_ns):
        await asyncio.sleep((deadline_ns - time.monotonic_ns()) / 1e9)
        return time.monotonic_ns() - deadline_ns

    start_ns = time.monotonic_ns()
    tasks = [asyncio.create_task(task(start_ns + d)) for d in delays_ns]
    lateness = [await t for t in tasks]
    return time.monotonic_ns() - start_ns, lateness


async def ping_pong(trips):
    ping, pong = asyncio.Queue(maxsize=1), asyncio.Queue(maxsize=1)

    async def ponger():
        for _ in range(trips):
            await pong.put(await ping.get())

    async def pinger():
        for i in range(trips):
            await ping.put(i)
            got = await pong.get()
            assert got == i, f"token {i} came back as {got}"

    start = time.perf_counter_ns()
    await asyncio.gather(asyncio.create_task(ponger()), asyncio.create_task(pinger()))
    return time.perf_counter_ns() - start, None


async def tcp_echo(conns, trips):
    async def echo(reader, writer):
        try:
            while True:
                data = await reader.readexactly(ECHO_BYTES)
                writer.write(data)
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def client(c):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        msg = bytes([c % 256]) * ECHO_BYTES
        latencies = []
        for _ in range(trips):
            sent = time.perf_counter_ns()
            writer.write(msg)
            await writer.drain()
            got = await reader.readexactly(ECHO_BYTES)
            latencies.append(time.perf_counter_ns() - sent)
            assert got == msg, "echo mismatch"
        writer.close()
        await writer.wait_closed()
        return latencies

    start = time.perf_counter_ns()
    results = await asyncio.gather(*(client(c) for c in range(conns)))
    wall = time.perf_counter_ns() - start
    server.close()
    await server.wait_closed()
    return wall, [x for lat in results for x in lat]


async def fan_in(producers, items):
    queue = asyncio.Queue()
    total = producers * items

    async def consumer():
        count, acc = 0, 0
        for _ in range(total):
            acc += await queue.get()
            count += 1
        return count, acc

    async def producer(p):
        base = p * items
        for i in range(items):
            await queue.put(base + i)

    start = time.perf_counter_ns()
    consuming = asyncio.create_task(consumer())
    await asyncio.gather(*(asyncio.create_task(producer(p)) for p in range(producers)))
    count, acc = await consuming
    wall = time.perf_counter_ns() - start
    assert count == total and queue.empty(), "fan_in count"
    assert acc == total * (total - 1) // 2, "fan_in sum"
    return wall, None


async def lock_contention(tasks, iters):
    lock = asyncio.Lock()
    counter = [0]

    async def task():
        for _ in range(iters):
            async with lock:
                seen = counter[0]
                await asyncio.sleep(0)
                counter[0] = seen + 1

    start = time.perf_counter_ns()
    await asyncio.gather(*(asyncio.create_task(task()) for _ in range(tasks)))
    wall = time.perf_counter_ns() - start
    assert counter[0] == tasks * iters, "lost updates"
    return wall, None


def accept_share(conns, c):
    """As rt::accept_share."""
    clients = max(min(ACCEPT_CONCURRENCY, conns), 1)
    return conns // clients + (1 if c < conns % clients else 0)


async def accept_storm(conns):
    accepted = [0]
    all_in = asyncio.Event()

    async def on_connect(reader, writer):
        writer.close()
        accepted[0] += 1
        if accepted[0] == conns:
            all_in.set()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]

    async def client(c):
        for _ in range(accept_share(conns, c)):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()

    start = time.perf_counter_ns()
    await asyncio.gather(*(client(c) for c in range(min(ACCEPT_CONCURRENCY, conns))))
    await all_in.wait()
    wall = time.perf_counter_ns() - start
    server.close()
    await server.wait_closed()
    return wall, None


async def with_background(job):
    """Arms BACKGROUND_TIMERS timers (loop.call_later, asyncio's timer heap), runs job."""
    loop = asyncio.get_running_loop()
    handles = [loop.call_later(BACKGROUND_DELAY_S, lambda: None) for _ in range(BACKGROUND_TIMERS)]
    try:
        return await job
    finally:
        for h in handles:
            h.cancel()


# ----- the worker -----


def runner(runtime):
    if runtime == "asyncio":
        return asyncio.run
    if runtime == "uvloop":
        import uvloop

        if hasattr(uvloop, "run"):
            return uvloop.run
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        return asyncio.run
    if runtime == "rloop":
        import rloop

        def run_on_rloop(main):
            with asyncio.Runner(loop_factory=rloop.new_event_loop) as runner:
                return runner.run(main)

        return run_on_rloop
    if runtime in ("boucle", "boucle-call"):  # crates/boucle-py, in loops.py's runs
        import boucle

        base = "call" if runtime == "boucle-call" else "iteration"
        return lambda main: boucle.run(main, time_base=base)
    raise SystemExit(f"unknown runtime {runtime!r}")


def work(runtime, workload, size_text):
    n, m, span_ms = parse_size(size_text)
    fields = [("runtime", runtime), ("workload", workload), ("size", size_text)]
    fields.append(("background_timers", BACKGROUND_TIMERS))
    run = runner(runtime)
    delays = None
    if workload in ("wait_n", "timer_lateness"):
        delays = uniform_delays_ns(DELAY_SEED, n, span_ms * 1_000_000)
    if workload == "timer_lateness":
        # The head start of workload::head_start: half the span before the first deadline.
        delays = [span_ms * 500_000 + d for d in delays]
    jobs = {
        "spawn_join": lambda: spawn_join(n),
        "yield_many": lambda: yield_many(n, max(m, 1)),
        "wait_n": lambda: wait_n(delays),
        "timeout_churn": lambda: timeout_churn(n),
        "timer_lateness": lambda: timer_lateness(delays),
        "ping_pong": lambda: ping_pong(n),
        "tcp_echo": lambda: tcp_echo(n, max(m, 1)),
        "fan_in": lambda: fan_in(n, max(m, 1)),
        "lock_contention": lambda: lock_contention(n, max(m, 1)),
        "accept_storm": lambda: accept_storm(n),
    }
    if workload not in jobs:
        raise SystemExit(f"unknown workload {workload!r}")
    before = rss_kb()
    wall_ns, extra = run(with_background(jobs[workload]()))
    peak = peak_rss_kb()
    fields += [("wall_ms", f"{wall_ns / 1e6:.3f}"), ("rss_before_kb", before)]
    fields.append(("peak_rss_kb", peak))
    per = lambda ops: f"{wall_ns / max(ops, 1):.3f}"  # noqa: E731
    bytes_per_task = lambda: f"{max(peak - before, 0) * 1024 / n:.1f}"  # noqa: E731
    if workload == "spawn_join":
        fields += [("ns_per_task", per(n)), ("bytes_per_task", bytes_per_task())]
    elif workload == "yield_many":
        fields.append(("ns_per_yield", per(n * max(m, 1))))
    elif workload == "wait_n":
        assert sorted(extra) == sorted(delays), "the completed delays are not the ones drawn"
        count, gap_ns = adjacent_inversions(extra)
        overhead_ms = (wall_ns - max(delays, default=0)) / 1e6
        fields += [
            ("overhead_ms", f"{overhead_ms:.3f}"),
            ("inversions", count),
            ("max_gap_ms", f"{gap_ns / 1e6:.6f}"),
            ("bytes_per_task", bytes_per_task()),
        ]
    elif workload == "timeout_churn":
        fields.append(("ns_per_iter", per(n)))
    elif workload == "timer_lateness":
        assert len(extra) == n, "one lateness per timer"
        p50, p99, worst, early = spread(extra)
        fields += [("p50_us", f"{p50:.1f}"), ("p99_us", f"{p99:.1f}")]
        fields += [("max_us", f"{worst:.1f}"), ("early", early)]
    elif workload == "ping_pong":
        fields.append(("ns_per_round_trip", per(n)))
    elif workload == "tcp_echo":
        trips = n * max(m, 1)
        assert len(extra) == trips, "one latency per round trip"
        _, p99, _, _ = spread(extra)
        fields.append(("round_trips_per_s", f"{trips / (wall_ns / 1e9):.0f}"))
        fields.append(("p99_us", f"{p99:.1f}"))
    elif workload == "fan_in":
        fields.append(("ns_per_item", per(n * max(m, 1))))
    elif workload == "lock_contention":
        fields.append(("ns_per_op", per(n * max(m, 1))))
    elif workload == "accept_storm":
        fields.append(("conns_per_s", f"{n / (wall_ns / 1e9):.0f}"))
    return RESULT_TAG + "".join(f" {k}={v}" for k, v in fields)


def versions():
    try:
        import uvloop

        uv = uvloop.__version__
    except ImportError:
        uv = "none"
    return f"python={sys.version.split()[0]} uvloop={uv}"


def check_line():
    """What src/python.rs's test compares with the Rust side: the same seeded delays, the
    same percentiles, the same size parsing."""
    delays = uniform_delays_ns(DELAY_SEED, 5, 2_000_000_000)
    ps = [percentile_sorted(list(range(1, 1001)), p) for p in (0, 5000, 9900, 10_000)]
    sizes = [parse_size(s) for s in ("1000000", "100x2000", "10000/200ms")]
    return f"delays={delays} percentiles={ps} sizes={sizes}".replace(" ", "")


def main(argv):
    if argv == ["--versions"]:
        print(versions())
        return 0
    if argv == ["--check"]:
        print(check_line())
        return 0
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    runtime, workload, size = argv
    if runtime in ("uvloop", "rloop", "boucle", "boucle-call"):
        try:
            __import__(runtime.split("-")[0])
        except ImportError as e:
            print(f"{UNAVAILABLE_TAG} {runtime} is not installed: {e}")
            return 0
    print(work(runtime, workload, size))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
