"""Socket transports of ``boucle.Loop``: streams (TCP, Unix); datagrams are
in ``_datagrams.py``, on the base class here.

Written in Python on the loop's native readiness API (``_add_io`` /
``_remove_io``: the fd's callback is a ``Handle`` run from the ready queue),
with the semantics of asyncio's selector transports:

* reading: the reader is on the loop from just after ``connection_made``
  until ``pause_reading``, end of stream or close. Each readiness reads once
  and hands the bytes to the protocol: for a ``Protocol``, the native
  ``ReadPump`` (``src/pump.rs``: one ``recv_into`` the loop's buffer); for a
  ``BufferedProtocol``, ``recv_into`` its own buffer, here.
* writing: ``write`` sends at once what the kernel takes and buffers the
  rest; the writer is on the loop only while that buffer is not empty.
  Above the high-water mark the protocol's ``pause_writing`` is called, and
  ``resume_writing`` once the buffer is back under the low-water mark.
* errors: an ``OSError`` (a reset peer, a broken pipe) ends the connection
  with ``connection_lost(exc)`` and is logged only in debug mode; anything
  else goes to ``loop.call_exception_handler`` as well.
"""

import _socket
import collections
import socket
import warnings
from asyncio import base_events as _base_events
from asyncio import constants, futures, protocols, transports, trsock

from . import _boucle

__all__ = ["SocketTransport"]

_WOULD_BLOCK = (BlockingIOError, InterruptedError)
# Bytes read per readiness at most by a (non-buffered) Protocol's reader, as
# asyncio's max_size: the size of the loop's read buffer (src/pump.rs).
READ_BUFFER_SIZE = 256 * 1024
# Buffers handed to one sendmsg call.
_IOV_MAX = 1024
# write() calls after the connection was lost before a warning is logged.
_LOST_WARN_AFTER = 5
_HIGH_WATER = 64 * 1024


def _logger():
    return _base_events.logger


# The C attributes under socket.socket's family and type properties: plain
# ints, where the properties convert to an enum at every read (a cost per
# connection that showed in accept_storm's profile).
_raw_family = _socket.socket.family.__get__
_raw_type = _socket.socket.type.__get__
_TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def _set_nodelay(sock):
    # As asyncio: TCP stream sockets only.
    if (
        sock.proto == socket.IPPROTO_TCP
        and _raw_family(sock) in _TCP_FAMILIES
        and _raw_type(sock) == socket.SOCK_STREAM
    ):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _check_data(data):
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"data argument must be a bytes-like object, not {type(data).__name__!r}"
        )


class _SocketTransportBase(transports._FlowControlMixin, transports.Transport):
    """What stream and datagram transports share: the socket and its extra
    info, the reader, closing, write flow control and the protocol.

    Every method of asyncio's ``_FlowControlMixin`` is overridden here; it is
    a base only so that stdlib code that checks for it (the ``sendfile``
    fallback) accepts these transports.
    """

    def __init__(self, loop, sock, protocol, extra=None, server=None):
        # What asyncio's Transport and _FlowControlMixin set up, without
        # their __init__ chain (a cost per accepted connection). The
        # "socket" entry is made when first asked for (get_extra_info).
        extra = {} if extra is None else extra
        self._extra = extra
        if "sockname" not in extra:
            try:
                extra["sockname"] = sock.getsockname()
            except OSError:
                extra["sockname"] = None
        if "peername" not in extra:
            try:
                extra["peername"] = sock.getpeername()
            except OSError:
                extra["peername"] = None
        self._loop = loop
        self._sock = sock
        # For get_extra_info("socket"), also once the transport is closed.
        self._extra_sock = sock
        self._sock_fd = sock.fileno()
        # set_protocol, inline.
        self._buffered = isinstance(protocol, protocols.BufferedProtocol)
        self._protocol = protocol
        self._protocol_connected = True
        self._server = server
        self._buffer = collections.deque()
        self._buffer_size = 0
        # How many times the connection was found lost (writes after it).
        self._conn_lost = 0
        # Whether a write may go straight to the socket (see
        # SocketTransport._sync_write_fast); never again once lost.
        self._write_fast = False
        self._closing = False
        self._paused = False
        self._protocol_paused = False
        self._high_water = _HIGH_WATER
        self._low_water = _HIGH_WATER // 4
        # What the loop calls when the socket is readable.
        self._reader = self._read_ready
        if server is not None:
            server._attach(self)

    def get_extra_info(self, name, default=None):
        """What asyncio's transports offer: "socket" (a
        ``trsock.TransportSocket``), "sockname", "peername", and what the
        transport was made with."""
        extra = self._extra
        if name == "socket" and "socket" not in extra:
            extra["socket"] = trsock.TransportSocket(self._extra_sock)
        return extra.get(name, default)

    def __repr__(self):
        info = [type(self).__name__]
        if self._sock is None:
            info.append("closed")
        elif self._closing:
            info.append("closing")
        info.append(f"fd={self._sock_fd}")
        if self._loop is not None and not self._loop.is_closed():
            info.append("read=" + ("polling" if self.is_reading() else "idle"))
            info.append("write=" + ("polling" if self._buffer else "idle"))
            info.append(f"bufsize={self._buffer_size}")
        return "<{}>".format(" ".join(info))

    def __del__(self, _warn=warnings.warn):
        if getattr(self, "_sock", None) is not None:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            self._sock.close()

    # The protocol.

    def set_protocol(self, protocol):
        """Makes ``protocol`` the one that receives the events."""
        self._buffered = isinstance(protocol, protocols.BufferedProtocol)
        self._protocol = protocol
        self._protocol_connected = True

    def get_protocol(self):
        return self._protocol

    # Reading.

    def _start_reading(self):
        if self._closing or self._paused:
            return
        self._loop._add_io(self._sock_fd, False, self._reader, ())

    def is_reading(self):
        """Whether the transport is receiving (not paused, not closing)."""
        return not self._paused and not self._closing

    def pause_reading(self):
        """Stops reading until ``resume_reading``; no-op when paused or closing."""
        if self._closing or self._paused:
            return
        self._paused = True
        self._loop._remove_io(self._sock_fd, False)
        if self._loop.get_debug():
            _logger().debug("%r pauses reading", self)

    def resume_reading(self):
        """Reads again after ``pause_reading``; no-op otherwise."""
        if self._closing or not self._paused:
            return
        self._paused = False
        self._loop._add_io(self._sock_fd, False, self._reader, ())
        if self._loop.get_debug():
            _logger().debug("%r resumes reading", self)

    # Write flow control.

    def _set_write_buffer_limits(self, high=None, low=None):
        if high is None:
            high = _HIGH_WATER if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high_water = high
        self._low_water = low

    def set_write_buffer_limits(self, high=None, low=None):
        """Sets the marks at which the protocol's ``pause_writing`` and
        ``resume_writing`` are called (default 64 KiB and a quarter of high)."""
        self._set_write_buffer_limits(high=high, low=low)
        self._maybe_pause_protocol()

    def get_write_buffer_limits(self):
        return (self._low_water, self._high_water)

    def get_write_buffer_size(self):
        """Bytes buffered, not yet taken by the kernel."""
        return self._buffer_size

    def _maybe_pause_protocol(self):
        if self._buffer_size <= self._high_water or self._protocol_paused:
            return
        self._protocol_paused = True
        try:
            self._protocol.pause_writing()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop.call_exception_handler({
                "message": "protocol.pause_writing() failed",
                "exception": exc,
                "transport": self,
                "protocol": self._protocol,
            })

    def _maybe_resume_protocol(self):
        if not self._protocol_paused or self._buffer_size > self._low_water:
            return
        self._protocol_paused = False
        try:
            self._protocol.resume_writing()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop.call_exception_handler({
                "message": "protocol.resume_writing() failed",
                "exception": exc,
                "transport": self,
                "protocol": self._protocol,
            })

    def _lost_write(self):
        # A write after the connection was lost: dropped, with a warning
        # once it has happened a few times.
        if self._conn_lost >= _LOST_WARN_AFTER:
            _logger().warning("socket.send() raised exception.")
        self._conn_lost += 1

    # Closing.

    def is_closing(self):
        return self._closing

    def close(self):
        """Closes once the buffer is sent; ``connection_lost(None)`` then."""
        if self._closing:
            return
        self._closing = True
        self._loop._remove_io(self._sock_fd, False)
        if not self._buffer:
            self._conn_lost += 1
            self._write_fast = False
            self._loop.call_soon(self._call_connection_lost, None)

    def abort(self):
        """Closes at once, dropping the buffer; ``connection_lost(None)``."""
        self._force_close(None)

    def _fatal_error(self, exc, message="Fatal error on transport"):
        if isinstance(exc, OSError):
            if self._loop.get_debug():
                _logger().debug("%r: %s", self, message, exc_info=True)
        else:
            self._loop.call_exception_handler({
                "message": message,
                "exception": exc,
                "transport": self,
                "protocol": self._protocol,
            })
        self._force_close(exc)

    def _force_close(self, exc):
        if self._conn_lost:
            return
        if self._buffer:
            self._buffer.clear()
            self._buffer_size = 0
            self._loop._remove_io(self._sock_fd, True)
        if not self._closing:
            self._closing = True
            self._loop._remove_io(self._sock_fd, False)
        self._conn_lost += 1
        self._write_fast = False
        self._loop.call_soon(self._call_connection_lost, exc)

    def _call_connection_lost(self, exc):
        # Counted as lost even when close() ended with the buffer flushed,
        # so that later calls (write, abort) are harmless no-ops.
        self._conn_lost = max(self._conn_lost, 1)
        self._write_fast = False
        try:
            if self._protocol_connected:
                self._protocol.connection_lost(exc)
        finally:
            self._sock.close()
            self._sock = None
            self._protocol = None
            self._loop = None
            # The reader refers back to the transport (a bound method, or
            # the native pump, whose write is the instance's "write"):
            # dropped, so that a finished transport is freed by reference
            # counting rather than left to the cyclic GC (a cost per
            # connection that showed in accept_storm's profile). Later
            # writes take the class's write, which drops them.
            self._reader = None
            self.__dict__.pop("write", None)
            server = self._server
            if server is not None:
                server._detach(self)
                self._server = None


class SocketTransport(_SocketTransportBase):
    """A connected stream socket (TCP or Unix) as an asyncio ``Transport``.

    ``waiter``, if given, is a future set to ``None`` once
    ``connection_made`` has run.
    """

    # loop.start_tls accepts it; loop.sendfile tries os.sendfile first.
    _start_tls_compatible = True
    _sendfile_compatible = constants._SendfileMode.TRY_NATIVE

    def __init__(self, loop, sock, protocol, waiter=None, extra=None, server=None):
        super().__init__(loop, sock, protocol, extra, server)
        self._eof = False
        # The native reader (src/pump.rs): reads into the loop's buffer and
        # calls data_received itself; back to _read_ready for a
        # BufferedProtocol.
        self._reader = _boucle.ReadPump(loop, self, sock, loop._read_view)
        # While loop.sendfile sends a file: set once the buffer is empty,
        # and the future its os.sendfile loop waits on for room.
        self._empty_waiter = None
        self._sendfile_wait = None
        # write() is the pump's (native): it sends bytes at once while
        # _write_fast holds and hands everything else to _write_py.
        self.write = self._reader.write
        self._write_fast = True
        _set_nodelay(sock)
        loop.call_soon(self._protocol.connection_made, self)
        # The reader goes on now: its first readiness is dispatched at the
        # next poll, so it runs after connection_made, as when asyncio adds
        # it with call_soon (pause_reading or close in connection_made
        # remove it again before it runs).
        self._start_reading()
        if waiter is not None:
            loop.call_soon(futures._set_result_unless_cancelled, waiter, None)

    # Reading.

    def _read_ready(self):
        # A BufferedProtocol's read, into its own buffer: what the native
        # reader calls for one (it has checked _conn_lost already).
        try:
            buf = self._protocol.get_buffer(-1)
            if not len(buf):
                raise RuntimeError("get_buffer() returned an empty buffer")
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.get_buffer() call failed.")
            return
        try:
            nbytes = self._sock.recv_into(buf)
        except _WOULD_BLOCK:
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on socket transport")
            return
        if not nbytes:
            self._read_eof()
            return
        try:
            self._protocol.buffer_updated(nbytes)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.buffer_updated() call failed.")

    def _read_eof(self):
        if self._loop.get_debug():
            _logger().debug("%r received EOF", self)
        try:
            keep_open = self._protocol.eof_received()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.eof_received() call failed.")
            return
        if keep_open:
            # Half-closed: nothing more to read, writing goes on.
            self._loop._remove_io(self._sock_fd, False)
        else:
            self.close()

    # Writing.

    def _sync_write_fast(self):
        # The native write's fast path (src/pump.rs) needs: nothing
        # buffered, no write_eof, no sendfile, a live connection.
        self._write_fast = not (
            self._buffer or self._eof or self._conn_lost or self._empty_waiter is not None
        )

    def write(self, data):
        """Sends ``data`` (bytes-like) or buffers what the kernel did not take.

        Each transport's ``write`` attribute is its pump's native write,
        which sends ``bytes`` itself when it can and calls this otherwise."""
        _check_data(data)
        if type(data) is memoryview and data.itemsize != 1:
            data = data.cast("B")  # lengths in bytes
        if self._eof:
            raise RuntimeError("Cannot call write() after write_eof()")
        if self._empty_waiter is not None:
            raise RuntimeError("unable to write; sendfile is in progress")
        if not data:
            return
        if self._conn_lost:
            self._lost_write()
            return
        if not self._buffer:
            try:
                sent = self._sock.send(data)
            except _WOULD_BLOCK:
                sent = 0
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on socket transport")
                return
            if sent == len(data):
                return
            self._write_rest(data, sent)
            return
        self._buffer_chunk(data)

    _write_py = write

    def _write_rest(self, data, sent):
        # The first write that the kernel did not take whole: the writer
        # goes on the loop and the rest is buffered.
        self._loop._add_io(self._sock_fd, True, self._write_ready, ())
        if sent:
            data = memoryview(data).cast("B")[sent:]
        self._buffer_chunk(data)

    def _buffer_chunk(self, data):
        # A copy: the caller may change a bytearray after write() returns.
        chunk = data if type(data) is bytes else bytes(data)
        self._buffer.append(chunk)
        self._buffer_size += len(chunk)
        self._write_fast = False
        self._maybe_pause_protocol()

    def writelines(self, list_of_data):
        """Writes each buffer of ``list_of_data`` in order."""
        if self._eof:
            raise RuntimeError("Cannot call writelines() after write_eof()")
        chunks = list(list_of_data)
        for chunk in chunks:
            _check_data(chunk)
        if not chunks:
            return
        self.write(b"".join(chunks))

    def _write_ready(self):
        if self._conn_lost:
            return
        buffers = list(self._buffer) if len(self._buffer) <= _IOV_MAX else [
            self._buffer[i] for i in range(_IOV_MAX)
        ]
        try:
            if len(buffers) == 1:
                sent = self._sock.send(buffers[0])
            else:
                sent = self._sock.sendmsg(buffers)
        except _WOULD_BLOCK:
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop._remove_io(self._sock_fd, True)
            self._buffer.clear()
            self._buffer_size = 0
            self._fatal_error(exc, "Fatal write error on socket transport")
            return
        self._consume(sent)
        self._maybe_resume_protocol()
        if self._buffer:
            return
        self._loop._remove_io(self._sock_fd, True)
        self._sync_write_fast()
        if self._empty_waiter is not None and not self._empty_waiter.done():
            self._empty_waiter.set_result(None)
        if self._closing:
            self._call_connection_lost(None)
        elif self._eof:
            self._sock.shutdown(socket.SHUT_WR)

    # loop.sendfile's hooks (see _sendfile.py).

    def _make_empty_waiter(self):
        if self._empty_waiter is not None:
            raise RuntimeError("Empty waiter is already set")
        self._empty_waiter = self._loop.create_future()
        self._write_fast = False
        if not self._buffer:
            self._empty_waiter.set_result(None)
        return self._empty_waiter

    def _reset_empty_waiter(self):
        self._empty_waiter = None
        self._sync_write_fast()

    def _call_connection_lost(self, exc):
        # A sendfile in progress learns that the connection is gone.
        for fut in (self._empty_waiter, self._sendfile_wait):
            if fut is not None and not fut.done():
                fut.set_exception(ConnectionError("Connection is closed by peer"))
        super()._call_connection_lost(exc)

    def _consume(self, sent):
        # Drops the first ``sent`` bytes of the buffer.
        self._buffer_size -= sent
        buffer = self._buffer
        while sent:
            head = buffer[0]
            if len(head) <= sent:
                sent -= len(head)
                buffer.popleft()
            else:
                buffer[0] = memoryview(head)[sent:]
                sent = 0

    def can_write_eof(self):
        return True

    def write_eof(self):
        """Shuts the sending side once the buffer is sent (the peer reads EOF)."""
        if self._closing or self._eof:
            return
        self._eof = True
        self._write_fast = False
        if not self._buffer:
            self._sock.shutdown(socket.SHUT_WR)
