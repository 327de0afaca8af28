"""Training step time of the RNN encoder-decoder per attention.

Random token ids, one process; for each attention two warm-up steps
(tracing), then `--steps` timed `train_on_batch` steps, the attentions
alternating over `--repeats` rounds (median and range printed). Two model
sizes:

- `--size demo` (default): the model of `keras-seq demo` (embedding 64,
  hidden 128, Luong input feeding; source 32, target 12, batch 64). Used
  to find and check the fix of a training-speed regression (RESULTS.md,
  "RNN training speed").
- `--size multi30k`: the pipeline's Multi30k RNN recipe
  (`ARCHITECTURE_RECIPES[("multi30k", "rnn")]`: bidirectional LSTM 512,
  embeddings 256, dropout 0.3, vocabularies of 8,000; source 18, target 20,
  the corpus' mean lengths in SentencePiece pieces), with its attention
  replaced by each one measured.

    .venv/bin/python benchmarks/rnn_training_speed.py
    .venv/bin/python benchmarks/rnn_training_speed.py --attentions general
    .venv/bin/python benchmarks/rnn_training_speed.py --size multi30k \\
        --attentions general,local-p,local-m,bahdanau --steps 5 --repeats 3
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_seq.metrics import MaskedSparseCategoricalCrossentropy  # noqa: E402
from keras_seq.models import RNNSeq2Seq  # noqa: E402

# name -> RNNSeq2Seq arguments replacing the recipe's attention.
ATTENTIONS = {
    "dot": {"attention": "luong", "score": "dot"},
    "general": {"attention": "luong", "score": "general"},
    "concat": {"attention": "luong", "score": "concat"},
    "bahdanau": {"attention": "bahdanau"},
    "local-p": {"attention": "local", "local_mode": "local-p"},
    "local-m": {"attention": "local", "local_mode": "local-m"},
}
# --size -> (model arguments, vocabulary sizes, source and target lengths).
DEMO = (
    {"embedding_dim": 64, "hidden_dim": 128, "input_feeding": True},
    (260, 136),
    (32, 12),
)


def multi30k_size():
    """The pipeline's Multi30k RNN recipe (its attention left out)."""
    from keras_seq_pipelines.configs import ARCHITECTURE_RECIPES

    recipe = ARCHITECTURE_RECIPES[("multi30k", "rnn")].model_kwargs
    kwargs = {
        k: v for k, v in recipe.items() if k not in ("attention", "score")
    }
    return kwargs, (8000, 8000), (18, 20)


def build(name, size, args):
    """A compiled, traced model and `--steps` random `(inputs, targets)`
    batches."""
    kwargs, (source_vocab, target_vocab), _ = size
    rng = np.random.default_rng(0)

    def ids(vocabulary_size, length):
        return rng.integers(
            4, vocabulary_size, (args.batch_size, length), dtype="int32"
        )

    batches = [
        (
            {
                "source_ids": ids(source_vocab, args.source_length),
                "target_in": ids(target_vocab, args.target_length),
            },
            ids(target_vocab, args.target_length),
        )
        for _ in range(args.steps)
    ]
    model = RNNSeq2Seq(
        source_vocabulary_size=source_vocab,
        target_vocabulary_size=target_vocab,
        cell="lstm",
        max_source_length=args.source_length,
        max_target_length=args.target_length,
        **kwargs,
        **ATTENTIONS[name],
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=MaskedSparseCategoricalCrossentropy(),
    )
    for inputs, targets in batches[:2]:  # traces the training step
        model.train_on_batch(inputs, targets)
    return model, batches


def step_time(model, batches):
    """Milliseconds per training step, the mean over `batches`."""
    start = time.perf_counter()
    for inputs, targets in batches:
        model.train_on_batch(inputs, targets)
    return (time.perf_counter() - start) / len(batches) * 1000.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=("demo", "multi30k"), default="demo")
    parser.add_argument(
        "--attentions",
        default="dot,general,concat,bahdanau",
        help=f"comma-separated, of {', '.join(ATTENTIONS)}",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--source-length", type=int)
    parser.add_argument("--target-length", type=int)
    args = parser.parse_args()
    names = args.attentions.split(",")
    unknown = [name for name in names if name not in ATTENTIONS]
    if unknown:
        parser.error(
            f"--attentions must be among {', '.join(ATTENTIONS)}. "
            f"Received: {unknown}"
        )
    for name in (
        "batch_size",
        "steps",
        "repeats",
        "source_length",  # None: the size's own length
        "target_length",
    ):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    size = DEMO if args.size == "demo" else multi30k_size()
    args.source_length = args.source_length or size[2][0]
    args.target_length = args.target_length or size[2][1]
    print(
        f"size {args.size}: {size[0]}, vocabularies {size[1]}, batch "
        f"{args.batch_size}, source {args.source_length}, target "
        f"{args.target_length}",
        flush=True,
    )
    built = {name: build(name, size, args) for name in names}
    times = {name: [] for name in names}
    for _ in range(args.repeats):
        for name in names:
            times[name].append(step_time(*built[name]))
    for name in names:
        ms = times[name]
        spread = f" ({min(ms):.0f}-{max(ms):.0f})" if len(ms) > 1 else ""
        print(
            f"{name:>9}: {statistics.median(ms):7.0f} ms/step{spread}",
            flush=True,
        )


if __name__ == "__main__":
    main()
