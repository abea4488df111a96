#!/usr/bin/env bash
# Install iotops-registry and run its main job: the server on its embedded defaults.
# Any arguments are passed to `iotops serve` (e.g. --port 9443 --data-dir ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/iotops serve "$@"
