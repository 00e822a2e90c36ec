"""Subprocesses of ``boucle.Loop``: ``subprocess_exec`` and
``subprocess_shell``, so that ``asyncio.create_subprocess_exec`` and
``asyncio.create_subprocess_shell`` work on top unchanged.

The transport is asyncio's own ``base_subprocess.BaseSubprocessTransport``
(used, not copied): it connects the child's pipes with the loop's
``connect_read_pipe`` / ``connect_write_pipe`` (``_pipes.py``) and runs the
protocol's callbacks. What this file adds is the start (``subprocess.Popen``)
and the exit watch:

- A pidfd (``os.pidfd_open``, Linux 5.3+) is watched for reading with the
  loop's native readiness API; it turns readable when the child exits, and
  ``os.waitpid(pid, WNOHANG)`` then reaps it without blocking. No thread,
  no ``SIGCHLD`` handler: the loop's own poller sees the exit.
- Without pidfds (an old kernel, a seccomp filter), a daemon thread waits in
  ``os.waitpid`` and hands the status back with ``call_soon_threadsafe``.

Either way, a running child holds a virtual clock (``_hold``, as executor
jobs do): the clock does not jump to the next timer while a child runs, so
``await asyncio.wait_for(proc.wait(), 5)`` on a virtual clock waits for the
child rather than timing out at once.

A child reaped by someone else first (``Popen.poll()`` from the transport's
``close()``, say) gives the status ``Popen`` recorded, or 255 with a warning
when nobody knows it (as asyncio's child watchers do).

Bad input, as asyncio: ``universal_newlines``, ``text``, ``encoding``,
``errors``, a ``bufsize`` other than 0 are refused with ``ValueError`` (the
streams are bytes); ``subprocess_exec`` refuses ``shell=True`` and
``subprocess_shell`` a command that is not a string; a missing program
raises ``FileNotFoundError`` from ``Popen``, before anything is watched.
"""

import os
import subprocess
import threading
import warnings
from asyncio import base_events as _base_events
from asyncio import base_subprocess

__all__ = ["SubprocessMethods", "SubprocessTransport"]


def _logger():
    return _base_events.logger


class _PidFd:
    """A pidfd as a file object for the readiness table: closed when the
    watch ends, or when the loop forgets it (``close()``)."""

    __slots__ = ("fd",)

    def __init__(self, fd):
        self.fd = fd

    def fileno(self):
        return self.fd

    def close(self):
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self):
        self.close()


class SubprocessTransport(base_subprocess.BaseSubprocessTransport):
    """asyncio's subprocess transport, started with ``subprocess.Popen``;
    the loop watches the child's exit (see the module doc)."""

    def _start(self, args, shell, stdin, stdout, stderr, bufsize, **kwargs):
        # Looked up at each call, so that tests can patch subprocess.Popen.
        self._proc = subprocess.Popen(
            args,
            shell=shell,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            universal_newlines=False,
            bufsize=bufsize,
            **kwargs,
        )
        self._loop._watch_child(self._proc, self._child_exited)

    def _child_exited(self, returncode):
        if self._returncode is None:
            self._process_exited(returncode)


def _exit_code(popen, status):
    """The return code from a ``waitpid`` status (``None``: reaped elsewhere)."""
    if status is not None:
        return os.waitstatus_to_exitcode(status)
    if popen.returncode is not None:
        return popen.returncode
    warnings.warn(
        f"child process pid {popen.pid} was reaped by someone else: "
        "its exit status is unknown (255)",
        RuntimeWarning,
    )
    return 255


def _reap(pid):
    """``waitpid(pid, WNOHANG)``: ``(done, status)``; ``status`` is ``None``
    when the child was already reaped."""
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True, None
    if got == 0:
        return False, None
    return True, status


class SubprocessMethods:
    """Mixed into ``boucle.Loop``: ``subprocess_exec``, ``subprocess_shell``."""

    async def subprocess_exec(
        self,
        protocol_factory,
        program,
        *args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=False,
        shell=False,
        bufsize=0,
        encoding=None,
        errors=None,
        text=None,
        **kwargs,
    ):
        """Runs ``program`` with ``args`` (no shell) connected to a
        ``SubprocessProtocol``: ``(transport, protocol)``."""
        _check_bytes_mode(universal_newlines, bufsize, encoding, errors, text)
        if shell:
            raise ValueError("shell must be False")
        popen_args = (program,) + args
        protocol = protocol_factory()
        transport = await self._make_subprocess_transport(
            protocol, popen_args, False, stdin, stdout, stderr, bufsize, **kwargs
        )
        if self._debug:
            _logger().info("execute program %r: %r", program, transport)
        return transport, protocol

    async def subprocess_shell(
        self,
        protocol_factory,
        cmd,
        *,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=False,
        shell=True,
        bufsize=0,
        encoding=None,
        errors=None,
        text=None,
        **kwargs,
    ):
        """Runs the shell command ``cmd`` (a str or bytes) connected to a
        ``SubprocessProtocol``: ``(transport, protocol)``."""
        if not isinstance(cmd, (bytes, str)):
            raise ValueError("cmd must be a string")
        _check_bytes_mode(universal_newlines, bufsize, encoding, errors, text)
        if not shell:
            raise ValueError("shell must be True")
        protocol = protocol_factory()
        transport = await self._make_subprocess_transport(
            protocol, cmd, True, stdin, stdout, stderr, bufsize, **kwargs
        )
        if self._debug:
            _logger().info("run shell command %r: %r", cmd, transport)
        return transport, protocol

    async def _make_subprocess_transport(
        self, protocol, args, shell, stdin, stdout, stderr, bufsize, extra=None, **kwargs
    ):
        waiter = self.create_future()
        # Popen runs in the constructor: its errors (FileNotFoundError...)
        # come out of here, with nothing left behind.
        transport = SubprocessTransport(
            self, protocol, args, shell, stdin, stdout, stderr, bufsize,
            waiter=waiter, extra=extra, **kwargs,
        )
        try:
            await waiter
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException:
            # Cancelled, or a pipe could not be connected: kill the child
            # and reap it before saying so.
            transport.close()
            await transport._wait()
            raise
        return transport

    # The exit watch.

    def _watch_child(self, popen, callback):
        """Calls ``callback(returncode)`` in the loop once ``popen``'s child
        has exited (and been reaped)."""
        self._hold(1)
        try:
            pidfd = _PidFd(os.pidfd_open(popen.pid))
        except (AttributeError, OSError):
            self._wait_child_in_thread(popen, callback)
            return
        try:
            self._add_io(pidfd.fd, False, self._child_ready, (pidfd, popen, callback))
        except BaseException:
            self._hold(-1)
            pidfd.close()
            raise

    def _child_ready(self, pidfd, popen, callback):
        done, status = _reap(popen.pid)
        if not done:
            return  # not yet (a spurious wake-up): keep watching
        self._remove_io(pidfd.fd, False)
        pidfd.close()
        self._hold(-1)
        returncode = _exit_code(popen, status)
        if popen.returncode is None:
            # So that Popen never waits for the pid again (it may be reused).
            popen.returncode = returncode
        callback(returncode)

    def _wait_child_in_thread(self, popen, callback):
        thread = threading.Thread(
            target=self._wait_child_blocking,
            args=(popen, callback),
            name=f"boucle-waitpid-{popen.pid}",
            daemon=True,
        )
        thread.start()

    def _wait_child_blocking(self, popen, callback):
        try:
            _, status = os.waitpid(popen.pid, 0)
        except ChildProcessError:
            status = None
        try:
            self.call_soon_threadsafe(self._child_waited, popen, status, callback)
        except RuntimeError:
            # The loop was closed meanwhile: nobody is waiting.
            self._hold(-1)

    def _child_waited(self, popen, status, callback):
        self._hold(-1)
        returncode = _exit_code(popen, status)
        if popen.returncode is None:
            popen.returncode = returncode
        callback(returncode)


def _check_bytes_mode(universal_newlines, bufsize, encoding, errors, text):
    if universal_newlines:
        raise ValueError("universal_newlines must be False")
    if text:
        raise ValueError("text must be False")
    if encoding is not None:
        raise ValueError("encoding must be None")
    if errors is not None:
        raise ValueError("errors must be None")
    if bufsize != 0:
        raise ValueError("bufsize must be 0")
