"""The seeds' Python examples (examples/seeds/), each run unchanged on
asyncio's loop and on boucle's, both on a virtual clock (see run_seed.py):
the outputs must be the same, timings aside, and match what the seeds say
they print."""

import pathlib
import re
import subprocess
import sys

import pytest

SEEDS = pathlib.Path(__file__).resolve().parent.parent / "examples" / "seeds"
# The aiohttp scraper talks to servers: tests/test_scraper.py runs it.
NETWORK = {"004_scraper_web_aiohttp.py"}
ALL = sorted(p.name for p in SEEDS.glob("0*.py"))
EXAMPLES = [name for name in ALL if name not in NETWORK]


def run(example, loop, *extra):
    proc = subprocess.run(
        [sys.executable, str(SEEDS / "run_seed.py"), "--loop", loop, *extra, str(SEEDS / example)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def without_timings(text):
    return re.sub(r"\d+\.\d+s?", "<t>", text)


def test_every_program_of_the_seeds_is_here():
    assert len(ALL) == 12 and len(EXAMPLES) == 11, ALL


@pytest.mark.parametrize("example", EXAMPLES)
def test_same_output_on_asyncio_and_boucle(example):
    on_asyncio = run(example, "asyncio", "--virtual")
    on_boucle = run(example, "boucle", "--virtual")
    assert on_boucle.strip(), "the example printed nothing"
    assert without_timings(on_boucle) == without_timings(on_asyncio)


def test_outputs_the_seeds_give():
    # 002: "Sortie probable"
    assert run("002_tache1_tache2_gather.py", "boucle", "--virtual").splitlines() == [
        "Tâche 1 commence",
        "Tâche 2 commence",
        "Tâche 2 terminée",
        "Tâche 1 terminée",
    ]
    # 002: the comment beside print(resultats)
    assert run("002_gather_resultats.py", "boucle", "--virtual") == "['Résultat 1', 'Résultat 2']\n"
    # 001: a 1 s sleep measured with perf_counter (virtual clock: exactly)
    assert run("001_perf_counter.py", "boucle", "--virtual") == "Temps total : 1.00s\n"
    out = run("004_tache_abc_gather_et_create_task.py", "boucle", "--virtual")
    assert "Résultats gather: ['Résultat A', 'Résultat B', 'Résultat C']" in out
    assert out.splitlines()[3:6] == ["[A] Fin", "[C] Fin", "[B] Fin"]


def test_seeded_wait_random_repeats():
    a = run("000_wait_random.py", "boucle", "--virtual", "--seed", "5")
    b = run("000_wait_random.py", "boucle", "--virtual", "--seed", "5")
    assert a == b and 0 <= float(a) <= 10
