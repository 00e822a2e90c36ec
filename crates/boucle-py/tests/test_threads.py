"""The loop and other threads: call_soon_threadsafe wakes a parked loop and
keeps the order asyncio's single ready queue gives, run_coroutine_threadsafe
from another thread."""

import asyncio
import threading
import time

import pytest

import boucle


@pytest.fixture
def loop():
    loop = boucle.new_event_loop()
    yield loop
    loop.close()


def test_call_soon_threadsafe_wakes_a_parked_loop(loop):
    def other_thread():
        time.sleep(0.05)
        loop.call_soon_threadsafe(loop.stop)

    t = threading.Thread(target=other_thread)
    started = time.monotonic()
    t.start()
    loop.run_forever()  # no timer, nothing ready: parks until the wake
    t.join()
    assert 0.04 < time.monotonic() - started < 2.0


def test_a_callback_sent_from_a_thread_first_runs_first(loop):
    # asyncio has one ready queue: a call_soon_threadsafe that happened
    # before a call_soon (here through a lock, or on the same thread) runs
    # before it. boucle's threadsafe calls go through their own queue, which
    # call_soon empties into the ready queue first.
    order = []
    sent = threading.Event()
    t = threading.Thread(target=lambda: (loop.call_soon_threadsafe(order.append, "thread"), sent.set()))
    t.start()
    assert sent.wait(10)
    loop.call_soon(order.append, "loop")
    loop.call_soon_threadsafe(order.append, "same thread, threadsafe")
    loop.call_soon(order.append, "same thread, after")
    loop.call_soon(loop.stop)
    loop.run_forever()
    t.join()
    assert order == ["thread", "loop", "same thread, threadsafe", "same thread, after"]


def test_run_coroutine_threadsafe_from_another_thread(loop):
    async def add(a, b):
        await asyncio.sleep(0.01)
        return a + b

    results = []

    def client():
        results.append(asyncio.run_coroutine_threadsafe(add(2, 3), loop).result(timeout=10))
        loop.call_soon_threadsafe(loop.stop)

    t = threading.Thread(target=client)
    t.start()
    loop.run_forever()
    t.join()
    assert results == [5]
