"""The readiness API and the sock_* coroutines, on loopback only (127.0.0.1,
::1, socketpair, Unix sockets). Most tests run on boucle and on asyncio's own
loop, so that they check boucle does what asyncio does; every wait is
bounded by a timeout (a bound, never a sleep)."""

import asyncio
import contextvars
import errno
import os
import socket
import struct
import threading
import time

import pytest

import boucle

BOUND = 10.0  # seconds: a test that waits longer has hung


def _make(kind):
    if kind == "boucle":
        return boucle.new_event_loop()
    return asyncio.SelectorEventLoop()


@pytest.fixture(params=["boucle", "asyncio"])
def loop(request):
    loop = _make(request.param)
    yield loop
    loop.close()


def run(loop, coro):
    return loop.run_until_complete(asyncio.wait_for(coro, BOUND))


def _listener(family=socket.AF_INET, host="127.0.0.1"):
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.bind((host, 0))
    srv.listen(16)
    srv.setblocking(False)
    return srv


def _has_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# The readiness API.


def test_reader_runs_with_its_args_in_the_context_it_was_added_in(loop, pair):
    a, b = pair
    var = contextvars.ContextVar("var", default="unset")
    seen = []

    def on_readable(tag):
        seen.append((tag, a.recv(10), var.get()))
        loop.remove_reader(a)
        loop.stop()

    var.set("at add")
    loop.add_reader(a, on_readable, "tag")
    var.set("later")
    b.send(b"hi")
    loop.call_later(BOUND, loop.stop)
    loop.run_forever()
    assert seen == [("tag", b"hi", "at add")]


def test_reader_and_writer_get_any_number_of_args(loop, pair):
    a, b = pair
    seen = []

    def on_ready(*args):
        seen.append(args)
        if len(seen) == 2:
            loop.stop()

    loop.add_reader(a, lambda *args: (loop.remove_reader(a), on_ready(*args)), 1, 2, 3)
    loop.add_writer(b, lambda *args: (loop.remove_writer(b), on_ready(*args)), "w", 4, 5, 6)
    b.send(b"x")
    loop.call_later(BOUND, loop.stop)
    loop.run_forever()
    assert len(seen) == 2 and set(seen) == {(1, 2, 3), ("w", 4, 5, 6)}


def test_reader_is_level_triggered(loop, pair):
    # A reader that leaves data unread runs again, as with asyncio's selectors.
    a, b = pair
    got = []

    def on_readable():
        got.append(a.recv(1))
        if len(got) == 3:
            loop.remove_reader(a.fileno())
            loop.stop()

    loop.add_reader(a.fileno(), on_readable)
    b.send(b"xyz")
    loop.call_later(BOUND, loop.stop)
    loop.run_forever()
    assert got == [b"x", b"y", b"z"]


def test_high_fd_numbers_work_like_low_ones(loop, pair):
    # The readiness table keeps fds below 16384 in a vector and those above
    # in a map: one of each, level-triggered, then removed.
    import resource

    a, b = pair
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if limit != resource.RLIM_INFINITY and limit <= 17000:
        pytest.skip("the fd limit is too low for a high fd number")
    high = os.dup2(a.fileno(), 17000)
    try:
        got = []

        def on_readable(fd):
            got.append((fd, os.read(fd, 1)))
            if len(got) == 4:
                loop.remove_reader(a.fileno())
                assert loop.remove_reader(high)
                assert not loop.remove_reader(high)
                loop.stop()

        loop.add_reader(high, on_readable, high)
        loop.add_reader(a.fileno(), on_readable, a.fileno())
        b.send(b"wxyz")
        loop.call_later(BOUND, loop.stop)
        loop.run_forever()
        assert b"".join(data for _, data in got) == b"wxyz"
        assert {fd for fd, _ in got} <= {high, a.fileno()}
    finally:
        os.close(high)


def test_writer_runs_when_writable_and_reader_and_writer_coexist(loop, pair):
    a, b = pair
    events = []

    def on_writable():
        events.append("w")
        loop.remove_writer(a)
        b.send(b"!")

    def on_readable():
        events.append(("r", a.recv(10)))
        loop.remove_reader(a)
        loop.stop()

    loop.add_reader(a, on_readable)
    loop.add_writer(a, on_writable)
    loop.call_later(BOUND, loop.stop)
    loop.run_forever()
    assert events == ["w", ("r", b"!")]


def test_adding_again_replaces_the_callback(loop, pair):
    a, b = pair
    calls = []

    def first():
        calls.append("first")

    def second():
        calls.append("second")
        a.recv(10)
        loop.stop()

    loop.add_reader(a, first)
    loop.add_reader(a, second)
    b.send(b"x")
    loop.call_later(BOUND, loop.stop)
    loop.run_forever()
    assert calls == ["second"]
    assert loop.remove_reader(a) is True


def test_remove_returns_whether_a_callback_was_there(loop, pair):
    a, _ = pair
    assert loop.remove_reader(a) is False
    assert loop.remove_writer(a) is False
    loop.add_reader(a, lambda: None)
    assert loop.remove_writer(a) is False  # a reader only
    assert loop.remove_reader(a) is True
    assert loop.remove_reader(a) is False
    loop.add_writer(a.fileno(), lambda: None)
    assert loop.remove_writer(a) is True  # an int fd and its socket are one
    loop.add_reader(a, lambda: None)
    loop.close()
    assert loop.remove_reader(a) is False  # closed loops remove nothing
    with pytest.raises(RuntimeError, match="closed"):
        loop.add_reader(a, lambda: None)


def test_remove_reader_finds_a_socket_closed_since(loop):
    a, b = socket.socketpair()
    loop.add_reader(a, lambda: None)
    a.close()  # its fileno() is now -1
    assert loop.remove_reader(a) is True
    b.close()


def test_bad_file_objects_raise_value_error(loop):
    for bad in ["nope", object(), -1, 1.5]:
        with pytest.raises(ValueError, match="Invalid file"):
            loop.add_reader(bad, lambda: None)
    closed = socket.socket()
    closed.close()
    with pytest.raises(ValueError, match="Invalid file descriptor: -1"):
        loop.add_writer(closed, lambda: None)
    with pytest.raises(ValueError):
        loop.remove_reader("nope")


def test_closed_fd_raises_oserror_and_regular_file_permissionerror(loop, tmp_path):
    a, b = socket.socketpair()
    fd = a.detach()
    os.close(fd)
    with pytest.raises(OSError) as info:
        loop.add_reader(fd, lambda: None)
    assert info.value.errno == errno.EBADF
    b.close()
    with open(tmp_path / "f", "w") as f:
        with pytest.raises(PermissionError):
            loop.add_reader(f, lambda: None)
    # A failed registration leaves nothing behind.
    assert loop.remove_reader(fd) is False


def test_reader_exception_goes_to_the_exception_handler(loop, pair):
    a, b = pair
    contexts = []

    def boom():
        a.recv(10)
        loop.remove_reader(a)
        loop.call_soon(loop.stop)
        raise ZeroDivisionError

    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))
    loop.add_reader(a, boom)
    b.send(b"x")
    loop.call_later(BOUND, loop.stop)
    loop.run_forever()
    assert len(contexts) == 1
    assert isinstance(contexts[0]["exception"], ZeroDivisionError)
    assert "handle" in contexts[0]


def test_many_readers_at_once(loop):
    pairs = [socket.socketpair() for _ in range(200)]
    hits = {}

    def on_readable(i, sock):
        hits[i] = hits.get(i, b"") + sock.recv(10)
        loop.remove_reader(sock)
        if len(hits) == len(pairs):
            loop.stop()

    try:
        for i, (a, b) in enumerate(pairs):
            a.setblocking(False)
            loop.add_reader(a, on_readable, i, a)
        for i, (_, b) in enumerate(pairs):
            b.send(str(i).encode())
        loop.call_later(BOUND, loop.stop)
        loop.run_forever()
        assert hits == {i: str(i).encode() for i in range(len(pairs))}
    finally:
        for a, b in pairs:
            a.close()
            b.close()


def test_readiness_wakes_a_parked_loop(bloop, pair):
    # No timer, nothing ready: the loop parks until the fd is readable.
    a, b = pair
    fut = bloop.create_future()

    def on_readable():
        bloop.remove_reader(a)
        fut.set_result(a.recv(10))

    bloop.add_reader(a, on_readable)
    sender = threading.Timer(0.005, b.send, (b"wake",))
    started = time.monotonic()
    sender.start()
    try:
        assert bloop.run_until_complete(fut) == b"wake"
    finally:
        sender.join()
    assert time.monotonic() - started < BOUND
    assert bloop._stats()[1] == 0  # it had no timer to wake it


def test_virtual_clock_looks_at_fds_before_jumping(pair):
    a, b = pair
    loop = boucle.new_event_loop(virtual_time=True)
    try:

        async def main():
            b.send(b"now")
            data = await loop.sock_recv(a, 10)
            at_recv = loop.time()
            await asyncio.sleep(3600)
            return data, at_recv, loop.time()

        assert loop.run_until_complete(main()) == (b"now", 0.0, 3600.0)

        # With only an fd to wait on, a virtual clock waits for it.
        threading.Timer(0.005, b.send, (b"later",)).start()
        assert loop.run_until_complete(loop.sock_recv(a, 10)) == b"later"
    finally:
        loop.close()


# The sock_* coroutines.


def test_tcp_accept_connect_sendall_recv_large_payload(loop):
    srv = _listener()
    payload = os.urandom(4 * 1024 * 1024)  # more than the kernel buffers

    async def main():
        client = socket.socket()
        client.setblocking(False)
        connect = asyncio.ensure_future(loop.sock_connect(client, srv.getsockname()))
        conn, addr = await loop.sock_accept(srv)
        await connect
        assert conn.gettimeout() == 0
        assert addr == client.getsockname()
        with client, conn:
            received = bytearray()

            async def reader():
                while len(received) < len(payload):
                    chunk = await loop.sock_recv(conn, 65536)
                    assert chunk
                    received.extend(chunk)

            await asyncio.gather(loop.sock_sendall(client, payload), reader())
            client.shutdown(socket.SHUT_WR)
            assert await loop.sock_recv(conn, 10) == b""  # end of stream
        return bytes(received)

    with srv:
        assert run(loop, main()) == payload


def test_sock_recv_into_and_sendall_of_a_memoryview(loop, pair):
    a, b = pair

    async def main():
        buf = bytearray(16)
        task = asyncio.ensure_future(loop.sock_recv_into(a, buf))
        await asyncio.sleep(0)
        await loop.sock_sendall(b, memoryview(b"hello world"))
        n = await task
        return bytes(buf[:n])

    assert run(loop, main()) == b"hello world"


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_udp_sendto_recvfrom_and_recvfrom_into(loop, family):
    if family == "ipv6" and not _has_ipv6():
        pytest.skip("no ::1 on this machine")
    fam, host = (socket.AF_INET, "127.0.0.1") if family == "ipv4" else (socket.AF_INET6, "::1")
    rx = socket.socket(fam, socket.SOCK_DGRAM)
    tx = socket.socket(fam, socket.SOCK_DGRAM)
    for s in (rx, tx):
        s.setblocking(False)
        s.bind((host, 0))

    async def main():
        pending = asyncio.ensure_future(loop.sock_recvfrom(rx, 100))
        await asyncio.sleep(0)
        assert await loop.sock_sendto(tx, b"one", rx.getsockname()) == 3
        data, addr = await pending
        await loop.sock_sendto(tx, b"two", rx.getsockname())
        buf = bytearray(10)
        n, addr2 = await loop.sock_recvfrom_into(rx, buf)
        return data, addr[:2], bytes(buf[:n]), addr2[:2]

    with rx, tx:
        sender = tx.getsockname()[:2]
        assert run(loop, main()) == (b"one", sender, b"two", sender)


def test_unix_socket_stream(loop, tmp_path):
    path = str(tmp_path / "sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.setblocking(False)

    async def main():
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.setblocking(False)
        with client:
            accept = asyncio.ensure_future(loop.sock_accept(srv))
            await loop.sock_connect(client, path)
            conn, _ = await accept
            with conn:
                await loop.sock_sendall(client, b"ping")
                assert await loop.sock_recv(conn, 10) == b"ping"
                await loop.sock_sendall(conn, b"pong")
                return await loop.sock_recv(client, 10)

    with srv:
        assert run(loop, main()) == b"pong"


def test_ipv6_connect(loop):
    if not _has_ipv6():
        pytest.skip("no ::1 on this machine")
    srv = _listener(socket.AF_INET6, "::1")

    async def main():
        client = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        client.setblocking(False)
        with client:
            accept = asyncio.ensure_future(loop.sock_accept(srv))
            await loop.sock_connect(client, srv.getsockname()[:2])
            conn, _ = await accept
            conn.close()
            return client.getpeername()[:2]

    with srv:
        assert run(loop, main()) == srv.getsockname()[:2]


def test_connect_resolves_names_only_when_needed(loop):
    srv = _listener()
    port = srv.getsockname()[1]
    asked = []
    real = loop.getaddrinfo

    async def counting(*args, **kwargs):
        asked.append(args[0])
        return await real(*args, **kwargs)

    loop.getaddrinfo = counting

    async def connect(host):
        client = socket.socket()
        client.setblocking(False)
        with client:
            await loop.sock_connect(client, (host, port))
            conn, _ = await loop.sock_accept(srv)
            conn.close()

    async def main():
        await connect("127.0.0.1")
        assert asked == []
        await connect("localhost")
        assert asked == ["localhost"]

    with srv:
        run(loop, main())


def test_refused_connect(loop):
    # Nobody listens on port 1 of a loopback address of its own (a freed
    # ephemeral port of 127.0.0.1 could be the client's own: a connection
    # to itself).
    address = ("127.0.0.4", 1)

    async def main():
        client = socket.socket()
        client.setblocking(False)
        with client:
            await loop.sock_connect(client, address)

    with pytest.raises(ConnectionRefusedError):
        run(loop, main())


def test_peer_reset_raises_connection_reset(loop):
    srv = _listener()

    async def main():
        client = socket.socket()
        client.setblocking(False)
        with client:
            accept = asyncio.ensure_future(loop.sock_accept(srv))
            await loop.sock_connect(client, srv.getsockname())
            conn, _ = await accept
            # Close with an RST instead of a FIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            pending = asyncio.ensure_future(loop.sock_recv(client, 10))
            await asyncio.sleep(0)
            conn.close()
            await pending

    with srv, pytest.raises(ConnectionResetError):
        run(loop, main())


def test_closed_socket_raises_oserror(loop, pair):
    a, _ = pair
    a.close()
    with pytest.raises(OSError) as info:
        run(loop, loop.sock_recv(a, 10))
    assert info.value.errno == errno.EBADF
    with pytest.raises(OSError):
        run(loop, loop.sock_sendall(a, b"x"))


def test_blocking_socket_is_refused(bloop):
    # asyncio checks this only in debug mode; boucle always does.
    a, b = socket.socketpair()
    with a, b:
        for coro in (bloop.sock_recv(a, 1), bloop.sock_sendall(a, b"x"),
                     bloop.sock_accept(a), bloop.sock_connect(a, "x")):
            with pytest.raises(ValueError, match="non-blocking"):
                run(bloop, coro)


def test_cancelled_recv_removes_its_reader(loop, pair):
    a, b = pair

    async def main():
        task = asyncio.ensure_future(loop.sock_recv(a, 10))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The reader went with the future: nothing left to remove...
        assert loop.remove_reader(a) is False
        # ...and the data stays in the socket for the next caller.
        b.send(b"kept")
        return await loop.sock_recv(a, 10)

    assert run(loop, main()) == b"kept"


def test_getaddrinfo_and_getnameinfo_match_the_socket_module(loop):
    async def main():
        infos = await loop.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
        name = await loop.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV)
        return infos, name

    infos, name = run(loop, main())
    assert infos == socket.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
    assert name == ("127.0.0.1", "80")


def test_getaddrinfo_error_propagates(bloop):
    with pytest.raises(socket.gaierror):
        run(bloop, bloop.getaddrinfo("no such host.invalid", 80, flags=socket.AI_NUMERICHOST))
