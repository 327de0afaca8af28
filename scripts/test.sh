#!/usr/bin/env bash
# Sets up .venv and runs every test: unit, slow (training) and e2e (pipeline).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export TF_CPP_MIN_LOG_LEVEL=2
.venv/bin/python -m pytest -m "slow or e2e or not (slow or e2e)" -ra "$@"
