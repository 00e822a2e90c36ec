"""The scheduling methods take their arguments as asyncio's do
(``call_soon(callback, *args, context=None)``, ``call_later(delay, callback,
...)``, ``call_at(when, callback, ...)``): boucle parses them by hand
(src/fastcall.rs), so every form a caller may use is checked here against
asyncio's own loop, errors included."""

import asyncio
import contextvars
import inspect

import pytest

import boucle

VAR = contextvars.ContextVar("VAR", default="unset")


def run_soon(loop):
    loop.run_until_complete(asyncio.sleep(0.001))


def test_callback_and_delay_may_be_given_by_keyword(loop):
    seen = []
    loop.call_soon(callback=lambda: seen.append("soon"))
    loop.call_later(delay=0, callback=lambda: seen.append("later"))
    loop.call_at(when=loop.time(), callback=lambda: seen.append("at"))
    loop.call_soon_threadsafe(callback=lambda: seen.append("threadsafe"))
    run_soon(loop)
    assert sorted(seen) == ["at", "later", "soon", "threadsafe"]


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda loop: loop.call_soon(), ["missing", "callback"]),
        (lambda loop: loop.call_soon_threadsafe(), ["missing", "callback"]),
        (lambda loop: loop.call_later(1), ["missing", "callback"]),
        (lambda loop: loop.call_later(), ["missing", "delay", "callback"]),
        (lambda loop: loop.call_at(), ["missing", "when", "callback"]),
        (lambda loop: loop.call_soon(print, colour=1), ["unexpected keyword", "colour"]),
        (lambda loop: loop.call_later(0, print, delay=1), ["multiple values", "delay"]),
        (lambda loop: loop.call_soon(print, callback=print), ["multiple values", "callback"]),
    ],
)
def test_bad_arguments_are_type_errors_as_asyncio_s(loop, call, words):
    with pytest.raises(TypeError) as caught:
        call(loop)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize("bad", [None, "1", object()])
def test_a_delay_that_is_not_a_number_is_a_type_error(loop, bad):
    with pytest.raises(TypeError):
        loop.call_later(bad, print)


def test_a_time_that_is_none_is_a_type_error(loop):
    with pytest.raises(TypeError):
        loop.call_at(None, print)


@pytest.mark.parametrize("bad", ["1", object()])
def test_a_time_that_is_not_a_number_is_a_type_error_at_once(bloop, bad):
    # (asyncio's own loop takes it, and fails later, comparing timers.)
    with pytest.raises(TypeError):
        bloop.call_at(bad, print)


def test_context_may_be_none_or_named_by_a_string_built_at_run_time(loop):
    seen = []
    ctx = contextvars.copy_context()
    ctx.run(VAR.set, "in ctx")
    name = "".join(["con", "text"])  # equal to "context", not the same object
    loop.call_soon(lambda: seen.append(VAR.get()), **{name: ctx})
    loop.call_later(0, lambda: seen.append(VAR.get()), **{name: ctx})
    loop.call_soon(lambda: seen.append(VAR.get()), context=None)
    run_soon(loop)
    assert seen == ["in ctx", "unset", "in ctx"] or seen == ["in ctx", "in ctx", "unset"]
    assert seen.count("in ctx") == 2


def test_many_arguments_are_passed_in_order(loop):
    seen = []
    loop.call_soon(lambda *a: seen.append(a), *range(10))
    loop.call_later(0, lambda *a: seen.append(a), *range(5), context=None)
    run_soon(loop)
    assert seen == [tuple(range(10)), tuple(range(5))]


def test_the_methods_show_asyncio_s_signatures():
    for name, params in [
        ("call_soon", ["callback", "args", "context"]),
        ("call_soon_threadsafe", ["callback", "args", "context"]),
        ("call_later", ["delay", "callback", "args", "context"]),
        ("call_at", ["when", "callback", "args", "context"]),
    ]:
        method = getattr(boucle.Loop, name)
        assert list(inspect.signature(method).parameters)[1:] == params
        assert method.__doc__ and method.__name__ == name


def test_they_apply_only_to_a_boucle_loop(bloop):
    with pytest.raises(TypeError):
        boucle.Loop.call_soon(asyncio.SelectorEventLoop(), print)
    assert bloop.call_soon(print) is not None


async def answer(value=42):
    return value


def test_create_task_takes_asyncio_s_arguments(loop):
    var = contextvars.ContextVar("var", default="unset")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "in ctx")

    async def read():
        return var.get()

    by_keyword = loop.create_task(coro=answer(1))
    named = loop.create_task(answer(2), name="two")
    in_ctx = loop.create_task(read(), context=ctx)
    name_and_ctx = loop.create_task(read(), name="both", context=ctx)
    loop.run_until_complete(asyncio.gather(by_keyword, named, in_ctx, name_and_ctx))
    assert type(by_keyword) is asyncio.Task
    assert [t.result() for t in (by_keyword, named, in_ctx, name_and_ctx)] == [
        1, 2, "in ctx", "in ctx"
    ]
    assert named.get_name() == "two" and name_and_ctx.get_name() == "both"
    assert by_keyword.get_loop() is loop


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda loop, c: loop.create_task(), ["missing", "coro"]),
        (lambda loop, c: loop.create_task(c, c), ["positional"]),
        (lambda loop, c: loop.create_task(c, coro=c), ["multiple values", "coro"]),
    ],
)
def test_create_task_s_bad_arguments_are_type_errors(loop, call, words):
    coro = answer()
    with pytest.raises(TypeError) as caught:
        call(loop, coro)
    coro.close()
    for word in words:
        assert word in str(caught.value)


def test_create_task_passes_other_keywords_on_to_the_task(loop):
    # Python 3.11-3.13's Task takes none: asyncio's error, from the Task.
    coro = answer()
    with pytest.raises(TypeError):
        loop.create_task(coro, colour="blue")
    coro.close()


def test_create_task_on_a_closed_loop_is_an_error(loop):
    loop.close()
    coro = answer()
    with pytest.raises(RuntimeError, match="closed"):
        loop.create_task(coro)
    coro.close()


def test_create_task_uses_the_factory_only_while_one_is_set(loop):
    made = []

    def factory(lp, coro, **kwargs):
        made.append(coro)
        return asyncio.Task(coro, loop=lp, **kwargs)

    loop.set_task_factory(factory)
    first = loop.create_task(answer(1), name="first")
    loop.set_task_factory(None)
    second = loop.create_task(answer(2))
    loop.run_until_complete(asyncio.gather(first, second))
    assert len(made) == 1 and first.get_name() == "first"
    assert loop.get_task_factory() is None


def test_create_task_in_debug_mode_records_where_the_task_was_made(loop):
    loop.set_debug(True)
    task = loop.create_task(answer())
    here = inspect.currentframe().f_code.co_name
    # The traceback ends at this line, not inside the loop's create_task.
    assert task._source_traceback[-1].name == here
    loop.run_until_complete(task)
