"""Datagram transports of ``boucle.Loop`` (UDP, Unix datagram sockets), on
the socket transports' base (``_transports.py``): ``sendto`` sends the
datagram at once or, when the socket is full, queues it whole, with the
writer on the loop only while the queue is not empty and asyncio's write
flow control; each readiness reads one datagram for ``datagram_received``;
send and receive errors go to ``error_received``.
"""

from asyncio import futures, transports

from ._transports import _WOULD_BLOCK, _check_data, _SocketTransportBase

__all__ = ["DatagramTransport"]


class DatagramTransport(_SocketTransportBase, transports.DatagramTransport):
    """A datagram socket (UDP, Unix datagram) as an asyncio
    ``DatagramTransport``; ``address`` is the connected peer, if any."""

    max_size = 256 * 1024

    def __init__(self, loop, sock, protocol, address=None, waiter=None, extra=None):
        super().__init__(loop, sock, protocol, extra)
        self._address = address
        loop.call_soon(self._protocol.connection_made, self)
        loop.call_soon(self._start_reading)
        if waiter is not None:
            loop.call_soon(futures._set_result_unless_cancelled, waiter, None)

    def _read_ready(self):
        if self._conn_lost:
            return
        try:
            data, addr = self._sock.recvfrom(self.max_size)
        except _WOULD_BLOCK:
            return
        except OSError as exc:
            self._protocol.error_received(exc)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on datagram transport")
        else:
            self._protocol.datagram_received(data, addr)

    def sendto(self, data, addr=None):
        """Sends the datagram ``data`` to ``addr`` (the connected peer when
        ``None``); buffered when the socket is full. A send error goes to
        the protocol's ``error_received``."""
        _check_data(data)
        if self._address:
            if addr not in (None, self._address):
                raise ValueError(f"Invalid address: must be None or {self._address}")
            addr = self._address
        if self._conn_lost and self._address:
            self._lost_write()
            return
        if not self._buffer:
            try:
                self._send_one(data, addr)
                return
            except _WOULD_BLOCK:
                self._loop._add_io(self._sock_fd, True, self._write_ready, ())
            except OSError as exc:
                self._protocol.error_received(exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on datagram transport")
                return
        self._buffer.append((bytes(data), addr))
        self._buffer_size += len(data)
        self._maybe_pause_protocol()

    def _send_one(self, data, addr):
        if self._extra["peername"]:
            self._sock.send(data)
        else:
            self._sock.sendto(data, addr)

    def _write_ready(self):
        while self._buffer:
            data, addr = self._buffer.popleft()
            self._buffer_size -= len(data)
            try:
                self._send_one(data, addr)
            except _WOULD_BLOCK:
                self._buffer.appendleft((data, addr))
                self._buffer_size += len(data)
                break
            except OSError as exc:
                self._protocol.error_received(exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on datagram transport")
                return
        self._maybe_resume_protocol()
        if not self._buffer:
            self._loop._remove_io(self._sock_fd, True)
            if self._closing:
                self._call_connection_lost(None)
