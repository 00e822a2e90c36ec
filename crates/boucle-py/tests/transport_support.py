"""What the stream transport tests share (test_transports.py and
test_transport_flow.py): a loop on boucle or on asyncio's selector loop
(the reference) whose exception handler records, a protocol that records
every callback, and a transport connected to a plain peer socket."""

import asyncio
import socket

import boucle


def recording_loop(kind):
    """A fixture body: the loop (``kind`` is "boucle" or "asyncio"), its
    exception handler's contexts kept in ``loop.errors``."""
    loop = boucle.new_event_loop() if kind == "boucle" else asyncio.SelectorEventLoop()
    errors = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    loop.errors = errors
    yield loop
    loop.close()


BOUND = 10.0


def run(loop, coro):
    return loop.run_until_complete(asyncio.wait_for(coro, BOUND))


class Recorder(asyncio.Protocol):
    """Records every callback; ``done`` resolves at connection_lost."""

    def __init__(self, loop, keep_open=False):
        self.events = []
        self.data = bytearray()
        self.transport = None
        self.keep_open = keep_open
        self.done = loop.create_future()
        self.got_eof = loop.create_future()
        self.paused = 0
        self.resumed = 0

    def connection_made(self, transport):
        self.transport = transport
        self.events.append("made")

    def data_received(self, data):
        assert isinstance(data, bytes)
        self.data += data

    def eof_received(self):
        self.events.append("eof")
        self.got_eof.set_result(None)
        return self.keep_open

    def pause_writing(self):
        self.paused += 1

    def resume_writing(self):
        self.resumed += 1

    def connection_lost(self, exc):
        self.events.append("lost")
        self.done.set_result(exc)


async def connected(loop, proto=None, family=socket.AF_UNIX):
    """(transport, protocol, peer): the transport on one end of a pair."""
    if family == socket.AF_UNIX:
        a, b = socket.socketpair()
    else:
        srv = socket.create_server(("127.0.0.1", 0))
        a = socket.create_connection(srv.getsockname())
        b, _ = srv.accept()
        srv.close()
    a.setblocking(False)
    b.setblocking(False)
    proto = proto or Recorder(loop)
    transport, _ = await loop.create_connection(lambda: proto, sock=a)
    return transport, proto, b


async def recv_all(loop, peer, n):
    got = bytearray()
    while len(got) < n:
        chunk = await loop.sock_recv(peer, n - len(got))
        assert chunk, "peer saw EOF early"
        got += chunk
    return bytes(got)
