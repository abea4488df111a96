#!/bin/sh
# Install the system tools the benchmarks in benchmarks/ need (Debian/Ubuntu).
# Idempotent: does nothing when every package is already installed. Run as root.
set -eu

# apt packages, one per line
APT_PACKAGES="
wrk
"

missing=""
for pkg in $APT_PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "install-bench: already installed:" $APT_PACKAGES
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-bench: missing:$missing; run as root: sudo $0" >&2
    exit 1
fi

echo "install-bench: installing:$missing"
apt-get update
# shellcheck disable=SC2086  # word splitting of the package list is intended
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
