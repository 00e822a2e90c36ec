#!/usr/bin/env python3
"""CPython's own test_asyncio modules (the loop-level API) run with an event
loop policy installed: boucle's, uvloop's, rloop's, or asyncio's own as the
baseline. Prints one table of pass counts, the same run for every loop, and
each failing test with its reason (the last line of its traceback).

    python cpython_asyncio_tests.py [--loops asyncio,boucle,uvloop,rloop]
                                    [--modules test_tasks,...] [--json out.json]

Run it with an interpreter that has the loops installed (the loops it cannot
import are reported as unavailable). Each (loop, module) pair runs in its own
process, with a time limit. The policy class also replaces
``asyncio.DefaultEventLoopPolicy``, so tests that reset the policy
(``set_event_loop_policy(None)``) get it back. "on loop" counts the tests that
made at least one loop through the policy: the rest (many use asyncio's
``test_utils.TestLoop``) never touch the loop under test.

The I/O modules in ``MIXIN_MODULES`` make their loops themselves (one test
class per selector, each with its own ``create_event_loop`` or ``new_loop``):
their shared mixin (or the selector class) runs once, in a subclass whose
``create_event_loop`` and ``new_loop`` ask the policy. A module mapped to
no class (``test_streams``) asks the policy itself and runs whole.
``--modules io`` runs those modules.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

MODULES = [
    "test_tasks",
    "test_taskgroups",
    "test_timeouts",
    "test_waitfor",
    "test_queues",
    "test_locks",
    "test_futures",
    "test_context",
    "test_runners",
    "test_base_events",
]
# key -> the mixins (or selector test classes) of a test_asyncio module to
# run on the policy's loop; () runs the whole module as it is. A key
# "module:label" runs other classes of the same module under its own name.
MIXIN_MODULES = {
    "test_sock_lowlevel": ("BaseSockTestsMixin",),
    # Sockets, transports, servers, pipes, ptys and signals.
    "test_events": ("EventLoopTestsMixin",),
    # test_events' subprocess tests.
    "test_events:procs": ("SubprocessTestsMixin",),
    "test_streams": (),
    "test_server": ("SelectorStartServerTests",),
    # SslProtoHandshakeTests asks the policy already.
    "test_sslproto": ("SslProtoHandshakeTests", "SelectorStartTLSTests"),
    "test_sendfile": ("SendfileTestsBase",),
    "test_subprocess": ("SubprocessMixin",),
}
LOOPS = ["asyncio", "boucle", "uvloop", "rloop"]
TIME_LIMIT = 600
# A test still running after this many seconds fails with a TimeoutError
# raised by SIGALRM, so one hung test does not lose its module's results.
TEST_LIMIT = 60


def _policy_class(name):
    import asyncio

    if name == "asyncio":
        return asyncio.DefaultEventLoopPolicy
    if name == "boucle":
        import boucle

        return boucle.EventLoopPolicy
    if name == "uvloop":
        import warnings

        import uvloop

        warnings.simplefilter("ignore", DeprecationWarning)
        return uvloop.EventLoopPolicy
    if name == "rloop":
        import rloop

        return rloop.EventLoopPolicy
    raise SystemExit(f"unknown loop {name!r}")


class TestTimedOut(Exception):
    pass


def _on_alarm(_signum, _frame):
    raise TestTimedOut(f"hung: still running after {TEST_LIMIT} s")


def worker(loop_name, module):
    import asyncio
    import signal
    import unittest

    signal.signal(signal.SIGALRM, _on_alarm)

    base = _policy_class(loop_name)
    made = [0]

    class Counting(base):
        def new_event_loop(self):
            made[0] += 1
            return super().new_event_loop()

    asyncio.DefaultEventLoopPolicy = Counting
    asyncio.set_event_loop_policy(Counting())

    results = {}

    class Result(unittest.TextTestResult):
        def startTest(self, test):
            self._made = made[0]
            signal.alarm(TEST_LIMIT)
            super().startTest(test)

        def stopTest(self, test):
            signal.alarm(0)
            super().stopTest(test)

        def _record(self, test, outcome, reason=""):
            results[test.id()] = {
                "outcome": outcome,
                "reason": reason,
                "on_loop": made[0] > self._made,
            }

        def addSuccess(self, test):
            super().addSuccess(test)
            self._record(test, "pass")

        def addFailure(self, test, err):
            super().addFailure(test, err)
            self._record(test, "fail", _reason(err))

        def addError(self, test, err):
            super().addError(test, err)
            self._record(test, "error", _reason(err))

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            self._record(test, "skip", reason)

        def addExpectedFailure(self, test, err):
            super().addExpectedFailure(test, err)
            self._record(test, "pass")

        def addUnexpectedSuccess(self, test):
            super().addUnexpectedSuccess(test)
            self._record(test, "fail", "unexpected success")

    if module in MIXIN_MODULES:
        suite = _mixin_suite(module)
    else:
        suite = unittest.defaultTestLoader.loadTestsFromName(f"test.test_asyncio.{module}")
    with open(os.devnull, "w") as sink:
        unittest.TextTestRunner(stream=sink, resultclass=Result, verbosity=0).run(suite)
    print("@@RESULTS@@" + json.dumps(results))


def _mixin_suite(module):
    import asyncio
    import importlib
    import unittest

    from test.test_asyncio import utils as test_utils

    mod = importlib.import_module(f"test.test_asyncio.{module.split(':')[0]}")
    names = MIXIN_MODULES[module]
    if not names:
        return unittest.defaultTestLoader.loadTestsFromModule(mod)
    suite = unittest.TestSuite()
    for name in names:
        base = getattr(mod, name)
        bases = (base,) if issubclass(base, unittest.TestCase) else (base, test_utils.TestCase)

        class PolicyLoopTests(*bases):
            def create_event_loop(self):
                return asyncio.new_event_loop()

            def new_loop(self):
                return asyncio.new_event_loop()

            def setUp(self):
                super().setUp()
                # Mixins without a setUp of their own (SubprocessMixin)
                # expect the test class to make self.loop.
                if getattr(self, "loop", None) is None:
                    self.loop = self.create_event_loop()
                    self.set_event_loop(self.loop)

        PolicyLoopTests.__module__ = mod.__name__
        PolicyLoopTests.__name__ = PolicyLoopTests.__qualname__ = f"Policy{name}"
        suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(PolicyLoopTests))
    return suite


def _reason(err):
    import traceback

    lines = "".join(traceback.format_exception(*err)).strip().splitlines()
    return lines[-1][:200] if lines else "?"


def run_pair(python, loop_name, module):
    started = time.monotonic()
    # In a scratch directory: some tests leave files (@test_*_tmp) in theirs.
    with tempfile.TemporaryDirectory(prefix="cpython-asyncio-") as scratch:
        try:
            proc = subprocess.run(
                [python, os.path.abspath(__file__), "--worker", loop_name, module],
                capture_output=True,
                text=True,
                timeout=TIME_LIMIT,
                cwd=scratch,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {TIME_LIMIT} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("@@RESULTS@@"):
            return {"tests": json.loads(line[len("@@RESULTS@@"):]),
                    "seconds": time.monotonic() - started}
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": f"worker exited {proc.returncode}: " + " | ".join(tail)}


def available(python, loop_name):
    code = f"import sys; sys.argv=['x']; exec(open({__file__!r}).read().split('def worker')[0]); _policy_class({loop_name!r})"
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if proc.returncode == 0:
        return None
    return (proc.stderr.strip().splitlines() or ["?"])[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", nargs=2, metavar=("LOOP", "MODULE"), help=argparse.SUPPRESS)
    ap.add_argument("--loops", default=",".join(LOOPS))
    ap.add_argument("--modules", default=",".join(MODULES))
    ap.add_argument("--json", help="also write every result to this file")
    ap.add_argument("--failures", default="boucle",
                    help="loops whose failing tests are listed (comma-separated, or 'all')")
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    python = sys.executable
    loops = args.loops.split(",")
    modules = list(MIXIN_MODULES) if args.modules == "io" else args.modules.split(",")
    results = {}
    for loop_name in loops:
        why = available(python, loop_name)
        if why:
            print(f"{loop_name}: unavailable ({why})", file=sys.stderr)
            continue
        results[loop_name] = {}
        for module in modules:
            print(f"running {module} on {loop_name}...", file=sys.stderr, flush=True)
            results[loop_name][module] = run_pair(python, loop_name, module)
    print(f"CPython {sys.version.split()[0]}: test_asyncio with each loop's policy installed")
    print("passed/run (skipped), [tests that made a loop through the policy]\n")
    names = list(results)
    header = f"{'module':<18}" + "".join(f"{n:>26}" for n in names)
    print(header)
    print("-" * len(header))
    totals = {n: [0, 0, 0, 0] for n in names}
    for module in modules:
        row = f"{module:<18}"
        for n in names:
            r = results[n][module]
            if "error" in r:
                row += f"{'(' + r['error'][:22] + ')':>26}"
                continue
            tests = r["tests"].values()
            run = [t for t in tests if t["outcome"] != "skip"]
            passed = sum(t["outcome"] == "pass" for t in run)
            skipped = sum(t["outcome"] == "skip" for t in tests)
            on_loop = sum(t["on_loop"] for t in run)
            for i, v in enumerate((passed, len(run), skipped, on_loop)):
                totals[n][i] += v
            row += f"{f'{passed}/{len(run)} ({skipped}) [{on_loop}]':>26}"
        print(row)
    print("-" * len(header))
    print(f"{'total':<18}" + "".join(
        f"{f'{t[0]}/{t[1]} ({t[2]}) [{t[3]}]':>26}" for t in totals.values()))
    show = names if args.failures == "all" else [n for n in args.failures.split(",") if n in results]
    for n in show:
        print(f"\nfailing on {n}:")
        count = 0
        for module in modules:
            r = results[n][module]
            if "error" in r:
                print(f"  {module}: {r['error']}")
                continue
            for test_id, t in sorted(r["tests"].items()):
                if t["outcome"] in ("fail", "error"):
                    count += 1
                    short = test_id.replace("test.test_asyncio.", "")
                    print(f"  {short}: {t['reason']}")
        if count == 0:
            print("  (none)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
