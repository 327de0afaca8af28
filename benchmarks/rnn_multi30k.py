"""Attentional RNN encoder-decoders on Multi30k En->De, fixed CPU budget.

Trains, one after the other and on the same data, vocabularies and
settings, the RNN seq2seq variants named by `--models` (default: Luong
global attention, Luong local-p attention and Bahdanau attention), each for
the same budget of process CPU time (`--minutes`), then reports for each:

- validation BLEU (sacreBLEU via `keras_seq.metrics.corpus_bleu`,
  lowercased, 13a tokenization) of greedy decoding
  (`model.generate` inside `tf.function(jit_compile=True)`) on the 1,014
  validation pairs;
- training throughput in target tokens (non-padding, EOS included) per
  wall-clock second and per CPU second.

Each trained model is saved with its vocabularies under
`--output-dir/<name>/` (`model.keras`, `source_vocabulary.txt`,
`target_vocabulary.txt`, `results.json`) so that other benchmarks (e.g.
beam vs greedy) can reuse them. A markdown table is printed at the end.

Usage (from the repository root):
    nohup nice -n 5 .venv/bin/python benchmarks/rnn_multi30k.py \
        --minutes 12 > benchmarks/logs/rnn_multi30k.log 2>&1 &
"""

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_seq.datasets import load_multi30k  # noqa: E402
from keras_seq.metrics import MaskedAccuracy  # noqa: E402
from keras_seq.metrics import MaskedSparseCategoricalCrossentropy  # noqa: E402
from keras_seq.metrics import corpus_bleu  # noqa: E402
from keras_seq.models import RNNSeq2Seq  # noqa: E402
from keras_seq.text import WordTokenizer  # noqa: E402

# name -> RNNSeq2Seq arguments (on top of the shared sizes).
MODELS = {
    "luong": {"attention": "luong", "score": "general", "input_feeding": True},
    "local-p": {
        "attention": "local",
        "local_mode": "local-p",
        "score": "general",
        "window": 10,
        "input_feeding": True,
    },
    "bahdanau": {"attention": "bahdanau", "bidirectional": True},
    "sutskever": {"attention": None, "context": "init"},
    "cho": {"attention": None, "context": "every_step"},
}

# Training batches are padded to one of these lengths (source and target
# alike), so the training step is traced only a few times.
BUCKETS = (12, 16, 20, 28, 40)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-dir", default=os.path.join("..", "shared", "data", "multi30k")
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=12.0,
        help="process CPU minutes of training per model",
    )
    parser.add_argument(
        "--models", default="luong,local-p,bahdanau", help=",".join(MODELS)
    )
    parser.add_argument("--embedding-dim", type=int, default=256)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--max-vocabulary-size", type=int, default=10000)
    parser.add_argument("--min-frequency", type=int, default=2)
    parser.add_argument("--max-decode-length", type=int, default=60)
    parser.add_argument("--decode-batch-size", type=int, default=256)
    parser.add_argument(
        "--output-dir",
        default=os.path.join("benchmarks", "artifacts", "rnn_multi30k"),
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    unknown = [m for m in args.models.split(",") if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    return args


def bucket_batches(source, target_in, target_out, batch_size, rng):
    """Shuffled batches, each padded to the smallest bucket that fits it."""
    lengths = np.maximum((source != 0).sum(1), (target_in != 0).sum(1))
    buckets = np.searchsorted(BUCKETS, lengths)  # index of the bucket
    batches = []
    for b, length in enumerate(BUCKETS):
        rows = np.nonzero(buckets == b)[0]
        rng.shuffle(rows)
        for start in range(0, len(rows), batch_size):
            idx = rows[start : start + batch_size]
            if len(idx) < batch_size:  # keep the traced shapes few
                continue
            batches.append(
                (
                    {
                        "source_ids": source[idx, :length],
                        "target_in": target_in[idx, :length],
                    },
                    target_out[idx, :length],
                )
            )
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def encode(tokenizer, texts, length, **kwargs):
    return tokenizer.encode(texts, length, **kwargs).numpy()


def prepare(args):
    train = load_multi30k("train", data_dir=args.data_dir)
    val = load_multi30k("val", data_dir=args.data_dir)
    source_tokenizer = WordTokenizer.from_corpus(
        [s for s, _ in train],
        max_vocabulary_size=args.max_vocabulary_size,
        min_frequency=args.min_frequency,
    )
    target_tokenizer = WordTokenizer.from_corpus(
        [t for _, t in train],
        max_vocabulary_size=args.max_vocabulary_size,
        min_frequency=args.min_frequency,
    )
    longest = BUCKETS[-1]
    src_len = source_tokenizer.tokenize([s for s, _ in train])
    src_len = src_len.row_lengths().numpy()
    tgt_len = target_tokenizer.tokenize([t for _, t in train])
    tgt_len = tgt_len.row_lengths().numpy()
    # Drop the few training pairs longer than the largest bucket.
    keep = (src_len <= longest) & (tgt_len + 1 <= longest)
    train = [p for p, k in zip(train, keep) if k]
    sources = [s for s, _ in train]
    targets = [t for _, t in train]
    data = {
        "source": encode(source_tokenizer, sources, longest),
        "target_in": encode(target_tokenizer, targets, longest, add_bos=True),
        "target_out": encode(target_tokenizer, targets, longest, add_eos=True),
    }
    val_len = source_tokenizer.tokenize([s for s, _ in val])
    val_len = int(val_len.row_lengths().numpy().max())
    val_source = encode(source_tokenizer, [s for s, _ in val], val_len)
    return {
        "train": data,
        "num_dropped": int((~keep).sum()),
        "val_source": val_source,
        "val_references": [t for _, t in val],
        "source_tokenizer": source_tokenizer,
        "target_tokenizer": target_tokenizer,
    }


def greedy_translate(model, tokenizer, source, args):
    """Greedy decoding of every row of `source`, compiled with XLA."""
    batch = args.decode_batch_size

    @tf.function(jit_compile=True)
    def generate(source_ids):
        out = model.generate(source_ids, max_length=args.max_decode_length)
        return out["token_ids"]

    hypotheses = []
    for start in range(0, len(source), batch):
        chunk = source[start : start + batch]
        n = len(chunk)
        if n < batch:  # pad to one static shape (one XLA compilation)
            chunk = np.concatenate(
                [chunk, np.repeat(chunk[-1:], batch - n, axis=0)]
            )
        ids = generate(tf.constant(chunk)).numpy()[:n]
        hypotheses.extend(
            s.decode("utf-8") for s in tokenizer.detokenize(ids).numpy()
        )
    return hypotheses


def train_one(name, data, args):
    keras.utils.set_random_seed(args.seed)
    source_tokenizer = data["source_tokenizer"]
    target_tokenizer = data["target_tokenizer"]
    model = RNNSeq2Seq(
        source_vocabulary_size=source_tokenizer.vocabulary_size,
        target_vocabulary_size=target_tokenizer.vocabulary_size,
        embedding_dim=args.embedding_dim,
        hidden_dim=args.hidden_dim,
        dropout=args.dropout,
        max_source_length=max(BUCKETS[-1], data["val_source"].shape[1]),
        max_target_length=args.max_decode_length,
        **MODELS[name],
    )
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=5.0),
        loss=MaskedSparseCategoricalCrossentropy(),
        metrics=[MaskedAccuracy()],
    )
    rng = np.random.default_rng(args.seed)
    train = data["train"]
    budget = args.minutes * 60.0
    cpu_start, wall_start = time.process_time(), time.time()
    tokens, steps, epoch, logs = 0, 0, 0, {}
    done = False
    while not done:
        batches = bucket_batches(
            train["source"],
            train["target_in"],
            train["target_out"],
            args.batch_size,
            rng,
        )
        for i, (x, y) in enumerate(batches):
            logs = model.train_on_batch(x, y, return_dict=True)
            tokens += int((y != 0).sum())
            steps += 1
            if steps % 100 == 0:
                print(
                    f"[{name}] epoch {epoch + 1} step {i + 1}/"
                    f"{len(batches)} loss {logs['loss']:.3f} token acc "
                    f"{logs['masked_accuracy']:.3f} cpu "
                    f"{time.process_time() - cpu_start:.0f}s wall "
                    f"{time.time() - wall_start:.0f}s",
                    flush=True,
                )
                # The printed loss/accuracy are means since the last print.
                model.reset_metrics()
            if time.process_time() - cpu_start >= budget:
                done = True
                epochs_done = epoch + (i + 1) / len(batches)
                break
        else:
            epoch += 1
    cpu = time.process_time() - cpu_start
    wall = time.time() - wall_start

    decode_start = time.time()
    hypotheses = greedy_translate(
        model, target_tokenizer, data["val_source"], args
    )
    decode_wall = time.time() - decode_start
    bleu = corpus_bleu(hypotheses, data["val_references"], lowercase=True)

    out_dir = os.path.join(args.output_dir, name)
    os.makedirs(out_dir, exist_ok=True)
    model.save(os.path.join(out_dir, "model.keras"))
    source_tokenizer.save_vocabulary(
        os.path.join(out_dir, "source_vocabulary.txt")
    )
    target_tokenizer.save_vocabulary(
        os.path.join(out_dir, "target_vocabulary.txt")
    )
    result = {
        "model": name,
        "config": {k: v for k, v in model.get_config().items()},
        "parameters": int(model.count_params()),
        "steps": steps,
        "epochs": round(epochs_done, 2),
        "train_cpu_seconds": round(cpu, 1),
        "train_wall_seconds": round(wall, 1),
        "target_tokens": tokens,
        "tokens_per_wall_second": round(tokens / wall, 1),
        "tokens_per_cpu_second": round(tokens / cpu, 1),
        "final_train_loss": round(float(logs["loss"]), 4),
        "val_bleu_greedy": round(bleu, 2),
        "decode_wall_seconds": round(decode_wall, 1),
        "examples": [
            {"hypothesis": h, "reference": r}
            for h, r in zip(hypotheses[:5], data["val_references"][:5])
        ],
    }
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(result, f, indent=2, ensure_ascii=False)
    print(json.dumps({k: v for k, v in result.items() if k != "config"}))
    return result


def main(argv=None):
    args = parse_args(argv)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, keras "
        f"{keras.__version__}, tensorflow {tf.__version__}; command: "
        + " ".join([sys.executable] + sys.argv),
        flush=True,
    )
    data = prepare(args)
    print(
        f"train pairs {len(data['train']['source'])} (dropped "
        f"{data['num_dropped']} longer than {BUCKETS[-1]} tokens), val pairs "
        f"{len(data['val_references'])}, vocabularies "
        f"{data['source_tokenizer'].vocabulary_size} (en) / "
        f"{data['target_tokenizer'].vocabulary_size} (de)",
        flush=True,
    )
    results = [train_one(name, data, args) for name in args.models.split(",")]
    print(
        "\n| model | params | epochs | train CPU s | train wall s | "
        "tokens/s (wall) | tokens/CPU s | val BLEU (greedy) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['model']} | {r['parameters']:,} | {r['epochs']} | "
            f"{r['train_cpu_seconds']} | {r['train_wall_seconds']} | "
            f"{r['tokens_per_wall_second']} | {r['tokens_per_cpu_second']} "
            f"| {r['val_bleu_greedy']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
