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

step() { echo "install: $*"; }

if [ ! -x .venv/bin/python ]; then
    step "creating the virtual environment .venv"
    "$PYTHON" -m venv .venv
    FIRST=1
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
SPEC="."
if [ -n "${EXTRAS:-}" ]; then SPEC=".[${EXTRAS}]"; fi
LOG=.venv/pip-install.log
set +e
if [ -n "${FIRST:-}" ]; then
    # The first run downloads and builds everything (about a minute): show each package.
    step "installing iotops-registry${EXTRAS:+[$EXTRAS]} and its Python packages (pinned by constraints.txt)"
    .venv/bin/python -m pip install --progress-bar off -c constraints.txt -e "$SPEC" 2>&1 \
        | tee "$LOG" | grep --line-buffered -E "^(Collecting|Successfully installed)" \
        | sed -u -e "s/^/  /"
    RC=${PIPESTATUS[0]}
else
    step "updating iotops-registry${EXTRAS:+[$EXTRAS]} in .venv"
    .venv/bin/python -m pip install -q -c constraints.txt -e "$SPEC" >"$LOG" 2>&1
    RC=$?
fi
set -e
if [ "$RC" -ne 0 ]; then
    grep -v -e "^WARNING: Location" "$LOG" >&2 || true
    echo "install: pip failed (exit $RC); the whole log is in $LOG" >&2
    exit 1
fi
# Importing the package proves little: start the real entry point, as a user would, and fail
# loudly if it cannot serve (a missing runtime dependency shows up only here).
step "checking that \`iotops serve\` starts"
.venv/bin/python scripts/check-serve.py .venv/bin
