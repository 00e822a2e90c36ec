"""loop.trace(): one row per asyncio Task; seeded randomness."""

import asyncio
import json
import random

import pytest

import boucle


async def tache(nom, duree):
    await asyncio.sleep(duree)
    return nom


async def course():
    loop = asyncio.get_running_loop()
    a = asyncio.create_task(tache("A", 1), name="A")
    b = asyncio.create_task(tache("B", 2), name="B")
    c = asyncio.create_task(asyncio.sleep(10), name="C")

    async def fails():
        await asyncio.sleep(0.5)
        raise ValueError("x")

    d = asyncio.create_task(fails(), name="D")
    await asyncio.gather(a, b)
    c.cancel()
    with pytest.raises(ValueError):
        await d
    await asyncio.sleep(0)
    return loop.trace()


def test_trace_has_one_row_per_task_with_exact_virtual_times():
    trace = boucle.run(course(), virtual_time=True, trace=True)
    rows = {t["name"]: t for t in trace.tasks()}
    assert rows["A"]["start"] == 0.0 and rows["A"]["end"] == 1.0
    assert rows["A"]["outcome"] == "done"
    assert rows["B"]["end"] == 2.0 and rows["B"]["outcome"] == "done"
    assert rows["C"]["end"] == 2.0 and rows["C"]["outcome"] == "cancelled"
    assert rows["D"]["end"] == 0.5 and rows["D"]["outcome"] == "raised"
    assert rows["A"]["polls"] == 2, "first step, then the wakeup after the sleep"
    main_rows = [t for t in trace.tasks() if t["name"] not in "ABCD"]
    assert len(main_rows) == 1 and main_rows[0]["outcome"] is None, "main is still running"


def test_timeline_and_chrome_json():
    trace = boucle.run(course(), virtual_time=True, trace=True)
    text = trace.timeline(width=21)
    lines = text.splitlines()
    a = next(line for line in lines if line.startswith("A "))
    b = next(line for line in lines if line.startswith("B "))
    c = next(line for line in lines if line.startswith("C "))
    assert a.endswith("| 1.000s") and ">" in a
    assert b.endswith("| 2.000s")
    assert "x" in c, "cancelled"
    assert lines[-1].strip().endswith("2.000s")
    doc = json.loads(trace.to_chrome_json())
    names = {e["args"]["name"] for e in doc["traceEvents"] if e.get("name") == "thread_name"}
    assert {"A", "B", "C", "D"} <= names
    assert str(trace) == trace.timeline()


def test_run_trace_argument_writes_json_or_calls_back(tmp_path):
    path = tmp_path / "t.json"
    boucle.run(tache("A", 1), virtual_time=True, trace=str(path))
    assert json.loads(path.read_text())["traceEvents"]
    got = []
    boucle.run(tache("A", 1), virtual_time=True, trace=got.append)
    assert isinstance(got[0], boucle.Trace)


def test_trace_needs_trace_true():
    loop = boucle.new_event_loop()
    with pytest.raises(RuntimeError, match="trace=True"):
        loop.trace()
    loop.close()


def test_tracing_does_not_change_the_time_base():
    async def main():
        ts = [asyncio.get_running_loop().call_later(1, print).when() for _ in range(100)]
        return len(set(ts))

    assert boucle.run(main(), trace=True) == 1


def test_seed_repeats_python_random_and_boucle_random():
    async def draw():
        await asyncio.sleep(1)
        return random.random(), boucle.random.uniform(0, 10), boucle.random.randint(1, 6)

    a = boucle.run(draw(), virtual_time=True, seed=42)
    b = boucle.run(draw(), virtual_time=True, seed=42)
    c = boucle.run(draw(), virtual_time=True, seed=43)
    assert a == b and a != c
    assert 0 <= a[1] <= 10 and 1 <= a[2] <= 6


def test_boucle_random_functions():
    boucle.random.seed(1)
    xs = list(range(10))
    boucle.random.shuffle(xs)
    assert sorted(xs) == list(range(10))
    assert boucle.random.choice(xs) in xs
    assert 0 <= boucle.random.random() < 1
    with pytest.raises(IndexError):
        boucle.random.choice([])
    with pytest.raises(ValueError):
        boucle.random.randint(5, 1)
    with pytest.raises(ValueError):
        boucle.random.uniform(0, float("inf"))
