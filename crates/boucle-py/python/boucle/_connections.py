"""Client connections of ``boucle.Loop``: ``create_connection``,
``create_unix_connection``, ``connect_accepted_socket``,
``create_datagram_endpoint`` and ``start_tls``.

Each makes (or takes) a non-blocking socket, connects it with the loop's
``sock_connect``, and wraps it in a ``_transports`` transport. With
``ssl=`` the transport's protocol is the stdlib's
``asyncio.sslproto.SSLProtocol``, which runs the TLS state machine on a
``ssl.MemoryBIO`` pair, and the caller gets its application transport: the
``SSLContext`` settings, handshake and shutdown timeouts mean exactly what
they mean in asyncio. Host names go through ``getaddrinfo`` off the loop
thread; several addresses are tried in turn, or raced with
``happy_eyeballs_delay`` (RFC 8305) through ``asyncio.staggered``.
"""

import os
import socket
import ssl as _ssl
import stat
from asyncio import base_events as _base_events
from asyncio import sslproto, staggered

from ._datagrams import DatagramTransport
from ._transports import SocketTransport

__all__ = ["ConnectionMethods"]

def _check_ssl_args(ssl, server_hostname, handshake_timeout, shutdown_timeout):
    if server_hostname is not None and not ssl:
        raise ValueError("server_hostname is only meaningful with ssl")
    if handshake_timeout is not None and not ssl:
        raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
    if shutdown_timeout is not None and not ssl:
        raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")


def _stream_socket(sock, what="A Stream Socket"):
    if sock.type != socket.SOCK_STREAM:
        raise ValueError(f"{what} was expected, got {sock!r}")


def _one_error(errors, all_errors):
    """The exception ``create_connection`` raises when every address failed."""
    if all_errors:
        return ExceptionGroup("create_connection failed", errors)
    if len(errors) == 1 or all(str(e) == str(errors[0]) for e in errors):
        return errors[0]
    return OSError("Multiple exceptions: {}".format(", ".join(str(e) for e in errors)))


def remove_stale_unix_socket(path):
    """Removes a socket file left at ``path`` by an earlier process (not any
    other kind of file), as asyncio does before binding there."""
    if path[0] in (0, "\x00"):
        return
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        _base_events.logger.error(
            "Unable to check or remove stale UNIX socket %r: %r", path, err
        )


class ConnectionMethods:
    """Mixed into ``boucle.Loop``."""

    # Transports.

    def _make_socket_transport(self, sock, protocol, waiter=None, *, extra=None,
                               server=None):
        return SocketTransport(self, sock, protocol, waiter, extra, server)

    def _make_ssl_transport(self, rawsock, protocol, sslcontext, waiter=None, *,
                            server_side=False, server_hostname=None, extra=None,
                            server=None, ssl_handshake_timeout=None,
                            ssl_shutdown_timeout=None, call_connection_made=True):
        """A socket transport whose protocol is an ``SSLProtocol`` wrapping
        ``protocol``; returns the TLS (application) transport."""
        ssl_protocol = sslproto.SSLProtocol(
            self, protocol, sslcontext, waiter, server_side, server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            call_connection_made=call_connection_made,
        )
        SocketTransport(self, rawsock, ssl_protocol, extra=extra, server=server)
        return ssl_protocol._app_transport

    async def _transport_for(self, sock, protocol_factory, ssl, server_hostname,
                             server_side=False, ssl_handshake_timeout=None,
                             ssl_shutdown_timeout=None):
        # The transport, once connection_made has run (and TLS shook hands).
        sock.setblocking(False)
        protocol = protocol_factory()
        waiter = self.create_future()
        if ssl:
            context = None if isinstance(ssl, bool) else ssl
            transport = self._make_ssl_transport(
                sock, protocol, context, waiter, server_side=server_side,
                server_hostname=server_hostname,
                ssl_handshake_timeout=ssl_handshake_timeout,
                ssl_shutdown_timeout=ssl_shutdown_timeout,
            )
        else:
            transport = self._make_socket_transport(sock, protocol, waiter)
        try:
            await waiter
        except BaseException:
            transport.close()
            raise
        return transport, protocol

    # TCP.

    async def create_connection(
        self, protocol_factory, host=None, port=None, *, ssl=None, family=0,
        proto=0, flags=0, sock=None, local_addr=None, server_hostname=None,
        ssl_handshake_timeout=None, ssl_shutdown_timeout=None,
        happy_eyeballs_delay=None, interleave=None, all_errors=False,
    ):
        """Connects to ``host:port`` (or takes the connected ``sock``) and
        returns ``(transport, protocol)``; see asyncio's docs for each
        argument. ``ssl``: an ``SSLContext`` or ``True`` for the default one."""
        if server_hostname is None and ssl:
            if not host:
                raise ValueError("You must set server_hostname when using ssl without a host")
            server_hostname = host
        _check_ssl_args(ssl, server_hostname, ssl_handshake_timeout, ssl_shutdown_timeout)
        if sock is not None:
            _base_events._check_ssl_socket(sock)
        if happy_eyeballs_delay is not None and interleave is None:
            interleave = 1
        if host is not None or port is not None:
            if sock is not None:
                raise ValueError("host/port and sock can not be specified at the same time")
            sock = await self._connect_host(
                host, port, family, proto, flags, local_addr,
                happy_eyeballs_delay, interleave, all_errors,
            )
        else:
            if sock is None:
                raise ValueError("host and port was not specified and no sock specified")
            _stream_socket(sock)
        return await self._transport_for(
            sock, protocol_factory, ssl, server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )

    async def _connect_host(self, host, port, family, proto, flags, local_addr,
                            delay, interleave, all_errors):
        infos = await self._ensure_resolved(
            (host, port), family=family, type=socket.SOCK_STREAM, proto=proto, flags=flags
        )
        if not infos:
            raise OSError("getaddrinfo() returned empty list")
        local_infos = None
        if local_addr is not None:
            local_infos = await self._ensure_resolved(
                local_addr, family=family, type=socket.SOCK_STREAM, proto=proto,
                flags=flags,
            )
            if not local_infos:
                raise OSError("getaddrinfo() returned empty list")
        if interleave:
            infos = _base_events._interleave_addrinfos(infos, interleave)
        errors = []
        sock = None
        try:
            if delay is None:
                for info in infos:
                    try:
                        sock = await self._connect_one(errors, info, local_infos)
                        break
                    except OSError:
                        continue
            else:
                attempts = [
                    (lambda info=info: self._connect_one(errors, info, local_infos))
                    for info in infos
                ]
                sock, _, _ = await staggered.staggered_race(attempts, delay, loop=self)
            if sock is None:
                raise _one_error([e for sub in errors for e in sub], all_errors)
            return sock
        finally:
            errors = None

    async def _connect_one(self, errors, info, local_infos):
        # One address: a socket bound to a matching local address if asked,
        # connected. Its errors are appended to ``errors`` (a list of lists).
        mine = []
        errors.append(mine)
        family, type_, proto, _, address = info
        sock = None
        try:
            sock = socket.socket(family=family, type=type_, proto=proto)
            sock.setblocking(False)
            if local_infos is not None:
                self._bind_local(sock, family, local_infos, mine)
            await self.sock_connect(sock, address)
            return sock
        except OSError as exc:
            mine.append(exc)
            if sock is not None:
                sock.close()
            raise
        except BaseException:
            if sock is not None:
                sock.close()
            raise
        finally:
            errors = mine = None

    @staticmethod
    def _bind_local(sock, family, local_infos, mine):
        for lfamily, _, _, _, laddr in local_infos:
            if lfamily != family:
                continue
            try:
                sock.bind(laddr)
                return
            except OSError as exc:
                mine.append(OSError(
                    exc.errno,
                    f"error while attempting to bind on address {laddr!r}: "
                    f"{exc.strerror.lower()}",
                ))
        if mine:
            raise mine.pop()
        raise OSError(f"no matching local address with family={family} found")

    # Unix.

    async def create_unix_connection(
        self, protocol_factory, path=None, *, ssl=None, sock=None,
        server_hostname=None, ssl_handshake_timeout=None, ssl_shutdown_timeout=None,
    ):
        """Connects to the Unix socket ``path`` (or takes ``sock``):
        ``(transport, protocol)``."""
        if ssl and server_hostname is None:
            raise ValueError("you have to pass server_hostname when using ssl")
        _check_ssl_args(ssl, server_hostname, ssl_handshake_timeout, ssl_shutdown_timeout)
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            path = os.fspath(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0)
            try:
                sock.setblocking(False)
                await self.sock_connect(sock, path)
            except BaseException:
                sock.close()
                raise
        else:
            if sock is None:
                raise ValueError("no path and sock were specified")
            if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
                raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")
            sock.setblocking(False)
        return await self._transport_for(
            sock, protocol_factory, ssl, server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )

    async def connect_accepted_socket(
        self, protocol_factory, sock, *, ssl=None, ssl_handshake_timeout=None,
        ssl_shutdown_timeout=None,
    ):
        """Wraps a connection accepted outside the loop (the server side of
        TLS with ``ssl=``): ``(transport, protocol)``."""
        _stream_socket(sock)
        _check_ssl_args(ssl, None, ssl_handshake_timeout, ssl_shutdown_timeout)
        _base_events._check_ssl_socket(sock)
        return await self._transport_for(
            sock, protocol_factory, ssl, "", server_side=True,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )

    # TLS upgrade.

    async def start_tls(self, transport, protocol, sslcontext, *, server_side=False,
                        server_hostname=None, ssl_handshake_timeout=None,
                        ssl_shutdown_timeout=None):
        """Upgrades the connection of ``transport`` to TLS; returns the new
        (TLS) transport, ``protocol`` receiving its data."""
        if not isinstance(sslcontext, _ssl.SSLContext):
            raise TypeError(f"sslcontext is expected to be an instance of ssl.SSLContext, "
                            f"got {sslcontext!r}")
        if not getattr(transport, "_start_tls_compatible", False):
            raise TypeError(f"transport {transport!r} is not supported by start_tls()")
        waiter = self.create_future()
        ssl_protocol = sslproto.SSLProtocol(
            self, protocol, sslcontext, waiter, server_side, server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            call_connection_made=False,
        )
        # Nothing is read until the TLS protocol is in place.
        transport.pause_reading()
        transport.set_protocol(ssl_protocol)
        made = self.call_soon(ssl_protocol.connection_made, transport)
        resumed = self.call_soon(transport.resume_reading)
        try:
            await waiter
        except BaseException:
            transport.close()
            made.cancel()
            resumed.cancel()
            raise
        return ssl_protocol._app_transport

    # Datagrams.

    async def create_datagram_endpoint(
        self, protocol_factory, local_addr=None, remote_addr=None, *, family=0,
        proto=0, flags=0, reuse_port=None, allow_broadcast=None, sock=None,
    ):
        """A datagram endpoint bound to ``local_addr`` and/or connected to
        ``remote_addr`` (or on ``sock``): ``(transport, protocol)``."""
        if sock is not None:
            if sock.type == socket.SOCK_STREAM:
                raise ValueError(f"A datagram socket was expected, got {sock!r}")
            given = dict(local_addr=local_addr, remote_addr=remote_addr, family=family,
                         proto=proto, flags=flags, reuse_port=reuse_port,
                         allow_broadcast=allow_broadcast)
            if any(given.values()):
                problems = ", ".join(f"{k}={v}" for k, v in given.items() if v)
                raise ValueError(
                    "socket modifier keyword arguments can not be used "
                    f"when sock is specified. ({problems})"
                )
            sock.setblocking(False)
            peer = None
        else:
            pairs = await self._datagram_addresses(local_addr, remote_addr, family,
                                                   proto, flags)
            sock, peer = await self._datagram_socket(pairs, local_addr, remote_addr,
                                                     reuse_port, allow_broadcast)
        protocol = protocol_factory()
        waiter = self.create_future()
        transport = DatagramTransport(self, sock, protocol, peer, waiter)
        try:
            await waiter
        except BaseException:
            transport.close()
            raise
        return transport, protocol

    async def _datagram_addresses(self, local_addr, remote_addr, family, proto, flags):
        # [((family, proto), (local, remote)), ...] to try in turn.
        if not (local_addr or remote_addr):
            if family == 0:
                raise ValueError("unexpected address family")
            return [((family, proto), (None, None))]
        if hasattr(socket, "AF_UNIX") and family == socket.AF_UNIX:
            for addr in (local_addr, remote_addr):
                if addr is not None and not isinstance(addr, (str, bytes)):
                    raise TypeError("string is expected")
            if local_addr:
                remove_stale_unix_socket(local_addr)
            return [((family, proto), (local_addr, remote_addr))]
        by_family = {}
        for index, addr in ((0, local_addr), (1, remote_addr)):
            if addr is None:
                continue
            if not (isinstance(addr, tuple) and len(addr) == 2):
                raise TypeError("2-tuple is expected")
            infos = await self._ensure_resolved(
                addr, family=family, type=socket.SOCK_DGRAM, proto=proto, flags=flags
            )
            if not infos:
                raise OSError("getaddrinfo() returned empty list")
            for fam, _, pro, _, address in infos:
                key = (fam, pro)
                by_family.setdefault(key, [None, None])
                if by_family[key][index] is None:
                    by_family[key][index] = address
        pairs = [
            (key, tuple(addrs)) for key, addrs in by_family.items()
            if not ((local_addr and addrs[0] is None) or (remote_addr and addrs[1] is None))
        ]
        if not pairs:
            raise ValueError("can not get address information")
        return pairs

    async def _datagram_socket(self, pairs, local_addr, remote_addr, reuse_port,
                               allow_broadcast):
        errors = []
        for (family, proto), (local, remote) in pairs:
            sock = None
            try:
                sock = socket.socket(family=family, type=socket.SOCK_DGRAM, proto=proto)
                if reuse_port:
                    _base_events._set_reuseport(sock)
                if allow_broadcast:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                sock.setblocking(False)
                if local_addr:
                    sock.bind(local)
                peer = None
                if remote_addr:
                    if not allow_broadcast:
                        await self.sock_connect(sock, remote)
                    peer = remote
                return sock, peer
            except OSError as exc:
                if sock is not None:
                    sock.close()
                errors.append(exc)
            except BaseException:
                if sock is not None:
                    sock.close()
                raise
        raise errors[0]
