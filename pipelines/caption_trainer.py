"""The Trainer for the caption task: a keras-seq Captioner, exported.

Called by `keras_seq_pipelines.trainer.run_fn` when the corpus' task is
`"caption"` (same `fn_args.custom_config`):

1. The vocabulary Transform learned (`caption_vocab`, words split by
   `keras_seq.text.WordTokenizer`) behind the reserved ids 0-3, and a
   `WordTokenizer` over it that encodes the captions (cased, punctuation
   glued with the joiner, so the captioner's output is natural text).
2. Batches: the encoded images decoded by
   `keras_seq.datasets.decode_image_tensor` (the ops the served captioner
   runs), `target_in = [BOS] y`, `target_out = y [EOS]`, cut to
   `max_target_length`.
3. `ShowAttendTellCaptioner` (Xu et al. 2015) over an
   `ImageFeatureEncoder` CNN, inside a `keras_seq.models.Captioner`,
   trained with Adam and the masked cross-entropy under the distribution
   strategy chosen from the hardware; TensorBoard logs and
   `keras.callbacks.BackupAndRestore` (a killed Trainer resumes at the
   epoch it reached).
4. `captioner.export(serving_model_dir)`: the bytes -> caption SavedModel
   the Pusher pushes; `captioner.keras` beside the TensorBoard logs.
"""

import os

import keras
import tensorflow as tf

from keras_seq_pipelines import configs

CAPTIONER_FILENAME = "captioner.keras"
# ImageFeatureEncoder arguments among the model_kwargs; the rest go to
# ShowAttendTellCaptioner.
ENCODER_KWARGS = (
    "backbone",
    "backbone_weights",
    "feature_layer",
    "filters",
    "freeze_backbone",
    "coordinate_channels",
    "convolutions_per_block",
    "patch_size",
)


def read_examples(file_patterns):
    """`(encoded images, captions)` of transformed examples (bytes, str)."""
    from keras_seq_pipelines.trainer import read_string_features

    values = read_string_features(
        file_patterns, (configs.IMAGE_KEY, configs.CAPTION_TEXT_KEY)
    )
    captions = [c.decode("utf-8") for c in values[configs.CAPTION_TEXT_KEY]]
    return values[configs.IMAGE_KEY], captions


def build_tokenizer(tf_transform_output):
    """A cased `WordTokenizer` over the vocabulary Transform learned."""
    from keras_seq import text

    path = tf_transform_output.vocabulary_file_by_name(
        configs.CAPTION_VOCAB_NAME
    )
    with tf.io.gfile.GFile(path, "rb") as file:
        words = [
            line.rstrip(b"\n").decode("utf-8")
            for line in file
            if line.rstrip(b"\n")
        ]
    reserved = set(text.RESERVED_TOKENS)
    vocabulary = list(text.RESERVED_TOKENS) + [
        w for w in words if w not in reserved
    ]
    return text.WordTokenizer(vocabulary, lowercase=False)


def make_dataset(
    images, captions, tokenizer, dataset_config, batch_size, shuffle, seed=0
):
    """`({"images", "target_in"}, target_out)` batches."""
    from keras_seq.datasets import decode_image_tensor

    size = (dataset_config.image_size, dataset_config.image_size)
    length = dataset_config.max_target_length
    target_in = tokenizer.encode(captions, length, add_bos=True)
    target_out = tokenizer.encode(captions, length, add_eos=True)
    dataset = tf.data.Dataset.from_tensor_slices(
        (tf.constant(images, tf.string), target_in, target_out)
    )
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed)

    def to_example(image, target_in, target_out):
        return (
            {
                "images": decode_image_tensor(image, size),
                "target_in": target_in,
            },
            target_out,
        )

    return (
        dataset.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )


def build_captioner(model_config, dataset_config, tokenizer):
    """The configured `Captioner` (greedy or beam, from `model_config`)."""
    from keras_seq.layers import ImageFeatureEncoder
    from keras_seq.models import Captioner
    from keras_seq.models import ShowAttendTellCaptioner

    kwargs = dict(model_config.model_kwargs)
    encoder_kwargs = {k: kwargs.pop(k) for k in ENCODER_KWARGS if k in kwargs}
    size = dataset_config.image_size
    encoder = ImageFeatureEncoder((size, size, 3), **encoder_kwargs)
    model = ShowAttendTellCaptioner(
        encoder,
        tokenizer.vocabulary_size,
        max_caption_length=dataset_config.max_target_length,
        **kwargs,
    )
    return Captioner(
        model,
        tokenizer.vocabulary,
        strategy=model_config.decode_strategy,
        beam_width=model_config.beam_width,
        length_penalty=model_config.length_penalty,
    )


def train_and_export(
    train_files,
    eval_files,
    tf_transform_output,
    dataset_config,
    model_config,
    serving_model_dir,
    log_dir=None,
    model_name="captioner",
    distribution_strategy="auto",
    train_steps=None,
    backup_dir=None,
    verbose=2,
):
    """Trains the configured Captioner and exports it for TF Serving.

    Returns:
        `(captioner, history dict)`.
    """
    from keras_seq.metrics import MaskedSparseCategoricalCrossentropy
    from keras_seq_pipelines import trainer

    # float32 throughout: the captioner is exported as it was trained.
    strategy = trainer.setup_training(
        model_config, distribution_strategy, mixed_precision=False
    )
    tokenizer = build_tokenizer(tf_transform_output)
    train_ds = make_dataset(
        *read_examples(train_files),
        tokenizer,
        dataset_config,
        model_config.batch_size,
        shuffle=True,
        seed=model_config.seed or 0,
    )
    eval_ds = make_dataset(
        *read_examples(eval_files),
        tokenizer,
        dataset_config,
        model_config.batch_size,
        shuffle=False,
    )
    with strategy.scope():
        captioner = build_captioner(model_config, dataset_config, tokenizer)
        captioner.compile(
            keras.optimizers.Adam(model_config.learning_rate),
            MaskedSparseCategoricalCrossentropy(
                label_smoothing=model_config.label_smoothing
            ),
            jit_compile=model_config.jit_compile,
        )
    callbacks = trainer.log_and_backup_callbacks(log_dir, backup_dir)
    history = captioner.fit(
        train_ds,
        validation_data=eval_ds,
        epochs=model_config.epochs,
        steps_per_epoch=train_steps,
        callbacks=callbacks,
        verbose=verbose,
    )
    captioner.export(serving_model_dir, model_name=model_name)
    if log_dir:
        captioner.save(os.path.join(log_dir, CAPTIONER_FILENAME))
    if backup_dir:
        tf.io.gfile.rmtree(backup_dir)
    return captioner, history.history
