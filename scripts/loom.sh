#!/usr/bin/env bash
# Loom models of the cross-thread wake path (waker counts, remote queue).
# They compile boucle with `--cfg loom` into their own target directory.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/loom" RUSTFLAGS="--cfg loom" \
    cargo test -p boucle --release --lib -- loom_tests
