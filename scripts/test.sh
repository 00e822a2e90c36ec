#!/usr/bin/env bash
# Every test of the project, on a fresh machine: installs the tools the tests
# need (nginx, wrk, h2load, curl: scripts/install-test-tools.sh), then runs the
# Rust workspace's tests, then the Python package's (crates/boucle-py) pytest
# suites on each CPython found (python3, which must be 3.11 or newer, and
# pyenv's 3.12 and 3.13 when present), each in its own venv (.venv-test-3.X,
# git-ignored) with maturin, pytest and aiohttp from PyPI and the package installed by
# `pip install ./crates/boucle-py`. This is the README's test command;
# .ci/run calls it.
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

# The interpreters to test boucle-py on: python3, then pyenv's 3.12 and 3.13.
pythons=()
if ! command -v python3 >/dev/null; then
    echo "boucle-py needs CPython >= 3.11 as python3; none found" >&2
    exit 1
fi
pythons+=("$(command -v python3)")
for minor in 12 13; do
    found=""
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3."$minor".*/bin/python3; do
        [ -x "$candidate" ] && found="$candidate"
    done
    if [ -n "$found" ]; then
        pythons+=("$found")
    else
        echo "== boucle-py: no CPython 3.$minor found (pyenv), not tested on it"
    fi
done

for python in "${pythons[@]}"; do
    version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "boucle-py needs CPython >= 3.11; $python is $version" >&2
        exit 1
    fi
    venv=".venv-test-$version"
    echo "== boucle-py on CPython $version ($venv)"
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    # aiohttp: tests/test_scraper.py (the seeds' scraper; wheels for 3.11-3.13).
    "$venv/bin/python" -m pip install --disable-pip-version-check -q "maturin>=1.9.4,<2" pytest "aiohttp>=3.9,<4"
    # The package as users install it (maturin builds the extension in release).
    PATH="$PWD/$venv/bin:$PATH" "$venv/bin/python" -m pip install --disable-pip-version-check -q \
        --no-build-isolation --force-reinstall --no-deps ./crates/boucle-py
    (cd crates/boucle-py && PYTHONDONTWRITEBYTECODE=1 \
        "../../$venv/bin/python" -m pytest -q -p no:cacheprovider tests)
done
