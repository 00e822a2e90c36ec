"""boucle.Loop: the Python half of the event loop.

The native base (``_boucle.LoopCore``) owns the ready queue, the timer wheel,
the clock and the iterations: ``call_soon``, ``call_soon_threadsafe``,
``call_later``, ``call_at``, ``time``, ``stop``, ``is_closed``. This class adds
what is not on the hot path: running and closing, futures and tasks, the
exception handler, debug mode, async generators and the default executor.
``_sockets.SocketMethods`` adds the readiness API (native) and the ``sock_*``
coroutines; ``_connections.ConnectionMethods`` and ``_servers.ServerMethods``
add transports, servers and TLS (``create_connection``, ``create_server``,
``start_tls``, ...), ``_sendfile.SendfileMethods`` adds ``loop.sendfile``;
``_pipes.PipeMethods``, ``_subprocess.SubprocessMethods`` and
``_signals.SignalMethods`` add pipes, subprocesses and signal handlers, all in
Python on that readiness API (the stream transports' reader is native:
``src/pump.rs``).
"""

import asyncio
import concurrent.futures
import random as _py_random
import sys
import threading
import traceback
import warnings
import weakref
from asyncio import base_events as _base_events
from asyncio import coroutines, events, futures, tasks

from . import _boucle
from ._connections import ConnectionMethods
from ._pipes import PipeMethods
from ._sendfile import SendfileMethods
from ._servers import ServerMethods
from ._signals import SignalMethods
from ._sockets import SocketMethods
from ._subprocess import SubprocessMethods
from ._transports import READ_BUFFER_SIZE

__all__ = ["Loop"]

_DEBUG_STACK_DEPTH = 10
_Task = tasks.Task


def _logger():
    # Looked up at each use, so tests that patch asyncio's logger see ours.
    return _base_events.logger


def _stop_when_done(fut):
    # A KeyboardInterrupt or SystemExit leaving the task also leaves the
    # step that raised it, and so run_forever: no stop needed.
    if not fut.cancelled():
        exc = fut.exception()
        if isinstance(exc, (SystemExit, KeyboardInterrupt)):
            return
    fut.get_loop().stop()


class Loop(
    _boucle.LoopCore, SocketMethods, ConnectionMethods, ServerMethods,
    SendfileMethods, PipeMethods, SubprocessMethods, SignalMethods,
    asyncio.AbstractEventLoop,
):
    """An asyncio event loop on boucle's engine.

    ``virtual_time=True``: when nothing is ready, the clock jumps to the next
    timer instead of waiting (it waits for executor jobs, though), so
    ``await asyncio.sleep(3600)`` returns at once with ``loop.time()`` one
    hour later. ``seed``: seeds ``boucle.random`` and Python's ``random``
    module, so that a virtual-time run repeats exactly. ``trace=True``:
    records every task's life; ``loop.trace()`` returns the timeline.
    ``time_base="call"`` reads the clock at every ``time()`` and
    ``call_later`` (asyncio's and rloop's way) instead of once per iteration:
    timers then fire close to their call time + delay even when many are
    armed late in a long iteration, at the cost of the exact order of
    sleeps begun together (the seeds' ``wait_n`` is then no longer sorted).
    """

    def __init__(
        self, *, virtual_time=False, trace=False, seed=None, debug=None, time_base="iteration"
    ):
        # LoopCore.__new__ has read virtual_time, trace and time_base.
        self._thread_id = None
        self._exception_handler = None
        self._task_factory = None
        self._default_executor = None
        self._executor_shutdown_called = False
        self._asyncgens = weakref.WeakSet()
        self._asyncgens_shutdown_called = False
        self._origin_tracking_saved = None
        self._debug = False
        self.slow_callback_duration = 0.1
        self._seed = seed
        # The buffer every stream transport's native reader reads into
        # (src/pump.rs): one per loop, as a loop runs on one thread.
        self._read_view = memoryview(bytearray(READ_BUFFER_SIZE))
        self._trace_on = self._tracing
        if seed is not None:
            _boucle.seed(int(seed))
            _py_random.seed(seed)
        self.set_debug(coroutines._is_debug_mode() if debug is None else debug)

    def __repr__(self):
        return (
            f"<{type(self).__name__} running={self.is_running()} "
            f"closed={self.is_closed()} debug={self.get_debug()} "
            f"virtual_time={self.virtual_time}>"
        )

    def __del__(self, _warn=warnings.warn):
        if not self.is_closed():
            _warn(f"unclosed event loop {self!r}", ResourceWarning, source=self)
            if not self.is_running():
                self.close()

    # Running and stopping.

    def _check_closed(self):
        if self.is_closed():
            raise RuntimeError("Event loop is closed")

    def _check_running(self):
        if self.is_running():
            raise RuntimeError("This event loop is already running")
        if events._get_running_loop() is not None:
            raise RuntimeError(
                "Cannot run the event loop while another loop is running"
            )

    def is_running(self):
        return self._thread_id is not None

    def run_forever(self):
        self._check_closed()
        self._check_running()
        self._set_coroutine_origin_tracking(self._debug)
        old_hooks = sys.get_asyncgen_hooks()
        try:
            self._thread_id = threading.get_ident()
            sys.set_asyncgen_hooks(
                firstiter=self._asyncgen_firstiter_hook,
                finalizer=self._asyncgen_finalizer_hook,
            )
            events._set_running_loop(self)
            self._run_until_stopped()
        finally:
            self._thread_id = None
            events._set_running_loop(None)
            self._set_coroutine_origin_tracking(False)
            sys.set_asyncgen_hooks(*old_hooks)

    def run_until_complete(self, future):
        self._check_closed()
        self._check_running()
        new_task = not futures.isfuture(future)
        future = tasks.ensure_future(future, loop=self)
        if new_task:
            # An exception here is the caller's to see, not a leak to log.
            future._log_destroy_pending = False
        future.add_done_callback(_stop_when_done)
        try:
            self.run_forever()
        except BaseException:
            if new_task and future.done() and not future.cancelled():
                # Raised out of run_forever: mark it retrieved.
                future.exception()
            raise
        finally:
            future.remove_done_callback(_stop_when_done)
        if not future.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return future.result()

    def close(self):
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self.is_closed():
            return
        if self._debug:
            _logger().debug("Close %r", self)
        self._close_signals()
        self._close_core()
        self._executor_shutdown_called = True
        executor = self._default_executor
        if executor is not None:
            self._default_executor = None
            executor.shutdown(wait=False)

    def advance(self, seconds):
        """Moves a virtual clock forward by ``seconds``."""
        self._advance(seconds)

    # Futures and tasks.

    def create_future(self):
        return futures.Future(loop=self)

    # create_task is native (src/core.rs): it makes the Task itself when
    # there is no task factory, no tracing and no other keyword argument,
    # and calls this otherwise.
    def _create_task(self, coro, *, name=None, context=None, **kwargs):
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        if self._task_factory is None:
            if kwargs:
                task = _Task(coro, loop=self, name=name, context=context, **kwargs)
            else:
                task = _Task(coro, loop=self, name=name, context=context)
            if self._debug and task._source_traceback:
                del task._source_traceback[-1]
        else:
            if context is None:
                task = self._task_factory(self, coro, **kwargs)
            else:
                task = self._task_factory(self, coro, context=context, **kwargs)
            if name is not None:
                task.set_name(name)
        if self._trace_on:
            self._trace_task(task)
        return task

    @property
    def _task_factory(self):
        return self._factory

    @_task_factory.setter
    def _task_factory(self, factory):
        # The native create_task takes its fast path only without one.
        self._factory = factory
        self._set_task_factory_flag(factory is not None)

    def set_task_factory(self, factory):
        if factory is not None and not callable(factory):
            raise TypeError("task factory must be a callable or None")
        self._task_factory = factory

    def get_task_factory(self):
        return self._task_factory

    # Tracing.

    def trace(self):
        """The timeline recorded so far: ``.timeline(width)`` (ASCII),
        ``.to_chrome_json()`` (Perfetto), ``.tasks()`` (dicts). Needs
        ``trace=True`` when the loop is made."""
        snapshot = self._trace_snapshot()
        if snapshot is None:
            raise RuntimeError(
                "this loop records no trace: make it with "
                "boucle.new_event_loop(trace=True) or boucle.run(..., trace=True)"
            )
        return snapshot

    # Exceptions.

    def get_exception_handler(self):
        return self._exception_handler

    def set_exception_handler(self, handler):
        if handler is not None and not callable(handler):
            raise TypeError(f"A callable object or None is expected, got {handler!r}")
        self._exception_handler = handler

    def default_exception_handler(self, context):
        message = context.get("message") or "Unhandled exception in event loop"
        exception = context.get("exception")
        if exception is not None:
            exc_info = (type(exception), exception, exception.__traceback__)
        else:
            exc_info = False
        lines = [message]
        for key in sorted(context):
            if key in ("message", "exception"):
                continue
            value = context[key]
            if key == "source_traceback":
                text = "".join(traceback.format_list(value)).rstrip()
                value = "Object created at (most recent call last):\n" + text
            elif key == "handle_traceback":
                text = "".join(traceback.format_list(value)).rstrip()
                value = "Handle created at (most recent call last):\n" + text
            else:
                value = repr(value)
            lines.append(f"{key}: {value}")
        _logger().error("\n".join(lines), exc_info=exc_info)

    def call_exception_handler(self, context):
        handler = self._exception_handler
        if handler is None:
            try:
                self.default_exception_handler(context)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                _logger().error("Exception in default exception handler", exc_info=True)
            return
        try:
            handler(self, context)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            try:
                self.default_exception_handler(
                    {
                        "message": "Unhandled error in exception handler",
                        "exception": exc,
                        "context": context,
                    }
                )
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                _logger().error(
                    "Exception in default exception handler while handling an "
                    "unexpected error in custom exception handler",
                    exc_info=True,
                )

    # Debug mode.

    def set_debug(self, enabled):
        self._debug = bool(enabled)
        self._set_debug_flag(self._debug)
        if self.is_running():
            self.call_soon_threadsafe(self._set_coroutine_origin_tracking, self._debug)

    def _set_coroutine_origin_tracking(self, enabled):
        if bool(enabled) == (self._origin_tracking_saved is not None):
            return
        if enabled:
            self._origin_tracking_saved = sys.get_coroutine_origin_tracking_depth()
            sys.set_coroutine_origin_tracking_depth(_DEBUG_STACK_DEPTH)
        else:
            sys.set_coroutine_origin_tracking_depth(self._origin_tracking_saved)
            self._origin_tracking_saved = None

    def _check_thread(self):
        if self._thread_id is not None and threading.get_ident() != self._thread_id:
            raise RuntimeError(
                "Non-thread-safe operation invoked on an event loop other "
                "than the current one"
            )

    def _check_callback(self, callback, method):
        # Called by the native side in debug mode.
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError(f"coroutines cannot be used with {method}()")
        if not callable(callback):
            raise TypeError(
                f"a callable object was expected by {method}(), got {callback!r}"
            )
        if method != "call_soon_threadsafe":
            self._check_thread()

    def _log_slow_callback(self, handle, seconds):
        _logger().warning("Executing %s took %.3f seconds", handle, seconds)

    # Async generators.

    def _asyncgen_firstiter_hook(self, agen):
        if self._asyncgens_shutdown_called:
            warnings.warn(
                f"asynchronous generator {agen!r} was scheduled after "
                "loop.shutdown_asyncgens() call",
                ResourceWarning,
                source=self,
            )
        self._asyncgens.add(agen)

    def _asyncgen_finalizer_hook(self, agen):
        self._asyncgens.discard(agen)
        if not self.is_closed():
            self.call_soon_threadsafe(self.create_task, agen.aclose())

    async def shutdown_asyncgens(self):
        self._asyncgens_shutdown_called = True
        if not len(self._asyncgens):
            return
        closing = list(self._asyncgens)
        self._asyncgens.clear()
        results = await tasks.gather(
            *[agen.aclose() for agen in closing], return_exceptions=True
        )
        for result, agen in zip(results, closing):
            if isinstance(result, Exception):
                self.call_exception_handler(
                    {
                        "message": "an error occurred during closing of "
                        f"asynchronous generator {agen!r}",
                        "exception": result,
                        "asyncgen": agen,
                    }
                )

    # The default executor.

    def set_default_executor(self, executor):
        if not isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            raise TypeError("executor must be ThreadPoolExecutor")
        self._default_executor = executor

    def run_in_executor(self, executor, func, *args):
        self._check_closed()
        if self._debug:
            self._check_callback(func, "run_in_executor")
        if executor is None:
            if self._executor_shutdown_called:
                raise RuntimeError("Executor shutdown has been called")
            executor = self._default_executor
            if executor is None:
                executor = concurrent.futures.ThreadPoolExecutor(
                    thread_name_prefix="asyncio"
                )
                self._default_executor = executor
        future = futures.wrap_future(executor.submit(func, *args), loop=self)
        # A virtual clock waits for the job instead of jumping past it.
        self._hold(1)
        future.add_done_callback(self._release)
        return future

    def _release(self, _future):
        self._hold(-1)

    async def shutdown_default_executor(self, timeout=None):
        self._executor_shutdown_called = True
        if self._default_executor is None:
            return
        future = self.create_future()
        self._hold(1)
        future.add_done_callback(self._release)
        thread = threading.Thread(target=self._join_executor, args=(future,))
        thread.start()
        try:
            if timeout is None:
                await future
            else:
                try:
                    await tasks.wait_for(tasks.shield(future), timeout)
                except TimeoutError:
                    warnings.warn(
                        "The executor did not finishing joining its threads "
                        f"within {timeout} seconds.",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                    self._default_executor.shutdown(wait=False)
                    return
        finally:
            if not thread.is_alive() or timeout is None:
                thread.join()

    def _join_executor(self, future):
        try:
            self._default_executor.shutdown(wait=True)
            if not self.is_closed():
                self.call_soon_threadsafe(
                    futures._set_result_unless_cancelled, future, None
                )
        except Exception as exc:
            if not self.is_closed() and not future.cancelled():
                self.call_soon_threadsafe(future.set_exception, exc)
