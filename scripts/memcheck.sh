#!/usr/bin/env bash
# valgrind memcheck on the test binaries that exercise task memory
# (lifecycle, cross-thread wakers, traces, timers). Fails on any memory
# error and on any definite leak. Installs valgrind if it is missing.
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
rm -f "$log"
exit $status
