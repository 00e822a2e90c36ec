#!/usr/bin/env bash
# The long probes of the hardening issue (crates/boucle/tests/soak.rs), kept
# out of `cargo test`: 4 x 10^7 foreign wakes, 10^6 cancelled timers, 1,000
# slow connections for 10 s. Each runs in its own process (release build)
# and asserts its peak-RSS ceiling. About a minute in all.
set -euo pipefail
cd "$(dirname "$0")/.."
# 1,000 connections are 2,000 descriptors in one process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo test -p boucle --release --test soak --no-run
status=0
for t in soak_foreign_wakes soak_cancelled_timers soak_slow_connections; do
    echo "== $t"
    if ! cargo test -q -p boucle --release --test soak -- --ignored --exact "$t" --nocapture; then
        echo "soak FAILED: $t"
        status=1
    fi
done
exit $status
