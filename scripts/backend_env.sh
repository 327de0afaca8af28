#!/usr/bin/env bash
# Creates .venv-jax or .venv-torch: Keras 3 on one backend, with NO
# TensorFlow, to run the backend-independent tests (`pytest -m
# backend_independent`) and benchmarks/backend_date_demo.py there.
#
#   bash scripts/backend_env.sh jax      # .venv-jax: jax[cpu] 0.4.34
#   bash scripts/backend_env.sh torch    # .venv-torch: torch 2.13.0 CPU
#
# keras-seq itself is installed editable with --no-deps (its declared
# dependencies include TensorFlow, which these environments must not have).
# Idempotent: a second run only checks that everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

BACKEND=${1:-}
case "$BACKEND" in
    jax) ;;
    torch) ;;
    *)
        echo "usage: bash scripts/backend_env.sh jax|torch" \
            "(received: '${BACKEND}')" >&2
        exit 2
        ;;
esac
VENV=".venv-$BACKEND"
PYTHON=${PYTHON:-python3}
if ! command -v uv >/dev/null 2>&1; then
    "$PYTHON" -m pip install --quiet uv
fi
UV="$(command -v uv || echo "$PYTHON -m uv")"
if [ ! -x "$VENV/bin/python" ]; then
    # --seed: torch is installed with this venv's own pip (see below).
    $UV venv --quiet --seed --python "$PYTHON" "$VENV"
fi
export VIRTUAL_ENV="$PWD/$VENV"
# The shared pins (keras 3.15.1, numpy 1.26.4, ml-dtypes 0.3.2, pytest...)
# come from the same constraints file as the TensorFlow environment.
COMMON=(keras numpy ml-dtypes pytest pytest-timeout pytest-xdist sacrebleu
    matplotlib tqdm)
if [ "$BACKEND" = jax ]; then
    $UV pip install --python "$VENV/bin/python" --quiet \
        -c requirements/constraints.txt "jax[cpu]==0.4.34" "${COMMON[@]}"
else
    # The CPU build of torch 2.13.0 is a local file that pip finds and uv
    # does not (../shared/ENVIRONMENT.md).
    if ! "$VENV/bin/python" -c 'import torch' >/dev/null 2>&1; then
        # -qq: pip warns about each empty local index directory it skips.
        "$VENV/bin/python" -m pip install -qq "torch==2.13.0"
    fi
    $UV pip install --python "$VENV/bin/python" --quiet \
        -c requirements/constraints.txt "${COMMON[@]}"
fi
$UV pip install --python "$VENV/bin/python" --quiet --no-deps -e .
if "$VENV/bin/python" -c 'import tensorflow' >/dev/null 2>&1; then
    echo "$VENV must not contain TensorFlow." >&2
    exit 1
fi
echo "keras-seq $BACKEND environment ready in $VENV"
