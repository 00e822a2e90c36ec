"""Pipe transports of ``boucle.Loop``: ``connect_read_pipe`` and
``connect_write_pipe``, written in Python on the native readiness API
(``_add_io`` / ``_remove_io``), with the semantics of asyncio's Unix loop.

What a pipe transport accepts: the read side takes a pipe (FIFO), a socket or
a character device (a pty, say); the write side the same. Anything else (a
regular file, a directory) is refused with ``ValueError``. The fd is put in
non-blocking mode; the transport owns the file object from then on and
closes it after ``connection_lost``.

Reading: each readiness reads up to 256 KiB with ``os.read`` and hands it to
``data_received``; end of file calls ``eof_received`` then
``connection_lost(None)``. ``EIO`` (a pty whose other side closed) ends the
transport quietly, as asyncio does; other read errors go to the exception
handler and to ``connection_lost(exc)``.

Writing: ``write`` tries ``os.write`` at once; what does not fit stays in a
buffer drained on writability, with asyncio's flow control
(``set_write_buffer_limits``; ``pause_writing`` above the high mark,
``resume_writing`` at the low one). The write end of a pipe or a socket is
also watched for *reading*: the kernel reports it when the reader goes away,
so a closed peer ends the transport even when nothing is being written
(``connection_lost(BrokenPipeError())`` if data was still buffered). A write
to a closed peer fails with ``EPIPE`` (Python ignores ``SIGPIPE``):
``connection_lost(BrokenPipeError)``, and later writes are dropped with a
warning after a few, as asyncio does.
"""

import errno
import os
import stat
import warnings
from asyncio import base_events as _base_events
from asyncio import constants, futures, transports

__all__ = ["PipeMethods", "ReadPipeTransport", "WritePipeTransport"]

_READ_SIZE = 256 * 1024
_WOULD_BLOCK = (BlockingIOError, InterruptedError)


def _logger():
    return _base_events.logger


def _pipe_fd(pipe, what):
    """The fd of ``pipe`` after checking its kind; sets it non-blocking."""
    fd = pipe.fileno()
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)):
        raise ValueError(
            f"{what} is only for pipes, sockets and character devices, "
            f"not {pipe!r}"
        )
    os.set_blocking(fd, False)
    return fd, mode


class _PipeTransport:
    """What both directions share: the pipe, the protocol, closing."""

    _pipe = None  # until _setup (a refused pipe never gets one)
    _fileno = -1

    def _setup(self, loop, pipe, protocol, fd):
        self._extra["pipe"] = pipe
        self._loop = loop
        self._pipe = pipe
        self._fileno = fd
        self._protocol = protocol
        self._closing = False

    def __repr__(self):
        info = [type(self).__name__]
        if self._pipe is None:
            info.append("closed")
        elif self._closing:
            info.append("closing")
        info.append(f"fd={self._fileno}")
        if self._pipe is not None:
            info.append("open")
            info.extend(self._repr_extra())
        return "<{}>".format(" ".join(info))

    def _repr_extra(self):
        return []

    def is_closing(self):
        """Whether ``close`` or ``abort`` was called (or the peer went)."""
        return self._closing

    def set_protocol(self, protocol):
        self._protocol = protocol

    def get_protocol(self):
        return self._protocol

    def __del__(self, _warn=warnings.warn):
        if self._pipe is not None:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            self._pipe.close()

    @staticmethod
    def _is_quiet(exc):
        """Whether ``exc`` is how such a pipe ends, not worth the exception
        handler (logged in debug mode only)."""
        return False

    def _fatal_error(self, exc, message):
        if self._is_quiet(exc):
            if self._loop.get_debug():
                _logger().debug("%r: %s", self, message, exc_info=True)
        else:
            self._loop.call_exception_handler(
                {
                    "message": message,
                    "exception": exc,
                    "transport": self,
                    "protocol": self._protocol,
                }
            )
        self._close(exc)

    def _call_connection_lost(self, exc):
        if self._protocol is None:
            return  # already told (abort() after close(), say)
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._pipe.close()
            self._pipe = None
            self._protocol = None
            self._loop = None


class ReadPipeTransport(_PipeTransport, transports.ReadTransport):
    """The read end of a pipe, FIFO, socket or character device."""

    def __init__(self, loop, pipe, protocol, waiter=None, extra=None):
        super().__init__(extra)
        fd, _mode = _pipe_fd(pipe, "a read pipe transport")
        self._setup(loop, pipe, protocol, fd)
        self._paused = False
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(self._start_reading)
        if waiter is not None:
            loop.call_soon(futures._set_result_unless_cancelled, waiter, None)

    @staticmethod
    def _is_quiet(exc):
        # A pty whose other side closed: EIO, as in asyncio.
        return isinstance(exc, OSError) and exc.errno == errno.EIO

    def _start_reading(self):
        if not self._closing and not self._paused:
            self._loop._add_io(self._fileno, False, self._read_ready, ())

    def _read_ready(self):
        try:
            data = os.read(self._fileno, _READ_SIZE)
        except _WOULD_BLOCK:
            return
        except OSError as exc:
            self._fatal_error(exc, "Fatal read error on pipe transport")
            return
        if data:
            self._protocol.data_received(data)
            return
        if self._loop.get_debug():
            _logger().info("%r was closed by peer", self)
        self._closing = True
        self._loop._remove_io(self._fileno, False)
        self._loop.call_soon(self._protocol.eof_received)
        self._loop.call_soon(self._call_connection_lost, None)

    def is_reading(self):
        """Whether data is being read (not paused, not closing)."""
        return not self._paused and not self._closing

    def pause_reading(self):
        """Stops reading until ``resume_reading``; no-op if closing or paused."""
        if self._closing or self._paused:
            return
        self._paused = True
        self._loop._remove_io(self._fileno, False)

    def resume_reading(self):
        """Reads again after ``pause_reading``; no-op if closing or reading."""
        if self._closing or not self._paused:
            return
        self._paused = False
        self._loop._add_io(self._fileno, False, self._read_ready, ())

    def close(self):
        """Stops reading; ``connection_lost(None)`` follows, then the pipe
        is closed."""
        if not self._closing:
            self._close(None)

    def _close(self, exc):
        self._closing = True
        self._loop._remove_io(self._fileno, False)
        self._loop.call_soon(self._call_connection_lost, exc)


class WritePipeTransport(_PipeTransport, transports._FlowControlMixin, transports.WriteTransport):
    """The write end of a pipe, FIFO, socket or character device."""

    def __init__(self, loop, pipe, protocol, waiter=None, extra=None):
        super().__init__(extra, loop)
        fd, mode = _pipe_fd(pipe, "a write pipe transport")
        self._setup(loop, pipe, protocol, fd)
        self._buffer = bytearray()
        self._conn_lost = 0
        loop.call_soon(protocol.connection_made, self)
        # The write end of a pipe or socket turns "readable" (an error or a
        # hang-up) when the reader closes: that is how a peer's exit is seen.
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            loop.call_soon(self._watch_peer)
        if waiter is not None:
            loop.call_soon(futures._set_result_unless_cancelled, waiter, None)

    @staticmethod
    def _is_quiet(exc):
        # EPIPE and the like: the reader went away (as asyncio, any OSError).
        return isinstance(exc, OSError)

    def _watch_peer(self):
        if not self._closing:
            self._loop._add_io(self._fileno, False, self._peer_closed, ())

    def _peer_closed(self):
        if self._buffer:
            self._close(BrokenPipeError())
        else:
            self._close(None)

    def _repr_extra(self):
        return [f"bufsize={len(self._buffer)}"]

    def get_write_buffer_size(self):
        """Bytes written but not yet handed to the kernel."""
        return len(self._buffer)

    def write(self, data):
        """Writes ``data`` (bytes-like); what the pipe cannot take now is
        buffered. Ignored (with a warning after a few) once the pipe is
        closing or broken."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        if isinstance(data, memoryview):
            data = data.cast("B")
        if not data:
            return
        if self._conn_lost or self._closing:
            if self._conn_lost >= constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES:
                _logger().warning(
                    "pipe closed by peer or os.write(pipe, data) raised exception."
                )
            self._conn_lost += 1
            return
        if not self._buffer:
            try:
                sent = os.write(self._fileno, data)
            except _WOULD_BLOCK:
                sent = 0
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._conn_lost += 1
                self._fatal_error(exc, "Fatal write error on pipe transport")
                return
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
            self._loop._add_io(self._fileno, True, self._write_ready, ())
        self._buffer += data
        self._maybe_pause_protocol()

    def _write_ready(self):
        assert self._buffer, "data should be buffered"
        try:
            sent = os.write(self._fileno, self._buffer)
        except _WOULD_BLOCK:
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._buffer.clear()
            self._conn_lost += 1
            self._loop._remove_io(self._fileno, True)
            self._fatal_error(exc, "Fatal write error on pipe transport")
            return
        if sent < len(self._buffer):
            del self._buffer[:sent]
            self._maybe_resume_protocol()
            return
        self._buffer.clear()
        self._loop._remove_io(self._fileno, True)
        self._maybe_resume_protocol()
        if self._closing:
            # write_eof() or close() was waiting for the buffer to drain.
            self._loop._remove_io(self._fileno, False)
            self._call_connection_lost(None)

    def can_write_eof(self):
        return True

    def write_eof(self):
        """Closes the pipe once the buffer is written (the reader sees end
        of file); later writes are ignored."""
        if self._closing:
            return
        assert self._pipe is not None
        self._closing = True
        if not self._buffer:
            self._loop._remove_io(self._fileno, False)
            self._loop.call_soon(self._call_connection_lost, None)

    def close(self):
        """As ``write_eof``: buffered data is written first."""
        if self._pipe is not None and not self._closing:
            self.write_eof()

    def abort(self):
        """Closes at once, dropping buffered data: ``connection_lost(None)``."""
        self._close(None)

    def _close(self, exc=None):
        self._closing = True
        if self._buffer:
            self._loop._remove_io(self._fileno, True)
        self._buffer.clear()
        self._loop._remove_io(self._fileno, False)
        self._loop.call_soon(self._call_connection_lost, exc)


class PipeMethods:
    """Mixed into ``boucle.Loop``: ``connect_read_pipe``, ``connect_write_pipe``."""

    async def connect_read_pipe(self, protocol_factory, pipe):
        """Reads from the file object ``pipe`` (a pipe, FIFO, socket or
        character device) into a protocol: ``(transport, protocol)``."""
        return await self._connect_pipe(ReadPipeTransport, "Read", protocol_factory, pipe)

    async def connect_write_pipe(self, protocol_factory, pipe):
        """Writes to the file object ``pipe`` (a pipe, FIFO, socket or
        character device) through a transport: ``(transport, protocol)``."""
        return await self._connect_pipe(WritePipeTransport, "Write", protocol_factory, pipe)

    async def _connect_pipe(self, transport_class, kind, protocol_factory, pipe):
        protocol = protocol_factory()
        waiter = self.create_future()
        transport = transport_class(self, pipe, protocol, waiter)
        try:
            await waiter
        except BaseException:
            transport.close()
            raise
        if self._debug:
            _logger().debug("%s pipe %r connected: (%r, %r)", kind, pipe.fileno(), transport, protocol)
        return transport, protocol
