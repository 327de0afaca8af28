#!/usr/bin/env bash
# Runs the backend-independent tests (tests/backend_independent.txt) on JAX
# and on torch, each in its own environment without TensorFlow, created by
# scripts/backend_env.sh. Called by scripts/test.sh; alone:
#
#   bash scripts/test_backends.sh            # jax, then torch
#   bash scripts/test_backends.sh torch      # one backend
#
# Prints the tests counted per backend at the end; exits non-zero if any
# run failed.
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS=("$@")
if [ ${#BACKENDS[@]} -eq 0 ]; then
    BACKENDS=(jax torch)
fi
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
# The paths listed there ("-" lines name tests the marker leaves out).
mapfile -t PATHS < <(sed 's/#.*//; /^[[:space:]]*$/d; /^-/d' \
    tests/backend_independent.txt)
# pytest processes: KERAS_SEQ_TEST_WORKERS as in scripts/test.sh (default
# one per CPU core, at most 4; "0" for one process).
CORES=$(nproc 2>/dev/null || echo 1)
WORKERS=${KERAS_SEQ_TEST_WORKERS-$((CORES < 4 ? CORES : 4))}
status=0
for backend in "${BACKENDS[@]}"; do
    start=$(date +%s)
    bash scripts/backend_env.sh "$backend"
    echo "== KERAS_BACKEND=$backend: the backend-independent tests"
    # torch: one intra-op thread (its OpenMP threads otherwise wait on each
    # other at every small operation, benchmarks/RESULTS.md), and no
    # torch.compile: `jit_compile=True` would have inductor compile C++ for
    # every graph, minutes per layer on 2 cores, so the compiled-vs-eager
    # checks are the TensorFlow (XLA) and JAX runs'.
    # JAX: eager ops and small programs are compiled one by one; without
    # LLVM's expensive passes the JAX run takes ~40% less time (measured:
    # 183 s -> 110 s for the RNN encoder and Transformer decoder tests).
    XLA_FLAGS="--xla_backend_optimization_level=0 \
--xla_llvm_disable_expensive_passes=true" \
        KERAS_BACKEND=$backend OMP_NUM_THREADS=1 TORCH_COMPILE_DISABLE=1 \
        ".venv-$backend/bin/python" -m pytest -m backend_independent -ra \
        -n "$WORKERS" --dist loadfile \
        "${PATHS[@]}" | tee "$LOGS/$backend.log" || status=1
    echo "$(($(date +%s) - start))" >"$LOGS/$backend.seconds"
done
echo "== Backend-independent tests per backend"
for backend in "${BACKENDS[@]}"; do
    summary=$(grep -E '(passed|failed|error)' "$LOGS/$backend.log" \
        | tail -n 1 | tr -d '=' | sed 's/^ *//')
    echo "KERAS_BACKEND=$backend: $summary" \
        "($(cat "$LOGS/$backend.seconds") s with the environment)"
done
exit $status
