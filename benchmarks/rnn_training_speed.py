"""Training step time of the date-demo RNN (LSTM + Luong attention).

The model of `keras-seq demo` (embedding 64, hidden 128, input feeding;
source length 32, target length 12, batch 64) on random token ids: one
warm-up fit of 3 steps, then 20 timed steps, for each attention score.
Used to find and check the fix of a training-speed regression (see
RESULTS.md, "RNN training speed").

    .venv/bin/python benchmarks/rnn_training_speed.py
    .venv/bin/python benchmarks/rnn_training_speed.py --scores general
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_seq.metrics import MaskedSparseCategoricalCrossentropy  # noqa: E402
from keras_seq.models import RNNSeq2Seq  # noqa: E402


def step_time(attention, score, args):
    rng = np.random.default_rng(0)
    n = args.batch_size * args.steps
    x = {
        "source_ids": rng.integers(4, 260, (n, args.source_length)),
        "target_in": rng.integers(4, 136, (n, args.target_length)),
    }
    x = {k: v.astype("int32") for k, v in x.items()}
    y = rng.integers(4, 136, (n, args.target_length)).astype("int32")
    model = RNNSeq2Seq(
        source_vocabulary_size=260,
        target_vocabulary_size=136,
        embedding_dim=64,
        hidden_dim=128,
        cell="lstm",
        attention=attention,
        score=score,
        input_feeding=True,
        max_source_length=args.source_length,
        max_target_length=args.target_length,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=MaskedSparseCategoricalCrossentropy(),
    )
    model.fit(x, y, batch_size=args.batch_size, verbose=0, steps_per_epoch=3)
    start = time.time()
    model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)
    return (time.time() - start) / args.steps * 1000.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scores", default="dot,general,concat,bahdanau")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--source-length", type=int, default=32)
    parser.add_argument("--target-length", type=int, default=12)
    args = parser.parse_args()
    for score in args.scores.split(","):
        attention = "bahdanau" if score == "bahdanau" else "luong"
        ms = step_time(
            attention, "general" if score == "bahdanau" else score, args
        )
        print(f"{score:>9}: {ms:7.0f} ms/step", flush=True)


if __name__ == "__main__":
    main()
