"""boucle for Python: an asyncio event loop on boucle's Rust engine.

Exact timer order with one time base per iteration, timers never early,
virtual time, seeded runs and task timelines::

    import asyncio, boucle

    async def main():
        await asyncio.sleep(3600)          # no time at all on a virtual clock
        return asyncio.get_running_loop().time()

    assert boucle.run(main(), virtual_time=True) == 3600.0
"""

import asyncio
import functools
import os
import sys
from asyncio import events as _events

from . import _boucle, random
from ._boucle import Handle, TimerHandle, Trace
from ._loop import Loop

__all__ = [
    "EventLoopPolicy",
    "Handle",
    "Loop",
    "TimerHandle",
    "Trace",
    "install",
    "new_event_loop",
    "run",
]

__version__ = "0.1.0"


def new_event_loop(
    *, virtual_time=False, seed=None, trace=False, debug=None, time_base="iteration"
):
    """A new :class:`Loop` (see its doc for the options)."""
    return Loop(
        virtual_time=virtual_time,
        trace=bool(trace),
        seed=seed,
        debug=debug,
        time_base=time_base,
    )


class EventLoopPolicy(_events.BaseDefaultEventLoopPolicy):
    """An asyncio event loop policy whose loops are boucle's.

    ``asyncio.set_event_loop_policy(boucle.EventLoopPolicy())`` (or
    ``boucle.install()``) makes ``asyncio.run`` and
    ``asyncio.new_event_loop`` use boucle. Keyword arguments are passed to
    :func:`new_event_loop` for every loop (``virtual_time=True``, say).
    """

    def __init__(self, **loop_options):
        super().__init__()
        self._loop_options = loop_options

    def _loop_factory(self):
        return new_event_loop(**self._loop_options)

    if hasattr(asyncio, "AbstractChildWatcher"):  # CPython 3.13 and older

        def get_child_watcher(self):
            """asyncio's child watcher API (deprecated since 3.12, gone in
            3.14), for code that still calls it. boucle's subprocesses watch
            their children themselves (a pidfd on the loop), so a watcher is
            only kept here, never needed: by default asyncio's
            ``ThreadedChildWatcher``, as asyncio's own policy gives."""
            if getattr(self, "_child_watcher", None) is None:
                self._child_watcher = asyncio.ThreadedChildWatcher()
            return self._child_watcher

        def set_child_watcher(self, watcher):
            """Keeps ``watcher`` for :meth:`get_child_watcher`."""
            if watcher is not None and not isinstance(watcher, asyncio.AbstractChildWatcher):
                raise TypeError(f"expected an AbstractChildWatcher, got {watcher!r}")
            self._child_watcher = watcher


def install(**loop_options):
    """Installs :class:`EventLoopPolicy` as asyncio's policy."""
    asyncio.set_event_loop_policy(EventLoopPolicy(**loop_options))


def _write_trace(trace, loop):
    snapshot = loop.trace()
    if callable(trace):
        trace(snapshot)
    elif isinstance(trace, (str, os.PathLike)):
        with open(trace, "w", encoding="utf-8") as f:
            f.write(snapshot.to_chrome_json())
    else:
        print(snapshot.timeline(), file=sys.stderr, end="")


def run(main, *, debug=None, virtual_time=False, seed=None, trace=None, time_base="iteration"):
    """Runs the coroutine ``main`` on a new boucle loop, as ``asyncio.run``
    (through ``asyncio.Runner``), and returns its result.

    ``virtual_time``, ``seed``, ``time_base``: see :class:`Loop`. ``trace``: ``None`` or
    ``False`` records nothing; ``True`` prints the ASCII timeline on stderr
    at the end; a path writes Chrome trace JSON there; a callable receives
    the :class:`Trace`.
    """
    factory = functools.partial(
        new_event_loop,
        virtual_time=virtual_time,
        seed=seed,
        trace=trace not in (None, False),
        time_base=time_base,
    )
    with asyncio.Runner(debug=debug, loop_factory=factory) as runner:
        try:
            return runner.run(main)
        finally:
            if trace not in (None, False):
                _write_trace(trace, runner.get_loop())
