"""The loop core: scheduling order, handles, timers, time, threads, close."""

import asyncio
import contextvars
import sys
import threading
import time

import pytest

import boucle


@pytest.fixture
def loop():
    loop = boucle.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def vloop():
    loop = boucle.new_event_loop(virtual_time=True)
    yield loop
    loop.close()


def test_is_an_asyncio_event_loop(loop):
    assert isinstance(loop, asyncio.AbstractEventLoop)
    assert isinstance(loop, boucle.Loop)
    assert not loop.is_running() and not loop.is_closed()


def test_asyncio_run_and_runner_take_it_as_loop_factory():
    async def main():
        return type(asyncio.get_running_loop())

    if sys.version_info >= (3, 12):  # asyncio.run's loop_factory is new in 3.12
        assert asyncio.run(main(), loop_factory=boucle.new_event_loop) is boucle.Loop
    with asyncio.Runner(loop_factory=boucle.new_event_loop) as runner:
        assert runner.run(main()) is boucle.Loop


def test_asyncio_c_task_and_future_run_on_it(loop):
    from _asyncio import Future as CFuture
    from _asyncio import Task as CTask

    async def child():
        return 1

    async def main():
        task = asyncio.create_task(child())
        assert type(task) is CTask
        assert type(loop.create_future()) is CFuture
        return await task

    assert loop.run_until_complete(main()) == 1


def test_call_soon_runs_in_fifo_order_with_args(loop):
    seen = []
    for i in range(5):
        loop.call_soon(seen.append, i)
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen == [0, 1, 2, 3, 4]


def test_callbacks_scheduled_during_an_iteration_run_in_the_next(loop):
    seen = []

    def first():
        seen.append("first")
        loop.call_soon(seen.append, "scheduled by first")

    loop.call_soon(first)
    loop.call_soon(seen.append, "second")
    loop._run_once()
    assert seen == ["first", "second"]
    loop._run_once()
    assert seen == ["first", "second", "scheduled by first"]


def test_contexts_are_honoured(loop):
    var = contextvars.ContextVar("var", default="unset")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "in ctx")
    seen = []
    loop.call_soon(lambda: seen.append(var.get()), context=ctx)
    var.set("at schedule time")
    loop.call_soon(lambda: seen.append(var.get()))  # a copy of the current context
    var.set("later")
    loop.call_later(0, lambda: seen.append(var.get()), context=ctx)
    loop.call_soon(loop.stop)
    loop.run_forever()
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen == ["in ctx", "at schedule time", "in ctx"]
    assert loop.call_soon(print).get_context() is not ctx


def test_timers_fire_in_deadline_order_ties_in_creation_order(vloop):
    seen = []
    for name, delay in [("c", 3), ("a1", 1), ("b", 2), ("a2", 1), ("a3", 1), ("z", 0)]:
        vloop.call_later(delay, seen.append, name)
    vloop.call_later(4, vloop.stop)
    vloop.run_forever()
    assert seen == ["z", "a1", "a2", "a3", "b", "c"]
    assert vloop.time() == 4.0


def test_call_at_and_when(vloop):
    h = vloop.call_at(vloop.time() + 2.5, lambda: None)
    assert isinstance(h, boucle.TimerHandle)
    assert h.when() == 2.5
    assert not h.cancelled()
    assert vloop._stats() == (0, 1)
    h.cancel()
    assert h.cancelled()
    assert vloop._stats() == (0, 0), "a cancelled timer leaves the wheel at once"


def test_cancelled_handles_do_not_run(vloop):
    seen = []
    h1 = vloop.call_soon(seen.append, "soon")
    h2 = vloop.call_later(1, seen.append, "later")
    h1.cancel()
    h2.cancel()
    vloop.call_later(2, vloop.stop)
    vloop.run_forever()
    assert seen == []
    assert h1.cancelled() and h2.cancelled()


def test_virtual_time_jumps_to_the_next_timer(vloop):
    async def main():
        t0 = vloop.time()
        await asyncio.sleep(3600)
        return vloop.time() - t0

    started = time.perf_counter()
    assert vloop.run_until_complete(main()) == 3600.0
    assert time.perf_counter() - started < 1.0


def test_virtual_advance_by_hand(vloop):
    vloop.advance(10)
    assert vloop.time() == 10.0
    with pytest.raises(RuntimeError, match="virtual"):
        boucle.new_event_loop().advance(1)


def test_loop_time_is_cached_per_iteration(loop):
    seen = []

    def cb():
        a = loop.time()
        time.sleep(0.002)
        seen.append(loop.time() - a)
        seen.append(loop.call_later(1, print).when() - a)

    loop.call_soon(cb)
    loop._run_once()
    assert seen == [0.0, 1.0]


def test_time_base_call_reads_the_clock_at_every_call():
    loop = boucle.new_event_loop(time_base="call")
    seen = []

    def cb():
        a = loop.time()
        time.sleep(0.002)
        seen.append(loop.time() - a)

    loop.call_soon(cb)
    loop._run_once()
    loop.close()
    assert seen[0] >= 0.002
    with pytest.raises(ValueError, match="time_base"):
        boucle.new_event_loop(time_base="sometimes")


def test_real_timers_are_never_early(loop):
    async def main():
        lates = []
        for delay in (0.001, 0.0035, 0.01):
            start = time.monotonic()
            await asyncio.sleep(delay)
            lates.append(time.monotonic() - start - delay)
        return lates

    lates = loop.run_until_complete(main())
    # Measured from the call (the iteration's base is at or before it).
    assert all(late >= -1e-4 for late in lates), lates


def test_timers_are_never_early_from_the_call_even_late_in_an_iteration(loop):
    fired = []

    def record(name, called, delay):
        fired.append((name, time.monotonic() - called - delay))

    def busy_iteration():
        loop.call_later(0.02, record, "A", time.monotonic(), 0.02)
        time.sleep(0.03)  # the iteration's time base is now 30 ms old
        loop.call_later(0.01, record, "B", time.monotonic(), 0.01)
        loop.call_later(0.1, loop.stop)

    loop.call_soon(busy_iteration)
    loop.run_forever()
    # Order from the iteration's base (B's base + 10 ms < A's base + 20 ms),
    # and neither fires before its delay has passed since its call.
    assert [name for name, _ in fired] == ["B", "A"]
    assert all(late >= 0 for _, late in fired), fired


def test_the_gil_is_released_while_parked(loop):
    count = 0
    stop = threading.Event()

    def spin():
        nonlocal count
        while not stop.is_set():
            count += 1

    t = threading.Thread(target=spin)
    t.start()
    count_before = count
    loop.call_later(0.1, loop.stop)
    loop.run_forever()
    during = count - count_before
    stop.set()
    t.join()
    assert during > 10_000, during


def test_to_thread_and_run_in_executor(loop):
    async def main():
        a = await asyncio.to_thread(lambda: threading.current_thread().name)
        b = await loop.run_in_executor(None, sum, [1, 2, 3])
        return a, b

    name, total = loop.run_until_complete(main())
    assert name.startswith("asyncio") and total == 6
    loop.run_until_complete(loop.shutdown_default_executor())
    with pytest.raises(RuntimeError, match="shutdown"):
        loop.run_in_executor(None, print)


def test_virtual_time_waits_for_threads_instead_of_jumping(vloop):
    async def main():
        order = []

        async def sleeper():
            await asyncio.sleep(10)
            order.append(("sleep", vloop.time()))

        async def worker():
            await asyncio.to_thread(time.sleep, 0.05)
            order.append(("thread", vloop.time()))

        await asyncio.gather(sleeper(), worker())
        return order

    assert vloop.run_until_complete(main()) == [("thread", 0.0), ("sleep", 10.0)]


def test_exception_in_callback_goes_to_the_handler(loop):
    seen = []
    loop.set_exception_handler(lambda lp, ctx: seen.append((lp, ctx)))

    def boom():
        raise ValueError("boom")

    handle = loop.call_soon(boom)
    loop.call_soon(loop.stop)
    loop.run_forever()
    [(lp, ctx)] = seen
    assert lp is loop
    assert isinstance(ctx["exception"], ValueError)
    assert ctx["message"].startswith("Exception in callback")
    assert ctx["handle"] is handle


def test_default_exception_handler_logs(loop, caplog):
    loop.call_soon(lambda: 1 / 0)
    loop.call_soon(loop.stop)
    with caplog.at_level("ERROR", logger="asyncio"):
        loop.run_forever()
    assert "Exception in callback" in caplog.text
    assert "ZeroDivisionError" in caplog.text


def test_a_failing_exception_handler_is_reported(loop, caplog):
    def bad_handler(lp, ctx):
        raise RuntimeError("handler broke")

    loop.set_exception_handler(bad_handler)
    loop.call_exception_handler({"message": "original"})
    assert "Unhandled error in exception handler" in caplog.text
    with pytest.raises(TypeError):
        loop.set_exception_handler(42)


def test_keyboard_interrupt_leaves_the_loop_and_keeps_the_rest(loop):
    seen = []

    def interrupt():
        raise KeyboardInterrupt

    loop.call_soon(interrupt)
    loop.call_soon(seen.append, "after")
    with pytest.raises(KeyboardInterrupt):
        loop.run_forever()
    assert seen == []
    assert not loop.is_running()
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen == ["after"]


def test_debug_mode_warns_about_slow_callbacks(loop, caplog):
    loop.set_debug(True)
    assert loop.get_debug()
    loop.slow_callback_duration = 0.01
    loop.call_soon(time.sleep, 0.02)
    loop.call_soon(loop.stop)
    with caplog.at_level("WARNING", logger="asyncio"):
        loop.run_forever()
    assert "Executing <Handle" in caplog.text and "took" in caplog.text


def test_debug_mode_rejects_coroutines_as_callbacks(loop):
    async def coro():
        pass

    loop.set_debug(True)
    with pytest.raises(TypeError, match="coroutines cannot be used with call_soon"):
        loop.call_soon(coro)


def test_closed_loop(loop):
    loop.close()
    loop.close()  # idempotent
    assert loop.is_closed()
    with pytest.raises(RuntimeError, match="closed"):
        loop.call_soon(print)
    with pytest.raises(RuntimeError, match="closed"):
        loop.call_later(1, print)
    with pytest.raises(RuntimeError, match="closed"):
        loop.run_forever()


def test_close_while_running_and_nested_runs(loop):
    async def main():
        with pytest.raises(RuntimeError, match="running"):
            loop.close()
        coro = asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="already running"):
            loop.run_until_complete(coro)
        coro.close()

    loop.run_until_complete(main())


def test_stop_before_run_forever_runs_one_iteration(loop):
    seen = []
    loop.call_soon(seen.append, 1)
    loop.stop()
    loop.run_forever()
    assert seen == [1]


def test_run_until_complete_stopped_early(loop):
    fut = loop.create_future()
    loop.call_soon(loop.stop)
    with pytest.raises(RuntimeError, match="stopped before Future completed"):
        loop.run_until_complete(fut)


def test_bad_arguments(loop):
    with pytest.raises(TypeError):
        loop.call_later(None, print)
    with pytest.raises(ValueError):
        loop.call_later(float("nan"), print)
    with pytest.raises(TypeError):
        loop.call_soon()


def test_negative_and_infinite_delays(vloop):
    seen = []
    vloop.call_later(-5, seen.append, "now")
    h = vloop.call_later(float("inf"), seen.append, "never")
    vloop.call_later(1, vloop.stop)
    vloop.run_forever()
    assert seen == ["now"]
    assert h.when() > 1e9


def test_task_factory_name_and_context(loop):
    made = []

    def factory(lp, coro, **kwargs):
        task = asyncio.Task(coro, loop=lp, **kwargs)
        made.append(task)
        return task

    var = contextvars.ContextVar("v", default=0)
    ctx = contextvars.copy_context()
    ctx.run(var.set, 7)

    async def read():
        return var.get()

    loop.set_task_factory(factory)
    assert loop.get_task_factory() is factory
    task = loop.create_task(read(), name="reader", context=ctx)
    assert task.get_name() == "reader"
    assert loop.run_until_complete(task) == 7
    assert made == [task]
    with pytest.raises(TypeError):
        loop.set_task_factory(1)


def test_shutdown_asyncgens(loop):
    closed = []

    async def agen():
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    async def main():
        g = agen()
        assert await g.__anext__() == 1
        return g

    g = loop.run_until_complete(main())
    loop.run_until_complete(loop.shutdown_asyncgens())
    assert closed == [True]
    del g


def test_gather_wait_for_timeout_taskgroup(vloop):
    async def main():
        assert await asyncio.gather(asyncio.sleep(2, "b"), asyncio.sleep(1, "a")) == ["b", "a"]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(10), 1)
        async with asyncio.timeout(5):
            await asyncio.sleep(4)
        async with asyncio.TaskGroup() as tg:
            t = tg.create_task(asyncio.sleep(3, "tg"))
        q = asyncio.Queue()
        asyncio.get_running_loop().call_later(1, q.put_nowait, "item")
        assert await q.get() == "item"
        return t.result(), vloop.time()

    assert vloop.run_until_complete(main()) == ("tg", 11.0)


def test_policy_and_install():
    old = asyncio.get_event_loop_policy()
    try:
        boucle.install(virtual_time=True)
        loop = asyncio.new_event_loop()
        assert isinstance(loop, boucle.Loop) and loop.virtual_time
        loop.close()

        async def main():
            await asyncio.sleep(100)
            return asyncio.get_running_loop().time()

        assert asyncio.run(main()) == 100.0
    finally:
        asyncio.set_event_loop_policy(old)


def test_cycles_through_handles_are_collected(loop):
    import gc
    import weakref

    class Owner:
        def cb(self):
            pass

    owner = Owner()
    owner.handle = loop.call_soon(owner.cb)  # owner -> handle -> owner.cb -> owner
    owner.timer = loop.call_later(10, owner.cb)
    loop.call_soon(loop.stop)
    loop.run_forever()
    owner.timer.cancel()
    alive = weakref.ref(owner)
    del owner
    gc.collect()
    assert alive() is None


def test_repr(loop):
    assert "running=False" in repr(loop)
    h = loop.call_later(1, print)
    assert repr(h).startswith("<TimerHandle when=")
    h.cancel()
    assert "cancelled" in repr(h)


def test_ctrl_c_in_boucle_run_behaves_as_in_asyncio_run():
    import signal
    import subprocess

    program = (
        "import asyncio, boucle\n"
        "async def main():\n"
        "    print('ready', flush=True)\n"
        "    try:\n"
        "        await asyncio.sleep(30)\n"
        "    except asyncio.CancelledError:\n"
        "        print('main cancelled', flush=True)\n"
        "        raise\n"
        "RUN(main())\n"
    )
    results = {}
    for name, run in [("asyncio", "asyncio.run"), ("boucle", "boucle.run")]:
        proc = subprocess.Popen(
            [sys.executable, "-c", program.replace("RUN", run)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline() == "ready\n"
        time.sleep(0.1)  # parked in the 30 s sleep
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        results[name] = (proc.returncode, out, err.strip().splitlines()[-1])
    assert results["boucle"] == results["asyncio"]
    assert results["boucle"][1] == "main cancelled\n"
    assert results["boucle"][2] == "KeyboardInterrupt"


def test_many_threads_sending_callbacks_lose_none(loop):
    threads, each = 4, 5000
    count = 0

    def bump():
        nonlocal count
        count += 1
        if count == threads * each:
            loop.stop()

    def sender():
        for _ in range(each):
            loop.call_soon_threadsafe(bump)

    workers = [threading.Thread(target=sender) for _ in range(threads)]
    for w in workers:
        w.start()
    loop.run_forever()
    for w in workers:
        w.join()
    assert count == threads * each


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.eager_task_factory is new in 3.12")
def test_eager_task_factory(vloop):
    async def child():
        return 5

    async def main():
        vloop.set_task_factory(asyncio.eager_task_factory)
        task = asyncio.create_task(child())
        assert task.done(), "an eager task that never waits is done at creation"
        async with asyncio.TaskGroup() as tg:
            later = tg.create_task(asyncio.sleep(1, "x"))
        return await task, later.result(), vloop.time()

    assert vloop.run_until_complete(main()) == (5, "x", 1.0)
