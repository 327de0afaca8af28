#!/usr/bin/env bash
# Sets up .venv and runs the main job on the built-in date corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export TF_CPP_MIN_LOG_LEVEL=2
.venv/bin/keras-seq demo --output-dir outputs/demo "$@"
