"""pytest plugin: async tests on a boucle loop, on a virtual clock by default.

Installed with the package (entry point ``pytest11``), it acts only on the
tests you mark, so it sits beside pytest-asyncio or anyio::

    import asyncio, pytest

    @pytest.mark.boucle
    async def test_an_hour_takes_no_time():
        await asyncio.sleep(3600)
        assert asyncio.get_running_loop().time() == 3600.0

``@pytest.mark.boucle(virtual_time=False, seed=7, debug=True)`` changes the
loop's options (defaults: ``virtual_time=True``, ``seed=0``, ``debug=False``).
With ``boucle_auto = true`` in the ini file, every ``async def`` test that
no other plugin claims runs this way. The ``boucle_loop`` fixture gives a
fresh (virtual-time) loop to synchronous tests. Fixtures are synchronous:
async fixtures are not supported.
"""

import inspect

import pytest

import boucle

_DEFAULTS = {"virtual_time": True, "seed": 0, "debug": False}


def pytest_addoption(parser):
    parser.addini(
        "boucle_auto",
        "run every unmarked `async def` test on a virtual-time boucle loop",
        type="bool",
        default=False,
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "boucle(virtual_time=True, seed=0, debug=False): run this async test "
        "on a boucle event loop",
    )


def _options(item):
    marker = item.get_closest_marker("boucle")
    if marker is None:
        if not item.config.getini("boucle_auto"):
            return None
        if any(m.name in ("asyncio", "anyio", "trio") for m in item.iter_markers()):
            return None
        return dict(_DEFAULTS)
    if marker.args:
        raise pytest.UsageError("@pytest.mark.boucle takes keyword arguments only")
    unknown = set(marker.kwargs) - set(_DEFAULTS)
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.boucle: unknown option(s) {sorted(unknown)}; "
            f"known: {sorted(_DEFAULTS)}"
        )
    return {**_DEFAULTS, **marker.kwargs}


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    options = _options(pyfuncitem)
    if options is None:
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    boucle.run(pyfuncitem.obj(**kwargs), **options)
    return True


@pytest.fixture
def boucle_loop():
    """A new virtual-time boucle loop, closed after the test."""
    loop = boucle.new_event_loop(virtual_time=True, seed=0)
    yield loop
    loop.close()
