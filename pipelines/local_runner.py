"""Runs the pipeline locally: LocalDagRunner, ML Metadata in SQLite, Beam.

Paths under `output_dir`:

    output_dir/data/{train,eval,test}/data.csv   built-in corpus (if used)
    output_dir/data_clean/{train,eval}/data.csv  checked copy ExampleGen reads
                                   (data.tfrecord for a caption corpus)
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
import contextlib
import glob
import os
import shutil
import sys

from keras_seq_pipelines import configs

DEFAULT_BEAM_ARGS = ("--runner=DirectRunner", "--direct_num_workers=1")


def paths(output_dir, model_name="translator"):
    """Where each part of a local run lives (see the module docstring)."""
    output_dir = os.path.abspath(output_dir)
    return {
        "data_dir": os.path.join(output_dir, "data"),
        "clean_data_dir": os.path.join(output_dir, "data_clean"),
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
    eval_fraction=None,
    allow_anomalies=False,
    on_data_checked=None,
    on_recovered=None,
):
    """Builds and runs the pipeline with `LocalDagRunner`.

    Args:
        output_dir: root of everything the run writes.
        data_dir: folder with `train/` and `eval/` `*.csv`/`*.tsv` files;
            defaults to `output_dir/data` (write it first with
            `keras_seq_pipelines.data`). Only read: the data check
            (`data_check.check_data_dir`) writes its clean copy to
            `output_dir/data_clean`, which ExampleGen ingests.
        dataset_config, model_config: see `keras_seq_pipelines.configs`.
        beam_pipeline_args: Beam options for the data components.
        enable_cache: reuse outputs of unchanged components.
        eval_fraction: hold out this fraction of train as eval when
            `data_dir` has no `eval/` (in the copy).
        allow_anomalies: go on despite train/eval overlap and
            ExampleValidator anomalies.
        on_data_checked: called with `{split: DataReport}` before the
            pipeline starts.
        on_recovered: called with `recover_interrupted_runs`'s list when
            an earlier run of this output folder had been killed.

    Returns:
        the `paths(...)` dict, plus `data_reports`, `pipeline_data_dir`,
        `versions_before` (the complete versions served before the run) and
        `recovered` (executions of a killed run that were cleaned up).

    Raises:
        ValueError: the data check stopped the run (see its message), or
            another run is using `output_dir`.
    """
    from tfx import v1 as tfx

    from keras_seq_pipelines import data_check
    from keras_seq_pipelines import pipeline
    from keras_seq_serving import versions

    where = paths(output_dir, model_name)
    data_dir = os.path.abspath(data_dir or where["data_dir"])
    if dataset_config is not None and dataset_config.task == "caption":
        from keras_seq_pipelines import caption_data

        if eval_fraction is not None:
            raise ValueError(
                "--eval-fraction is for translation corpora; a caption "
                "corpus needs its own eval/ folder. Received: "
                f"eval_fraction={eval_fraction}"
            )
        data_dir, reports = caption_data.check_caption_dir(
            data_dir,
            where["clean_data_dir"],
            image_size=dataset_config.image_size,
            allow_anomalies=allow_anomalies,
        )
    else:
        data_dir, reports = data_check.check_data_dir(
            data_dir,
            where["clean_data_dir"],
            eval_fraction=eval_fraction,
            allow_anomalies=allow_anomalies,
        )
    where["data_reports"] = reports
    where["pipeline_data_dir"] = data_dir
    if on_data_checked is not None:
        on_data_checked(reports)
    where["versions_before"] = [
        v for v, _ in versions.complete_versions(where["serving_model_dir"])
    ]
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
        allow_anomalies=allow_anomalies,
    )
    with run_lock(os.path.abspath(output_dir)):
        where["recovered"] = recover_interrupted_runs(
            where["metadata_path"], where["pipeline_root"]
        )
        if on_recovered is not None and where["recovered"]:
            on_recovered(where["recovered"])
        tfx.orchestration.LocalDagRunner().run(tfx_pipeline)
    return where


LOCK_FILENAME = ".pipeline-run.lock"


@contextlib.contextmanager
def run_lock(output_dir):
    """Holds an exclusive lock on `output_dir` for one run.

    The operating system releases it when the process ends, even by
    SIGKILL, so a killed run never blocks the next one; and while it is
    held, executions left RUNNING in ML Metadata can only be a dead run's.

    Raises:
        ValueError: another run holds the lock.
    """
    import fcntl

    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, LOCK_FILENAME), "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(
                "Another `pipeline run` is using this output folder; wait "
                "for it or choose another --output-dir. Received: "
                f"output_dir={output_dir!r}"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def recover_interrupted_runs(metadata_path, pipeline_root):
    """Cleans up after a run that was killed.

    A killed component leaves its ML Metadata execution RUNNING forever and
    its output folders (`<pipeline_root>/<component>/<output>/<execution
    id>/`) empty or half written; nothing refers to them (outputs are
    recorded only when a component finishes). Call this under `run_lock`:
    each such execution is marked CANCELED and its unpublished output
    folders are removed. Finished executions, their outputs and the pushed
    versions are not touched, so the next run reuses (CACHED) everything
    that had finished and recomputes the rest.

    Returns:
        `[(component, execution id, [removed folders])]`.
    """
    if not os.path.exists(metadata_path):
        return []
    import ml_metadata as mlmd
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    store = mlmd.MetadataStore(config)
    state = metadata_store_pb2.Execution
    stale = [
        e
        for e in store.get_executions()
        if e.last_known_state in (state.NEW, state.RUNNING)
    ]
    if not stale:
        return []
    node_type = {t.id for t in store.get_context_types() if t.name == "node"}
    published = {os.path.normpath(a.uri) for a in store.get_artifacts()}
    recovered = []
    for execution in stale:
        nodes = [
            c.name.rsplit(".", 1)[-1]
            for c in store.get_contexts_by_execution(execution.id)
            if c.type_id in node_type
        ]
        removed = []
        for node in nodes:
            pattern = os.path.join(pipeline_root, node, "*", str(execution.id))
            for path in sorted(glob.glob(pattern)):
                if os.path.normpath(path) not in published:
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path)
        execution.last_known_state = state.CANCELED
        execution.custom_properties[
            "interrupted"
        ].string_value = "the run was killed; marked CANCELED by the next run"
        store.put_executions([execution])
        recovered.append((nodes[0] if nodes else "?", execution.id, removed))
    return recovered


# An input to suggest to `keras-seq translate` after a run, per corpus.
EXAMPLE_INPUTS = {
    "dates": "25 November 2026",
    "multi30k": "A man in a red shirt is riding a bike.",
}


CAPTION_DATASETS = ("shapes",)


def summarize(where, dataset="dates"):
    """Human-readable lines about a finished run: evaluation, pushed model.

    `dataset` picks the example sentence of the suggested
    `keras-seq translate` command.
    """
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
            f"{'images' if metrics.get('task') == 'caption' else 'sentences'}"
            f"; {'BLESSED' if metrics['blessed'] else 'NOT blessed'}"
            f" ({metrics['reason']})"
        )
    from keras_seq_serving import versions

    model_dir = where["serving_model_dir"]
    served = versions.complete_versions(model_dir)
    served_path = served[-1][1] if served else None
    if dataset in CAPTION_DATASETS:
        image = os.path.join(where["data_dir"], "test", "images", "000000.png")
        try_line = (
            f"Try: keras-seq caption --model-dir {model_dir} "
            f"{image if os.path.exists(image) else '<image.png>'}"
        )
    else:
        example = EXAMPLE_INPUTS.get(dataset, "<a source sentence>")
        try_line = (
            f'Try: keras-seq translate --model-dir {model_dir} "{example}"'
        )
    if metrics_files and not metrics["blessed"]:
        lines.append(
            f"The new model was NOT blessed ({metrics['reason']}), so it was "
            "not pushed."
        )
        if served_path:
            lines.append(
                f"Still served: {served_path} (pushed by an earlier run; TF "
                f"Serving base path {model_dir})"
            )
            lines.append(try_line)
        else:
            lines.append("No model is served yet.")
        return lines
    before = where.get("versions_before")
    if served_path and (before is None or served[-1][0] not in before):
        lines.append(
            f"Pushed model: {served_path} (TF Serving base path {model_dir})"
        )
        lines.append(try_line)
    elif served_path:
        lines.append(
            f"No new version pushed; still served: {served_path} (TF "
            f"Serving base path {model_dir})"
        )
        lines.append(try_line)
    else:
        lines.append("No model pushed.")
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
    parser.add_argument("--eval-fraction", type=float)
    parser.add_argument("--allow-anomalies", action="store_true")
    args = parser.parse_args(argv)
    dataset_config, model_config = configs.preset(args.dataset or "dates")
    run_local(
        args.output_dir,
        data_dir=args.data_dir,
        dataset_config=dataset_config,
        model_config=model_config,
        beam_pipeline_args=beam_args,
        eval_fraction=args.eval_fraction,
        allow_anomalies=args.allow_anomalies,
    )


if __name__ == "__main__":
    main()
