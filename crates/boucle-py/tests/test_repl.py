"""python -m boucle: the seeds' asyncio REPL on a boucle loop."""

import os
import select
import signal
import subprocess
import sys
import time


def start(*args):
    return subprocess.Popen(
        [sys.executable, "-u", "-m", "boucle", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


def read_until(proc, marker, limit=10.0):
    seen = ""
    deadline = time.monotonic() + limit
    while marker not in seen:
        assert time.monotonic() < deadline, f"no {marker!r} in {seen!r}"
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            assert chunk, f"the REPL exited early: {seen!r} {proc.stderr.read()}"
            seen += chunk.decode()
    return seen


def test_top_level_await_and_background_tasks_on_a_virtual_clock():
    proc = start("--virtual")
    out, err = proc.communicate(
        "loop = asyncio.get_running_loop()\n"
        "print(type(loop).__module__, loop.virtual_time)\n"
        "t = asyncio.create_task(asyncio.sleep(5, result='bg'))\n"
        "await asyncio.sleep(3600)\n"
        "print('after', t.done(), t.result(), loop.time() >= 3600)\n"
        "1/0\n",
        timeout=30,
    )
    assert proc.returncode == 0, err
    assert "boucle._loop True" in out
    assert "after True bg True" in out
    assert "virtual clock" in err
    assert "ZeroDivisionError: division by zero" in err
    assert "concurrent/futures" not in err, "the traceback shows the input's frames only"


def test_ctrl_c_cancels_the_running_input_not_the_loop():
    proc = start()
    try:
        proc.stdin.write("bg = asyncio.create_task(asyncio.sleep(0.3, result='bg done'))\n")
        proc.stdin.write("print('go', flush=True); await asyncio.sleep(30)\n")
        proc.stdin.flush()
        read_until(proc, "go")
        time.sleep(0.1)  # the input is now parked in its sleep
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate("print('alive', await bg)\n", timeout=20)
    finally:
        proc.kill()
    assert time.monotonic() - started < 10, "the 30 s sleep was cancelled"
    assert "KeyboardInterrupt" in err
    assert "alive bg done" in out, (out, err)
    assert err.count("KeyboardInterrupt") == 1
    assert proc.returncode == 0
