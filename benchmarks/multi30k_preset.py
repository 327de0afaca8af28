"""The pipeline's Multi30k recipe without TFX, and its ablations.

Trains the Translator of the `multi30k` preset (`keras_seq_pipelines.
configs`: cased SentencePiece per side, the small Transformer, warm-up,
label smoothing, length buckets, best-BLEU checkpoint, checkpoint
averaging) with the pipeline Trainer's own function
(`keras_seq_pipelines.trainer.train_and_export`) on the raw Multi30k
files, without ExampleGen/Transform, then translates all of the
validation split with the Translator's search (beam, the preset's width
and length penalty) and scores it with sacrebleu called directly: cased
detokenized BLEU with its signature, lower-cased BLEU and chrF.

With no `--set`, the figure to compare with `pipeline_multi30k.py` (the
same recipe through `keras-seq pipeline run --dataset multi30k`). Each
`--set field=value` changes one field of the preset's `ModelConfig`
(`model_kwargs.NAME=value` for a model argument, `data.FIELD=value` for
the `DatasetConfig`; JSON values), which is how the rows of the ablation
table in RESULTS.md are made:

    TF_CPP_MIN_LOG_LEVEL=2 nohup .venv/bin/python \\
        benchmarks/multi30k_preset.py --work-dir outputs/m30k_preset \\
        > benchmarks/logs/multi30k_preset.log 2>&1 &
    ... --set average_last_epochs=0 --set model_kwargs.dropout=0.3
    ... --set data.joint_vocabulary=true \\
        --set model_kwargs.share_embeddings=true
    ... --architecture rnn      # the RNN recipe (Luong attention)
    ... --architecture rnn --set model_kwargs.attention=bahdanau

A shorter ablation: `--set epochs=6` with the change, read epoch for
epoch against the preset's per-epoch greedy BLEU (its learning rate is a
function of the step, so the first epochs of a short run are those of
the full one, up to run-to-run noise: RESULTS.md, session 14).

Not a CI test (about 100 minutes of training on 2 CPU cores).
"""

import argparse
import dataclasses
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from run_info import print_run_header  # noqa: E402


def parse_overrides(items, dataset_config, model_config):
    """`(DatasetConfig, ModelConfig)` with the `--set field=value` changes
    applied: `data.FIELD` for the DatasetConfig, `model_kwargs.NAME` for a
    model argument, a bare `FIELD` for the ModelConfig."""
    changes = {"data": {}, "model": {}}
    kwargs = dict(model_config.model_kwargs)
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set wants field=value. Received: {item!r}")
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass  # a plain string
        if isinstance(value, list):
            value = tuple(value)
        if name.startswith("model_kwargs."):
            kwargs[name.split(".", 1)[1]] = value
        elif name.startswith("data."):
            changes["data"][name.split(".", 1)[1]] = value
        else:
            changes["model"][name] = value
    try:
        return (
            dataclasses.replace(dataset_config, **changes["data"]),
            dataclasses.replace(
                model_config, model_kwargs=kwargs, **changes["model"]
            ),
        )
    except (TypeError, ValueError) as e:  # unknown field or bad value
        raise SystemExit(f"--set {' '.join(items)}: {e}") from None


def score(hypotheses, references):
    """Cased BLEU (with signature), lower-cased BLEU and chrF."""
    import sacrebleu

    bleu = sacrebleu.metrics.BLEU()
    cased = bleu.corpus_score(hypotheses, [references])
    lower = sacrebleu.metrics.BLEU(lowercase=True).corpus_score(
        hypotheses, [references]
    )
    chrf = sacrebleu.metrics.CHRF().corpus_score(hypotheses, [references])
    return {
        "bleu": cased.score,
        "signature": str(bleu.get_signature()),
        "bleu_lowercase": lower.score,
        "chrf": chrf.score,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", default="outputs/m30k_preset")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder of the raw Multi30k files (default: ../shared/data/"
        "multi30k beside the repository)",
    )
    parser.add_argument(
        "--num-train",
        type=int,
        default=None,
        help="first N training pairs only (quick checks)",
    )
    parser.add_argument(
        "--num-val",
        type=int,
        default=None,
        help="first N validation pairs only (quick checks)",
    )
    parser.add_argument(
        "--architecture",
        choices=("transformer", "rnn"),
        default="transformer",
        help="the preset's Transformer or its RNN recipe (Luong attention; "
        "`--set model_kwargs.attention=bahdanau` or `=local` for the others)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change one field of the preset (repeatable; data.FIELD for the "
        "DatasetConfig, model_kwargs.NAME for a model argument)",
    )
    args = parser.parse_args()

    from keras_seq.datasets import load_multi30k
    from keras_seq_pipelines import configs
    from keras_seq_pipelines import data
    from keras_seq_pipelines import trainer

    data_dir = args.data_dir or data.MULTI30K_DIR

    dataset_config, model_config = parse_overrides(
        args.set, *configs.preset("multi30k", args.architecture)
    )
    print_run_header()
    print(
        f"architecture: {args.architecture}; changes to the preset: "
        f"{args.set or 'none'}",
        flush=True,
    )
    os.makedirs(args.work_dir, exist_ok=True)
    pairs = {
        "train": load_multi30k("train", data_dir=data_dir)[: args.num_train],
        "val": load_multi30k("val", data_dir=data_dir)[: args.num_val],
    }
    files = {}
    for split in pairs:
        files[split] = os.path.join(args.work_dir, f"{split}.tfrecord.gz")
        trainer.write_texts(files[split], pairs[split])
    start = time.time()
    translator, history = trainer.train_and_export(
        files["train"],
        files["val"],
        None,
        dataset_config,
        model_config,
        os.path.join(args.work_dir, "serving"),
        log_dir=os.path.join(args.work_dir, "logs"),
        backup_dir=os.path.join(args.work_dir, "backup"),
    )
    train_seconds = time.time() - start
    start = time.time()
    hypotheses = translator.translate([s for s, _ in pairs["val"]])
    result = score(hypotheses, [t for _, t in pairs["val"]])
    result.update(
        {
            "architecture": args.architecture,
            "changes": args.set,
            "train_minutes": round(train_seconds / 60, 1),
            "decode_seconds": round(time.time() - start),
            "greedy_val_bleu_per_epoch": [
                round(b, 2) for b in history.get("val_bleu", [])
            ],
        }
    )
    print(
        f"cased BLEU {result['bleu']:.2f} ({result['signature']}), "
        f"lower-cased BLEU {result['bleu_lowercase']:.2f}, "
        f"chrF {result['chrf']:.2f}; training {result['train_minutes']} min",
        flush=True,
    )
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
