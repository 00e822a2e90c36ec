"""Fixtures the test files share: ``loop`` runs a test on boucle and on
asyncio's own selector loop (so that it checks boucle does what asyncio
does), ``bloop`` on boucle only, ``pair`` is a non-blocking socketpair. A
file that needs more of its loop (an exception handler that records, say)
defines its own ``loop``."""

import asyncio
import socket

import pytest

import boucle


@pytest.fixture(params=["boucle", "asyncio"])
def loop(request):
    loop = boucle.new_event_loop() if request.param == "boucle" else asyncio.SelectorEventLoop()
    yield loop
    loop.close()


@pytest.fixture
def bloop():
    loop = boucle.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()
