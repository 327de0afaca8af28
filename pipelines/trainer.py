"""Trainer module file: trains a keras-seq translator and exports it.

TFX's Trainer calls `run_fn(fn_args)`; `fn_args.custom_config` holds
`{"dataset": DatasetConfig dict, "model": ModelConfig dict, "model_name",
"distribution_strategy"}` (see pipelines/pipeline.py). The model is a
keras-seq model built from that configuration:

- `"rnn"`: `keras_seq.models.RNNSeq2Seq` (Luong attention by default),
- `"transformer"`: `keras_seq.models.TransformerSeq2Seq`,

trained teacher-forced on Transform's output (`source_ids`, `target_in` ->
`target_out`, the batch format of docs/design.md) under a distribution
strategy chosen from the hardware, then exported by
`keras_seq_serving.export.export_translator` with the Transform graph inside.

`train_and_export` does the same outside TFX (tests, benchmarks).
"""

import glob
import json
import os

import keras
import tensorflow as tf

from keras_seq_pipelines import configs
from keras_seq_pipelines import distribution
from keras_seq_serving import export


def _expand(patterns):
    files = []
    for pattern in patterns if isinstance(patterns, list) else [patterns]:
        if os.path.isdir(pattern):
            pattern = os.path.join(pattern, "*")
        files.extend(sorted(glob.glob(pattern)))
    if not files:
        raise ValueError(
            "No transformed examples found. Received: "
            f"file_patterns={patterns!r}"
        )
    return files


def make_dataset(
    file_patterns, tf_transform_output, batch_size, shuffle=False, seed=0
):
    """Batches in the seq2seq format of docs/design.md.

    Args:
        file_patterns: glob(s) or folder(s) of Transform's gzipped
            TFRecords (`transformed_examples/Split-*`).
        tf_transform_output: `tft.TFTransformOutput`.
        batch_size: global batch size.
        shuffle: shuffle the examples (training).

    Returns:
        `tf.data.Dataset` of `({"source_ids", "target_in"}, target_out)`,
        int32 tensors `(batch_size, length)`.
    """
    spec = tf_transform_output.transformed_feature_spec()
    keys = (
        configs.SOURCE_IDS_KEY,
        configs.TARGET_IN_KEY,
        configs.TARGET_OUT_KEY,
    )
    spec = {key: spec[key] for key in keys}
    files = _expand(file_patterns)
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    if shuffle:
        dataset = dataset.shuffle(10000, seed=seed)

    def parse(records):
        features = tf.io.parse_example(records, spec)
        ids = {k: tf.cast(v, tf.int32) for k, v in features.items()}
        inputs = {
            configs.SOURCE_IDS_KEY: ids[configs.SOURCE_IDS_KEY],
            configs.TARGET_IN_KEY: ids[configs.TARGET_IN_KEY],
        }
        return inputs, ids[configs.TARGET_OUT_KEY]

    return dataset.batch(batch_size).map(parse).prefetch(tf.data.AUTOTUNE)


def build_model(
    model_config, dataset_config, source_vocabulary_size, target_vocabulary_size
):
    """The keras-seq model named by `model_config.architecture`."""
    from keras_seq import models

    kwargs = dict(model_config.model_kwargs)
    kwargs.setdefault("max_source_length", dataset_config.max_source_length)
    kwargs.setdefault("max_target_length", dataset_config.max_target_length)
    if model_config.architecture == "rnn":
        kwargs.setdefault("attention", "luong")
        cls = models.RNNSeq2Seq
    else:
        cls = models.TransformerSeq2Seq
    return cls(
        source_vocabulary_size=source_vocabulary_size,
        target_vocabulary_size=target_vocabulary_size,
        **kwargs,
    )


def compile_model(model, model_config):
    """Adam, masked cross-entropy and masked accuracy (PAD ignored)."""
    from keras_seq import metrics

    model.compile(
        optimizer=keras.optimizers.Adam(model_config.learning_rate),
        loss=metrics.MaskedSparseCategoricalCrossentropy(from_logits=True),
        metrics=[metrics.MaskedAccuracy()],
        jit_compile=model_config.jit_compile,
    )
    return model


def vocabulary_sizes(tf_transform_output):
    """`(source, target)` vocabulary sizes including the 4 reserved ids."""
    reserved = 4
    return tuple(
        reserved + tf_transform_output.vocabulary_size_by_name(name)
        for name in (configs.SOURCE_VOCAB_NAME, configs.TARGET_VOCAB_NAME)
    )


def train_and_export(
    train_files,
    eval_files,
    tf_transform_output,
    dataset_config,
    model_config,
    serving_model_dir,
    log_dir=None,
    model_name="translator",
    distribution_strategy="auto",
    train_steps=None,
    verbose=2,
):
    """Trains the configured model and exports it for TF Serving.

    Returns:
        `(model, history dict)`.
    """
    if model_config.seed is not None:
        # Same seed, same weights, dropout masks and example order: a
        # pipeline run can be repeated (on one device; GPU kernels may
        # still differ in the last bits).
        keras.utils.set_random_seed(model_config.seed)
    strategy = distribution.select_strategy(distribution_strategy)
    distribution.check_jit_compile(strategy, model_config.jit_compile)
    policy = distribution.configure_mixed_precision(
        model_config.mixed_precision
    )
    train_ds = make_dataset(
        train_files,
        tf_transform_output,
        model_config.batch_size,
        True,
        seed=model_config.seed,
    )
    eval_ds = make_dataset(
        eval_files, tf_transform_output, model_config.batch_size
    )
    source_size, target_size = vocabulary_sizes(tf_transform_output)
    with strategy.scope():
        model = build_model(
            model_config, dataset_config, source_size, target_size
        )
        compile_model(model, model_config)
    callbacks = []
    if log_dir:
        callbacks.append(keras.callbacks.TensorBoard(log_dir))
    history = model.fit(
        train_ds,
        validation_data=eval_ds,
        epochs=model_config.epochs,
        steps_per_epoch=train_steps,
        callbacks=callbacks,
        verbose=verbose,
    )
    # Export in float32 so the SavedModel runs the same on any server.
    keras.config.set_dtype_policy("float32")
    del policy
    export.export_translator(
        model,
        tf_transform_output,
        serving_model_dir,
        tokenization=dataset_config.tokenization,
        max_decode_length=dataset_config.max_target_length,
        beam_width=model_config.beam_width,
        model_name=model_name,
        source_key=configs.SOURCE_KEY,
        source_ids_key=configs.SOURCE_IDS_KEY,
        target_vocab_name=configs.TARGET_VOCAB_NAME,
        max_length_key=configs.TARGET_OUT_KEY,
    )
    return model, history.history


def run_fn(fn_args):
    """TFX Trainer entry point."""
    import tensorflow_transform as tft

    custom = fn_args.custom_config or {}
    dataset_config = configs.DatasetConfig(**custom.get("dataset", {}))
    model_config = configs.ModelConfig(**custom.get("model", {}))
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    _, history = train_and_export(
        fn_args.train_files,
        fn_args.eval_files,
        tf_transform_output,
        dataset_config,
        model_config,
        fn_args.serving_model_dir,
        log_dir=fn_args.model_run_dir,
        model_name=custom.get("model_name", "translator"),
        distribution_strategy=custom.get("distribution_strategy", "auto"),
        train_steps=fn_args.train_steps or None,
    )
    with tf.io.gfile.GFile(
        os.path.join(fn_args.model_run_dir, "history.json"), "w"
    ) as f:
        history = {k: [float(x) for x in v] for k, v in history.items()}
        f.write(json.dumps(history))
