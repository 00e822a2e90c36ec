"""Runs one seed example on a chosen event loop, unchanged: the loop is
picked by installing an event loop policy before the file runs as
``__main__``, so its own ``asyncio.run(...)`` uses it.

    python run_seed.py --loop boucle [--virtual] [--seed N] 002_run.py [ARG ...]

``--loop asyncio`` is asyncio's own loop. ``--virtual`` puts either loop on a
virtual clock (boucle's ``virtual_time``; for asyncio, its selector loop with
a clock that jumps over the waits it would make), and makes ``time.sleep``,
``time.perf_counter`` and ``time.time`` read and move that clock, so that the
blocking examples take no time either and print the seed's timings.
``--seed`` seeds ``random`` (``wait_random``'s delay). ``ARG``s after the
file become its ``sys.argv[1:]`` (the scraper's URLs).
"""

import argparse
import asyncio
import os
import random
import runpy
import sys
import time

import boucle

_virtual_offset = [0.0]


def _virtual_now():
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _virtual_offset[0]
    return loop.time() + _virtual_offset[0]


def _virtual_sleep(seconds):
    _virtual_offset[0] += max(0.0, seconds)


class VirtualAsyncioLoop(asyncio.SelectorEventLoop):
    """asyncio's own loop whose waits for timers take no time."""

    def __init__(self):
        super().__init__()
        self._virtual_time = 0.0
        select = self._selector.select

        def jumping_select(timeout=None):
            if timeout is not None and timeout > 0:
                self._virtual_time += timeout
                timeout = 0
            return select(timeout)

        self._selector.select = jumping_select

    def time(self):
        return self._virtual_time


class VirtualAsyncioPolicy(asyncio.DefaultEventLoopPolicy):
    _loop_factory = VirtualAsyncioLoop


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loop", choices=["asyncio", "boucle"], required=True)
    ap.add_argument("--virtual", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("file")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    random.seed(args.seed)
    if args.loop == "boucle":
        boucle.install(virtual_time=args.virtual)
    elif args.virtual:
        asyncio.set_event_loop_policy(VirtualAsyncioPolicy())
    if args.virtual:
        time.sleep = _virtual_sleep
        time.perf_counter = _virtual_now
        time.time = _virtual_now
    path = args.file
    if not os.path.exists(path):  # a bare name: one of the examples here
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), path)
    sys.argv = [path, *args.args]
    runpy.run_path(path, run_name="__main__")


if __name__ == "__main__":
    main()
