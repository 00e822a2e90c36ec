"""The readiness API and the ``sock_*`` coroutines of ``boucle.Loop``.

``add_reader`` / ``add_writer`` / ``remove_reader`` / ``remove_writer`` are
native (``src/readiness.rs``: fds on the poller the loop parks in, their
callbacks as ``Handle`` objects in the ready queue). The ``sock_*`` methods
are written here in Python on top of them, with the semantics of asyncio's
selector loop: try the call at once, and only if it would block, wait for
readiness with a one-shot callback that completes a future; cancelling the
future removes the callback. ``getaddrinfo`` and ``getnameinfo`` run in the
default executor, as in asyncio. ``sock_sendfile`` is zero-copy
(``os.sendfile``, in ``_sendfile.py``), with asyncio's fallback.

One difference from asyncio: a socket in blocking mode is refused with
``ValueError`` always (asyncio checks only in debug mode), since a blocking
call would stall the whole loop.
"""

import functools
import socket
from asyncio import base_events as _base_events

__all__ = ["SocketMethods"]

_WOULD_BLOCK = (BlockingIOError, InterruptedError)


def _check_socket(sock):
    # TypeError for an ssl.SSLSocket, as asyncio.
    _base_events._check_ssl_socket(sock)
    if sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")


def _is_inet(family):
    return family == socket.AF_INET or (
        _base_events._HAS_IPv6 and family == socket.AF_INET6
    )


class SocketMethods:
    """Mixed into ``boucle.Loop`` (needs ``_add_io``/``_remove_io``)."""

    # Readiness.

    def add_reader(self, fd, callback, *args):
        """Calls ``callback(*args)`` whenever ``fd`` is readable, until
        ``remove_reader(fd)``; replaces a reader already there."""
        self._add_io(fd, False, callback, args)

    def remove_reader(self, fd):
        """Stops watching ``fd`` for reading; whether it was watched."""
        return self._remove_io(fd, False)

    def add_writer(self, fd, callback, *args):
        """Calls ``callback(*args)`` whenever ``fd`` is writable, until
        ``remove_writer(fd)``; replaces a writer already there."""
        self._add_io(fd, True, callback, args)

    def remove_writer(self, fd):
        """Stops watching ``fd`` for writing; whether it was watched."""
        return self._remove_io(fd, True)

    # Waiting for one operation.

    def _wait_readable(self, sock, step, *args):
        """A future that ``step(fut, sock, *args)`` completes, called each
        time ``sock`` is readable; the reader goes when the future is done."""
        fut = self.create_future()
        fd = sock.fileno()
        handle = self._add_io(fd, False, step, (fut, sock) + args)
        fut.add_done_callback(functools.partial(self._read_done, fd, handle))
        return fut

    def _wait_writable(self, sock, step, *args):
        fut = self.create_future()
        fd = sock.fileno()
        handle = self._add_io(fd, True, step, (fut, sock) + args)
        fut.add_done_callback(functools.partial(self._write_done, fd, handle))
        return fut

    def _read_done(self, fd, handle, _fut):
        # A cancelled handle was replaced by another caller's: leave theirs.
        if not handle.cancelled():
            self._remove_io(fd, False)

    def _write_done(self, fd, handle, _fut):
        if not handle.cancelled():
            self._remove_io(fd, True)

    @staticmethod
    def _retry(fut, call, *args):
        """One attempt of a waiting operation: the future gets the result or
        the error; nothing happens if it would block (the next readiness
        tries again) or the future is already done (cancelled)."""
        if fut.done():
            return
        try:
            result = call(*args)
        except _WOULD_BLOCK:
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(result)

    def _recv_step(self, fut, sock, method, *args):
        self._retry(fut, getattr(sock, method), *args)

    # Receiving.

    async def sock_recv(self, sock, n):
        """Receives up to ``n`` bytes from ``sock`` (``b""`` at end of stream)."""
        _check_socket(sock)
        try:
            return sock.recv(n)
        except _WOULD_BLOCK:
            pass
        return await self._wait_readable(sock, self._recv_step, "recv", n)

    async def sock_recv_into(self, sock, buf):
        """Receives into the writable buffer ``buf``; the number of bytes."""
        _check_socket(sock)
        try:
            return sock.recv_into(buf)
        except _WOULD_BLOCK:
            pass
        return await self._wait_readable(sock, self._recv_step, "recv_into", buf)

    async def sock_recvfrom(self, sock, bufsize):
        """Receives a datagram of up to ``bufsize`` bytes: ``(data, address)``."""
        _check_socket(sock)
        try:
            return sock.recvfrom(bufsize)
        except _WOULD_BLOCK:
            pass
        return await self._wait_readable(sock, self._recv_step, "recvfrom", bufsize)

    async def sock_recvfrom_into(self, sock, buf, nbytes=0):
        """Receives a datagram into ``buf``: ``(nbytes, address)``."""
        _check_socket(sock)
        if not nbytes:
            nbytes = len(buf)
        try:
            return sock.recvfrom_into(buf, nbytes)
        except _WOULD_BLOCK:
            pass
        return await self._wait_readable(
            sock, self._recv_step, "recvfrom_into", buf, nbytes
        )

    # Sending.

    async def sock_sendall(self, sock, data):
        """Sends all of ``data``, waiting for room as often as needed."""
        _check_socket(sock)
        try:
            sent = sock.send(data)
        except _WOULD_BLOCK:
            sent = 0
        view = memoryview(data).cast("B")
        if sent == len(view):
            return
        # The progress lives in a one-item list the step updates.
        return await self._wait_writable(sock, self._sendall_step, view, [sent])

    def _sendall_step(self, fut, sock, view, progress):
        if fut.done():
            return
        start = progress[0]
        try:
            sent = sock.send(view[start:])
        except _WOULD_BLOCK:
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
            return
        start += sent
        if start == len(view):
            fut.set_result(None)
        else:
            progress[0] = start

    async def sock_sendto(self, sock, data, address):
        """Sends the datagram ``data`` to ``address``; the bytes sent."""
        _check_socket(sock)
        try:
            return sock.sendto(data, address)
        except _WOULD_BLOCK:
            pass
        return await self._wait_writable(sock, self._sendto_step, data, address)

    def _sendto_step(self, fut, sock, data, address):
        self._retry(fut, sock.sendto, data, 0, address)

    # Connecting and accepting.

    async def sock_connect(self, sock, address):
        """Connects ``sock`` to ``address`` (a host name is resolved with
        ``getaddrinfo`` first; a numeric address is used as it is)."""
        _check_socket(sock)
        if _is_inet(sock.family):
            infos = await self._ensure_resolved(
                address, family=sock.family, type=sock.type, proto=sock.proto
            )
            address = infos[0][4]
        try:
            sock.connect(address)
        except _WOULD_BLOCK:
            pass
        else:
            return None
        fut = self._wait_writable(sock, self._connect_step, address)
        try:
            return await fut
        finally:
            # The future holds the exception, whose traceback holds this frame.
            fut = None

    def _connect_step(self, fut, sock, address):
        if fut.done():
            return
        try:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err != 0:
                raise OSError(err, f"Connect call failed {address}")
        except _WOULD_BLOCK:
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(None)

    async def sock_accept(self, sock):
        """Accepts a connection: ``(conn, address)``, ``conn`` non-blocking."""
        _check_socket(sock)
        try:
            return self._accept_now(sock)
        except _WOULD_BLOCK:
            pass
        return await self._wait_readable(sock, self._accept_step)

    @staticmethod
    def _accept_now(sock):
        conn, address = sock.accept()
        conn.setblocking(False)
        return conn, address

    def _accept_step(self, fut, sock):
        self._retry(fut, self._accept_now, sock)

    # sock_sendfile: _sendfile.SendfileMethods (zero-copy os.sendfile).

    # Names.

    async def _ensure_resolved(self, address, *, family=0, type=socket.SOCK_STREAM,
                               proto=0, flags=0):
        host, port = address[:2]
        info = _base_events._ipaddr_info(host, port, family, type, proto, *address[2:])
        if info is not None:
            return [info]
        return await self.getaddrinfo(
            host, port, family=family, type=type, proto=proto, flags=flags
        )

    async def getaddrinfo(self, host, port, *, family=0, type=0, proto=0, flags=0):
        """``socket.getaddrinfo`` in the default executor."""
        return await self.run_in_executor(
            None, socket.getaddrinfo, host, port, family, type, proto, flags
        )

    async def getnameinfo(self, sockaddr, flags=0):
        """``socket.getnameinfo`` in the default executor."""
        return await self.run_in_executor(None, socket.getnameinfo, sockaddr, flags)
