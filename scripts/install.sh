#!/usr/bin/env bash
# Install everything iotops-registry needs on a fresh Debian machine, into ./.venv.
#   EXTRAS=test scripts/install.sh   also installs the test dependencies
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

apt_install() {
    # Install the Debian packages that are missing; skip apt entirely when none are.
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing Debian packages: ${missing[*]}"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    apt_install python3 python3-venv python3-pip
fi
if ! "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "iotops-registry needs Python 3.11 or newer ($PYTHON is older)" >&2
    exit 1
fi
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
fi

# Extra Debian packages a caller asks for (the test script adds its own).
if [ -n "${APT_PACKAGES:-}" ]; then
    # shellcheck disable=SC2086
    apt_install $APT_PACKAGES
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
SPEC="."
if [ -n "${EXTRAS:-}" ]; then SPEC=".[${EXTRAS}]"; fi
.venv/bin/python -m pip install -q -c constraints.txt -e "$SPEC" 2>&1 | grep -v -e "^WARNING: Location" || true
.venv/bin/python -c 'import iotops_registry' # fail loudly if the install did not work
