#!/usr/bin/env bash
# Sets up .venv, lints, and runs every test: unit, slow (training) and e2e
# (pipeline). Then runs the backend-independent tests
# (tests/backend_independent.txt) on JAX and on torch, each in its own
# environment without TensorFlow (scripts/test_backends.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export TF_CPP_MIN_LOG_LEVEL=2
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
# Tests run in KERAS_SEQ_TEST_WORKERS processes (pytest-xdist; default one
# per CPU core, at most 4 so the TensorFlow processes fit in memory; "0" for
# a single process), each test file in one process so a file's
# module-scoped fixtures are built once.
CORES=$(nproc 2>/dev/null || echo 1)
export KERAS_SEQ_TEST_WORKERS=${KERAS_SEQ_TEST_WORKERS-$((CORES < 4 ? CORES : 4))}
# Lint and format (ruff.toml), then every test.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -m "slow or e2e or not (slow or e2e)" -ra \
    -n "$KERAS_SEQ_TEST_WORKERS" --dist loadfile "$@" \
    | tee "$LOGS/tensorflow.log"

# The backend-independent tests on JAX and on torch (KERAS_SEQ_BACKENDS,
# default "jax torch"; "" skips them).
read -r -a BACKENDS <<<"${KERAS_SEQ_BACKENDS-jax torch}"
if [ ${#BACKENDS[@]} -gt 0 ]; then
    bash scripts/test_backends.sh "${BACKENDS[@]}"
fi
echo "KERAS_BACKEND=tensorflow: $(tail -n 1 "$LOGS/tensorflow.log" | tr -d '=' \
    | sed 's/^ *//')"
