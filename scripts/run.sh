#!/usr/bin/env bash
# Install iotops-registry and run its main job: the server on its embedded defaults.
# Any arguments are passed to `iotops serve` (e.g. --port 9443 --data-dir ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
# `--dev` runs the CNCF Distribution registry: install Debian's docker-registry for it.
APT=""
for arg in "$@"; do
    if [ "$arg" = "--dev" ]; then APT="docker-registry"; fi
done
APT_PACKAGES="$APT" scripts/install.sh
exec .venv/bin/iotops serve "$@"
