"""`keras-seq pipeline`: run or compile the TFX pipeline.

    keras-seq pipeline run --dataset dates --output-dir outputs/pipeline
    keras-seq pipeline run --dataset multi30k --output-dir outputs/m30k \\
        --beam-arg=--runner=FlinkRunner --beam-arg=--flink_master=host:8081
    keras-seq pipeline compile-kubeflow --output-file pipeline.json \\
        --pipeline-root gs://bucket/root --data-dir gs://bucket/data \\
        --serving-model-dir gs://bucket/serving/translator --image IMAGE

`run` trains on your corpus (`--data-dir D`: `D/train/` and `D/eval/` with
`*.csv` or `*.tsv` files, header `source,target`; for `--dataset shapes`, a
caption corpus: `captions.txt` and images in each, see
`keras_seq_pipelines.caption_data`; D is only read) or, without
`--data-dir`, on the `--dataset` corpus written to `<output-dir>/data`. The
data check writes a clean copy to `<output-dir>/data_clean` (what ExampleGen
reads) and stops on a missing or empty split, train/eval overlap or
ExampleValidator anomalies (`--allow-anomalies` to go on). Then it runs the
pipeline with LocalDagRunner (ML Metadata in `<output-dir>/metadata.sqlite`),
prints each component as it runs, the evaluation and which model is served.
"""

import dataclasses
import os
import sys
import threading
import time

from keras_seq_pipelines import configs
from keras_seq_pipelines import data


def add_arguments(parser):
    sub = parser.add_subparsers(dest="pipeline_command", required=True)
    run = sub.add_parser("run", help="run the pipeline locally")
    run.add_argument(
        "--dataset", choices=sorted(configs.PRESETS), default="dates"
    )
    run.add_argument(
        "--output-dir", default=os.path.join("outputs", "pipeline")
    )
    run.add_argument(
        "--data-dir",
        help="your corpus: a folder with train/ and eval/ holding *.csv or "
        "*.tsv files with the header source,target; only read, never "
        "written (default: the --dataset corpus, written to "
        "<output-dir>/data)",
    )
    run.add_argument(
        "--eval-fraction",
        type=float,
        default=None,
        help="with a --data-dir that has no eval/: hold out this fraction "
        "(0-1) of train/ as the eval split, seeded; made in the output "
        "folder, not in --data-dir",
    )
    run.add_argument(
        "--allow-anomalies",
        action="store_true",
        help="go on when train and eval share source sentences or "
        "ExampleValidator finds anomalies (default: stop before training)",
    )
    run.add_argument(
        "--multi30k-dir",
        default=None,
        help="raw Multi30k files (default: ../shared/data/multi30k)",
    )
    run.add_argument(
        "--num-train",
        type=int,
        default=None,
        help="training pairs written (dates: 20,000; multi30k: all 29,000; "
        "shapes: 2,000 images)",
    )
    run.add_argument(
        "--architecture",
        choices=configs.ARCHITECTURES,
        help="the translation model (default: the preset's; multi30k has a "
        "tuned recipe for each)",
    )
    run.add_argument("--epochs", type=int)
    run.add_argument("--batch-size", type=int)
    run.add_argument(
        "--batch-tokens",
        type=int,
        help="size the length buckets' batches in tokens (fairseq's "
        "--max-tokens; --batch-size stays the most pairs per batch); needs "
        "a preset with length buckets (multi30k)",
    )
    run.add_argument("--train-steps", type=int, help="steps per epoch cap")
    run.add_argument("--bleu-threshold", type=float)
    run.add_argument(
        "--model-name",
        help="name in TF Serving's <model>/<version>/ layout (default: "
        "translator, or captioner for a caption corpus)",
    )
    run.add_argument(
        "--distribution-strategy",
        choices=("auto", "mirrored", "one_device", "tpu"),
        default="auto",
    )
    run.add_argument("--jit-compile", action="store_true", help="XLA")
    run.add_argument("--no-cache", action="store_true")
    run.add_argument(
        "--beam-arg",
        action="append",
        default=None,
        help="a Beam pipeline option, repeatable (e.g. "
        "--beam-arg=--runner=SparkRunner); default: DirectRunner",
    )
    run.add_argument("--quiet", action="store_true", help="no progress")

    kfp = sub.add_parser(
        "compile-kubeflow", help="compile to a Kubeflow Pipelines V2 spec"
    )
    kfp.add_argument(
        "--dataset", choices=sorted(configs.PRESETS), default="dates"
    )
    kfp.add_argument("--output-file", required=True)
    kfp.add_argument("--pipeline-root", required=True)
    kfp.add_argument("--data-dir", required=True)
    kfp.add_argument("--serving-model-dir", required=True)
    kfp.add_argument("--image", required=True, help="container image")


class _Progress(threading.Thread):
    """Prints each component's state as ML Metadata records it.

    Polling the SQLite store (a new connection each time) works whatever
    the components do to Python logging.
    """

    def __init__(self, metadata_path, total, stream=None):
        super().__init__(daemon=True)
        self.metadata_path = metadata_path
        self.total = total
        # None: the `sys.stdout` of the moment of printing. A default of
        # `sys.stdout` would be the stream at import time, which a caller
        # may have replaced and closed since (a test's captured output).
        self.stream = stream
        self.stop = threading.Event()
        self.states = {}
        self.first_id = None

    def _executions(self):
        import ml_metadata as mlmd
        from ml_metadata.proto import metadata_store_pb2

        if not os.path.exists(self.metadata_path):
            return []
        config = metadata_store_pb2.ConnectionConfig()
        config.sqlite.filename_uri = self.metadata_path
        config.sqlite.connection_mode = 1  # READONLY
        store = mlmd.MetadataStore(config)
        names = {
            t.id: t.name.rsplit(".", 1)[-1] for t in store.get_execution_types()
        }
        state_name = metadata_store_pb2.Execution.State.Name
        return [
            (e.id, names[e.type_id], state_name(e.last_known_state), e)
            for e in sorted(store.get_executions(), key=lambda e: e.id)
        ]

    def poll(self):
        try:
            executions = self._executions()
        except Exception:  # noqa: BLE001 (store busy or not created yet)
            return
        if self.first_id is None:
            # Executions of earlier runs in the same store are not ours.
            self.first_id = max((e[0] for e in executions), default=0) + 1
            return
        for index, (eid, name, state, e) in enumerate(
            [x for x in executions if x[0] >= self.first_id], 1
        ):
            if self.states.get(eid) == state:
                continue
            self.states[eid] = state
            took = (
                e.last_update_time_since_epoch - e.create_time_since_epoch
            ) / 1000
            detail = "..." if state == "RUNNING" else f"{state} ({took:.0f} s)"
            print(
                f"[{index}/{self.total}] {name} {detail}",
                file=self.stream or sys.stdout,
                flush=True,
            )

    def run(self):
        while not self.stop.wait(1.0):
            self.poll()

    def finish(self):
        self.stop.set()
        self.join(timeout=10)
        self.poll()


def _configs(args):
    dataset_config, model_config = configs.preset(
        args.dataset, args.architecture
    )
    model_changes = {
        k: v
        for k, v in (
            ("epochs", args.epochs),
            ("batch_size", args.batch_size),
            ("batch_tokens", args.batch_tokens),
        )
        if v is not None
    }
    if args.jit_compile:
        model_changes["jit_compile"] = True
    if args.bleu_threshold is not None:
        dataset_config = dataclasses.replace(
            dataset_config, bleu_threshold=args.bleu_threshold
        )
    model_config = dataclasses.replace(model_config, **model_changes)
    if model_config.batch_tokens is not None:
        from keras_seq_pipelines import trainer

        # Before the run, not when its Trainer starts.
        trainer.batch_sizes_per_bucket(dataset_config, model_config)
    return dataset_config, model_config


def write_data(args, output_dir):
    """The corpus folder to run on: `--data-dir` (only read), or the
    `--dataset` corpus written to `<output-dir>/data`."""
    if args.data_dir:
        data_dir = os.path.abspath(args.data_dir)
        print(f"Using your corpus in {data_dir} (read only)")
        return data_dir
    if args.eval_fraction is not None:
        raise ValueError(
            "--eval-fraction splits the train/ files of your --data-dir; "
            f"the built-in {args.dataset!r} corpus has its own eval split. "
            f"Received: --eval-fraction {args.eval_fraction} without "
            "--data-dir"
        )
    data_dir = os.path.join(output_dir, "data")
    if args.dataset == "shapes":
        from keras_seq_pipelines import caption_data

        dataset_config, _ = configs.preset("shapes")
        reports = caption_data.write_shapes(
            data_dir,
            num_train=args.num_train or 2000,
            num_eval=300,
            num_test=300,
            image_size=dataset_config.image_size,
        )
    elif args.dataset == "dates":
        # The demo's corpus size: 20,000 training dates, 1,000 for
        # evaluation and 1,000 held out (data/test, for checking the pushed
        # model from outside the pipeline).
        reports = data.write_dates(
            data_dir,
            num_train=args.num_train or 20000,
            num_eval=1000,
            num_test=1000,
        )
    else:
        reports = data.write_multi30k(
            data_dir, args.multi30k_dir, max_train=args.num_train
        )
    print(
        f"Corpus {args.dataset!r} written to {data_dir}: "
        + ", ".join(f"{s} {r.written}" for s, r in reports.items())
    )
    return data_dir


def print_data_check(reports, clean_dir):
    for report in reports.values():
        if report.problems or report.overlap or report.note:
            print(f"Data check: {report.summary()}")
    print(f"Data check: clean copy for the pipeline in {clean_dir}")


def print_recovered(recovered):
    for component, execution_id, removed in recovered:
        print(
            f"An earlier run was killed during {component} (execution "
            f"{execution_id}): marked CANCELED, {len(removed)} unfinished "
            "output folders removed; it runs again, finished components are "
            "reused."
        )


def _run(args):
    from keras_seq_pipelines import local_runner

    output_dir = os.path.abspath(args.output_dir)
    dataset_config, model_config = _configs(args)
    configs.check_task(dataset_config, model_config)
    data_dir = write_data(args, output_dir)
    if args.model_name is None:
        args.model_name = (
            "captioner" if dataset_config.task == "caption" else "translator"
        )
    where = local_runner.paths(output_dir, args.model_name)
    progress = _Progress(
        where["metadata_path"], total=len(pipeline_component_ids())
    )
    if not args.quiet:
        progress.poll()  # remembers where this run's executions start
        progress.start()
    start = time.time()
    try:
        where = local_runner.run_local(
            output_dir,
            data_dir=data_dir,
            dataset_config=dataset_config,
            model_config=model_config,
            model_name=args.model_name,
            beam_pipeline_args=(
                args.beam_arg or local_runner.DEFAULT_BEAM_ARGS
            ),
            enable_cache=not args.no_cache,
            train_steps=args.train_steps,
            distribution_strategy=args.distribution_strategy,
            eval_fraction=args.eval_fraction,
            allow_anomalies=args.allow_anomalies,
            on_data_checked=lambda reports: print_data_check(
                reports, where["clean_data_dir"]
            ),
            on_recovered=print_recovered,
        )
    finally:
        if not args.quiet:
            progress.finish()
    print(f"Pipeline finished in {time.time() - start:.0f} s.")
    summary = local_runner.summarize(where, args.dataset)
    for line in summary:
        print(line)
    return 0


def pipeline_component_ids():
    # The list lives with the pipeline (imported on `run` only).
    from keras_seq_pipelines import pipeline

    return pipeline.COMPONENT_IDS


def _compile_kubeflow(args):
    from keras_seq_pipelines import kubeflow_v2_runner

    dataset_config, model_config = configs.preset(args.dataset)
    path = kubeflow_v2_runner.compile_pipeline(
        output_file=args.output_file,
        pipeline_root=args.pipeline_root,
        data_dir=args.data_dir,
        serving_model_dir=args.serving_model_dir,
        image=args.image,
        dataset_config=dataset_config,
        model_config=model_config,
    )
    print(f"Kubeflow Pipelines V2 spec written to {path}")
    return 0


def _quiet_logs(verbose):
    """TFX, Beam and TensorFlow log warnings meant for their developers
    (deprecations, unsupported query fields): keep them out of the
    progress lines unless --verbose."""
    if verbose:
        return
    import logging

    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)
    # Beam warns on the root logger at import ("crcmod package not found").
    for name in ("", "tensorflow", "apache_beam", "tfx"):
        logging.getLogger(name).setLevel(logging.ERROR)


def run(args):
    _quiet_logs(getattr(args, "verbose", False))
    if args.pipeline_command == "run":
        return _run(args)
    return _compile_kubeflow(args)
