#!/usr/bin/env bash
# Sets up .venv, lints, and runs every test: unit, slow (training) and e2e
# (pipeline).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export TF_CPP_MIN_LOG_LEVEL=2
# Lint and format (ruff.toml), then every test.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -m "slow or e2e or not (slow or e2e)" -ra "$@"
