"""Runs the pipeline locally: LocalDagRunner, ML Metadata in SQLite, Beam.

Paths under `output_dir`:

    output_dir/data/{train,eval,test}/data.csv   corpus written for ExampleGen
    output_dir/tfx/                              component outputs
    output_dir/metadata.sqlite                   ML Metadata
    output_dir/serving/<model_name>/<version>/   pushed (blessed) SavedModels

Beam options pass through unchanged, so the data components scale out with
`--runner=FlinkRunner`, `--runner=SparkRunner` or `--runner=DataflowRunner`
(plus that runner's own options); the default is the in-process
DirectRunner.

    python -m keras_seq_pipelines.local_runner --dataset dates \\
        --output-dir out \\
        -- --runner=DirectRunner --direct_num_workers=1
"""

import argparse
import os
import sys

from keras_seq_pipelines import configs

DEFAULT_BEAM_ARGS = ("--runner=DirectRunner", "--direct_num_workers=1")


def paths(output_dir, model_name="translator"):
    """Where each part of a local run lives (see the module docstring)."""
    output_dir = os.path.abspath(output_dir)
    return {
        "data_dir": os.path.join(output_dir, "data"),
        "pipeline_root": os.path.join(output_dir, "tfx"),
        "metadata_path": os.path.join(output_dir, "metadata.sqlite"),
        "serving_base_dir": os.path.join(output_dir, "serving"),
        "serving_model_dir": os.path.join(output_dir, "serving", model_name),
    }


def run_local(
    output_dir,
    data_dir=None,
    dataset_config=None,
    model_config=None,
    pipeline_name="keras-seq",
    model_name="translator",
    beam_pipeline_args=DEFAULT_BEAM_ARGS,
    enable_cache=True,
    train_steps=None,
    distribution_strategy="auto",
):
    """Builds and runs the pipeline with `LocalDagRunner`.

    Args:
        output_dir: root of everything the run writes.
        data_dir: folder with `train/*.csv` and `eval/*.csv`; defaults to
            `output_dir/data` (write it first with `keras_seq_pipelines.data`).
        dataset_config, model_config: see `keras_seq_pipelines.configs`.
        beam_pipeline_args: Beam options for the data components.
        enable_cache: reuse outputs of unchanged components.

    Returns:
        the `paths(...)` dict.
    """
    from tfx import v1 as tfx

    from keras_seq_pipelines import data
    from keras_seq_pipelines import pipeline

    where = paths(output_dir, model_name)
    data_dir = data_dir or where["data_dir"]
    # Bad rows (non-UTF-8 bytes, malformed, empty, over-long) are repaired
    # or skipped into a clean copy, with a report, instead of failing
    # ExampleGen.
    data_dir, reports = data.prepare_data_dir(
        data_dir, os.path.join(os.path.abspath(output_dir), "data_clean")
    )
    where["data_reports"] = reports
    where["pipeline_data_dir"] = data_dir
    os.makedirs(output_dir, exist_ok=True)
    tfx_pipeline = pipeline.create_pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=where["pipeline_root"],
        data_dir=data_dir,
        serving_model_dir=where["serving_model_dir"],
        dataset_config=dataset_config,
        model_config=model_config,
        model_name=model_name,
        metadata_connection_config=(
            tfx.orchestration.metadata.sqlite_metadata_connection_config(
                where["metadata_path"]
            )
        ),
        beam_pipeline_args=list(beam_pipeline_args or []),
        enable_cache=enable_cache,
        train_steps=train_steps,
        distribution_strategy=distribution_strategy,
    )
    tfx.orchestration.LocalDagRunner().run(tfx_pipeline)
    return where


# An input to suggest to `keras-seq translate` after a run, per corpus.
EXAMPLE_INPUTS = {
    "dates": "25 November 2026",
    "multi30k": "A man in a red shirt is riding a bike.",
}


def summarize(where, dataset="dates"):
    """Human-readable lines about a finished run: evaluation, pushed model.

    `dataset` picks the example sentence of the suggested
    `keras-seq translate` command.
    """
    import glob
    import json

    lines = []
    metrics_files = sorted(
        glob.glob(
            os.path.join(
                where["pipeline_root"],
                "BleuEvaluator",
                "evaluation",
                "*",
                "metrics.json",
            )
        ),
        key=os.path.getmtime,
    )
    if metrics_files:
        with open(metrics_files[-1]) as f:
            metrics = json.load(f)
        lines.append(
            f"Evaluation: BLEU {metrics['bleu']:.2f}, exact match "
            f"{metrics['exact_match']:.1%} on {metrics['num_examples']} "
            f"sentences; {'BLESSED' if metrics['blessed'] else 'NOT blessed'}"
            f" ({metrics['reason']})"
        )
    model_dir = where["serving_model_dir"]
    versions = (
        sorted((v for v in os.listdir(model_dir) if v.isdigit()), key=int)
        if os.path.isdir(model_dir)
        else []
    )
    if versions:
        lines.append(
            f"Pushed model: {os.path.join(model_dir, versions[-1])} "
            f"(TF Serving base path {model_dir})"
        )
        example = EXAMPLE_INPUTS.get(dataset, "<a source sentence>")
        lines.append(
            f'Try: keras-seq translate --model-dir {model_dir} "{example}"'
        )
    else:
        lines.append("No model pushed (not blessed).")
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    beam_args = list(DEFAULT_BEAM_ARGS)
    if "--" in argv:
        cut = argv.index("--")
        argv, beam_args = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(configs.PRESETS))
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--output-dir", required=True)
    args = parser.parse_args(argv)
    dataset_config, model_config = configs.preset(args.dataset or "dates")
    run_local(
        args.output_dir,
        data_dir=args.data_dir,
        dataset_config=dataset_config,
        model_config=model_config,
        beam_pipeline_args=beam_args,
    )


if __name__ == "__main__":
    main()
