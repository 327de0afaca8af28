"""SavedModel export of a keras-seq translator for TF Serving.

The exported graph holds the whole path from raw text to raw text:

    UTF-8 strings -> TF Transform graph (tensorflow-text tokens, vocabulary
    ids) -> keras-seq model: encoder + decoding loop (`model.generate`)
    -> target vocabulary lookup -> detokenized strings

Signatures (all take a batch, the first dimension is free):

- `serving_default`: `text` `(batch,)` string -> `translation` `(batch,)`
  string, `token_ids` `(batch, L)` int32, `lengths` `(batch,)` int32,
  `scores` `(batch,)` float32 (sum of token log-probabilities), greedy.
- `n_best` (when the model decodes with beam search and `beam_width > 1`):
  `text` -> `translations` `(batch, beam_width)` string, `scores`
  `(batch, beam_width)` float32, best first.
- `translate_examples`: `examples` `(batch,)` serialized `tf.Example` with
  the raw `source` feature -> `translation`, for evaluation tools that feed
  tf.Examples.

Layout: `<base_dir>/<model_name>/<version>/` with `saved_model.pb`,
`variables/` and `assets.extra/tf_serving_warmup_requests` (PredictionLog
records TF Serving replays at load time).

The model is exported with `keras.export.ExportArchive` (Keras 3): a
`tf.Module` holding a Keras 3 model saved with `tf.saved_model.save` does not
restore through the TF1 session API that TF Serving uses. The TF Transform
layer (a Keras 2 object) is tracked by the archive and applied inside the
endpoint functions, not inside the Keras 3 model.
"""

import os
import time

import keras
import tensorflow as tf

from keras_seq.text import special_tokens

TOKENIZATIONS = ("char", "word")
TEXT_INPUT = "text"
EXAMPLES_INPUT = "examples"
WARMUP_FILENAME = "tf_serving_warmup_requests"
DEFAULT_WARMUP_SENTENCES = (
    "25 November 2026",
    "a man is riding a bicycle.",
    "",
)


def export_translator(
    model,
    tf_transform_output,
    export_dir,
    tokenization="word",
    max_decode_length=None,
    beam_width=1,
    model_name="translator",
    warmup_sentences=DEFAULT_WARMUP_SENTENCES,
    source_key="source",
    source_ids_key="source_ids",
    target_vocab_name="target_vocab",
    max_length_key="target_out",
):
    """Writes the SavedModel described in the module docstring.

    Args:
        model: a built keras-seq seq2seq model with `generate()`.
        tf_transform_output: `tft.TFTransformOutput` of the Transform run
            whose vocabularies the model was trained on.
        export_dir: SavedModel folder (e.g. `<base>/<model_name>/<version>`).
        tokenization: `"word"` (join target tokens with spaces) or `"char"`
            (join without separator), as in the `DatasetConfig`.
        max_decode_length: tokens generated at most (EOS included); defaults
            to the `target_out` length of the transformed data.
        beam_width: > 1 adds the `n_best` signature (beam search).
        model_name: TF Serving model name written in the warm-up requests.
        warmup_sentences: sentences of the warm-up request (None: none).
        source_key: raw source feature name of the Transform graph.
        source_ids_key: its transformed source ids feature.
        target_vocab_name: name of the target vocabulary in Transform.
        max_length_key: transformed feature whose length is the default
            `max_decode_length`.

    Returns:
        `export_dir`.
    """
    if tokenization not in TOKENIZATIONS:
        raise ValueError(
            f"`tokenization` must be one of {TOKENIZATIONS}. "
            f"Received: tokenization={tokenization!r}"
        )
    if not isinstance(beam_width, int) or beam_width < 1:
        raise ValueError(
            "`beam_width` must be an int >= 1. "
            f"Received: beam_width={beam_width!r}"
        )
    feature_spec = tf_transform_output.transformed_feature_spec()
    if max_decode_length is None:
        max_decode_length = int(feature_spec[max_length_key].shape[0])
    raw_spec = tf_transform_output.raw_feature_spec()
    source_spec = raw_spec[source_key]
    separator = "" if tokenization == "char" else " "
    vocabulary = list(special_tokens.RESERVED_TOKENS) + [
        token.decode("utf-8", errors="replace")
        for token in tf_transform_output.vocabulary_by_name(target_vocab_name)
    ]

    tft_layer = tf_transform_output.transform_features_layer()
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(tft_layer)

    def source_ids_of(raw_source):
        features = tft_layer({source_key: raw_source})
        return tf.cast(features[source_ids_key], tf.int32)

    def translate(text):
        source_ids = source_ids_of(_raw_text_feature(text, source_spec))
        outputs = model.generate(
            source_ids,
            strategy="greedy",
            max_length=max_decode_length,
            record_aux=False,
        )
        token_ids = tf.cast(outputs["token_ids"], tf.int32)
        return {
            "translation": detokenize(token_ids, vocabulary, separator),
            "token_ids": token_ids,
            "lengths": tf.cast(outputs["lengths"], tf.int32),
            "scores": tf.cast(outputs["scores"], tf.float32),
        }

    archive.add_endpoint(
        "serving_default",
        translate,
        input_signature=[tf.TensorSpec([None], tf.string, name=TEXT_INPUT)],
    )

    if beam_width > 1:

        def n_best(text):
            source_ids = source_ids_of(_raw_text_feature(text, source_spec))
            outputs = model.generate(
                source_ids,
                strategy="beam",
                max_length=max_decode_length,
                beam_width=beam_width,
                num_return_sequences=beam_width,
                record_aux=False,
            )
            token_ids = tf.cast(outputs["token_ids"], tf.int32)
            # (batch, beam, L) -> (batch * beam, L) -> (batch, beam)
            shape = tf.shape(token_ids)
            flat = tf.reshape(token_ids, [-1, shape[2]])
            translations = tf.reshape(
                detokenize(flat, vocabulary, separator), shape[:2]
            )
            return {
                "translations": translations,
                "scores": tf.cast(outputs["scores"], tf.float32),
            }

        archive.add_endpoint(
            "n_best",
            n_best,
            input_signature=[tf.TensorSpec([None], tf.string, name=TEXT_INPUT)],
        )

    def translate_examples(examples):
        parsed = tf.io.parse_example(examples, {source_key: source_spec})
        return {"translation": translate_parsed(parsed[source_key])}

    def translate_parsed(raw_source):
        source_ids = source_ids_of(raw_source)
        outputs = model.generate(
            source_ids,
            strategy="greedy",
            max_length=max_decode_length,
            record_aux=False,
        )
        return detokenize(
            tf.cast(outputs["token_ids"], tf.int32), vocabulary, separator
        )

    archive.add_endpoint(
        "translate_examples",
        translate_examples,
        input_signature=[tf.TensorSpec([None], tf.string, name=EXAMPLES_INPUT)],
    )
    archive.write_out(export_dir, verbose=False)
    if warmup_sentences:
        write_warmup_requests(export_dir, model_name, list(warmup_sentences))
    return export_dir


def _raw_text_feature(text, spec):
    """`(batch,)` strings in the layout the Transform graph was fed.

    ExampleGen's schema decides it: VarLen (a sparse tensor with one value
    per row, empty strings kept) or fixed length `[]`/`[1]`.
    """
    if isinstance(spec, tf.io.VarLenFeature):
        batch = tf.shape(text, out_type=tf.int64)[0]
        rows = tf.range(batch, dtype=tf.int64)
        return tf.SparseTensor(
            indices=tf.stack([rows, tf.zeros_like(rows)], axis=1),
            values=text,
            dense_shape=tf.stack([batch, tf.constant(1, tf.int64)]),
        )
    if isinstance(spec, tf.io.FixedLenFeature) and list(spec.shape) == [1]:
        return tf.expand_dims(text, 1)
    return text


def detokenize(token_ids, vocabulary, separator):
    """Target ids -> strings, stopping at EOS.

    Args:
        token_ids: `(batch, L)` int32, reserved ids per docs/design.md.
        vocabulary: list of `str`, index = id (reserved tokens first).
        separator: string put between tokens ("" for characters).

    Returns:
        `(batch,)` string tensor. [UNK] is kept as the text "[UNK]"; PAD,
        BOS, EOS and everything after the first EOS are dropped.
    """
    table = tf.constant(vocabulary)
    ids = tf.clip_by_value(token_ids, 0, len(vocabulary) - 1)
    is_eos = tf.equal(ids, special_tokens.EOS_ID)
    # Positions at or after the first EOS.
    ended = tf.cumsum(tf.cast(is_eos, tf.int32), axis=1) > 0
    keep = tf.logical_and(
        tf.logical_not(ended),
        tf.logical_or(
            ids >= len(special_tokens.RESERVED_TOKENS),
            tf.equal(ids, special_tokens.UNK_ID),
        ),
    )
    tokens = tf.ragged.boolean_mask(tf.gather(table, ids), keep)
    return tf.strings.reduce_join(tokens, axis=1, separator=separator)


def write_warmup_requests(export_dir, model_name, sentences):
    """Writes `assets.extra/tf_serving_warmup_requests` (PredictionLog)."""
    from tensorflow_serving.apis import model_pb2
    from tensorflow_serving.apis import predict_pb2
    from tensorflow_serving.apis import prediction_log_pb2

    directory = os.path.join(export_dir, "assets.extra")
    tf.io.gfile.makedirs(directory)
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(
            name=model_name, signature_name="serving_default"
        )
    )
    request.inputs[TEXT_INPUT].CopyFrom(
        tf.make_tensor_proto(
            [s.encode("utf-8") for s in sentences], dtype=tf.string
        )
    )
    log = prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)
    )
    path = os.path.join(directory, WARMUP_FILENAME)
    with tf.io.TFRecordWriter(path) as writer:
        writer.write(log.SerializeToString())
    return path


def versioned_export_dir(base_dir, model_name, version=None):
    """`<base_dir>/<model_name>/<version>`; version defaults to Unix time."""
    if not model_name or "/" in model_name:
        raise ValueError(
            "`model_name` must be a non-empty name without '/'. "
            f"Received: model_name={model_name!r}"
        )
    version = int(time.time()) if version is None else version
    if not isinstance(version, int) or version < 0:
        raise ValueError(
            "`version` must be a non-negative int (TF Serving reads numeric "
            f"version folders). Received: version={version!r}"
        )
    return os.path.join(base_dir, model_name, str(version))
