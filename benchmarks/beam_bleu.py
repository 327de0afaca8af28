"""Beam search against greedy decoding on trained models: BLEU and score.

Usage (from the repository root):

    # The Transformer written by benchmarks/transformer_multi30k.py
    # (weights + the model settings it was trained with):
    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python benchmarks/beam_bleu.py \
        --weights benchmarks/artifacts/transformer_multi30k/best.weights.h5 \
        --beam-widths 1,2,4,5,8 --length-penalties 0.0,0.6

    # Any saved `.keras` model (RNNSeq2Seq or TransformerSeq2Seq) with its
    # vocabularies, on the date corpus or Multi30k:
    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python benchmarks/beam_bleu.py \
        --model outputs/demo/model.keras --vocab-dir outputs/demo \
        --dataset dates --beam-widths 1,2,4,8

Decodes the evaluation set (Multi30k val: 1,014 sentences, English ->
German; dates: the 1,000 held-out test dates of `keras-seq demo`'s default
corpus) with `keras_seq.decoding.greedy_search` and `beam_search` at each
width of `--beam-widths` and each GNMT length penalty of
`--length-penalties`, all XLA-compiled, and prints for every
configuration: corpus BLEU (sacreBLEU via `keras_seq.metrics.corpus_bleu`;
lowercased references since the word vocabularies are lowercased), exact
match (dates), the mean model log-probability log P(y|x) of the outputs,
the mean output length and the decoding time.

It also checks that wider beams do not lower the model score of the best
hypothesis: with length penalty 0 the beam ranks by log P(y|x), so for
every pair of consecutive widths k < k' it counts the sentences whose best
log P is lower with k' than with k (beyond 1e-4), equal, or higher. Beam
search is a heuristic, so a per-sentence decrease is possible in
principle; the counts say how often it happens on real models.
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
from keras import ops  # noqa: E402
from multi30k_recipe import add_model_arguments  # noqa: E402
from multi30k_recipe import build_transformer  # noqa: E402

from keras_seq.datasets import load_dates  # noqa: E402
from keras_seq.datasets import load_multi30k  # noqa: E402
from keras_seq.metrics import corpus_bleu  # noqa: E402
from keras_seq.metrics import exact_match  # noqa: E402
from keras_seq.text import WordTokenizer  # noqa: E402

DATA_DIR = os.path.join(REPO_ROOT, "..", "shared", "data", "multi30k")
RUN_DIR = os.path.join(
    REPO_ROOT, "benchmarks", "artifacts", "transformer_multi30k"
)
# Vocabulary file names: benchmarks/transformer_multi30k.py, then
# keras-seq demo and benchmarks/rnn_multi30k.py.
VOCAB_NAMES = (
    ("vocab.en.txt", "vocab.de.txt"),
    ("source_vocabulary.txt", "target_vocabulary.txt"),
)


def translate_fn(model, max_length, beam_width, alpha):
    """XLA-compiled `source_ids -> (token_ids, log P(y|x))`.

    `beam_width=0` is greedy search. With length penalty 0 the beam's
    `scores` are the log-probabilities; `log_probs` is returned in any case.
    """

    @tf.function(jit_compile=True, autograph=False)
    def run(source_ids):
        if beam_width == 0:
            out = model.generate(
                source_ids, "greedy", max_length, record_aux=False
            )
            return out["token_ids"], out["scores"]
        out = model.generate(
            source_ids,
            "beam",
            max_length,
            beam_width=beam_width,
            length_penalty=alpha,
            record_aux=False,
        )
        return out["token_ids"], out["log_probs"]

    return run


def load_model(args):
    if args.model:
        return keras.saving.load_model(args.model)
    model = build_transformer(
        args, args.source_vocabulary_size, args.target_vocabulary_size
    )
    model.load_weights(args.weights)
    return model


def load_tokenizers(vocab_dir):
    for source_name, target_name in VOCAB_NAMES:
        source_path = os.path.join(vocab_dir, source_name)
        target_path = os.path.join(vocab_dir, target_name)
        if os.path.exists(source_path) and os.path.exists(target_path):
            return (
                WordTokenizer.from_vocabulary_file(source_path),
                WordTokenizer.from_vocabulary_file(target_path),
            )
    raise SystemExit(f"no vocabulary files {VOCAB_NAMES} in {vocab_dir}")


def evaluation_set(args):
    """`(sources, references)` of the chosen corpus."""
    if args.dataset == "dates":
        pairs = load_dates(seed=0)["test"]
    else:
        pairs = load_multi30k("val", data_dir=args.data_dir)
    if args.num_sentences:
        pairs = pairs[: args.num_sentences]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def decode_all(fn, source, batch_size, target_tokenizer):
    hypotheses, log_probs, lengths = [], [], []
    for start in range(0, len(source), batch_size):
        chunk = source[start : start + batch_size]
        n = len(chunk)
        if n < batch_size:  # one compiled shape
            pad = np.zeros((batch_size - n, chunk.shape[1]), "int32")
            chunk = np.concatenate([chunk, pad])
        ids, scores = fn(chunk)
        ids = ops.convert_to_numpy(ids)[:n]
        log_probs.extend(ops.convert_to_numpy(scores)[:n])
        lengths.extend((ids != 0).sum(axis=1))
        texts = target_tokenizer.detokenize(ids).numpy()
        hypotheses.extend(t.decode("utf-8") for t in texts)
    return hypotheses, np.asarray(log_probs, "float64"), lengths


def compare_widths(scores_by_width, tolerance=1e-4):
    """Per consecutive width pair: sentences with lower/equal/higher log P."""
    widths = sorted(scores_by_width)
    comparisons = {}
    for narrow, wide in zip(widths, widths[1:]):
        diff = scores_by_width[wide] - scores_by_width[narrow]
        comparisons[f"{narrow}->{wide}"] = {
            "lower": int((diff < -tolerance).sum()),
            "equal": int((np.abs(diff) <= tolerance).sum()),
            "higher": int((diff > tolerance).sum()),
            "largest_drop": round(float(min(diff.min(), 0.0)), 4),
        }
    return comparisons


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model", default=None, help="a saved .keras seq2seq model"
    )
    parser.add_argument(
        "--weights",
        default=None,
        help="weights of a TransformerSeq2Seq built from the options below "
        "(default: the transformer_multi30k benchmark's best checkpoint)",
    )
    parser.add_argument("--vocab-dir", default=None)
    parser.add_argument(
        "--dataset", choices=("multi30k", "dates"), default="multi30k"
    )
    parser.add_argument("--data-dir", default=DATA_DIR)
    add_model_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--num-sentences", type=int, default=None)
    parser.add_argument("--beam-widths", default="4,5")
    parser.add_argument("--length-penalties", default="0.0,0.6")
    args = parser.parse_args()
    if args.model is None and args.weights is None:
        args.weights = os.path.join(RUN_DIR, "best.weights.h5")
    if args.vocab_dir is None:
        args.vocab_dir = os.path.dirname(args.model) if args.model else RUN_DIR
    print("args:", json.dumps(vars(args)), flush=True)
    for path in (args.model, args.weights):
        if path and not os.path.exists(path):
            raise SystemExit(f"no checkpoint at {path}")

    source_tokenizer, target_tokenizer = load_tokenizers(args.vocab_dir)
    args.source_vocabulary_size = source_tokenizer.vocabulary_size
    args.target_vocabulary_size = target_tokenizer.vocabulary_size
    model = load_model(args)
    sources, references = evaluation_set(args)
    source = np.asarray(
        source_tokenizer.encode(
            sources, model.max_source_length, truncate=True
        ),
        "int32",
    )
    max_length = min(args.max_length, model.max_target_length)
    print(
        f"{type(model).__name__}, {model.count_params():,} parameters; "
        f"{len(sources)} {args.dataset} sentences",
        flush=True,
    )

    configs = [("greedy", 0, 0.0)]
    widths = [int(w) for w in args.beam_widths.split(",")]
    for width in widths:
        for alpha in [float(a) for a in args.length_penalties.split(",")]:
            configs.append((f"beam k={width} alpha={alpha}", width, alpha))
    results, scores_by_width = {}, {}
    for name, width, alpha in configs:
        fn = translate_fn(model, max_length, width, alpha)
        t0 = time.time()
        hypotheses, log_probs, lengths = decode_all(
            fn, source, args.batch_size, target_tokenizer
        )
        seconds = time.time() - t0
        if width and alpha == 0.0:
            scores_by_width[width] = log_probs
        results[name] = {
            "bleu": round(
                corpus_bleu(hypotheses, references, lowercase=True), 2
            ),
            "mean_log_prob": round(float(np.mean(log_probs)), 3),
            "mean_length": round(float(np.mean(lengths)), 2),
            "seconds_with_compile": round(seconds, 1),
        }
        if args.dataset == "dates":
            results[name]["exact_match"] = round(
                exact_match(hypotheses, references, ignore_spaces=True), 4
            )
        print(name, json.dumps(results[name]), flush=True)
        print("  e.g.:", hypotheses[0], "|", references[0], flush=True)
    comparisons = compare_widths(scores_by_width)
    for pair, counts in comparisons.items():
        print(f"widths {pair} (alpha 0): {json.dumps(counts)}", flush=True)
    print("results:", json.dumps(results), flush=True)
    print("width comparisons:", json.dumps(comparisons), flush=True)


if __name__ == "__main__":
    main()
