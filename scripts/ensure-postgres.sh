#!/usr/bin/env bash
# Make sure PostgreSQL answers on 127.0.0.1:5432 for user postgres (trust auth), as the test
# suite's PostgreSQL leg expects. Installs and starts Debian's server when it is missing.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

ready() { pg_isready -q -h 127.0.0.1 -p 5432 -U postgres 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
if ! ready; then
    version="$(ls /etc/postgresql | sort -V | tail -1)"
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    # Local test databases only: trust loopback connections.
    if ! grep -q "^host all all 127.0.0.1/32 trust" "$hba"; then
        $SUDO sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    fi
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 50); do ready && break; sleep 0.2; done
fi
ready || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
