#!/usr/bin/env bash
# Installs the Debian packages Pregón builds, runs and tests with, and the browser tests' node
# modules (tests/e2e, npm ci). Quiet and idempotent: when everything is there it only asks
# dpkg and looks at one file, which takes well under a second.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)

PKGS=(
    build-essential pkg-config clang-format
    clang libclang-rt-14-dev
    libfcgi-dev libcurl4-openssl-dev libmariadb-dev libjson-c-dev libsodium-dev libcsv-dev
    libmicrohttpd-dev libcrack2-dev cracklib-runtime
    mariadb-server mariadb-client nginx galera-4 rsync
    apache2 libapache2-mod-fcgid patchelf
    libcmocka-dev python3 python3-pymysql curl wrk openssl chromium systemd
)

missing=()
for p in "${PKGS[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
        missing+=("$p")
    fi
done
# node and npm drive Chromium in the browser tests (tests/e2e): Debian's packages, unless they
# are installed already some other way (NodeSource's nodejs carries its own npm).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

# The browser tests' node modules (playwright-core, pinned by the lock file), when missing or
# older than the lock file: npm ci, which installs exactly the locked versions.
e2e_modules() {
    local e2e=$ROOT/tests/e2e mod=$ROOT/tests/e2e/node_modules/playwright-core/package.json
    [ -f "$mod" ] && ! [ "$e2e/package-lock.json" -nt "$mod" ] && return 0
    echo "deps: npm ci --prefix tests/e2e"
    local out
    if ! out=$(npm ci --no-audit --no-fund --prefix "$e2e" 2>&1); then
        echo "$out" >&2
        echo "deps: npm ci failed" >&2
        return 1
    fi
}

if [ ${#missing[@]} -eq 0 ]; then
    e2e_modules
    exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# The distribution's own MariaDB and nginx services are not ours: keep them from starting.
policy_added=
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    policy_added=1
fi
cleanup() { [ -n "$policy_added" ] && $SUDO rm -f /usr/sbin/policy-rc.d; rm -f "$log"; }
trap cleanup EXIT
if ! { $SUDO apt-get update -qq && \
       $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "deps: apt-get failed" >&2
    exit 1
fi
e2e_modules
echo "deps: done"
