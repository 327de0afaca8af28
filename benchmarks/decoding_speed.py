"""Decoding speed: keras_seq.decoding vs keras_hub.samplers.BeamSampler.

Usage (from the repository root):

    TF_CPP_MIN_LOG_LEVEL=2 nohup nice -n 5 .venv/bin/python \
        benchmarks/decoding_speed.py > benchmarks/logs/decoding_speed.log 2>&1 &

What it measures: sentences per second when translating the first
`--num-sentences` Multi30k validation sentences (English, word tokenizer)
with `keras_seq.models.TransformerSeq2Seq` on CPU, for beam widths 1, 4, 8:

- ours: `keras_seq.decoding.greedy_search` and `beam_search` driving
  `model.decode_step` (key/value cache), with `record_aux=False` (the peer
  records no alignments) and, as an extra row, with the attention
  alignments of every hypothesis recorded (`record_aux=True`);
- peer: `keras_hub.samplers.BeamSampler(num_beams=k)` driving the SAME
  `model.decode_step` through its `next(prompt, cache, index)` interface,
  with `stop_token_ids=[EOS]`;

both inside the same `tf.function` (XLA with `--jit`, the default), same
batch, same maximum length, interleaved over `--rounds` rounds (median
reported) so that the load of a shared machine hits both alike. Compilation
is excluded (one warm-up call per function) and reported separately.

The two are not the same algorithm: BeamSampler keeps extending beams after
EOS and stops only when every beam of every sentence contains EOS (or at the
maximum length); ours freezes finished hypotheses and stops a sentence as
soon as no live beam can beat its best finished one. With width 1 both are
greedy search, and the script reports how many sentences they decode to the
same tokens (up to EOS).

Weights: `--weights` (a `model.save_weights` file of the same
configuration, e.g. benchmarks/artifacts/transformer_multi30k/
best.weights.h5 from benchmarks/transformer_multi30k.py); without it the
model has random weights, which rarely emit EOS, so every search runs to the
maximum length (the worst case for both).
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
from multi30k_recipe import add_model_arguments  # noqa: E402
from multi30k_recipe import build_transformer  # noqa: E402

from keras_seq.datasets import load_multi30k  # noqa: E402
from keras_seq.decoding import beam_search  # noqa: E402
from keras_seq.decoding import greedy_search  # noqa: E402
from keras_seq.text import WordTokenizer  # noqa: E402
from keras_seq.text.special_tokens import BOS_ID  # noqa: E402
from keras_seq.text.special_tokens import EOS_ID  # noqa: E402

DATA_DIR = os.path.join(REPO_ROOT, "..", "shared", "data", "multi30k")
VOCAB_DIR = os.path.join(
    REPO_ROOT, "benchmarks", "artifacts", "transformer_multi30k"
)


def load_source(args):
    """Token ids (N, max_length) of the first N validation sentences."""
    english = [p[0] for p in load_multi30k("val", data_dir=args.data_dir)]
    english = english[: args.num_sentences]
    vocab_en = os.path.join(args.vocab_dir, "vocab.en.txt")
    vocab_de = os.path.join(args.vocab_dir, "vocab.de.txt")
    if os.path.exists(vocab_en) and os.path.exists(vocab_de):
        en_tok = WordTokenizer.from_vocabulary_file(vocab_en)
        de_size = WordTokenizer.from_vocabulary_file(vocab_de).vocabulary_size
    else:  # build the vocabularies the training script would build
        train = load_multi30k("train", data_dir=args.data_dir)
        en_tok = WordTokenizer.from_corpus(
            [p[0] for p in train], max_vocabulary_size=8000, min_frequency=2
        )
        de_size = WordTokenizer.from_corpus(
            [p[1] for p in train], max_vocabulary_size=10000, min_frequency=2
        ).vocabulary_size
    ids = en_tok.encode(english, args.max_length, truncate=True)
    return np.asarray(ids, "int32"), en_tok.vocabulary_size, de_size


def ours_fn(model, width, max_length, jit, record_aux=False):
    @tf.function(jit_compile=jit, autograph=False)
    def run(source_ids):
        state = model.initial_decoding_state(source_ids, max_length)
        start = ops.full((ops.shape(source_ids)[0],), BOS_ID, "int32")
        if width == 0:  # greedy_search
            out = greedy_search(
                model.decode_step,
                state,
                start,
                EOS_ID,
                max_length,
                record_aux=record_aux,
            )
        else:
            out = beam_search(
                model.decode_step,
                state,
                start,
                EOS_ID,
                max_length,
                beam_width=width,
                record_aux=record_aux,
            )
        return out["token_ids"]

    return run


def keras_hub_fn(model, width, max_length, jit):
    sampler = keras_hub.samplers.BeamSampler(num_beams=width)

    def next_fn(prompt, cache, index):
        # prompt[:, 0] is BOS; position `index` is being produced, so the
        # decoder reads prompt[:, index - 1] at step index - 1.
        token = ops.take(prompt, index - 1, axis=1)
        logits, cache, _ = model.decode_step(token, cache, index - 1)
        return logits, None, cache

    @tf.function(jit_compile=jit, autograph=False)
    def run(source_ids):
        state = model.initial_decoding_state(source_ids, max_length)
        batch = ops.shape(source_ids)[0]
        prompt = ops.concatenate(
            [
                ops.full((batch, 1), BOS_ID, "int32"),
                ops.zeros((batch, max_length), "int32"),
            ],
            axis=1,
        )
        mask = ops.concatenate(
            [
                ops.ones((batch, 1), "bool"),
                ops.zeros((batch, max_length), "bool"),
            ],
            axis=1,
        )
        out = sampler(
            next_fn,
            prompt,
            cache=state,
            index=1,
            mask=mask,
            stop_token_ids=[EOS_ID],
        )
        return out[:, 1:]

    return run


def decode_all(fn, source, batch_size):
    outputs = []
    for start in range(0, len(source), batch_size):
        outputs.append(
            ops.convert_to_numpy(fn(source[start : start + batch_size]))
        )
    return np.concatenate(outputs)


def cut_at_eos(row):
    row = list(row)
    return row[: row.index(EOS_ID) + 1] if EOS_ID in row else row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=DATA_DIR)
    parser.add_argument("--vocab-dir", default=VOCAB_DIR)
    parser.add_argument("--weights", default=None)
    add_model_arguments(parser)
    parser.add_argument("--num-sentences", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--beam-widths", default="1,4,8")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--no-jit", dest="jit", action="store_false", help="graph, no XLA"
    )
    args = parser.parse_args()
    print("args:", json.dumps(vars(args)), flush=True)
    keras.utils.set_random_seed(0)

    source, en_size, de_size = load_source(args)
    n = len(source) - len(source) % args.batch_size
    source = source[:n]
    model = build_transformer(args, en_size, de_size)
    if args.weights:
        model.load_weights(args.weights)
    print(
        f"model: {model.count_params():,} parameters, weights "
        f"{args.weights or 'random'}; {n} sentences, batch {args.batch_size}"
        f", max_length {args.max_length}, jit_compile={args.jit}",
        flush=True,
    )

    results = {}
    for width in [int(w) for w in args.beam_widths.split(",")]:
        fns = {}
        if width == 1:
            fns["ours greedy_search"] = ours_fn(
                model, 0, args.max_length, args.jit
            )
        fns[f"ours beam_search k={width}"] = ours_fn(
            model, width, args.max_length, args.jit
        )
        fns[f"keras_hub BeamSampler k={width}"] = keras_hub_fn(
            model, width, args.max_length, args.jit
        )
        if width > 1:
            fns[f"ours beam_search k={width} + alignments"] = ours_fn(
                model, width, args.max_length, args.jit, record_aux=True
            )
        outputs = {}
        for name, fn in fns.items():
            t0 = time.time()
            fn(source[: args.batch_size])  # compile
            print(f"  compile {name}: {time.time() - t0:.1f}s", flush=True)
        times = {name: [] for name in fns}
        for _ in range(args.rounds):
            for name, fn in fns.items():
                t0 = time.time()
                outputs[name] = decode_all(fn, source, args.batch_size)
                times[name].append(time.time() - t0)
        for name in fns:
            median = float(np.median(times[name]))
            results[name] = n / median
            lengths = [len(cut_at_eos(r)) for r in outputs[name]]
            ended = np.mean([EOS_ID in r for r in outputs[name]])
            print(
                f"{name}: {n / median:.2f} sentences/s (median of "
                f"{args.rounds}: {median:.2f}s; rounds "
                f"{', '.join(f'{t:.2f}' for t in times[name])}); mean "
                f"length {np.mean(lengths):.1f}, ended with EOS {ended:.0%}",
                flush=True,
            )
        ours_rows = outputs[f"ours beam_search k={width}"]
        hub_rows = outputs[f"keras_hub BeamSampler k={width}"]
        same = np.mean(
            [
                cut_at_eos(a) == cut_at_eos(b)
                for a, b in zip(ours_rows, hub_rows)
            ]
        )
        print(
            f"k={width}: ours and keras_hub give the same tokens for "
            f"{same:.0%} of the sentences",
            flush=True,
        )
    print("results:", json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
