"""Transformer speed: training tokens/s vs keras-hub; cached vs full decoding.

Usage (from the repository root):

    TF_CPP_MIN_LOG_LEVEL=2 nice -n 5 .venv/bin/python \
        benchmarks/transformer_speed.py > benchmarks/logs/transformer_speed.log
    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python benchmarks/transformer_speed.py \
        --data multi30k --steps 20 --repeats 5 --train-jit 0

In one process, on the same synthetic batches:

1. Training throughput (source + target tokens per second, after a warm-up
   step that compiles) of `keras_seq.models.TransformerSeq2Seq` and of a
   model of the same size built from `keras_hub.layers.TransformerEncoder`
   / `TransformerDecoder` (token embedding * sqrt(d) + keras-hub
   `SinePositionEncoding`, post-norm layers, output Dense), both with
   Adam, masked cross-entropy and `jit_compile` per `--train-jit` (compiled
   once, then timed). The two are measured alternately, `--repeats`
   times, and the median is reported. `--dtype-policy` sets the Keras
   dtype policy of both (e.g. `mixed_bfloat16`).
2. Greedy decoding of `--decode-length` tokens (EOS forbidden so every
   sentence runs the full length) for a batch of `--decode-batch`
   sentences: with the key/value cache (`decode_step`, one new position
   per step) against recomputing the whole prefix with the full model at
   every step. Both run as a Python loop over a `tf.function` per step
   (same overheads); the fully compiled `generate()` (one XLA while loop)
   is reported too.
3. `keras_seq.layers.MultiHeadAttention` forward time with
   `use_fused=True` (`keras.ops.dot_product_attention`) and
   `use_fused=False` (the explicit formula), eager graph and XLA.

`--data multi30k` replaces the synthetic batches of 1. by real ones: the
Multi30k En-De training pairs (`--data-dir`, default ../shared/data/
multi30k) tokenized by cased SentencePiece models of `--vocabulary-size`
pieces per side (the pipeline preset's tokenization), batched two ways:

- `buckets`: `keras_seq.datasets.make_seq2seq_dataset` with the preset's
  length buckets (`--bucket-boundaries`) and batch size: keras-seq's
  training input;
- `padded`: shuffled batches of the same size padded to their longest
  sentence (`make_seq2seq_dataset` without buckets, each batch then cut
  to its longest sentence), the straightforward input of a model built
  from keras-hub layers.

Each model trains on each batching (`--steps` batches drawn at random from
one epoch of it, the same ones every run), alternately, `--repeats` times;
tokens/s counts real (non-padding) source and target tokens only, so the
padding a batching carries costs it speed. The table separates the two
sources of a difference: the models on the same batches, and the
batchings with the same model. Part 2 and 3 are skipped.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import keras  # noqa: E402
import keras_hub  # noqa: E402
from keras import ops  # noqa: E402

from keras_seq.metrics import MaskedSparseCategoricalCrossentropy  # noqa: E402
from keras_seq.models import TransformerSeq2Seq  # noqa: E402
from keras_seq_pipelines import configs  # noqa: E402

# The pipeline's Multi30k preset: its length limits and length buckets.
MULTI30K_DATA, MULTI30K_MODEL = configs.preset("multi30k")
MULTI30K_MAX_SOURCE = MULTI30K_DATA.max_source_length
MULTI30K_MAX_TARGET = MULTI30K_DATA.max_target_length


def keras_hub_seq2seq(args):
    """The same architecture from keras-hub layers (functional model)."""
    source = keras.Input((None,), dtype="int32", name="source_ids")
    target = keras.Input((None,), dtype="int32", name="target_in")
    d = args.hidden_dim

    def embed(ids, vocabulary_size, name):
        x = keras.layers.Embedding(vocabulary_size, d, name=name)(ids)
        x = keras.layers.Rescaling(d**0.5)(x)
        x = x + keras_hub.layers.SinePositionEncoding()(x)
        return keras.layers.Dropout(args.dropout)(x)

    source_mask = keras.layers.Lambda(lambda t: ops.not_equal(t, 0))(source)
    target_mask = keras.layers.Lambda(lambda t: ops.not_equal(t, 0))(target)
    x = embed(source, args.vocabulary_size, "source_embedding")
    for i in range(args.num_layers):
        x = keras_hub.layers.TransformerEncoder(
            args.intermediate_dim,
            args.num_heads,
            dropout=args.dropout,
            name=f"encoder_{i}",
        )(x, padding_mask=source_mask)
    y = embed(target, args.vocabulary_size, "target_embedding")
    for i in range(args.num_layers):
        y = keras_hub.layers.TransformerDecoder(
            args.intermediate_dim,
            args.num_heads,
            dropout=args.dropout,
            name=f"decoder_{i}",
        )(
            y,
            x,
            decoder_padding_mask=target_mask,
            encoder_padding_mask=source_mask,
        )
    logits = keras.layers.Dense(args.vocabulary_size, dtype="float32")(y)
    return keras.Model({"source_ids": source, "target_in": target}, logits)


def ours(args, dropout=None):
    return TransformerSeq2Seq(
        source_vocabulary_size=args.vocabulary_size,
        target_vocabulary_size=args.vocabulary_size,
        hidden_dim=args.hidden_dim,
        num_layers=args.num_layers,
        num_heads=args.num_heads,
        intermediate_dim=args.intermediate_dim,
        dropout=args.dropout if dropout is None else dropout,
        max_source_length=max(
            args.length, args.decode_length + 1, MULTI30K_MAX_SOURCE
        ),
        max_target_length=max(
            args.length, args.decode_length + 1, MULTI30K_MAX_TARGET
        ),
    )


def synthetic_batch(args, rng):
    b, n, v = args.batch_size, args.length, args.vocabulary_size
    lengths = rng.integers(n // 2, n + 1, size=(2, b))
    ids = rng.integers(4, v, size=(3, b, n)).astype("int32")
    positions = np.arange(n)[None, :]
    source = np.where(positions < lengths[0][:, None], ids[0], 0)
    target_out = np.where(positions < lengths[1][:, None], ids[1], 0)
    target_in = np.concatenate(
        [np.full((b, 1), 2, "int32"), target_out[:, :-1]], axis=1
    )
    target_in = np.where(target_out != 0, target_in, 0)
    x = {"source_ids": source.astype("int32"), "target_in": target_in}
    return x, target_out.astype("int32")


def padding_fraction(batches):
    """Share of the source and target positions that are padding."""
    real = sum(
        int((x["source_ids"] != 0).sum() + (y != 0).sum()) for x, y in batches
    )
    total = sum(x["source_ids"].size + y.size for x, y in batches)
    return 1.0 - real / total


def trim_to_longest(batch):
    """A batch padded to fixed lengths, cut to its longest sentence."""
    x, y = batch
    source_width = max(1, int((x["source_ids"] != 0).sum(1).max()))
    target_width = max(1, int((y != 0).sum(1).max()))
    x = {
        "source_ids": x["source_ids"][:, :source_width],
        "target_in": x["target_in"][:, :target_width],
    }
    return x, y[:, :target_width]


def multi30k_batchings(args, rng):
    """`--steps` Multi30k training batches of each batching (module doc),
    with the padding share of a whole epoch of each."""
    from keras_seq.datasets import load_multi30k
    from keras_seq.datasets import make_seq2seq_dataset
    from keras_seq.text import SentencePieceTokenizer

    data_dir = args.data_dir or os.path.join(
        REPO_ROOT, "..", "shared", "data", "multi30k"
    )
    pairs = load_multi30k("train", data_dir=data_dir)
    tokenizers = [
        SentencePieceTokenizer.from_corpus(
            [pair[side] for pair in pairs],
            vocabulary_size=args.vocabulary_size,
            exact_size=False,
        )
        for side in (0, 1)
    ]
    common = {
        "batch_size": args.batch_size,
        "max_source_length": MULTI30K_MAX_SOURCE,
        "max_target_length": MULTI30K_MAX_TARGET,
        "seed": 0,
    }
    datasets = {
        "buckets": make_seq2seq_dataset(
            pairs,
            *tokenizers,
            bucket_boundaries=args.bucket_boundaries,
            **common,
        ),
        "padded": make_seq2seq_dataset(pairs, *tokenizers, **common),
    }
    batchings, padding = {}, {}
    for name, dataset in datasets.items():
        epoch = [
            ({k: v.numpy() for k, v in x.items()}, y.numpy())
            for x, y in dataset
        ]
        if name == "padded":
            epoch = [trim_to_longest(batch) for batch in epoch]
        padding[name] = padding_fraction(epoch)
        if args.steps > len(epoch):
            raise SystemExit(
                f"--steps must be at most the {len(epoch)} batches of an "
                f"epoch. Received: {args.steps}"
            )
        chosen = rng.choice(len(epoch), size=args.steps, replace=False)
        batchings[name] = [epoch[i] for i in chosen]
        print(
            f"{name}: {len(epoch)} batches per epoch, padding "
            f"{padding[name]:.1%} of the epoch's positions, "
            f"{padding_fraction(batchings[name]):.1%} of the "
            f"{args.steps} timed batches",
            flush=True,
        )
    return batchings, padding


RATIOS = {
    # name: (numerator, denominator), "model_batching"
    "ratio_recipes": ("keras_seq_buckets", "keras_hub_padded"),
    "ratio_models_on_buckets": ("keras_seq_buckets", "keras_hub_buckets"),
    "ratio_models_on_padded": ("keras_seq_padded", "keras_hub_padded"),
    "ratio_buckets_over_padded_keras_hub": (
        "keras_hub_buckets",
        "keras_hub_padded",
    ),
}


def throughput_ratios(results, suffix):
    """The ratios of RATIOS between medians named `..._{a}{suffix}`."""

    def median(name):
        return results[f"train_tokens_per_s_{name}{suffix}"]

    return {
        key + suffix: round(median(a) / median(b), 3)
        for key, (a, b) in RATIOS.items()
    }


def compare_on_multi30k(args, rng):
    """Part 1 on real batches: every model on every batching."""
    batchings, padding = multi30k_batchings(args, rng)
    models = {"keras_seq": ours(args), "keras_hub": keras_hub_seq2seq(args)}
    results = {f"padding_{k}": round(v, 4) for k, v in padding.items()}
    for name, model in models.items():
        model(batchings["buckets"][0][0])
        print(f"{name}: {model.count_params():,} parameters", flush=True)
    for jit in [bool(int(j)) for j in args.train_jit.split(",")]:
        for model in models.values():
            compile_for_training(model, batchings["buckets"], jit)
            for batches in batchings.values():
                for x, y in batches:  # trace every shape once
                    model.train_on_batch(x, y)
        runs = {(m, b): [] for m in models for b in batchings}
        for _ in range(args.repeats):
            for m, b in runs:
                runs[m, b].append(
                    train_throughput(models[m], batchings[b], args.steps)
                )
        for (m, b), values in runs.items():
            key = f"train_tokens_per_s_{m}_{b}_jit{int(jit)}"
            results[key] = round(float(np.median(values)), 1)
            print(key, [round(v, 1) for v in values], flush=True)
        results.update(throughput_ratios(results, f"_jit{int(jit)}"))
    return results


def compile_for_training(model, batches, jit):
    model.compile(
        optimizer=keras.optimizers.Adam(1e-4),
        loss=MaskedSparseCategoricalCrossentropy(label_smoothing=0.1),
        jit_compile=jit,
    )
    x, y = batches[0]
    model.train_on_batch(x, y)  # trace / compile once


def train_throughput(model, batches, steps):
    tokens = 0
    start = time.perf_counter()
    for i in range(steps):
        x, y = batches[i % len(batches)]
        model.train_on_batch(x, y)
        tokens += int((x["source_ids"] != 0).sum() + (y != 0).sum())
    return tokens / (time.perf_counter() - start)


def decode_cached(model, source, length):
    step_fn = tf.function(model.decode_step, reduce_retracing=True)
    state = model.initial_decoding_state(source, max_length=length)
    token = tf.fill((source.shape[0],), 2)
    out = []
    for step in range(length):
        logits, state, _ = step_fn(token, state, tf.constant(step))
        logits = tf.tensor_scatter_nd_update(
            logits,
            [[i, 3] for i in range(source.shape[0])],
            tf.fill((source.shape[0],), -1e9),
        )  # EOS forbidden: every sentence decodes `length` tokens
        token = tf.cast(tf.argmax(logits, -1), "int32")
        out.append(token)
    return tf.stack(out, 1)


def decode_recompute(model, source, length):
    forward = tf.function(
        lambda s, t: model({"source_ids": s, "target_in": t}),
        reduce_retracing=True,
    )
    prefix = tf.fill((source.shape[0], 1), 2)
    out = []
    for _ in range(length):
        logits = forward(source, prefix)[:, -1]
        logits = tf.tensor_scatter_nd_update(
            logits,
            [[i, 3] for i in range(source.shape[0])],
            tf.fill((source.shape[0],), -1e9),
        )
        token = tf.cast(tf.argmax(logits, -1), "int32")
        out.append(token)
        prefix = tf.concat([prefix, token[:, None]], axis=1)
    return tf.stack(out, 1)


def attention_paths(args, rng, repeats=20):
    from keras_seq.layers import MultiHeadAttention

    x = rng.normal(size=(args.batch_size, args.length, args.hidden_dim))
    x = x.astype("float32")
    mask = np.ones((args.batch_size, args.length), bool)
    mask[:, args.length // 2 :] = rng.random((1, args.length // 2)) > 0.5
    results = {}
    for jit in (False, True):
        for fused in (True, False):
            layer = MultiHeadAttention(
                args.num_heads,
                args.hidden_dim // args.num_heads,
                use_fused=fused,
            )
            layer(x, x, value_mask=mask)
            fn = tf.function(
                lambda q, m, layer=layer: layer(q, q, value_mask=m),
                jit_compile=jit,
            )
            fn(x, mask)
            start = time.perf_counter()
            for _ in range(repeats):
                fn(x, mask).numpy()
            key = f"mha_forward_ms_fused{int(fused)}_jit{int(jit)}"
            results[key] = round(
                1000 * (time.perf_counter() - start) / repeats, 2
            )
    return results


def timed(fn, *a):
    fn(*a)  # trace / compile
    start = time.perf_counter()
    result = fn(*a)
    return time.perf_counter() - start, result


def bucket_boundaries(text):
    """`--bucket-boundaries`: strictly increasing positive ints, "16,24"."""
    try:
        values = [int(b) for b in text.split(",")]
    except ValueError:
        values = []
    if not values or values[0] < 1 or values != sorted(set(values)):
        raise argparse.ArgumentTypeError(
            f"expected strictly increasing positive ints such as 16,24,32. "
            f"Received: {text!r}"
        )
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--num-layers", type=int, default=3)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--intermediate-dim", type=int, default=512)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=24)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--decode-batch", type=int, default=32)
    parser.add_argument("--decode-length", type=int, default=64)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument(
        "--train-jit",
        default="0,1",
        help="jit_compile settings of the training comparison, e.g. '0' "
        "or '0,1' (XLA compiles take minutes on a loaded CPU).",
    )
    parser.add_argument("--only-attention", action="store_true")
    parser.add_argument(
        "--data",
        choices=("synthetic", "multi30k"),
        default="synthetic",
        help="training batches: synthetic (lengths uniform in "
        "[length/2, length]) or Multi30k, bucketed and padded (module doc)",
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--bucket-boundaries",
        type=bucket_boundaries,
        default=list(MULTI30K_MODEL.bucket_boundaries),
        help="length buckets of the `buckets` batching (the preset's)",
    )
    parser.add_argument(
        "--dtype-policy",
        default="float32",
        choices=("float32", "mixed_bfloat16", "mixed_float16"),
        help="Keras dtype policy of both models (set before they are "
        "built; logits stay float32)",
    )
    args = parser.parse_args()
    print("args:", json.dumps(vars(args)), flush=True)
    keras.config.set_dtype_policy(args.dtype_policy)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    results = {}
    if args.only_attention:
        print("results", json.dumps(attention_paths(args, rng)), flush=True)
        return
    if args.data == "multi30k":
        results = compare_on_multi30k(args, rng)
        print("results", json.dumps(results), flush=True)
        return

    if not args.skip_training:
        batches = [synthetic_batch(args, rng) for _ in range(4)]
        models = {"keras_seq": ours(args), "keras_hub": keras_hub_seq2seq(args)}
        for name, model in models.items():
            model(batches[0][0])
            print(f"{name}: {model.count_params():,} parameters", flush=True)
        for jit in [bool(int(j)) for j in args.train_jit.split(",")]:
            for model in models.values():
                compile_for_training(model, batches, jit)
            runs = {name: [] for name in models}
            for _ in range(args.repeats):
                for name, model in models.items():
                    runs[name].append(
                        train_throughput(model, batches, args.steps)
                    )
            for name, values in runs.items():
                key = f"train_tokens_per_s_{name}_jit{int(jit)}"
                results[key] = round(float(np.median(values)), 1)
                print(key, [round(v, 1) for v in values], flush=True)

    model = ours(args, dropout=0.0)
    source = rng.integers(4, args.vocabulary_size, (args.decode_batch, 20))
    source = source.astype("int32")
    model({"source_ids": source, "target_in": source[:, :2]})
    cached_s, cached = timed(decode_cached, model, source, args.decode_length)
    recompute_s, recomputed = timed(
        decode_recompute, model, source, args.decode_length
    )
    same = bool(np.array_equal(cached.numpy(), recomputed.numpy()))

    @tf.function(jit_compile=True, autograph=False)
    def generate(source_ids):
        return model.generate(
            source_ids,
            max_length=args.decode_length,
            min_length=args.decode_length,
        )["token_ids"]

    xla_s, xla_tokens = timed(generate, source)
    results.update(
        {
            "decode_cached_seconds": round(cached_s, 3),
            "decode_recompute_seconds": round(recompute_s, 3),
            "decode_speedup": round(recompute_s / cached_s, 2),
            "decode_outputs_identical": same,
            "generate_xla_seconds": round(xla_s, 3),
            "generate_xla_matches_cached": bool(
                np.array_equal(xla_tokens.numpy(), cached.numpy())
            ),
        }
    )
    results.update(attention_paths(args, rng))
    print("results", json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
