#!/usr/bin/env bash
# Sets up .venv, lints, and runs every test: unit, slow (training) and e2e
# (pipeline). Then runs the backend-independent tests
# (tests/backend_independent.txt) on JAX and on torch, each in its own
# environment without TensorFlow (scripts/backend_env.sh); set
# KERAS_SEQ_BACKENDS (default "jax torch") to choose, or to "" to skip.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export TF_CPP_MIN_LOG_LEVEL=2
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
# Lint and format (ruff.toml), then every test.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -m "slow or e2e or not (slow or e2e)" -ra "$@" \
    | tee "$LOGS/tensorflow.log"

BACKENDS=${KERAS_SEQ_BACKENDS-jax torch}
# The paths listed there ("-" lines name tests the marker leaves out).
mapfile -t PATHS < <(sed 's/#.*//; /^[[:space:]]*$/d; /^-/d' \
    tests/backend_independent.txt)
for backend in $BACKENDS; do
    start=$(date +%s)
    bash scripts/backend_env.sh "$backend"
    echo "== KERAS_BACKEND=$backend: the backend-independent tests"
    # torch: one intra-op thread (its OpenMP threads otherwise wait on each
    # other at every small operation, benchmarks/RESULTS.md), and no
    # torch.compile: `jit_compile=True` would have inductor compile C++ for
    # every graph, minutes per layer on 2 cores, so the compiled-vs-eager
    # checks are the TensorFlow (XLA) and JAX runs'.
    KERAS_BACKEND=$backend OMP_NUM_THREADS=1 TORCH_COMPILE_DISABLE=1 \
        ".venv-$backend/bin/python" -m pytest -m backend_independent -ra \
        "${PATHS[@]}" | tee "$LOGS/$backend.log"
    echo "($backend: $(($(date +%s) - start)) s with its environment)" \
        >>"$LOGS/$backend.log"
done
echo "== Tests per backend"
for backend in tensorflow $BACKENDS; do
    echo "KERAS_BACKEND=$backend: $(grep -E '(passed|failed)' \
        "$LOGS/$backend.log" | tail -n 1 | tr -d '=')"
    tail -n 1 "$LOGS/$backend.log" | grep -E '^\(' || true
done
