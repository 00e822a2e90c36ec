#!/usr/bin/env bash
# Every test of the project, on a fresh machine: installs the tools the tests
# need (nginx, wrk, h2load, curl: scripts/install-test-tools.sh), then runs the
# Rust workspace's tests. This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-tools.sh
echo "== cargo test --workspace"
cargo test --workspace
echo "== cargo test -p boucle --features console --test console"
# console-subscriber starts only when built with this cfg (its switch for
# runtimes other than tokio); its own target dir keeps the flag from
# rebuilding the workspace's.
RUSTFLAGS="--cfg console_without_tokio_unstable" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/console" \
    cargo test -p boucle --features console --test console
