"""Handles as asyncio's: what they show, what they run, and that a
reference cycle through one is freed (a ``call_soon`` handle is not tracked
by the garbage collector, so it drops its callback once run, cancelled, or
when the loop closes)."""

import asyncio
import contextvars
import gc
import socket
import weakref

import pytest

import boucle

VAR = contextvars.ContextVar("VAR", default="unset")


class Holder:
    """Something a callback holds that holds the callback's handle."""

    handle = None


def cycle_through_a_handle(schedule):
    """A handle whose callback holds (through ``holder``) the handle itself;
    returns a weak reference to ``holder``."""
    holder = Holder()

    def callback():
        holder.handle.cancelled()

    holder.handle = schedule(callback)
    return weakref.ref(holder)


def freed(ref):
    for _ in range(3):
        gc.collect()
    return ref() is None


def test_a_cycle_through_a_handle_that_ran_is_freed(loop):
    ref = cycle_through_a_handle(loop.call_soon)
    loop.run_until_complete(asyncio.sleep(0))
    assert freed(ref)


def test_a_cycle_through_a_cancelled_handle_is_freed(loop):
    ref = cycle_through_a_handle(loop.call_soon)
    ref().handle.cancel()
    loop.run_until_complete(asyncio.sleep(0))
    assert freed(ref)


def test_a_cycle_through_a_handle_the_closed_loop_never_ran_is_freed():
    loop = boucle.new_event_loop()
    ref = cycle_through_a_handle(loop.call_soon)
    loop.close()
    assert freed(ref)


def test_a_cycle_through_a_threadsafe_handle_is_freed(loop):
    ref = cycle_through_a_handle(loop.call_soon_threadsafe)
    loop.run_until_complete(asyncio.sleep(0))
    assert freed(ref)


def test_a_cycle_through_a_timer_handle_is_freed(loop):
    ref = cycle_through_a_handle(lambda cb: loop.call_later(0, cb))
    loop.run_until_complete(asyncio.sleep(0.001))
    assert freed(ref)


def test_a_cycle_through_a_cancelled_timer_handle_is_freed(loop):
    ref = cycle_through_a_handle(lambda cb: loop.call_later(10, cb))
    assert not freed(ref)
    ref().handle.cancel()
    assert freed(ref)


def test_a_cycle_through_a_timer_handle_the_closed_loop_never_fired_is_freed():
    loop = boucle.new_event_loop()
    ref = cycle_through_a_handle(lambda cb: loop.call_later(10, cb))
    loop.close()
    assert freed(ref)


def test_a_cycle_through_a_timer_that_can_never_fire_is_freed(bloop):
    # boucle keeps no such timer (asyncio keeps it in its heap).
    ref = cycle_through_a_handle(lambda cb: bloop.call_later(float("inf"), cb))
    assert freed(ref)


def test_a_timer_handle_shows_its_callback_until_it_fires(bloop):
    h = bloop.call_later(0, print, 1)
    assert h._callback is print and h._args == (1,) and "print" in repr(h)
    bloop.run_until_complete(asyncio.sleep(0.001))
    assert not h.cancelled() and h._callback is None and h.get_context() is None
    assert h.when() > 0


def test_a_cycle_through_a_reader_handle_is_freed_once_removed(bloop):
    a, b = socket.socketpair()
    try:
        ref = cycle_through_a_handle(lambda cb: bloop._add_io(a.fileno(), False, cb, ()))
        assert not freed(ref)
        assert bloop.remove_reader(a.fileno())
        assert freed(ref)
    finally:
        a.close()
        b.close()


def test_a_handle_shows_its_callback_until_it_runs(bloop):
    h = bloop.call_soon(print, 1, 2)
    assert h._callback is print and h._args == (1, 2)
    assert "print" in repr(h)
    bloop.run_until_complete(asyncio.sleep(0))
    assert not h.cancelled()
    assert h._callback is None and h._args is None


def test_a_handle_runs_with_zero_one_two_or_more_args_in_its_context(loop):
    seen = []
    ctx = contextvars.copy_context()
    ctx.run(VAR.set, "in ctx")

    def record(*args):
        seen.append((VAR.get(), args))

    loop.call_soon(record, context=ctx)
    loop.call_soon(record, 1, context=ctx)
    loop.call_soon(record, 1, 2)
    loop.call_soon(record, 1, 2, 3)
    h = loop.call_later(0, record, 4, 5, context=ctx)
    assert h._args == (4, 5)
    loop.run_until_complete(asyncio.sleep(0.001))
    assert seen == [
        ("in ctx", ()),
        ("in ctx", (1,)),
        ("unset", (1, 2)),
        ("unset", (1, 2, 3)),
        ("in ctx", (4, 5)),
    ]
    assert VAR.get() == "unset"


def test_a_context_that_is_not_a_context_has_its_run_called(bloop):
    calls = []

    class Runner:
        def run(self, callback, *args):
            calls.append(args)
            return callback(*args)

    bloop.call_soon(calls.append, "x", context=Runner())
    bloop.run_until_complete(asyncio.sleep(0))
    assert calls == [("x",), "x"]


def test_a_context_entered_already_is_an_error_for_the_handler(bloop):
    # (asyncio 3.13 runs the handler in that context too, which fails.)
    loop = bloop
    errors, ran = [], []
    loop.set_exception_handler(lambda _loop, c: errors.append(c["exception"]))
    ctx = contextvars.copy_context()
    loop.call_soon(ran.append, 1, context=ctx)
    # The loop itself runs inside ctx: the handle cannot enter it again.
    ctx.run(loop.run_until_complete, asyncio.sleep(0))
    assert ran == [] and len(errors) == 1 and isinstance(errors[0], RuntimeError)
    loop.call_soon(ran.append, 2, context=ctx)
    loop.run_until_complete(asyncio.sleep(0))
    assert ran == [2] and len(errors) == 1


def test_the_exception_handler_sees_the_handle_with_its_callback(loop):
    seen = []
    loop.set_exception_handler(lambda _loop, c: seen.append((repr(c["handle"]), c["message"])))

    def boom():
        raise ValueError("boom")

    loop.call_soon(boom)
    loop.run_until_complete(asyncio.sleep(0))
    assert len(seen) == 1
    shown, message = seen[0]
    assert "boom" in shown and "Exception in callback" in message


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_a_base_exception_stops_the_loop_and_frees_the_cycle(exc):
    loop = boucle.new_event_loop()

    def raiser():
        raise exc

    ref = cycle_through_a_handle(lambda cb: loop.call_soon(lambda: (cb(), raiser())))
    with pytest.raises(exc):
        loop.run_forever()
    loop.close()
    assert freed(ref)


def test_a_handle_kept_by_its_caller_is_never_scheduled_again(bloop):
    kept = [bloop.call_soon(len, "kept") for _ in range(20)]
    bloop.run_until_complete(asyncio.sleep(0))
    later = [bloop.call_soon(len, "later") for _ in range(20)]
    assert not {id(h) for h in kept} & {id(h) for h in later}
    assert all(h._callback is None for h in kept)
    assert all(h._callback is len for h in later)
    bloop.run_until_complete(asyncio.sleep(0))


def test_a_dropped_handle_used_again_starts_afresh(bloop):
    # A handle nothing holds once run or skipped is kept for the next
    # call_soon: it must come back uncancelled, with the new callback and
    # context, and run.
    ran = []
    for _ in range(50):
        bloop.call_soon(ran.append, "dropped").cancel()
        bloop.call_soon(ran.append, "run")
    bloop.run_until_complete(asyncio.sleep(0))
    assert ran == ["run"] * 50
    ctx = contextvars.copy_context()
    ctx.run(VAR.set, "again")
    handles = [bloop.call_soon(lambda: ran.append(VAR.get()), context=ctx) for _ in range(50)]
    assert not any(h.cancelled() for h in handles)
    assert all(h.get_context() is ctx for h in handles)
    bloop.run_until_complete(asyncio.sleep(0))
    assert ran[50:] == ["again"] * 50


def test_a_handle_the_exception_handler_keeps_is_not_used_again(bloop):
    kept = []
    bloop.set_exception_handler(lambda _loop, c: kept.append(c["handle"]))

    def boom():
        raise ValueError("boom")

    bloop.call_soon(boom)
    bloop.run_until_complete(asyncio.sleep(0))
    later = [bloop.call_soon(print) for _ in range(10)]
    assert len(kept) == 1 and all(h is not kept[0] for h in later)
    assert kept[0]._callback is None and not kept[0].cancelled()
    for h in later:
        h.cancel()
