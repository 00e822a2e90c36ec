"""The seeds' course project (seed 000, tasks 0-4), in Python.

Run on whatever loop asyncio is given: ``boucle.install()`` first, or
``asyncio.run`` as is. ``wait_n`` returns the delays in completion order,
with no sort: on boucle (one time base per iteration, exact timer order) that
order is ascending at any ``n``; on asyncio, which reads the clock at every
``call_later``, large ``n`` come back partly out of order.
"""

import asyncio
import random
import time
from typing import List


async def wait_random(max_delay: int = 10) -> float:
    """Task 0: sleep a uniform random delay in [0, max_delay], return it."""
    delay = random.uniform(0, max_delay)
    await asyncio.sleep(delay)
    return delay


async def wait_n(n: int, max_delay: int) -> List[float]:
    """Task 1: n concurrent wait_random; delays in completion order."""
    delays = []
    for finished in asyncio.as_completed([wait_random(max_delay) for _ in range(n)]):
        delays.append(await finished)
    return delays


def measure_time(n: int, max_delay: int) -> float:
    """Task 2: the run time of wait_n(n, max_delay) divided by n."""
    start = time.perf_counter()
    asyncio.run(wait_n(n, max_delay))
    return (time.perf_counter() - start) / n


def task_wait_random(max_delay: int) -> asyncio.Task:
    """Task 3: wait_random wrapped in a task (needs a running loop)."""
    return asyncio.create_task(wait_random(max_delay))


async def task_wait_n(n: int, max_delay: int) -> List[float]:
    """Task 4: wait_n built on task_wait_random."""
    delays = []
    for finished in asyncio.as_completed([task_wait_random(max_delay) for _ in range(n)]):
        delays.append(await finished)
    return delays
