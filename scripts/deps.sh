#!/usr/bin/env bash
# Installs the Debian packages Pregón builds, runs and tests with. Quiet and idempotent: when
# everything is there it only asks dpkg, which takes well under a second.
set -euo pipefail

PKGS=(
    build-essential pkg-config clang-format
    clang libclang-rt-14-dev
    libfcgi-dev libcurl4-openssl-dev libmariadb-dev libjson-c-dev libsodium-dev libcsv-dev
    libmicrohttpd-dev
    mariadb-server mariadb-client nginx
    apache2 libapache2-mod-fcgid patchelf
    libcmocka-dev python3 python3-pymysql curl wrk openssl chromium systemd
)

missing=()
for p in "${PKGS[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

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
echo "deps: done"
