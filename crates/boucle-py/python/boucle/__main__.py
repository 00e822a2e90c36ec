"""``python -m boucle``: the asyncio REPL of the seeds, on a boucle loop.

Top-level ``await`` works; tasks started at the prompt keep running on the
loop between inputs; Ctrl-C cancels the input that is running, not the loop
(or the tasks in the background). The loop runs in the main thread, so
signals reach it; the console reads input in a second thread and hands each
input to the loop with ``call_soon_threadsafe``.

``--virtual`` puts the loop on a virtual clock: ``await asyncio.sleep(60)``
returns at once with ``loop.time()`` 60 s later, and while the console waits
for input the clock runs ahead to the timers of the tasks in the background.
"""

import argparse
import ast
import asyncio
import builtins
import code
import concurrent.futures
import inspect
import sys
import threading
import traceback
import types
import warnings

import boucle


class Console(code.InteractiveConsole):
    """An interactive console whose inputs run on ``loop``."""

    def __init__(self, namespace, loop):
        super().__init__(namespace)
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self.loop = loop
        self.running = None  # the task of the input being awaited
        self.interrupted = False

    def runcode(self, codeobj):
        outcome = concurrent.futures.Future()

        def start():
            self.running = None
            self.interrupted = False
            try:
                value = types.FunctionType(codeobj, self.locals)()
            except KeyboardInterrupt as exc:
                self.interrupted = True
                outcome.set_exception(exc)
                return
            except BaseException as exc:  # SystemExit too: the console ends
                outcome.set_exception(exc)
                return
            if not inspect.iscoroutine(value):
                outcome.set_result(value)
                return
            task = self.loop.create_task(value)
            self.running = task

            def finished(t):
                if t.cancelled():
                    outcome.set_exception(KeyboardInterrupt())
                elif t.exception() is not None:
                    outcome.set_exception(t.exception())
                else:
                    outcome.set_result(t.result())

            task.add_done_callback(finished)

        self.loop.call_soon_threadsafe(start)
        try:
            return outcome.result()
        except SystemExit:
            raise
        except BaseException:
            exc = outcome.exception()
            if self.interrupted or isinstance(exc, KeyboardInterrupt):
                self.write("\nKeyboardInterrupt\n")
            else:
                self.show(exc)
        finally:
            self.running = None

    def show(self, exc):
        """Prints a traceback of the input's frames only."""
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != "<console>":
            tb = tb.tb_next
        if tb is None:  # no frame of the input: show them all
            tb = exc.__traceback__
        sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, tb
        self.write("".join(traceback.format_exception(type(exc), exc, tb)))

    def interrupt(self):
        """Ctrl-C in the loop thread: cancel the running input, if any."""
        task = self.running
        if task is not None and not task.done():
            self.interrupted = True
            task.cancel()
            return True
        return False


def banner(loop):
    clock = "virtual" if loop.virtual_time else "real"
    return (
        f"boucle REPL: asyncio on boucle ({clock} clock), "
        f"Python {sys.version.split()[0]} on {sys.platform}\n"
        'Use "await" directly instead of "asyncio.run()".\n'
        'Type "help", "copyright", "credits" or "license" for more information.\n'
        f'{getattr(sys, "ps1", ">>> ")}import asyncio'
    )


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boucle", description=__doc__.split("\n\n")[0])
    ap.add_argument("--virtual", action="store_true", help="run the loop on a virtual clock")
    ap.add_argument("--seed", type=int, help="seed random and boucle.random")
    ap.add_argument("--debug", action="store_true", help="asyncio debug mode")
    args = ap.parse_args(argv)

    loop = boucle.new_event_loop(virtual_time=args.virtual, seed=args.seed, debug=args.debug)
    asyncio.set_event_loop(loop)
    namespace = {
        "__name__": "__main__",
        "__builtins__": builtins,
        "asyncio": asyncio,
        "boucle": boucle,
    }
    console = Console(namespace, loop)
    try:
        import readline  # noqa: F401  (line editing, when available)
    except ImportError:
        pass

    def interact():
        try:
            console.interact(banner=banner(loop), exitmsg="exiting boucle REPL...")
        except SystemExit:
            pass
        finally:
            warnings.filterwarnings(
                "ignore", message=r"^coroutine .* was never awaited$", category=RuntimeWarning
            )
            loop.call_soon_threadsafe(loop.stop)

    thread = threading.Thread(target=interact, name="boucle-repl", daemon=True)
    thread.start()
    while True:
        try:
            loop.run_forever()
        except KeyboardInterrupt:
            if not console.interrupt():
                sys.stderr.write("\nKeyboardInterrupt\n")
            continue
        break
    loop.close()


if __name__ == "__main__":
    main()
