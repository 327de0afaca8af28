#!/usr/bin/env bash
# Sets up .venv and runs the main job on the built-in date corpus:
#  1. `keras-seq demo`: train an attentional RNN seq2seq, print translations,
#     the exact match on 1,000 held-out dates and save an attention heatmap;
#  2. `keras-seq pipeline run`: the TFX pipeline (ExampleGen .. Pusher);
#  3. `keras-seq translate`: translate with the pushed SavedModel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export TF_CPP_MIN_LOG_LEVEL=2
KERAS_SEQ=.venv/bin/keras-seq
"$KERAS_SEQ" demo --output-dir outputs/demo
"$KERAS_SEQ" pipeline run --dataset dates --output-dir outputs/pipeline
"$KERAS_SEQ" translate --model-dir outputs/pipeline/serving/translator \
    "25 November 2026" "Nov 25, 26" "wednesday, november 25th 2026" \
    "25/11/2026"
