"""add_signal_handler / remove_signal_handler. Signals are sent to this
process with os.kill (at once, or from a thread while the loop is parked);
every wait is bounded. Most tests run on boucle and on asyncio's own loop."""

import asyncio
import contextvars
import os
import signal
import threading

import pytest

import boucle

BOUND = 10.0
SIGNALS = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT, signal.SIGHUP)


@pytest.fixture(autouse=True)
def restore_signals():
    saved = {sig: signal.getsignal(sig) for sig in SIGNALS}
    wakeup = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup)
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    signal.set_wakeup_fd(wakeup)


def run(loop, coro):
    return loop.run_until_complete(asyncio.wait_for(coro, BOUND))


def test_handler_runs_as_a_loop_callback_with_its_args(loop):
    calls = []

    async def main():
        done = loop.create_future()

        def handler(*args):
            calls.append((args, threading.get_ident()))
            if len(calls) == 3:
                done.set_result(None)

        loop.add_signal_handler(signal.SIGUSR1, handler, "a", 1)
        for _ in range(3):
            os.kill(os.getpid(), signal.SIGUSR1)
            await asyncio.sleep(0.001)  # one delivery per kill
        await done

    run(loop, main())
    assert [c[0] for c in calls] == [("a", 1)] * 3
    assert {c[1] for c in calls} == {threading.get_ident()}


def test_signal_wakes_a_parked_loop(loop):
    # The loop is blocked in its poller (no timer due for 10 s) when the
    # signal arrives from another thread.
    async def main():
        got = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR2, got.set_result, "woke")
        timer = threading.Timer(0.01, os.kill, (os.getpid(), signal.SIGUSR2))
        timer.start()
        try:
            return await got
        finally:
            timer.join()

    assert run(loop, main()) == "woke"


def test_sigint_handling_replaced_and_restored(loop):
    async def main():
        got = loop.create_future()
        loop.add_signal_handler(signal.SIGINT, got.set_result, "no KeyboardInterrupt")
        os.kill(os.getpid(), signal.SIGINT)
        return await got

    assert run(loop, main()) == "no KeyboardInterrupt"
    assert loop.remove_signal_handler(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not loop.remove_signal_handler(signal.SIGINT)


def test_remove_restores_the_default_action(loop):
    loop.add_signal_handler(signal.SIGUSR1, lambda: None)
    assert signal.getsignal(signal.SIGUSR1) not in (signal.SIG_DFL, signal.SIG_IGN)
    assert loop.remove_signal_handler(signal.SIGUSR1)
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
    assert not loop.remove_signal_handler(signal.SIGUSR1)
    assert not loop.remove_signal_handler(signal.SIGKILL)  # never added


def test_adding_again_replaces(loop):
    calls = []

    async def main():
        done = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, calls.append, "first")
        loop.add_signal_handler(signal.SIGUSR1, done.set_result, "second")
        os.kill(os.getpid(), signal.SIGUSR1)
        return await done

    assert run(loop, main()) == "second"
    assert calls == []


def test_handler_keeps_the_context_it_was_added_in(loop):
    var = contextvars.ContextVar("var", default="unset")

    async def main():
        got = loop.create_future()
        var.set("at add time")
        loop.add_signal_handler(signal.SIGUSR1, lambda: got.set_result(var.get()))
        var.set("later")
        os.kill(os.getpid(), signal.SIGUSR1)
        return await got

    assert run(loop, main()) == "at add time"


def test_handler_error_goes_to_the_exception_handler(loop):
    async def main():
        seen = loop.create_future()
        loop.set_exception_handler(lambda lp, ctx: seen.set_result(ctx["exception"]))

        def boom():
            raise ZeroDivisionError("in the handler")

        loop.add_signal_handler(signal.SIGUSR1, boom)
        os.kill(os.getpid(), signal.SIGUSR1)
        return await seen

    assert isinstance(run(loop, main()), ZeroDivisionError)


def test_bad_signal_numbers(loop):
    with pytest.raises(TypeError):
        loop.add_signal_handler("boom", lambda: None)
    with pytest.raises(TypeError):
        loop.remove_signal_handler("boom")
    for bad in (0, -1, signal.NSIG + 1):
        with pytest.raises(ValueError):
            loop.add_signal_handler(bad, lambda: None)
        with pytest.raises(ValueError):
            loop.remove_signal_handler(bad)
    for uncatchable in (signal.SIGKILL, signal.SIGSTOP):
        with pytest.raises(RuntimeError):
            loop.add_signal_handler(uncatchable, lambda: None)
    # A refused signal leaves no wakeup fd behind.
    assert signal.set_wakeup_fd(-1) == -1


def test_coroutines_are_refused(loop):
    async def coro_function():
        pass

    with pytest.raises(TypeError):
        loop.add_signal_handler(signal.SIGUSR1, coro_function)
    coro = coro_function()
    try:
        with pytest.raises(TypeError):
            loop.add_signal_handler(signal.SIGUSR1, coro)
    finally:
        coro.close()


def test_main_thread_only(loop):
    errors = []

    def other_thread():
        try:
            loop.add_signal_handler(signal.SIGUSR1, lambda: None)
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=other_thread)
    t.start()
    t.join(BOUND)
    assert len(errors) == 1
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL


def test_closed_loop_refuses():
    loop = boucle.new_event_loop()
    loop.close()
    with pytest.raises(RuntimeError):
        loop.add_signal_handler(signal.SIGUSR1, lambda: None)


def test_close_restores_defaults_and_the_wakeup_fd():
    loop = boucle.new_event_loop()
    loop.add_signal_handler(signal.SIGUSR1, lambda: None)
    loop.add_signal_handler(signal.SIGINT, lambda: None)
    fd = signal.set_wakeup_fd(-1)
    assert fd == loop._signal_socks[1].fileno()
    signal.set_wakeup_fd(fd)
    loop.close()
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.set_wakeup_fd(-1) == -1
    assert loop._signal_socks is None


def test_cancelled_handle_removes_the_handler(bloop):
    # As asyncio: a handler whose Handle was cancelled is removed when its
    # signal next arrives.
    async def main():
        bloop.add_signal_handler(signal.SIGUSR1, lambda: None)
        bloop._signal_handlers[signal.SIGUSR1].cancel()
        os.kill(os.getpid(), signal.SIGUSR1)
        for _ in range(100):
            if signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL:
                return True
            await asyncio.sleep(0.001)
        return False

    assert run(bloop, main())


def test_signals_on_a_virtual_clock():
    loop = boucle.new_event_loop(virtual_time=True)
    try:
        async def main():
            got = loop.create_future()
            loop.add_signal_handler(signal.SIGUSR1, got.set_result, loop.time())
            os.kill(os.getpid(), signal.SIGUSR1)
            return await asyncio.wait_for(got, 1.0)

        assert loop.run_until_complete(main()) == 0.0
    finally:
        loop.close()
