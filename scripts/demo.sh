#!/usr/bin/env bash
# Sets up .venv and runs the main job on the built-in date corpus:
#  1. `keras-seq demo`: train an attentional seq2seq, print translations and
#     the exact match on 1,000 held-out dates, save an attention heatmap and
#     the trained Translator (outputs/demo/translator.keras);
#  2. `keras-seq translate --model`: translate with that saved Translator;
#  3. `keras-seq pipeline run`: the TFX pipeline (ExampleGen .. Pusher),
#     training the same recipe and pushing a Translator SavedModel;
#  4. `keras-seq translate --model-dir`: the pushed SavedModel, through the
#     loader TF Serving uses: a few dates, then exact match and BLEU on the
#     1,000 held-out dates the pipeline never saw.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
KERAS_SEQ=.venv/bin/keras-seq
"$KERAS_SEQ" demo --output-dir outputs/demo
"$KERAS_SEQ" translate --model outputs/demo/translator.keras \
    "25 November 2026" "Nov 25, 26" "wednesday, november 25th 2026" \
    "25/11/2026"
"$KERAS_SEQ" pipeline run --dataset dates --output-dir outputs/pipeline
"$KERAS_SEQ" translate --model-dir outputs/pipeline/serving/translator \
    "25 November 2026" "Nov 25, 26" "wednesday, november 25th 2026" \
    "25/11/2026" ""
"$KERAS_SEQ" translate --model-dir outputs/pipeline/serving/translator \
    --evaluate outputs/pipeline/data/test/data.csv
