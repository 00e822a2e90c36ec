"""``loop.sendfile(transport, file)`` and ``loop.sock_sendfile(sock, file)``
on ``boucle.Loop``, zero-copy.

A plain socket transport (TCP or Unix) sends the file with ``os.sendfile``,
waiting for room with the native readiness API: first the transport's
write buffer drains (``write`` raises while the file is being sent), its
reading pauses, then the kernel copies the file to the socket. When
``os.sendfile`` cannot take the file (not a regular file, no ``fileno``)
before a byte was sent, ``SendfileNotAvailableError`` lets asyncio's own
``sendfile`` fall back to reading the file and writing it through the
transport (that fallback is also what TLS transports get).

``sock_sendfile`` is the same ``os.sendfile`` loop on a plain non-blocking
socket (asyncio's selector loop has it too), with asyncio's fallback
(``sock_sendall`` of blocks read in the executor) for what it cannot take.
"""

import errno
import io
import os
from asyncio import base_events as _base_events
from asyncio import exceptions

from ._transports import SocketTransport

__all__ = ["SendfileMethods"]

# os.sendfile's count is capped at this per call (Linux sends at most
# 0x7ffff000 bytes in one call anyway).
_MAX_BLOCK = 0x7FFF0000


class SendfileMethods:
    """Mixed into ``boucle.Loop`` (needs ``_add_io``/``_remove_io``)."""

    # asyncio's dispatcher: native first, then (unless fallback=False) the
    # generic read-and-write path.
    sendfile = _base_events.BaseEventLoop.sendfile
    _sendfile_fallback = _base_events.BaseEventLoop._sendfile_fallback

    # asyncio's dispatcher for sockets, with our native path below.
    sock_sendfile = _base_events.BaseEventLoop.sock_sendfile
    _sock_sendfile_fallback = _base_events.BaseEventLoop._sock_sendfile_fallback
    _check_sendfile_params = _base_events.BaseEventLoop._check_sendfile_params

    async def _sendfile_native(self, transp, file, offset, count):
        if not isinstance(transp, SocketTransport) or transp._sock is None:
            raise exceptions.SendfileNotAvailableError("not a socket transport")
        fileno = _regular_fileno(file, count)
        if fileno is None:
            return 0
        resume_reading = transp.is_reading()
        transp.pause_reading()
        await transp._make_empty_waiter()
        try:
            return await self._sendfile_loop(
                transp._sock_fd, fileno, offset, count, lambda: self._writable(transp)
            )
        finally:
            transp._reset_empty_waiter()
            if resume_reading:
                transp.resume_reading()

    async def _sock_sendfile_native(self, sock, file, offset, count):
        # sock_sendfile's zero-copy path (the checks are the dispatcher's).
        fileno = _regular_fileno(file, count)
        if fileno is None:
            return 0
        return await self._sendfile_loop(
            sock.fileno(), fileno, offset, count,
            lambda: self._wait_writable(sock, _ready_step),
        )

    async def _sendfile_loop(self, fd, fileno, offset, count, writable):
        # Sends from ``fileno`` at ``offset`` to the socket ``fd`` until
        # ``count`` bytes (or end of file) went, awaiting ``writable()``
        # whenever the socket is full; leaves the file's position after the
        # last byte sent.
        total = 0
        try:
            while not count or total < count:
                block = min(count - total, _MAX_BLOCK) if count else _MAX_BLOCK
                try:
                    sent = os.sendfile(fd, fileno, offset + total, block)
                except (BlockingIOError, InterruptedError):
                    await writable()
                    continue
                except OSError as exc:
                    if total == 0:
                        raise exceptions.SendfileNotAvailableError(
                            "os.sendfile call failed") from exc
                    if exc.errno == errno.ENOTCONN and type(exc) is not ConnectionError:
                        raise ConnectionError("socket is not connected",
                                              errno.ENOTCONN) from exc
                    raise
                if sent == 0:
                    break  # end of file
                total += sent
            return total
        finally:
            if total:
                os.lseek(fileno, offset + total, os.SEEK_SET)

    async def _writable(self, transp):
        # Room in the socket, or ConnectionError if the transport closes.
        fut = transp._sendfile_wait = self.create_future()
        self._add_io(transp._sock_fd, True, _resolve, (fut,))
        try:
            await fut
        finally:
            transp._sendfile_wait = None
            self._remove_io(transp._sock_fd, True)


def _resolve(fut):
    if not fut.done():
        fut.set_result(None)


def _ready_step(fut, _sock):
    # The one-shot writability wait of sock_sendfile (_sockets' _wait_writable).
    _resolve(fut)


def _regular_fileno(file, count):
    """``file``'s fd for ``os.sendfile``, or ``None`` when there is nothing
    to send (an empty file and no count); ``SendfileNotAvailableError`` for
    what is not a regular file with an fd (the fallback then reads it)."""
    try:
        fileno = file.fileno()
    except (AttributeError, io.UnsupportedOperation):
        raise exceptions.SendfileNotAvailableError("not a regular file") from None
    try:
        size = os.fstat(fileno).st_size
    except OSError:
        raise exceptions.SendfileNotAvailableError("not a regular file") from None
    return fileno if (count or size) else None
