"""The pytest story: async tests on a virtual-time boucle loop."""

import asyncio

import pytest

pytest_plugins = ["pytester"]


@pytest.mark.boucle
async def test_an_hour_takes_no_time():
    loop = asyncio.get_running_loop()
    await asyncio.sleep(3600)
    assert loop.time() == 3600.0
    assert type(loop).__name__ == "Loop"


@pytest.mark.boucle(seed=11)
async def test_fixtures_are_passed(tmp_path):
    await asyncio.sleep(1)
    assert tmp_path.is_dir()


def test_boucle_loop_fixture(boucle_loop):
    assert boucle_loop.run_until_complete(asyncio.sleep(60, "x")) == "x"
    assert boucle_loop.time() == 60.0


def test_plugin_in_a_fresh_session(pytester):
    pytester.makepyfile(
        """
        import asyncio, time, pytest

        @pytest.mark.boucle
        async def test_day():
            start = time.perf_counter()
            await asyncio.sleep(86400)
            assert asyncio.get_running_loop().time() == 86400.0
            assert time.perf_counter() - start < 1

        @pytest.mark.boucle(virtual_time=False)
        async def test_real():
            assert not asyncio.get_running_loop().virtual_time

        @pytest.mark.boucle(bogus=1)
        async def test_bad_option():
            pass

        async def test_unmarked_is_left_alone():
            pass
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 2, result.stdout.str()
    assert "unknown option(s) ['bogus']" in result.stdout.str()


def test_auto_mode(pytester):
    pytester.makeini("[pytest]\nboucle_auto = true\n")
    pytester.makepyfile(
        """
        import asyncio

        async def test_auto():
            await asyncio.sleep(10)
            assert asyncio.get_running_loop().time() == 10.0
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
