"""subprocess_exec / subprocess_shell, through asyncio.create_subprocess_*
(unchanged) and through the protocol API. Most tests run on boucle and on
asyncio's own loop; children are short Python or shell programs, every wait
is bounded, and a child that would run long is killed by the test."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import warnings

import pytest

import boucle
from boucle import _subprocess

BOUND = 10.0
PY = sys.executable
PIPE = asyncio.subprocess.PIPE


@pytest.fixture(params=["boucle", "asyncio"])
def loop(request):
    if request.param == "boucle":
        loop = boucle.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # asyncio 3.11's child watcher wants it
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


def run(loop, coro):
    return loop.run_until_complete(asyncio.wait_for(coro, BOUND))


def _open_pipes():
    """The pipes this process holds, as (fd, pipe inode) pairs. Only pipes:
    listing /proc/self/fd opens a descriptor of its own, and a thread of an
    earlier test (a name lookup in the executor) may hold a file for a
    moment, so a comparison of every fd number fails now and then."""
    pipes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:  # closed since the listing
            continue
        if target.startswith("pipe:"):
            pipes.add((fd, target))
    return pipes


# Pipes and exit codes.


def test_stdin_stdout_communicate(loop):
    async def main():
        proc = await asyncio.create_subprocess_exec(
            PY, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper())",
            stdin=PIPE, stdout=PIPE,
        )
        assert proc.returncode is None
        assert proc.pid > 0
        out, err = await proc.communicate(b"hello child")
        return out, err, proc.returncode

    assert run(loop, main()) == (b"HELLO CHILD", None, 0)


def test_large_data_both_ways(loop):
    # More than any pipe holds, in both directions at once.
    payload = os.urandom(1 << 20)

    async def main():
        proc = await asyncio.create_subprocess_exec(
            PY, "-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())",
            stdin=PIPE, stdout=PIPE,
        )
        out, _ = await proc.communicate(payload)
        return out, proc.returncode

    out, code = run(loop, main())
    assert out == payload and code == 0


def test_shell_exit_code_and_stderr(loop):
    async def main():
        proc = await asyncio.create_subprocess_shell(
            "echo out; echo err >&2; exit 7", stdout=PIPE, stderr=PIPE
        )
        out, err = await proc.communicate()
        return out, err, await proc.wait()

    assert run(loop, main()) == (b"out\n", b"err\n", 7)


def test_stderr_to_stdout_and_devnull(loop):
    async def main():
        proc = await asyncio.create_subprocess_shell(
            "echo a; echo b >&2", stdin=subprocess.DEVNULL, stdout=PIPE,
            stderr=subprocess.STDOUT,
        )
        out, err = await proc.communicate()
        assert proc.stdin is None and proc.stderr is None
        quiet = await asyncio.create_subprocess_shell(
            "echo gone", stdout=subprocess.DEVNULL
        )
        assert await quiet.wait() == 0
        return sorted(out.split()), err

    assert run(loop, main()) == ([b"a", b"b"], None)


def test_stdout_to_a_file(loop, tmp_path):
    path = tmp_path / "out.txt"

    async def main():
        with open(path, "wb") as f:
            proc = await asyncio.create_subprocess_exec(
                PY, "-c", "print('into the file')", stdout=f
            )
            return await proc.wait()

    assert run(loop, main()) == 0
    assert path.read_bytes() == b"into the file\n"


def test_stdin_from_a_file(loop, tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(b"from a file")

    async def main():
        with open(path, "rb") as f:
            proc = await asyncio.create_subprocess_exec(
                PY, "-c", "import sys; print(sys.stdin.read()[::-1])", stdin=f, stdout=PIPE
            )
            out, _ = await proc.communicate()
        return out

    assert run(loop, main()) == b"elif a morf\n"


def test_read_lines_as_they_come(loop):
    async def main():
        proc = await asyncio.create_subprocess_exec(
            PY, "-u", "-c", "for i in range(3): print(i)", stdout=PIPE
        )
        lines = [line async for line in proc.stdout]
        return lines, await proc.wait()

    assert run(loop, main()) == ([b"0\n", b"1\n", b"2\n"], 0)


def test_many_children_at_once(loop):
    async def main():
        procs = [
            await asyncio.create_subprocess_exec(PY, "-c", f"raise SystemExit({i})")
            for i in range(8)
        ]
        return await asyncio.gather(*(p.wait() for p in procs))

    assert run(loop, main()) == list(range(8))


# Signals and killing.


def _sleeper(loop):
    # Prints once it is ready, then sleeps far longer than any test.
    return asyncio.create_subprocess_exec(
        PY, "-c", "import time; print('ready', flush=True); time.sleep(60)",
        stdout=PIPE,
    )


@pytest.mark.parametrize(
    "how,code",
    [("kill", -signal.SIGKILL), ("terminate", -signal.SIGTERM), ("sighup", -signal.SIGHUP)],
)
def test_kill_terminate_send_signal(loop, how, code):
    async def main():
        proc = await _sleeper(loop)
        assert await proc.stdout.readline() == b"ready\n"
        if how == "sighup":
            proc.send_signal(signal.SIGHUP)
        else:
            getattr(proc, how)()
        return await proc.wait()

    assert run(loop, main()) == code


def test_wait_is_cancellable(loop):
    async def main():
        proc = await _sleeper(loop)
        waiter = asyncio.ensure_future(proc.wait())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        proc.kill()
        return await proc.wait()

    assert run(loop, main()) == -signal.SIGKILL


def test_signal_after_exit_is_refused(loop):
    async def main():
        proc = await asyncio.create_subprocess_exec(PY, "-c", "pass")
        assert await proc.wait() == 0
        # Reaped and its transport done: the pid may be reused, so no signal.
        with pytest.raises(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        with pytest.raises(ProcessLookupError):
            proc.kill()
        return proc.returncode

    assert run(loop, main()) == 0


# Bad input.


def test_missing_program_is_file_not_found(loop):
    before = _open_pipes()

    async def main():
        with pytest.raises(FileNotFoundError):
            await asyncio.create_subprocess_exec(
                "/nonexistent/program", stdin=PIPE, stdout=PIPE, stderr=PIPE
            )

    run(loop, main())
    assert _open_pipes() <= before  # no pipe left open


@pytest.mark.parametrize(
    "kwargs",
    [
        {"universal_newlines": True},
        {"text": True},
        {"encoding": "utf-8"},
        {"errors": "strict"},
        {"bufsize": 1},
    ],
)
def test_text_mode_and_buffering_are_refused(loop, kwargs):
    async def main():
        with pytest.raises(ValueError):
            await loop.subprocess_exec(asyncio.SubprocessProtocol, PY, "-c", "pass", **kwargs)
        with pytest.raises(ValueError):
            await loop.subprocess_shell(asyncio.SubprocessProtocol, "true", **kwargs)

    run(loop, main())


def test_shell_flags_are_checked(loop):
    async def main():
        with pytest.raises(ValueError):
            await loop.subprocess_exec(asyncio.SubprocessProtocol, "true", shell=True)
        with pytest.raises(ValueError):
            await loop.subprocess_shell(asyncio.SubprocessProtocol, "true", shell=False)
        with pytest.raises(ValueError):
            await loop.subprocess_shell(asyncio.SubprocessProtocol, ["true"])

    run(loop, main())


def test_child_exits_early_while_we_write(loop):
    # The child is gone before it reads anything: the writes fail with a
    # broken pipe (drain) and communicate() shrugs it off, as in asyncio.
    async def main():
        proc = await asyncio.create_subprocess_exec(PY, "-c", "pass", stdin=PIPE)
        assert await proc.wait() == 0
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            for _ in range(100):
                proc.stdin.write(b"x" * 65536)
                await proc.stdin.drain()
        again = await asyncio.create_subprocess_exec(PY, "-c", "pass", stdin=PIPE)
        await again.communicate(b"y" * (1 << 20))
        return again.returncode

    assert run(loop, main()) == 0


def test_child_that_never_reads_stdin(loop):
    # Flow control holds: with a small high mark, drain() blocks once the
    # pipe and the buffer are full, and the buffer stays below the mark plus
    # one write. Killing the child ends it all.
    chunk = 16 * 1024
    high = 64 * 1024

    async def main():
        proc = await asyncio.create_subprocess_exec(
            PY, "-c", "import time; print('ready', flush=True); time.sleep(60)",
            stdin=PIPE, stdout=PIPE,
        )
        assert await proc.stdout.readline() == b"ready\n"
        transport = proc.stdin.transport
        transport.set_write_buffer_limits(high=high)
        written = 0
        blocked = False
        for _ in range(1000):  # at most ~16 MiB: far more than a pipe takes
            proc.stdin.write(b"\0" * chunk)
            written += chunk
            assert transport.get_write_buffer_size() <= high + chunk
            try:
                await asyncio.wait_for(proc.stdin.drain(), 0.05)
            except asyncio.TimeoutError:
                blocked = True
                break
        assert blocked, "drain() never waited: the limits did not hold"
        assert written < 4 << 20
        proc.kill()
        code = await proc.wait()
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            proc.stdin.write(b"late")
            await proc.stdin.drain()
        return code

    assert run(loop, main()) == -signal.SIGKILL


# The protocol API.


class Recorder(asyncio.SubprocessProtocol):
    def __init__(self, loop):
        self.events = []
        self.data = {1: bytearray(), 2: bytearray()}
        self.done = loop.create_future()

    def connection_made(self, transport):
        self.events.append("made")

    def pipe_data_received(self, fd, data):
        self.data[fd] += data

    def pipe_connection_lost(self, fd, exc):
        self.events.append(f"pipe {fd} lost")

    def process_exited(self):
        self.events.append("exited")

    def connection_lost(self, exc):
        self.events.append("lost")
        self.done.set_result(exc)


def test_protocol_callbacks(loop):
    async def main():
        transport, proto = await loop.subprocess_exec(
            lambda: Recorder(loop), PY, "-c",
            "import sys; print('o'); print('e', file=sys.stderr)", stdin=None,
        )
        assert transport.get_pid() > 0
        assert transport.get_pipe_transport(0) is None
        assert transport.get_pipe_transport(1) is not None
        assert transport.get_extra_info("subprocess").pid == transport.get_pid()
        exc = await proto.done
        code = transport.get_returncode()
        transport.close()
        return proto, exc, code

    proto, exc, code = run(loop, main())
    assert exc is None and code == 0
    assert bytes(proto.data[1]) == b"o\n" and bytes(proto.data[2]) == b"e\n"
    assert proto.events[0] == "made" and proto.events[-1] == "lost"
    assert sorted(proto.events[1:-1]) == ["exited", "pipe 1 lost", "pipe 2 lost"]


def test_close_kills_a_running_child(loop):
    async def main():
        transport, proto = await loop.subprocess_exec(
            lambda: Recorder(loop), PY, "-c", "import time; time.sleep(60)"
        )
        transport.close()
        await proto.done
        return transport.get_returncode()

    assert run(loop, main()) == -signal.SIGKILL


# boucle's exit watch.


def test_exit_seen_through_a_pidfd(bloop):
    seen = []
    real = os.pidfd_open

    def spy(pid, *args):
        fd = real(pid, *args)
        seen.append(fd)
        return fd

    async def main():
        os.pidfd_open = spy
        try:
            proc = await asyncio.create_subprocess_exec(PY, "-c", "raise SystemExit(3)")
        finally:
            os.pidfd_open = real
        # No thread waits for it (other tests' threads may still be ending).
        assert f"boucle-waitpid-{proc.pid}" not in [t.name for t in threading.enumerate()]
        return await proc.wait()

    assert run(bloop, main()) == 3
    assert len(seen) == 1
    # Closed once the child was reaped (its number may have been reused).
    try:
        target = os.readlink(f"/proc/self/fd/{seen[0]}")
    except OSError:
        target = None
    assert target != "anon_inode:[pidfd]"


def _no_pidfd(pid, *args):
    raise OSError(38, "Function not implemented")  # ENOSYS: an old kernel


def test_thread_fallback_without_pidfd(bloop, monkeypatch):
    monkeypatch.setattr(os, "pidfd_open", _no_pidfd)

    async def main():
        proc = await asyncio.create_subprocess_exec(
            PY, "-c", "import sys; sys.stdout.write(sys.stdin.read()); raise SystemExit(5)",
            stdin=PIPE, stdout=PIPE,
        )
        out, _ = await proc.communicate(b"no pidfd")
        return out, proc.returncode

    assert run(bloop, main()) == (b"no pidfd", 5)


def test_child_reaped_by_popen_first(bloop):
    # Popen.poll() (3.11's transport.close() and kill() call it) may reap
    # the child before the pidfd is read: its status is used.
    async def main():
        transport, proto = await bloop.subprocess_exec(
            lambda: Recorder(bloop), PY, "-c", "raise SystemExit(4)", stdout=None, stderr=None
        )
        popen = transport.get_extra_info("subprocess")
        # Wait for the exit without reaping (WNOWAIT), then let Popen reap,
        # all before the loop reads the pidfd.
        os.waitid(os.P_PID, popen.pid, os.WEXITED | os.WNOWAIT)
        assert popen.poll() == 4
        await proto.done
        transport.close()
        return transport.get_returncode()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not the "status unknown" warning
        assert run(bloop, main()) == 4


def test_exit_code_of_an_unknown_status():
    class Gone:
        pid = 12345
        returncode = None

    with pytest.warns(RuntimeWarning):
        assert _subprocess._exit_code(Gone(), None) == 255


def test_subprocess_on_a_virtual_clock():
    loop = boucle.new_event_loop(virtual_time=True)
    try:
        async def main():
            proc = await asyncio.create_subprocess_exec(PY, "-c", "print('v')", stdout=PIPE)
            out, _ = await proc.communicate()
            return out, proc.returncode

        assert loop.run_until_complete(main()) == (b"v\n", 0)
    finally:
        loop.close()


@pytest.mark.parametrize("pidfd", [True, False])
def test_a_running_child_holds_a_virtual_clock(monkeypatch, pidfd):
    # The clock waits for the child instead of jumping to the timeout.
    if not pidfd:
        monkeypatch.setattr(os, "pidfd_open", _no_pidfd)
    loop = boucle.new_event_loop(virtual_time=True)
    try:
        async def main():
            proc = await asyncio.create_subprocess_exec(
                PY, "-c", "import time; time.sleep(0.05); raise SystemExit(6)"
            )
            code = await asyncio.wait_for(proc.wait(), 5.0)
            # Once it is reaped, the clock jumps again.
            before = loop.time()
            await asyncio.sleep(3600)
            return code, loop.time() - before

        code, slept = loop.run_until_complete(main())
        assert code == 6
        assert slept == pytest.approx(3600.0)
    finally:
        loop.close()


@pytest.mark.skipif(
    not hasattr(asyncio, "AbstractChildWatcher"), reason="child watchers are gone in 3.14"
)
def test_the_policy_keeps_a_child_watcher_for_code_that_asks():
    policy = boucle.EventLoopPolicy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        default = policy.get_child_watcher()
        assert isinstance(default, asyncio.ThreadedChildWatcher)
        assert policy.get_child_watcher() is default
        with pytest.raises(TypeError):
            policy.set_child_watcher(object())
        mine = asyncio.SafeChildWatcher()
        policy.set_child_watcher(mine)
        assert policy.get_child_watcher() is mine
        policy.set_child_watcher(None)
        assert isinstance(policy.get_child_watcher(), asyncio.ThreadedChildWatcher)


@pytest.mark.skipif(
    not hasattr(asyncio, "AbstractChildWatcher"), reason="child watchers are gone in 3.14"
)
def test_a_subprocess_with_an_old_style_watcher_attached(bloop):
    # CPython's test_read_all_from_pipe_reader attaches a SafeChildWatcher
    # (its SIGCHLD handler on our loop) before starting a child: the child
    # still runs and is reaped by boucle's own watch.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        watcher = asyncio.SafeChildWatcher()
        watcher.attach_loop(bloop)
    try:
        async def main():
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", "print('hi')", stdout=asyncio.subprocess.PIPE
            )
            out, _ = await asyncio.wait_for(proc.communicate(), BOUND)
            return out, proc.returncode

        assert bloop.run_until_complete(main()) == (b"hi\n", 0)
    finally:
        watcher.close()
