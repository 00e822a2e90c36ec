#!/usr/bin/env bash
# Installs the Debian tools the HTTP tests and benchmarks use: nginx (a real
# server for boucle-http and `boucle fetch`), wrk and h2load (load generators,
# package nghttp2-client), curl (a peer in http::fetch). Idempotent: a tool
# already on PATH is skipped, and nothing runs apt when all are there.
# nginx is only installed, never started or enabled: the tests start their own
# on a free loopback port with a config in a temp dir.
set -euo pipefail

declare -A package=(
    [nginx]=nginx
    [wrk]=wrk
    [h2load]=nghttp2-client
    [curl]=curl
)

missing=()
for tool in nginx wrk h2load curl; do
    # nginx lives in /usr/sbin, which may not be on a user's PATH.
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        missing+=("${package[$tool]}")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-test-tools: nginx, wrk, h2load and curl are present"
    exit 0
fi

echo "install-test-tools: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d 101: do not start the nginx service the package would start.
policy=/usr/sbin/policy-rc.d
created_policy=
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    created_policy=1
fi
status=0
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" || status=$?
if [ -n "$created_policy" ]; then
    $SUDO rm -f "$policy"
fi
exit "$status"
