#!/usr/bin/env bash
# Install everything the tests need and run the whole suite: lint, types, then the tests on
# SQLite and again on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
# docker-registry and skopeo: the development registry of `iotops serve --dev` and its tests.
# chromium: the portal's browser tests drive Debian's Chromium (never a downloaded browser).
# umoci: unpacks images pushed with `iotops connector push --from-dir` in the publishing tests.
# libnss3-tools: certutil, for the README's steps that make Chromium trust the local CA.
APT_PACKAGES="docker-registry skopeo chromium umoci libnss3-tools" EXTRAS=test scripts/install.sh
scripts/ensure-postgres.sh

export PYTHONDONTWRITEBYTECODE=1
echo "== ruff"
.venv/bin/ruff check src tests benchmarks
echo "== mypy"
.venv/bin/mypy
WORKERS="${PYTEST_WORKERS:-2}"
echo "== pytest (SQLite)"
IOTOPS_TEST_DATABASE=sqlite .venv/bin/pytest -n "$WORKERS" -q "$@"
echo "== pytest (PostgreSQL)"
IOTOPS_TEST_DATABASE=postgresql .venv/bin/pytest -n "$WORKERS" -q "$@"
