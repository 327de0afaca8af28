"""The date demo's RNN on the backend of KERAS_BACKEND (JAX, torch, TF).

Trains the model of `keras-seq demo` with its settings (Luong global
attention, general score, input feeding, LSTM, embedding 64, hidden 128,
Adam 3e-3, batch 64, 20,000 training pairs, 4 epochs, seed 0) and prints
the exact match of greedy decoding on the 1,000 held-out test dates and
the training step time. The text is tokenized here in NumPy/Python (the
same split as `keras_seq.text.WordTokenizer` gives on this corpus), so the
benchmark runs in an environment without TensorFlow:

    bash scripts/backend_env.sh jax
    KERAS_BACKEND=jax .venv-jax/bin/python benchmarks/backend_date_demo.py
    bash scripts/backend_env.sh torch
    KERAS_BACKEND=torch .venv-torch/bin/python \\
        benchmarks/backend_date_demo.py --threads 1

`--threads N` sets torch's intra-op threads (`torch.set_num_threads`): on
a busy 2-core machine torch's OpenMP threads wait on each other for every
small operation of the recurrence (see RESULTS.md).
"""

import argparse
import collections
import json
import os
import re
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from keras_seq.datasets import load_dates  # noqa: E402
from keras_seq.metrics import MaskedAccuracy  # noqa: E402
from keras_seq.metrics import MaskedSparseCategoricalCrossentropy  # noqa: E402
from keras_seq.metrics import exact_match  # noqa: E402
from keras_seq.models import RNNSeq2Seq  # noqa: E402

RESERVED = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


def split(text):
    """Lower-cased letter runs, digit runs and single symbols.

    `WordTokenizer`'s split on this (ASCII) corpus: whitespace separates,
    punctuation stands alone, digits and letters part ("25th" -> "25",
    "th").
    """
    return re.findall(r"[a-z]+|[0-9]+|[^\sa-z0-9]", text.lower())


class Vocabulary:
    """Reserved tokens, then the corpus's words by decreasing count."""

    def __init__(self, texts):
        counts = collections.Counter(w for t in texts for w in split(t))
        words = sorted(counts, key=lambda w: (-counts[w], w))
        self.tokens = RESERVED + words
        self.ids = {token: i for i, token in enumerate(self.tokens)}

    def encode(self, texts, length, add_bos=False, add_eos=False):
        ids = np.zeros((len(texts), length), "int32")
        for row, text in enumerate(texts):
            tokens = [self.ids.get(w, UNK_ID) for w in split(text)]
            tokens = [BOS_ID] * add_bos + tokens + [EOS_ID] * add_eos
            if len(tokens) > length:
                raise ValueError(f"{text!r} is longer than {length} tokens")
            ids[row, : len(tokens)] = tokens
        return ids

    def decode(self, ids):
        """Tokens up to EOS joined by spaces (as `detokenize` does)."""
        words = []
        for i in ids:
            if i == EOS_ID:
                break
            if i > EOS_ID:
                words.append(self.tokens[i])
        return " ".join(words)


class StepTimer(keras.callbacks.Callback):
    """Wall time of every training batch."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def translate(model, source_ids, vocabulary, batch_size=500):
    strings = []
    for start in range(0, len(source_ids), batch_size):
        out = model.generate(source_ids[start : start + batch_size])
        tokens = ops.convert_to_numpy(out["token_ids"])
        strings.extend(vocabulary.decode(row) for row in tokens)
    return strings


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--num-train", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    backend = keras.backend.backend()
    if args.threads is not None:
        if backend != "torch":
            parser.error("--threads is for KERAS_BACKEND=torch")
        import torch

        torch.set_num_threads(args.threads)

    keras.utils.set_random_seed(args.seed)
    data = load_dates(
        num_train=args.num_train, num_val=1000, num_test=1000, seed=args.seed
    )
    sources = Vocabulary([s for s, _ in data["train"]])
    targets = Vocabulary([t for _, t in data["train"]])
    every_pair = data["train"] + data["val"] + data["test"]
    # As in apps/demo.py: room for hand-typed dates; +1 for BOS/EOS.
    source_length = max(max(len(split(s)) for s, _ in every_pair), 12)
    target_length = max(len(split(t)) for _, t in every_pair) + 1

    def arrays(pairs):
        x = {
            "source_ids": sources.encode([s for s, _ in pairs], source_length),
            "target_in": targets.encode(
                [t for _, t in pairs], target_length, add_bos=True
            ),
        }
        y = targets.encode([t for _, t in pairs], target_length, add_eos=True)
        return x, y

    x_train, y_train = arrays(data["train"])
    x_val, y_val = arrays(data["val"])
    x_test, _ = arrays(data["test"])
    model = RNNSeq2Seq(
        source_vocabulary_size=len(sources.tokens),
        target_vocabulary_size=len(targets.tokens),
        embedding_dim=64,
        hidden_dim=128,
        cell="lstm",
        attention="luong",
        score="general",
        input_feeding=True,
        max_source_length=source_length,
        max_target_length=target_length,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=MaskedSparseCategoricalCrossentropy(),
        metrics=[MaskedAccuracy()],
    )
    timer = StepTimer()
    start = time.time()
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        batch_size=64,
        epochs=args.epochs,
        callbacks=[timer],
        verbose=2,
    )
    train_seconds = time.time() - start
    hypotheses = translate(model, x_test["source_ids"], targets)
    references = [t for _, t in data["test"]]
    accuracy = exact_match(hypotheses, references, ignore_spaces=True)
    # The first steps include tracing/compilation: the median is the
    # steady-state figure.
    step_ms = 1000 * float(np.median(timer.times))
    results = {
        "backend": backend,
        "threads": args.threads,
        "epochs": args.epochs,
        "num_train": len(data["train"]),
        "test_exact_match": accuracy,
        "median_step_ms": round(step_ms, 1),
        "first_step_s": round(timer.times[0], 1),
        "train_seconds": round(train_seconds, 1),
        "val_loss": [round(v, 4) for v in history.history["val_loss"]],
    }
    for (source, reference), hypothesis in list(zip(data["test"], hypotheses))[
        :5
    ]:
        mark = "ok" if hypothesis.replace(" ", "") == reference else "WRONG"
        print(f"  {source!r:38} -> {hypothesis.replace(' ', '')}  [{mark}]")
    print(
        f"{backend}: exact match on {len(references)} held-out dates "
        f"{accuracy:.2%}; training step {step_ms:.0f} ms (median of "
        f"{len(timer.times)}), {train_seconds:.0f} s of training"
    )
    print(json.dumps(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
