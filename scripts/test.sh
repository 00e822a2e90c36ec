#!/usr/bin/env bash
# Every test of the project, on a fresh machine: installs the tools the tests
# need (nginx, wrk, h2load, curl: scripts/install-test-tools.sh), then runs the
# Rust workspace's tests. This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-tools.sh
echo "== cargo test --workspace"
cargo test --workspace
