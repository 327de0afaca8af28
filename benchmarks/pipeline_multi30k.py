"""The TFX pipeline on Multi30k En->De, and its BLEU checked from outside.

Runs `keras-seq pipeline run --dataset multi30k` (Transformer by default),
then evaluates the Trainer's exported model OUTSIDE the pipeline: the raw
validation files (`../shared/data/multi30k/val.{en,de}.gz`, not the
pipeline's tf.Examples), translated in Python through the SavedModel and
scored with `sacrebleu.corpus_bleu` called directly (cased, detokenized,
as the field reports it). The two BLEU scores must be equal. Not a CI
test (it trains for a long time on CPU).

    nohup nice -n 5 .venv/bin/python benchmarks/pipeline_multi30k.py \\
        --output-dir outputs/bench_m30k --epochs 10 \\
        > benchmarks/logs/pipeline_multi30k.log 2>&1 &
"""

import argparse
import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="outputs/bench_m30k")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--num-train", type=int, default=None)
    parser.add_argument("--architecture", default="transformer")
    parser.add_argument(
        "--cache",
        action="store_true",
        help="reuse cached component outputs of an earlier run in the same "
        "--output-dir (ExampleGen to Transform are then not rerun)",
    )
    args = parser.parse_args()

    from keras_seq_apps import cli
    from keras_seq_pipelines import configs
    from keras_seq_pipelines import data

    start = time.time()
    argv = [
        "pipeline",
        "run",
        "--dataset",
        "multi30k",
        "--output-dir",
        args.output_dir,
        "--epochs",
        str(args.epochs),
        "--architecture",
        args.architecture,
        "--bleu-threshold",
        "0",
    ]
    if not args.cache:
        argv.append("--no-cache")
    if args.num_train:
        argv += ["--num-train", str(args.num_train)]
    cli.main(argv)
    pipeline_seconds = time.time() - start

    root = os.path.join(args.output_dir, "tfx")
    metrics_file = max(
        glob.glob(
            os.path.join(
                root, "BleuEvaluator", "evaluation", "*", "metrics.json"
            )
        ),
        key=os.path.getmtime,
    )
    with open(metrics_file) as f:
        pipeline_metrics = json.load(f)
    model_dir = max(
        glob.glob(
            os.path.join(root, "Trainer", "model", "*", "Format-Serving")
        ),
        key=os.path.getmtime,
    )
    # Outside the pipeline: raw validation files (not the pipeline's
    # tf.Examples), the exported signature called directly, sacrebleu
    # called directly (not keras_seq.metrics / pipelines.evaluation).
    import sacrebleu
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the TF Text ops)

    pairs = data.read_parallel(
        os.path.join(data.MULTI30K_DIR, "val.en.gz"),
        os.path.join(data.MULTI30K_DIR, "val.de.gz"),
    )
    sources = [s.decode("utf-8") for s, _ in pairs]
    references = [t.decode("utf-8") for _, t in pairs]
    signature = tf.saved_model.load(model_dir).signatures["serving_default"]
    hypotheses = []
    for i in range(0, len(sources), 64):
        out = signature(text=tf.constant(sources[i : i + 64]))
        hypotheses += [t.decode("utf-8") for t in out["translation"].numpy()]
    dataset_config, _ = configs.preset("multi30k")
    outside = sacrebleu.corpus_bleu(
        hypotheses,
        [references],
        tokenize=dataset_config.bleu_tokenize,
    ).score
    print(f"pipeline wall time: {pipeline_seconds:.0f} s")
    bleu = pipeline_metrics["bleu"]
    print(f"BLEU in the pipeline (BleuEvaluator): {bleu:.4f}")
    print(f"BLEU outside (signature + sacrebleu.corpus_bleu): {outside:.4f}")
    print(f"signature: {pipeline_metrics.get('bleu_signature')}")
    print(
        f"chrF {pipeline_metrics.get('chrf', float('nan')):.2f}, lower-cased "
        f"BLEU {pipeline_metrics.get('bleu_lowercase', float('nan')):.2f}"
    )
    print(f"equal: {abs(outside - pipeline_metrics['bleu']) < 1e-9}")
    for s, r, h in list(zip(sources, references, hypotheses))[:5]:
        print(f"  {s}\n    ref: {r}\n    hyp: {h}")


if __name__ == "__main__":
    main()
