"""The TFX pipeline on Multi30k En->De, and its BLEU checked from outside.

Runs `keras-seq pipeline run --dataset multi30k` (Transformer by default),
then evaluates the pushed model OUTSIDE the pipeline: the raw validation
files (`../shared/data/multi30k/val.{en,de}.gz`, not the pipeline's
tf.Examples), translated by the pushed SavedModel through the TF1
session API TF Serving uses, and scored with `sacrebleu.corpus_bleu`
called directly (cased, detokenized, as the field reports it). The two
BLEU scores must be equal. `--evaluate-only` redoes that check on an
earlier run's output folder. Not a CI test (it trains for a long time on
CPU).

    nohup nice -n 5 .venv/bin/python benchmarks/pipeline_multi30k.py \\
        --output-dir outputs/bench_m30k \\
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
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="training epochs (default: the preset's)",
    )
    parser.add_argument("--num-train", type=int, default=None)
    parser.add_argument("--architecture", default="transformer")
    parser.add_argument(
        "--cache",
        action="store_true",
        help="reuse cached component outputs of an earlier run in the same "
        "--output-dir (ExampleGen to Transform are then not rerun)",
    )
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="do not run the pipeline; evaluate the model an earlier run "
        "in --output-dir pushed",
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
        "--architecture",
        args.architecture,
        "--bleu-threshold",
        "0",
    ]
    if not args.cache:
        argv.append("--no-cache")
    if args.epochs:
        argv += ["--epochs", str(args.epochs)]
    if args.num_train:
        argv += ["--num-train", str(args.num_train)]
    if not args.evaluate_only:
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
    # The pushed version, as TF Serving loads it.
    serving = os.path.join(args.output_dir, "serving", "translator")
    model_dir = os.path.join(
        serving,
        max((v for v in os.listdir(serving) if v.isdigit()), key=int),
    )
    # Outside the pipeline: raw validation files (not the pipeline's
    # tf.Examples), the pushed SavedModel run through the TF1 session API
    # the model server uses, sacrebleu called directly (not
    # keras_seq.metrics / pipelines.evaluation).
    import numpy as np
    import sacrebleu
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the TF Text ops)

    pairs = data.read_parallel(
        os.path.join(data.MULTI30K_DIR, "val.en.gz"),
        os.path.join(data.MULTI30K_DIR, "val.de.gz"),
    )
    sources = [s.decode("utf-8") for s, _ in pairs]
    references = [t.decode("utf-8") for _, t in pairs]
    hypotheses = []
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta = tf.compat.v1.saved_model.loader.load(
            session, ["serve"], model_dir
        )
        signature = meta.signature_def["serving_default"]
        for i in range(0, len(sources), 64):
            out = session.run(
                signature.outputs["translation"].name,
                {
                    signature.inputs["text"].name: np.array(
                        sources[i : i + 64], dtype=object
                    )
                },
            )
            hypotheses += [t.decode("utf-8") for t in out]
    dataset_config, _ = configs.preset("multi30k")
    outside = sacrebleu.corpus_bleu(
        hypotheses,
        [references],
        tokenize=dataset_config.bleu_tokenize,
    ).score
    if not args.evaluate_only:
        print(f"pipeline wall time: {pipeline_seconds:.0f} s")
    bleu = pipeline_metrics["bleu"]
    print(f"BLEU in the pipeline (BleuEvaluator): {bleu:.4f}")
    print(f"pushed model: {model_dir}")
    print(
        "BLEU outside (pushed model, TF1 session + sacrebleu.corpus_bleu): "
        f"{outside:.4f}"
    )
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
