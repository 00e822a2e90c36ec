"""Servers of ``boucle.Loop``: ``create_server``, ``create_unix_server`` and
the ``Server`` they return.

A serving socket has a reader on the loop (the native readiness API) that
accepts up to ``backlog`` connections per readiness and wraps each in a
``_transports.SocketTransport`` (under TLS, one whose protocol is the
stdlib's ``SSLProtocol``). ``Server`` follows ``asyncio.Server``: it counts
its live connections, so ``wait_closed`` returns once it is closed and the
last connection is gone; ``close_clients``/``abort_clients`` (3.13) end them.
"""

import errno
import os
import socket
import sys
import weakref
from asyncio import base_events as _base_events
from asyncio import constants, events, tasks, trsock

from ._connections import _check_ssl_args, remove_stale_unix_socket
from ._transports import SocketTransport

__all__ = ["Server", "ServerMethods"]

_IP_TRANSPARENT = getattr(socket, "IP_TRANSPARENT", 19)  # Linux's value
_RESOURCE_ERRNOS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def _local_address(sock):
    # The local address of every connection an IPv4 listener bound to one
    # address accepts is that address: given to the transports, it saves a
    # getsockname per connection. None (ask each socket) for the wildcard
    # address, other families and a transparent proxy's listener (it
    # accepts connections to other addresses).
    if sock.family != socket.AF_INET:
        return None
    try:
        address = sock.getsockname()
        if sock.getsockopt(socket.SOL_IP, _IP_TRANSPARENT):
            return None
    except OSError:
        return None
    return None if address[0] == "0.0.0.0" else address


class Server(events.AbstractServer):
    """Listening sockets serving one protocol factory on a ``boucle.Loop``."""

    def __init__(self, loop, sockets, protocol_factory, ssl_context, backlog,
                 ssl_handshake_timeout, ssl_shutdown_timeout=None, unix_path=None):
        self._loop = loop
        self._sockets = sockets
        self._protocol_factory = protocol_factory
        self._ssl_context = ssl_context
        self._backlog = backlog
        self._ssl_handshake_timeout = ssl_handshake_timeout
        self._ssl_shutdown_timeout = ssl_shutdown_timeout
        self._active_count = 0
        self._clients = weakref.WeakSet()
        self._waiters = []
        self._serving = False
        self._serving_forever_fut = None
        # (path, inode) of a Unix socket file to remove on close.
        self._unix_path = unix_path

    def __repr__(self):
        return f"<{type(self).__name__} sockets={self.sockets!r}>"

    # Connections (called by the transports).

    def _attach(self, transport):
        self._active_count += 1
        self._clients.add(transport)

    def _detach(self, transport):
        self._active_count -= 1
        self._clients.discard(transport)
        if self._active_count == 0 and self._sockets is None:
            self._wakeup()

    def _wakeup(self):
        waiters = self._waiters
        self._waiters = None
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # Serving.

    def _start_serving(self):
        if self._serving:
            return
        self._serving = True
        for sock in self._sockets:
            sock.listen(self._backlog)
            self._loop._start_serving(
                self._protocol_factory, sock, self._ssl_context, self,
                self._backlog, self._ssl_handshake_timeout, self._ssl_shutdown_timeout,
            )

    def get_loop(self):
        return self._loop

    def is_serving(self):
        return self._serving

    @property
    def sockets(self):
        """The listening sockets (as ``asyncio.trsock.TransportSocket``)."""
        if self._sockets is None:
            return ()
        return tuple(trsock.TransportSocket(s) for s in self._sockets)

    def close(self):
        """Stops listening and closes the sockets; live connections go on."""
        sockets = self._sockets
        if sockets is None:
            return
        self._sockets = None
        for sock in sockets:
            self._loop._stop_serving(sock)
        self._serving = False
        self._remove_unix_file()
        fut = self._serving_forever_fut
        if fut is not None and not fut.done():
            fut.cancel()
            self._serving_forever_fut = None
        if self._active_count == 0:
            self._wakeup()

    def _remove_unix_file(self):
        if self._unix_path is None:
            return
        path, inode = self._unix_path
        self._unix_path = None
        try:
            if os.stat(path).st_ino == inode:
                os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as err:
            _base_events.logger.error("Unable to clean up listening UNIX socket %r: %r",
                                      path, err)

    def close_clients(self):
        """Closes every live connection (after its buffer is sent)."""
        for transport in list(self._clients):
            transport.close()

    def abort_clients(self):
        """Aborts every live connection."""
        for transport in list(self._clients):
            transport.abort()

    async def start_serving(self):
        """Starts accepting (if not yet); returns once the readers are on."""
        self._start_serving()
        await tasks.sleep(0)

    async def serve_forever(self):
        """Serves until cancelled; cancelling closes the server and waits
        for it to be closed."""
        if self._serving_forever_fut is not None:
            raise RuntimeError(f"server {self!r} is already being awaited on serve_forever()")
        if self._sockets is None:
            raise RuntimeError(f"server {self!r} is closed")
        self._start_serving()
        self._serving_forever_fut = self._loop.create_future()
        try:
            await self._serving_forever_fut
        except BaseException:
            try:
                self.close()
                await self.wait_closed()
            finally:
                raise
        finally:
            self._serving_forever_fut = None

    async def wait_closed(self):
        """Returns once the server is closed and its connections are gone."""
        if self._waiters is None:
            return
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        await waiter

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        await self.wait_closed()


class ServerMethods:
    """Mixed into ``boucle.Loop``."""

    async def create_server(
        self, protocol_factory, host=None, port=None, *, family=socket.AF_UNSPEC,
        flags=socket.AI_PASSIVE, sock=None, backlog=100, ssl=None,
        reuse_address=None, reuse_port=None, keep_alive=None,
        ssl_handshake_timeout=None, ssl_shutdown_timeout=None, start_serving=True,
    ):
        """A TCP server on ``host`` (a name, a list of them, or ``None``/``""``
        for every interface) and ``port`` (0: one the kernel picks), or on
        the listening ``sock``. Returns a ``Server``, serving unless
        ``start_serving=False``."""
        if isinstance(ssl, bool):
            raise TypeError("ssl argument must be an SSLContext or None")
        _check_ssl_args(ssl, None, ssl_handshake_timeout, ssl_shutdown_timeout)
        if sock is not None:
            _base_events._check_ssl_socket(sock)
        if host is not None or port is not None:
            if sock is not None:
                raise ValueError("host/port and sock can not be specified at the same time")
            if reuse_address is None:
                reuse_address = os.name == "posix" and sys.platform != "cygwin"
            sockets = await self._bind_all(host, port, family, flags, reuse_address,
                                           reuse_port, keep_alive)
        else:
            if sock is None:
                raise ValueError("Neither host/port nor sock were specified")
            if sock.type != socket.SOCK_STREAM:
                raise ValueError(f"A Stream Socket was expected, got {sock!r}")
            sockets = [sock]
        for s in sockets:
            s.setblocking(False)
        server = Server(self, sockets, protocol_factory, ssl, backlog,
                        ssl_handshake_timeout, ssl_shutdown_timeout)
        if start_serving:
            server._start_serving()
            await tasks.sleep(0)
        if self._debug:
            _base_events.logger.info("%r is serving", server)
        return server

    async def _bind_all(self, host, port, family, flags, reuse_address, reuse_port,
                        keep_alive):
        if host == "":
            hosts = [None]
        elif isinstance(host, str) or not hasattr(host, "__iter__"):
            hosts = [host]
        else:
            hosts = host
        lookups = [
            self._ensure_resolved((h, port), family=family, type=socket.SOCK_STREAM,
                                  flags=flags)
            for h in hosts
        ]
        infos = set()
        for found in await tasks.gather(*lookups):
            infos.update(found)
        sockets = []
        done = False
        try:
            for af, socktype, proto, _, address in infos:
                try:
                    sock = socket.socket(af, socktype, proto)
                except OSError:
                    if self._debug:
                        _base_events.logger.warning(
                            "create_server() failed to create socket.socket(%r, %r, %r)",
                            af, socktype, proto, exc_info=True,
                        )
                    continue
                sockets.append(sock)
                if reuse_address:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, True)
                if reuse_port:
                    _base_events._set_reuseport(sock)
                if keep_alive:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, True)
                if _base_events._HAS_IPv6 and af == socket.AF_INET6 and hasattr(
                    socket, "IPPROTO_IPV6"
                ):
                    # Each family gets its own socket: no dual-stack v6 one.
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, True)
                try:
                    sock.bind(address)
                except OSError as err:
                    raise OSError(
                        err.errno,
                        f"error while attempting to bind on address {address!r}: "
                        f"{(err.strerror or str(err)).lower()}",
                    ) from None
            done = True
        finally:
            if not done:
                for sock in sockets:
                    sock.close()
        return sockets

    async def create_unix_server(
        self, protocol_factory, path=None, *, sock=None, backlog=100, ssl=None,
        ssl_handshake_timeout=None, ssl_shutdown_timeout=None, start_serving=True,
        cleanup_socket=True,
    ):
        """A server on the Unix socket ``path`` (a stale socket file there
        is removed first; the file is removed on close with
        ``cleanup_socket``) or on the listening ``sock``."""
        if isinstance(ssl, bool):
            raise TypeError("ssl argument must be an SSLContext or None")
        _check_ssl_args(ssl, None, ssl_handshake_timeout, ssl_shutdown_timeout)
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            path = os.fspath(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            remove_stale_unix_socket(path)
            try:
                sock.bind(path)
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EADDRINUSE:
                    raise OSError(errno.EADDRINUSE,
                                  f"Address {path!r} is already in use") from None
                raise
            except BaseException:
                sock.close()
                raise
        else:
            if sock is None:
                raise ValueError("path was not specified, and no sock specified")
            if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
                raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")
        unix_path = None
        if cleanup_socket:
            bound = sock.getsockname()
            if isinstance(bound, str) and bound and bound[0] != "\x00":
                try:
                    unix_path = (bound, os.stat(bound).st_ino)
                except OSError:
                    pass
        sock.setblocking(False)
        server = Server(self, [sock], protocol_factory, ssl, backlog,
                        ssl_handshake_timeout, ssl_shutdown_timeout, unix_path)
        if start_serving:
            server._start_serving()
            await tasks.sleep(0)
        return server

    # Accepting.

    def _start_serving(self, protocol_factory, sock, sslcontext=None, server=None,
                       backlog=100, ssl_handshake_timeout=None, ssl_shutdown_timeout=None):
        self._add_io(sock.fileno(), False, self._accept_ready,
                     (protocol_factory, sock, sslcontext, server, backlog,
                      ssl_handshake_timeout, ssl_shutdown_timeout, _local_address(sock)))

    def _stop_serving(self, sock):
        self._remove_io(sock.fileno(), False)
        sock.close()

    def _accept_ready(self, protocol_factory, sock, sslcontext, server, backlog,
                      handshake_timeout, shutdown_timeout, local=None):
        # socket.accept() reads the listener's family and type, each an enum
        # conversion, for every connection: read them once per readiness and
        # wrap the accepted fd as it does.
        family, kind, proto = sock.family, sock.type, sock.proto
        for _ in range(backlog):
            try:
                fd, addr = sock._accept()
                conn = socket.socket(family, kind, proto, fileno=fd)
                conn.setblocking(False)
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno not in _RESOURCE_ERRNOS:
                    raise
                # Out of fds or memory: stop accepting for a while.
                self.call_exception_handler({
                    "message": "socket.accept() out of system resource",
                    "exception": exc,
                    "socket": trsock.TransportSocket(sock),
                })
                self._remove_io(sock.fileno(), False)
                self.call_later(
                    constants.ACCEPT_RETRY_DELAY, self._start_serving, protocol_factory,
                    sock, sslcontext, server, backlog, handshake_timeout, shutdown_timeout,
                )
                return
            extra = {"peername": addr} if local is None else {"peername": addr,
                                                              "sockname": local}
            if sslcontext:
                self._accepted_tls(protocol_factory, conn, extra, sslcontext,
                                   server, handshake_timeout, shutdown_timeout)
                continue
            # Plain TCP inline: a call less per connection.
            protocol = transport = None
            try:
                protocol = protocol_factory()
                transport = SocketTransport(self, conn, protocol, None, extra, server)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                if transport is None:
                    conn.close()
                self._report_accept_error(exc, protocol, transport)

    def _accepted_tls(self, protocol_factory, conn, extra, sslcontext, server,
                      handshake_timeout, shutdown_timeout):
        """A connection accepted on a TLS server: its transport, whose
        handshake is under way."""
        protocol = transport = None
        try:
            protocol = protocol_factory()
            waiter = self.create_future()
            transport = self._make_ssl_transport(
                conn, protocol, sslcontext, waiter, server_side=True, extra=extra,
                server=server, ssl_handshake_timeout=handshake_timeout,
                ssl_shutdown_timeout=shutdown_timeout,
            )
            waiter.add_done_callback(
                lambda fut, t=transport, p=protocol: self._handshake_done(fut, t, p)
            )
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            if transport is None:
                conn.close()
            self._report_accept_error(exc, protocol, transport)

    def _handshake_done(self, fut, transport, protocol):
        if fut.cancelled():
            transport.close()
            return
        exc = fut.exception()
        if exc is not None:
            transport.close()
            self._report_accept_error(exc, protocol, transport)

    def _report_accept_error(self, exc, protocol, transport):
        # As asyncio: only in debug mode (a failed TLS handshake of some
        # client is not the server's error).
        if not self._debug:
            return
        context = {
            "message": "Error on transport creation for incoming connection",
            "exception": exc,
        }
        if protocol is not None:
            context["protocol"] = protocol
        if transport is not None:
            context["transport"] = transport
        self.call_exception_handler(context)
