"""The course project (examples/course/course.py) on boucle and asyncio."""

import asyncio
import pathlib
import sys

import pytest

import boucle

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "examples" / "course"))
import course  # noqa: E402


def out_of_order(delays):
    return sum(1 for a, b in zip(delays, delays[1:]) if b < a)


def test_wait_random_sleeps_the_delay_it_returns():
    async def main():
        loop = asyncio.get_running_loop()
        start = loop.time()
        delay = await course.wait_random(10)
        return delay, loop.time() - start

    delay, took = boucle.run(main(), virtual_time=True, seed=3)
    assert 0 <= delay <= 10
    assert took == pytest.approx(delay, abs=1e-9)


def test_wait_n_10000_comes_out_sorted_on_boucle_real_clock():
    # The real clock is the point: one time base per iteration.
    delays = boucle.run(course.wait_n(10000, 1))
    assert len(delays) == 10000
    assert out_of_order(delays) == 0


def test_wait_n_10000_on_plain_asyncio_is_out_of_order_here():
    # Observed on this project's machine (about 5,000 adjacent inversions):
    # asyncio reads the clock at each call_later.
    delays = asyncio.run(course.wait_n(10000, 1))
    assert len(delays) == 10000
    assert out_of_order(delays) > 0


def test_task_wait_n_sorted_and_concurrent_on_virtual_time():
    async def main():
        loop = asyncio.get_running_loop()
        delays = await course.task_wait_n(10000, 5)
        return delays, loop.time()

    delays, end = boucle.run(main(), virtual_time=True, seed=1)
    assert len(delays) == 10000 and out_of_order(delays) == 0
    assert end == pytest.approx(max(delays), abs=1e-6), "concurrent: the longest delay, not the sum"


def test_task_wait_random_is_a_task():
    async def main():
        task = course.task_wait_random(1)
        assert isinstance(task, asyncio.Task)
        return await task

    assert 0 <= boucle.run(main(), virtual_time=True) <= 1


def test_measure_time_through_the_installed_policy():
    old = asyncio.get_event_loop_policy()
    try:
        boucle.install()
        per_task = course.measure_time(5, 0.05)
    finally:
        asyncio.set_event_loop_policy(old)
    # total <= 0.05 s plus overhead, over 5 tasks
    assert 0 < per_task < 0.05
