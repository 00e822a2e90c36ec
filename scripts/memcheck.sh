#!/usr/bin/env bash
# valgrind memcheck on the test binaries that exercise task memory
# (lifecycle, cross-thread wakers, traces, timers), then on the pytest
# suites that drive the Python extension's `unsafe` (crates/boucle-py:
# src/fastcall.rs, src/capi.rs). Fails on any memory error and, for the
# Rust tests, on any definite leak. Installs valgrind if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null 2>&1; then
    echo "== installing valgrind"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq valgrind >/dev/null
fi
tests=(task_lifecycle task_registry task_waker task_waker_coalesce rt_trace rt_handle time_timers)
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
bins=$(cargo test -p boucle "${args[@]}" --no-run --message-format=json 2>/dev/null \
    | grep -o '"executable":"[^"]*"' | cut -d'"' -f4)
status=0
log=$(mktemp)
# Twice: with the task slab off (every task is its own allocation, so
# valgrind sees each one) and on (the default path users run).
for slab in 0 1; do
    for bin in $bins; do
        echo "== valgrind $(basename "$bin") (BOUCLE_TASK_SLAB=$slab)"
        # The 100,000-task test is covered natively; under valgrind it is slow.
        if BOUCLE_TASK_SLAB=$slab valgrind -q --error-exitcode=99 --leak-check=full \
            --show-leak-kinds=definite --errors-for-leak-kinds=definite \
            "$bin" --test-threads=1 --skip wait_n_100_000 >"$log" 2>&1; then
            grep "test result" "$log"
        else
            cat "$log"
            echo "memcheck FAILED for $bin (BOUCLE_TASK_SLAB=$slab)"
            status=1
        fi
    done
done

# The extension, in a venv of its own (python3), the package installed as
# users install it. CPython allocates through malloc here (PYTHONMALLOC),
# so valgrind sees each object. Uninitialised-value checks are off: the
# interpreter, not built for valgrind, reports them in its own code (small
# ints, frames) on every run; what a mistake in the extension's raw argument
# handling would do, reads, writes or frees of memory it does not own, is
# still reported. No leak check: an interpreter keeps objects to its end.
venv=.venv-memcheck
echo "== valgrind python -m pytest (boucle-py, $venv)"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check -q "maturin>=1.9.4,<2" pytest
PATH="$PWD/$venv/bin:$PATH" "$venv/bin/python" -m pip install --disable-pip-version-check -q \
    --no-build-isolation --force-reinstall --no-deps ./crates/boucle-py
if (cd crates/boucle-py && PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1 valgrind -q \
    --error-exitcode=99 --undef-value-errors=no --leak-check=no \
    "../../$venv/bin/python" -m pytest -q -p no:cacheprovider \
    tests/test_call_arguments.py tests/test_handles.py tests/test_loop.py tests/test_threads.py) \
    >"$log" 2>&1; then
    grep -E "passed|failed" "$log"
else
    cat "$log"
    echo "memcheck FAILED for boucle-py's pytest suites"
    status=1
fi
rm -f "$log"
exit $status
