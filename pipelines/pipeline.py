"""The keras-seq TFX pipeline, as a pure function.

    CsvExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator
    (ImportExampleGen of tf.Examples for a caption corpus)
                  -> AnomaliesGate (stops the run on anomalies)
                  -> Transform (tensorflow-text tokens, vocabularies)
                  -> Trainer (keras-seq model, SavedModel export)
    latest blessed model (Resolver, ML Metadata)
                  -> BleuEvaluator (corpus BLEU, blessing)
                  -> Pusher (atomic: temporary folder, then rename)

`create_pipeline` only wires components; runners (local_runner.py,
kubeflow_v2_runner.py) resolve paths and pick the orchestrator.
"""

import os

from tfx import v1 as tfx
from tfx.dsl.components.base import executor_spec

from keras_seq_pipelines import configs
from keras_seq_pipelines import data
from keras_seq_pipelines.evaluation import BleuEvaluator
from keras_seq_pipelines.gates import AnomaliesGate
from keras_seq_pipelines.pusher import AtomicPusherExecutor

_HERE = os.path.dirname(os.path.abspath(__file__))
PREPROCESSING_MODULE_FILE = os.path.join(_HERE, "preprocessing.py")
TRAINER_MODULE_FILE = os.path.join(_HERE, "trainer.py")
# The same functions by dotted name, for installed (container) runs.
PREPROCESSING_FN = "keras_seq_pipelines.preprocessing.preprocessing_fn"
RUN_FN = "keras_seq_pipelines.trainer.run_fn"

COMPONENT_IDS = (
    "CsvExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "ExampleValidator",
    "AnomaliesGate",
    "Transform",
    "Trainer",
    "latest_blessed_model_resolver",
    "BleuEvaluator",
    "Pusher",
)


def _example_gen(data_dir, task):
    """CSV text pairs (translation) or the tf.Example TFRecords of
    `caption_data.check_caption_dir` (captions: encoded image + text)."""
    if task == "caption":
        from keras_seq_pipelines import caption_data

        component, pattern = (
            tfx.components.ImportExampleGen,
            (caption_data.TFRECORD_FILENAME),
        )
    else:
        component, pattern = tfx.components.CsvExampleGen, "*.csv"
    return component(
        input_base=data_dir,
        input_config=tfx.proto.Input(
            splits=[
                tfx.proto.Input.Split(name=split, pattern=f"{split}/{pattern}")
                for split in (data.TRAIN_SPLIT, data.EVAL_SPLIT)
            ]
        ),
    )


def create_pipeline(
    pipeline_name,
    pipeline_root,
    data_dir,
    serving_model_dir,
    dataset_config=None,
    model_config=None,
    model_name="translator",
    metadata_connection_config=None,
    beam_pipeline_args=None,
    enable_cache=True,
    train_steps=None,
    preprocessing_module_file=PREPROCESSING_MODULE_FILE,
    trainer_module_file=TRAINER_MODULE_FILE,
    distribution_strategy="auto",
    use_installed_modules=False,
    allow_anomalies=False,
):
    """Builds the pipeline.

    Args:
        pipeline_name: name recorded in ML Metadata.
        pipeline_root: folder (or bucket path) for component outputs.
        data_dir: folder with `train/*.csv` and `eval/*.csv` (header
            `source,target`), as written by `keras_seq_pipelines.data`; for
            a caption corpus `train/data.tfrecord` and `eval/data.tfrecord`
            (`caption_data.check_caption_dir`).
        serving_model_dir: Pusher destination; blessed models land in
            `serving_model_dir/<version>/`, so pass `<base>/<model_name>` for
            TF Serving's `<model_name>/<version>/` layout.
        dataset_config: `configs.DatasetConfig` (tokenization, lengths,
            BLEU threshold). Defaults to the date corpus preset.
        model_config: `configs.ModelConfig`. Defaults to the date preset.
        model_name: model name written in the warm-up requests.
        metadata_connection_config: ML Metadata connection (None lets the
            orchestrator decide, e.g. Kubeflow).
        beam_pipeline_args: Beam options for the data components, e.g.
            `["--runner=DirectRunner", "--direct_num_workers=1"]` or
            `["--runner=FlinkRunner", "--flink_master=host:8081"]`.
        enable_cache: reuse outputs of components whose inputs did not change.
        train_steps: optional cap on training steps per epoch.
        preprocessing_module_file: Transform module file.
        trainer_module_file: Trainer module file.
        distribution_strategy: `"auto"` (from the hardware), `"mirrored"`,
            `"one_device"` or `"tpu"`.
        use_installed_modules: reference `keras_seq_pipelines.preprocessing`
            and `keras_seq_pipelines.trainer` by dotted name (they must be
            installed where the components run, e.g. in the container
            image) instead of
            packaging the module files as a wheel under `pipeline_root`.
        allow_anomalies: let the run go on when ExampleValidator finds
            anomalies (`AnomaliesGate` logs them); by default the run stops
            before Transform.

    Returns:
        `tfx.dsl.Pipeline`.
    """
    default_dataset, default_model = configs.preset("dates")
    dataset_config = dataset_config or default_dataset
    model_config = model_config or default_model
    configs.check_task(dataset_config, model_config)

    example_gen = _example_gen(data_dir, dataset_config.task)
    statistics_gen = tfx.components.StatisticsGen(
        examples=example_gen.outputs["examples"]
    )
    # VarLen features (no inferred shape): a row whose field is empty has no
    # value, and Transform must see it as an empty sentence, not fail.
    schema_gen = tfx.components.SchemaGen(
        statistics=statistics_gen.outputs["statistics"],
        infer_feature_shape=False,
    )
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"],
        schema=schema_gen.outputs["schema"],
    )
    anomalies_gate = AnomaliesGate(
        anomalies=example_validator.outputs["anomalies"],
        allow_anomalies=allow_anomalies,
    )
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        custom_config=dataset_config.to_dict(),
        **(
            {"preprocessing_fn": PREPROCESSING_FN}
            if use_installed_modules
            else {"module_file": preprocessing_module_file}
        ),
    )
    trainer = tfx.components.Trainer(
        **(
            {"run_fn": RUN_FN}
            if use_installed_modules
            else {"module_file": trainer_module_file}
        ),
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(
            splits=[data.TRAIN_SPLIT], num_steps=train_steps
        ),
        eval_args=tfx.proto.EvalArgs(splits=[data.EVAL_SPLIT]),
        custom_config={
            "dataset": dataset_config.to_dict(),
            "model": model_config.to_dict(),
            "model_name": model_name,
            "distribution_strategy": distribution_strategy,
            # Outlives a killed Trainer execution, so its rerun resumes.
            "backup_root": os.path.join(pipeline_root, "trainer_backup"),
        },
    )
    # Nothing is trained on data with anomalies (unless allowed).
    transform.add_upstream_node(anomalies_gate)
    trainer.add_upstream_node(anomalies_gate)
    model_resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(
            type=tfx.types.standard_artifacts.ModelBlessing
        ),
    ).with_id("latest_blessed_model_resolver")
    evaluator = BleuEvaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_blessing=model_resolver.outputs["model_blessing"],
        bleu_threshold=dataset_config.bleu_threshold,
        bleu_tokenize=dataset_config.bleu_tokenize,
        eval_split=data.EVAL_SPLIT,
        task=dataset_config.task,
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(
                base_directory=serving_model_dir
            )
        ),
        # Writes `<version>` atomically (see pusher.py).
        custom_executor_spec=executor_spec.ExecutorClassSpec(
            AtomicPusherExecutor
        ),
    )
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            example_validator,
            anomalies_gate,
            transform,
            trainer,
            model_resolver,
            evaluator,
            pusher,
        ],
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(beam_pipeline_args or []),
    )
