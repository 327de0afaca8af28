"""BLEU of beam search vs greedy decoding for a trained Transformer.

Usage (from the repository root), once benchmarks/transformer_multi30k.py
has written a checkpoint:

    TF_CPP_MIN_LOG_LEVEL=2 nohup nice -n 5 .venv/bin/python \
        benchmarks/beam_bleu.py \
        --weights benchmarks/artifacts/transformer_multi30k/best.weights.h5 \
        > benchmarks/logs/beam_bleu.log 2>&1 &

Translates the Multi30k validation split (1,014 sentences, English ->
German) with `keras_seq.decoding.greedy_search` and `beam_search` (widths
`--beam-widths`, GNMT length penalties `--length-penalties`) driving
`TransformerSeq2Seq.decode_step`, and prints corpus BLEU (sacreBLEU via
`keras_seq.metrics.corpus_bleu`, lowercased references since the word
vocabulary is lowercased, as in benchmarks/transformer_multi30k.py), the
mean model log-probability of the outputs, the mean output length and the
decoding time of each configuration. The model configuration arguments must
match the checkpoint (defaults: those the training benchmark ran with).
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

from keras import ops  # noqa: E402

from keras_seq.datasets import load_multi30k  # noqa: E402
from keras_seq.decoding import beam_search  # noqa: E402
from keras_seq.decoding import greedy_search  # noqa: E402
from keras_seq.metrics import corpus_bleu  # noqa: E402
from keras_seq.models import TransformerSeq2Seq  # noqa: E402
from keras_seq.text import WordTokenizer  # noqa: E402
from keras_seq.text.special_tokens import BOS_ID  # noqa: E402
from keras_seq.text.special_tokens import EOS_ID  # noqa: E402

DATA_DIR = os.path.join(REPO_ROOT, "..", "shared", "data", "multi30k")
RUN_DIR = os.path.join(
    REPO_ROOT, "benchmarks", "artifacts", "transformer_multi30k"
)


def translate_fn(model, max_length, beam_width, alpha):
    @tf.function(jit_compile=True, autograph=False)
    def run(source_ids):
        state = model.initial_decoding_state(source_ids, max_length)
        start = ops.full((ops.shape(source_ids)[0],), BOS_ID, "int32")
        if beam_width == 0:
            out = greedy_search(
                model.decode_step,
                state,
                start,
                EOS_ID,
                max_length,
                record_aux=False,
            )
            return out["token_ids"], out["scores"]
        out = beam_search(
            model.decode_step,
            state,
            start,
            EOS_ID,
            max_length,
            beam_width=beam_width,
            length_penalty=alpha,
            record_aux=False,
        )
        return out["token_ids"], out["log_probs"]

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=None)
    parser.add_argument("--vocab-dir", default=RUN_DIR)
    parser.add_argument("--data-dir", default=DATA_DIR)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--num-layers", type=int, default=3)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--intermediate-dim", type=int, default=512)
    parser.add_argument("--max-length", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--num-sentences", type=int, default=None)
    parser.add_argument("--beam-widths", default="4,5")
    parser.add_argument("--length-penalties", default="0.0,0.6")
    args = parser.parse_args()
    if args.weights is None:
        args.weights = os.path.join(RUN_DIR, "best.weights.h5")
    print("args:", json.dumps(vars(args)), flush=True)
    if not os.path.exists(args.weights):
        raise SystemExit(f"no checkpoint at {args.weights}")

    pairs = load_multi30k("val", data_dir=args.data_dir)
    if args.num_sentences:
        pairs = pairs[: args.num_sentences]
    english = [p[0] for p in pairs]
    references = [p[1].lower() for p in pairs]
    en_tok = WordTokenizer.from_vocabulary_file(
        os.path.join(args.vocab_dir, "vocab.en.txt")
    )
    de_tok = WordTokenizer.from_vocabulary_file(
        os.path.join(args.vocab_dir, "vocab.de.txt")
    )
    source = np.asarray(
        en_tok.encode(english, args.max_length, truncate=True), "int32"
    )
    model = TransformerSeq2Seq(
        source_vocabulary_size=en_tok.vocabulary_size,
        target_vocabulary_size=de_tok.vocabulary_size,
        hidden_dim=args.hidden_dim,
        num_layers=args.num_layers,
        num_heads=args.num_heads,
        intermediate_dim=args.intermediate_dim,
        dropout=0.1,
        max_source_length=args.max_length,
        max_target_length=args.max_length,
    )
    model.build()
    model.load_weights(args.weights)

    configs = [("greedy", 0, 0.0)]
    for width in [int(w) for w in args.beam_widths.split(",")]:
        for alpha in [float(a) for a in args.length_penalties.split(",")]:
            configs.append((f"beam k={width} alpha={alpha}", width, alpha))
    results = {}
    for name, width, alpha in configs:
        fn = translate_fn(model, args.max_length, width, alpha)
        t0 = time.time()
        hypotheses, log_probs, lengths = [], [], []
        for start in range(0, len(source), args.batch_size):
            chunk = source[start : start + args.batch_size]
            n = len(chunk)
            if n < args.batch_size:  # one compiled shape
                pad = np.zeros((args.batch_size - n, chunk.shape[1]), "int32")
                chunk = np.concatenate([chunk, pad])
            ids, scores = fn(chunk)
            ids = ops.convert_to_numpy(ids)[:n]
            log_probs.extend(ops.convert_to_numpy(scores)[:n])
            lengths.extend((ids != 0).sum(axis=1))
            texts = de_tok.detokenize(ids).numpy()
            hypotheses.extend(t.decode("utf-8") for t in texts)
        seconds = time.time() - t0
        bleu = corpus_bleu(hypotheses, references)
        results[name] = {
            "bleu": round(bleu, 2),
            "mean_log_prob": round(float(np.mean(log_probs)), 3),
            "mean_length": round(float(np.mean(lengths)), 2),
            "seconds_with_compile": round(seconds, 1),
        }
        print(name, json.dumps(results[name]), flush=True)
        print("  e.g.:", hypotheses[0], "|", references[0], flush=True)
    print("results:", json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
