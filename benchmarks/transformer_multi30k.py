"""Train a small Transformer on Multi30k En->De on CPU; BLEU vs training time.

Usage (from the repository root):

    TF_CPP_MIN_LOG_LEVEL=2 nohup nice -n 5 .venv/bin/python \
        benchmarks/transformer_multi30k.py --time-budget-minutes 110 \
        > benchmarks/logs/transformer_multi30k.log 2>&1 &

What it does:
- word vocabularies (keras_seq.text.WordTokenizer, lowercased) built on the
  training split;
- `keras_seq.models.TransformerSeq2Seq` (default d=256, 3+3 layers, 4 heads,
  d_ff=512, dropout 0.1; 9.5 M parameters) trained with `fit()` on
  length-bucketed batches of about `--batch-tokens` tokens, label-smoothed
  (0.1) masked cross-entropy
  (`keras_seq.metrics.MaskedSparseCategoricalCrossentropy`) and Adam with
  the warm-up schedule (`keras_seq.optimizers.TransformerSchedule`, 600
  warm-up steps, scaled by 0.5: peak learning rate 1.3e-3);
- after every epoch (and every `--eval-every-minutes` of training time):
  greedy decoding of the validation split (1,014
  sentences) with the key/value cache, corpus BLEU (sacrebleu via
  `keras_seq.metrics.corpus_bleu`, on the lowercased references since the
  vocabulary is lowercased), training tokens/second and elapsed training
  time; a checkpoint of the weights under benchmarks/artifacts/;
- stops after the time budget (training time, evaluation excluded) and
  decodes the validation split once more with beam search (width 4).
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

from keras_seq.datasets import load_multi30k  # noqa: E402
from keras_seq.metrics import MaskedAccuracy  # noqa: E402
from keras_seq.metrics import MaskedSparseCategoricalCrossentropy  # noqa: E402
from keras_seq.metrics import corpus_bleu  # noqa: E402
from keras_seq.optimizers import TransformerSchedule  # noqa: E402
from keras_seq.text import WordTokenizer  # noqa: E402

DATA_DIR = os.path.join(REPO_ROOT, "..", "shared", "data", "multi30k")
ARTIFACTS = os.path.join(REPO_ROOT, "benchmarks", "artifacts")


def read_split(split, data_dir):
    """(english, german) lists of one split of Multi30k task 1."""
    pairs = load_multi30k(split, data_dir=data_dir)
    return [p[0] for p in pairs], [p[1] for p in pairs]


def encode_all(tokenizer, texts, max_length, add_bos=False, add_eos=False):
    ids = tokenizer.encode(
        texts, max_length, add_bos=add_bos, add_eos=add_eos, truncate=True
    )
    return np.asarray(ids, dtype="int32")


def make_batches(source, target, batch_tokens, bucket_width, rng):
    """Length-bucketed batches: (source, target_in, target_out) arrays.

    (`keras_seq.datasets.make_seq2seq_dataset` pads each batch to its own
    longest sequence; here batches are padded to fixed bucket boundaries so
    that `jit_compile=True` compiles only a few shapes.)

    Each pair goes to the bucket of ceil(max(len) / bucket_width); within a
    bucket, batches hold about `batch_tokens` padded tokens and are padded
    to the bucket boundary, so a handful of shapes is ever compiled.
    Partial last batches of a bucket are dropped (others are shuffled in on
    the next epoch).
    """
    src_len = (source != 0).sum(1)
    tgt_len = (target != 0).sum(1)  # BOS y_1..y_n EOS
    length = np.maximum(src_len, tgt_len - 1)
    bucket = (length + bucket_width - 1) // bucket_width
    batches = []
    for b in np.unique(bucket):
        idx = np.nonzero(bucket == b)[0]
        rng.shuffle(idx)
        width = int(b) * bucket_width
        size = max(8, batch_tokens // width)
        for start in range(0, len(idx) - size + 1, size):
            rows = idx[start : start + size]
            src = source[rows, :width]
            tgt = target[rows, : width + 1]
            batches.append((src, tgt[:, :-1], tgt[:, 1:]))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def build_translate_fn(model, max_length, strategy, beam_width):
    @tf.function(jit_compile=True, autograph=False)
    def translate(source_ids):
        kwargs = {"beam_width": beam_width} if strategy == "beam" else {}
        out = model.generate(
            source_ids, strategy=strategy, max_length=max_length, **kwargs
        )
        return out["token_ids"]

    return translate


def translate_all(
    model,
    tokenizer,
    source,
    batch_size,
    max_length,
    strategy="greedy",
    beam_width=4,
):
    translate = build_translate_fn(model, max_length, strategy, beam_width)
    hypotheses = []
    for start in range(0, len(source), batch_size):
        chunk = source[start : start + batch_size]
        n = len(chunk)
        if n < batch_size:  # keep one compiled shape
            pad = np.zeros((batch_size - n, chunk.shape[1]), "int32")
            chunk = np.concatenate([chunk, pad])
        ids = ops.convert_to_numpy(translate(chunk))[:n]
        texts = tokenizer.detokenize(ids).numpy()
        hypotheses.extend(t.decode("utf-8") for t in texts)
    return hypotheses


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--time-budget-minutes", type=float, default=110.0)
    parser.add_argument(
        "--wall-budget-minutes",
        type=float,
        default=None,
        help="Also stop training when this much wall-clock time (training "
        "plus evaluation) has passed since the start.",
    )
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument(
        "--eval-every-minutes",
        type=float,
        default=30.0,
        help="Also evaluate (greedy BLEU) after this much training time "
        "within an epoch; always at the end of an epoch.",
    )
    parser.add_argument("--log-every", type=int, default=25)
    add_model_arguments(parser)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--warmup-steps", type=int, default=600)
    parser.add_argument("--lr-scale", type=float, default=0.5)
    parser.add_argument("--batch-tokens", type=int, default=2048)
    parser.add_argument("--bucket-width", type=int, default=8)
    parser.add_argument("--source-vocabulary-size", type=int, default=8000)
    parser.add_argument("--target-vocabulary-size", type=int, default=10000)
    parser.add_argument("--min-frequency", type=int, default=2)
    parser.add_argument("--eval-batch-size", type=int, default=128)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--max-train-pairs", type=int, default=None)
    parser.add_argument("--dtype-policy", default="float32")
    parser.add_argument(
        "--jit-compile",
        action="store_true",
        help="XLA-compile the training step (one compile per batch shape; "
        "slow to compile on a loaded CPU, so off by default).",
    )
    parser.add_argument("--data-dir", default=DATA_DIR)
    parser.add_argument("--run-name", default="transformer_multi30k")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("args:", json.dumps(vars(args)), flush=True)

    keras.utils.set_random_seed(args.seed)
    keras.config.set_dtype_policy(args.dtype_policy)
    rng = np.random.default_rng(args.seed)
    out_dir = os.path.join(ARTIFACTS, args.run_name)
    os.makedirs(out_dir, exist_ok=True)

    train_en, train_de = read_split("train", args.data_dir)
    val_en, val_de = read_split("val", args.data_dir)
    if args.max_train_pairs:
        train_en = train_en[: args.max_train_pairs]
        train_de = train_de[: args.max_train_pairs]
    print(f"pairs: train {len(train_en)} val {len(val_en)}", flush=True)

    t0 = time.time()
    en_tok = WordTokenizer.from_corpus(
        train_en,
        max_vocabulary_size=args.source_vocabulary_size,
        min_frequency=args.min_frequency,
    )
    de_tok = WordTokenizer.from_corpus(
        train_de,
        max_vocabulary_size=args.target_vocabulary_size,
        min_frequency=args.min_frequency,
    )
    en_tok.save_vocabulary(os.path.join(out_dir, "vocab.en.txt"))
    de_tok.save_vocabulary(os.path.join(out_dir, "vocab.de.txt"))
    L = args.max_length
    train_src = encode_all(en_tok, train_en, L)
    train_tgt = encode_all(de_tok, train_de, L + 1, add_bos=True, add_eos=True)
    val_src = encode_all(en_tok, val_en, L)
    print(
        f"vocab en {en_tok.vocabulary_size} de {de_tok.vocabulary_size}; "
        f"tokenized in {time.time() - t0:.1f}s; "
        f"UNK rate de {np.mean(train_tgt[train_tgt != 0] == 1):.4f}",
        flush=True,
    )

    model = build_transformer(
        args, en_tok.vocabulary_size, de_tok.vocabulary_size, args.dropout
    )
    print(f"parameters: {model.count_params():,}", flush=True)
    schedule = TransformerSchedule(
        args.hidden_dim, warmup_steps=args.warmup_steps, scale=args.lr_scale
    )
    model.compile(
        optimizer=keras.optimizers.Adam(
            schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9
        ),
        loss=MaskedSparseCategoricalCrossentropy(
            label_smoothing=args.label_smoothing
        ),
        metrics=[MaskedAccuracy()],
        jit_compile=args.jit_compile,
    )

    budget = args.time_budget_minutes * 60.0
    wall_start = time.time()
    wall_budget = (
        float("inf")
        if args.wall_budget_minutes is None
        else args.wall_budget_minutes * 60.0
    )
    history = []
    best = {"bleu": -1.0}
    clock = {"train": 0.0, "tokens": 0, "since_eval": 0.0}

    def evaluate(epoch, partial):
        model.save_weights(os.path.join(out_dir, "model.weights.h5"))
        eval_start = time.time()
        hypotheses = translate_all(
            model, de_tok, val_src, args.eval_batch_size, L
        )
        bleu = corpus_bleu(hypotheses, [t.lower() for t in val_de])
        record = {
            "epoch": epoch,
            "partial_epoch": partial,
            "steps": int(ops.convert_to_numpy(model.optimizer.iterations)),
            "train_minutes": round(clock["train"] / 60, 2),
            "wall_minutes": round((time.time() - wall_start) / 60, 2),
            "train_tokens_per_second": round(
                clock["tokens"] / max(clock["train"], 1e-9), 1
            ),
            "val_bleu_greedy": round(bleu, 2),
            "eval_seconds": round(time.time() - eval_start, 1),
        }
        history.append(record)
        print("eval", json.dumps(record), flush=True)
        print("  sample:", hypotheses[0], "|", val_de[0], flush=True)
        if bleu > best["bleu"]:
            best["bleu"] = bleu
            model.save_weights(os.path.join(out_dir, "best.weights.h5"))
        with open(os.path.join(out_dir, "history.json"), "w") as f:
            json.dump(history, f, indent=1)
        clock["since_eval"] = 0.0

    def out_of_time():
        return clock["train"] > budget or time.time() - wall_start > wall_budget

    eval_every = args.eval_every_minutes * 60.0
    for epoch in range(1, args.max_epochs + 1):
        batches = make_batches(
            train_src, train_tgt, args.batch_tokens, args.bucket_width, rng
        )
        losses = []
        for i, (src, tgt_in, tgt_out) in enumerate(batches):
            step_start = time.time()
            logs = model.train_on_batch(
                {"source_ids": src, "target_in": tgt_in},
                tgt_out,
                return_dict=True,
            )
            elapsed = time.time() - step_start
            clock["train"] += elapsed
            clock["since_eval"] += elapsed
            clock["tokens"] += int((src != 0).sum() + (tgt_out != 0).sum())
            losses.append(logs["loss"])
            if (i + 1) % args.log_every == 0:
                print(
                    f"epoch {epoch} batch {i + 1}/{len(batches)} "
                    f"loss {np.mean(losses[-args.log_every :]):.4f} "
                    f"train_min {clock['train'] / 60:.1f} "
                    f"tok/s {clock['tokens'] / clock['train']:.0f}",
                    flush=True,
                )
            if out_of_time():
                break
            if clock["since_eval"] > eval_every and i + 1 < len(batches):
                evaluate(epoch, partial=True)
        evaluate(epoch, partial=not (i + 1 == len(batches)))
        if out_of_time():
            break
    train_time = clock["train"]
    best_bleu = best["bleu"]

    model.load_weights(os.path.join(out_dir, "best.weights.h5"))
    eval_start = time.time()
    hypotheses = translate_all(
        model,
        de_tok,
        val_src,
        32,
        L,
        strategy="beam",
        beam_width=args.beam_width,
    )
    bleu = corpus_bleu(hypotheses, [t.lower() for t in val_de])
    print(
        "final",
        json.dumps(
            {
                "best_val_bleu_greedy": round(best_bleu, 2),
                f"val_bleu_beam{args.beam_width}": round(bleu, 2),
                "beam_eval_seconds": round(time.time() - eval_start, 1),
                "train_minutes": round(train_time / 60, 2),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
