"""Unix signal handlers of ``boucle.Loop``: ``add_signal_handler`` and
``remove_signal_handler``, with asyncio's semantics.

How a signal reaches a handler: Python's C-level handler writes the signal
number to the fd given to ``signal.set_wakeup_fd``: here the write end of a
non-blocking socket pair made at the first ``add_signal_handler``, whose
read end is watched with the loop's native readiness API. A parked loop
wakes (the read end is on the epoll set it parks in), reads the numbers and
queues each signal's handler as a loop callback (``call_soon``, in the
context copied when the handler was added). The Python-level handler
installed with ``signal.signal`` does nothing; it only stops Python's
default action (``KeyboardInterrupt`` for ``SIGINT``).

As in asyncio: main thread only (``set_wakeup_fd`` refuses other threads:
``RuntimeError``); a signal number that is not an int is a ``TypeError``,
one that is not a valid signal a ``ValueError``; ``SIGKILL`` / ``SIGSTOP``
(cannot be caught) a ``RuntimeError``; coroutines are refused with
``TypeError``. Removing a handler restores the default action
(``default_int_handler`` for ``SIGINT``); ``loop.close()`` removes them all
and unsets the wakeup fd.
"""

import errno
import signal
import socket
import sys
import warnings
from asyncio import base_events as _base_events
from asyncio import coroutines, events

__all__ = ["SignalMethods"]


def _noop_handler(signum, frame):
    """The Python-level handler: the wakeup fd does the work."""


def _check_signal(sig):
    if not isinstance(sig, int):
        raise TypeError(f"sig must be an int, not {sig!r}")
    if sig not in signal.valid_signals():
        raise ValueError(f"invalid signal number {sig}")


class SignalMethods:
    """Mixed into ``boucle.Loop`` (needs ``_add_io``/``_remove_io``)."""

    # Made at the first add_signal_handler: {signum: asyncio Handle}, and
    # the socket pair the wakeup fd writes to.
    _signal_handlers = None
    _signal_socks = None

    def add_signal_handler(self, sig, callback, *args):
        """Calls ``callback(*args)`` as a loop callback each time signal
        ``sig`` arrives, until ``remove_signal_handler(sig)``; replaces a
        handler already there."""
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        _check_signal(sig)
        self._check_closed()
        if self._signal_socks is None:
            self._open_signal_socks()
        try:
            # ValueError outside the main thread.
            signal.set_wakeup_fd(self._signal_socks[1].fileno())
        except (ValueError, OSError) as exc:
            raise RuntimeError(str(exc)) from None
        if self._signal_handlers is None:
            self._signal_handlers = {}
        # asyncio's Handle: it keeps the callback, its args and a copy of
        # the current context; cancelling it disarms the handler.
        handle = events.Handle(callback, args, self, None)
        self._signal_handlers[sig] = handle
        try:
            signal.signal(sig, _noop_handler)
            # Restart system calls interrupted by the signal.
            signal.siginterrupt(sig, False)
        except OSError as exc:
            del self._signal_handlers[sig]
            if not self._signal_handlers:
                self._unset_wakeup_fd()
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught") from None
            raise

    def remove_signal_handler(self, sig):
        """Removes the handler of ``sig`` and restores the default action;
        whether there was one."""
        _check_signal(sig)
        handlers = self._signal_handlers
        if not handlers or sig not in handlers:
            return False
        del handlers[sig]
        default = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, default)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught") from None
            raise
        if not handlers:
            self._unset_wakeup_fd()
        return True

    def _open_signal_socks(self):
        rsock, wsock = socket.socketpair()
        rsock.setblocking(False)
        wsock.setblocking(False)
        self._signal_socks = (rsock, wsock)
        self._add_io(rsock.fileno(), False, self._read_signals, ())

    def _read_signals(self):
        rsock = self._signal_socks[0]
        while True:
            try:
                data = rsock.recv(4096)
            except InterruptedError:
                continue
            except BlockingIOError:
                return
            if not data:
                return
            for signum in data:
                if signum:
                    self._dispatch_signal(signum)

    def _dispatch_signal(self, signum):
        handle = (self._signal_handlers or {}).get(signum)
        if handle is None:
            return
        if handle._cancelled:
            self.remove_signal_handler(signum)
        else:
            self.call_soon(handle._run)

    def _unset_wakeup_fd(self):
        try:
            signal.set_wakeup_fd(-1)
        except (ValueError, OSError) as exc:
            _base_events.logger.info("set_wakeup_fd(-1) failed: %s", exc)

    def _close_signals(self):
        """At ``loop.close()``: removes every handler (restoring the default
        actions) and closes the socket pair."""
        handlers = self._signal_handlers
        if handlers:
            if sys.is_finalizing():
                warnings.warn(
                    f"Closing the loop {self!r} on interpreter shutdown "
                    "stage, skipping signal handlers removal",
                    ResourceWarning,
                    source=self,
                )
                handlers.clear()
            else:
                for sig in list(handlers):
                    try:
                        self.remove_signal_handler(sig)
                    except ValueError:
                        # signal.signal() outside the main thread: the loop
                        # still closes; the handlers stay installed.
                        handlers.pop(sig, None)
                        warnings.warn(
                            f"{self!r} closed outside the main thread: the "
                            f"handler of signal {sig} could not be removed",
                            RuntimeWarning,
                            source=self,
                        )
        socks = self._signal_socks
        if socks is not None:
            self._signal_socks = None
            self._remove_io(socks[0].fileno(), False)
            socks[0].close()
            socks[1].close()
