"""Transform module file: raw text -> padded token ids with reserved ids.

TFX's Transform component imports this file by path and calls
`preprocessing_fn(inputs, custom_config)`, where `custom_config` is
`keras_seq_pipelines.configs.DatasetConfig.to_dict()`. The same graph is
saved by Transform and applied again inside the serving signature
(serving/export.py), so training and serving tokenize identically.

Token ids follow docs/design.md: PAD 0, UNK 1, BOS 2, EOS 3; the vocabulary
computed by `tft.compute_and_apply_vocabulary` (most frequent first) starts at
id 4. Outputs, padded with 0 to a fixed length:

- `source_ids` `(batch, max_source_length)`: source tokens, truncated.
- `target_in` `(batch, max_target_length)`: `[BOS] y_1 .. y_n`.
- `target_out` `(batch, max_target_length)`: `y_1 .. y_n [EOS]`.
- `source_length`, `target_length` `(batch,)`: token counts BEFORE
  truncation, so over-long lines show up in the transformed statistics.

Bad rows never stop the run: a missing or empty field becomes an empty
sentence, bytes that are not UTF-8 are replaced by U+FFFD, over-long
sentences are truncated.
"""

import tensorflow as tf
import tensorflow_text as tf_text
import tensorflow_transform as tft

from keras_seq.text.special_tokens import BOS_ID
from keras_seq.text.special_tokens import EOS_ID
from keras_seq.text.special_tokens import PAD_ID
from keras_seq.text.special_tokens import RESERVED_TOKENS
from keras_seq.text.special_tokens import UNK_ID
from keras_seq_pipelines import configs

NUM_RESERVED_IDS = len(RESERVED_TOKENS)

# Punctuation and symbols become tokens of their own in word mode; `\pL`
# and `\pN` (RE2 Unicode classes) keep letters such as "ü" inside words.
_PUNCTUATION = r"([^\pL\pN\s])"


def as_text_vector(feature):
    """Returns a `(batch,)` string tensor from a raw feature in any layout.

    ExampleGen gives one value per row, but a row with an empty or missing
    field gives no value at all, so the feature can arrive as a
    `SparseTensor`/`RaggedTensor` (VarLen in the schema) or a dense
    `(batch, 1)` tensor. Missing values become "".
    """
    if isinstance(feature, tf.SparseTensor):
        feature = tf.sparse.to_dense(feature, default_value="")
    elif isinstance(feature, tf.RaggedTensor):
        feature = feature.to_tensor(default_value="")
    if feature.shape.rank == 1:
        return feature
    if feature.shape.rank != 2:
        raise ValueError(
            "A raw text feature must have rank 1 or 2. "
            f"Received: feature.shape={feature.shape}"
        )
    # Appending an empty column gives rows without any value a "".
    padded = tf.concat([feature, tf.fill([tf.shape(feature)[0], 1], "")], 1)
    return padded[:, 0]


def clean_text(text, lowercase=True):
    """Valid, NFKC-normalized, optionally case-folded text, spaces collapsed.

    Args:
        text: `(batch,)` string tensor, possibly with invalid UTF-8.
        lowercase: case-fold with tensorflow-text.

    Returns:
        `(batch,)` string tensor.
    """
    # Invalid UTF-8 would make the tensorflow-text ops fail: replace it.
    text = tf.strings.unicode_transcode(
        text,
        input_encoding="UTF-8",
        output_encoding="UTF-8",
        errors="replace",
        replacement_char=0xFFFD,
    )
    text = tf_text.normalize_utf8(text, "NFKC")
    if lowercase:
        text = tf_text.case_fold_utf8(text)
    text = tf.strings.regex_replace(text, r"\s+", " ")
    return tf.strings.strip(text)


def tokenize(text, tokenization="word", lowercase=True):
    """Splits text into tokens.

    Args:
        text: `(batch,)` string tensor.
        tokenization: `"word"` (words and punctuation marks, split by
            `tensorflow_text.WhitespaceTokenizer`) or `"char"` (Unicode
            characters, spaces included).
        lowercase: case-fold first.

    Returns:
        `tf.RaggedTensor` of strings, `(batch, None)`.
    """
    if tokenization not in configs.TOKENIZATIONS:
        raise ValueError(
            f"`tokenization` must be one of {configs.TOKENIZATIONS}. "
            f"Received: tokenization={tokenization!r}"
        )
    text = clean_text(text, lowercase=lowercase)
    if tokenization == "char":
        return tf.strings.unicode_split(text, "UTF-8")
    text = tf.strings.regex_replace(text, _PUNCTUATION, r" \1 ")
    return tf_text.WhitespaceTokenizer().tokenize(text)


def _shift_ids(ids):
    """Vocabulary ids (OOV = -1) -> keras-seq ids (UNK 1, vocabulary from 4)."""

    def shift(v):
        unk = tf.constant(UNK_ID, v.dtype)
        return tf.where(v < 0, unk, v + NUM_RESERVED_IDS)

    return tf.ragged.map_flat_values(shift, ids)


def _pad(ragged, length):
    return ragged.to_tensor(default_value=PAD_ID, shape=[None, length])


def preprocessing_fn(inputs, custom_config=None):
    """TFX Transform entry point (see the module docstring).

    Args:
        inputs: dict of raw features `source` and `target` (strings).
        custom_config: `DatasetConfig.to_dict()`; defaults to the date corpus.

    Returns:
        dict of transformed features.
    """
    config = configs.DatasetConfig(**(custom_config or {}))
    outputs = {}

    source_tokens = tokenize(
        as_text_vector(inputs[configs.SOURCE_KEY]),
        config.tokenization,
        config.lowercase,
    )
    source_ids = _shift_ids(
        tft.compute_and_apply_vocabulary(
            source_tokens,
            top_k=config.vocabulary_size,
            frequency_threshold=config.frequency_threshold,
            default_value=-1,
            vocab_filename=configs.SOURCE_VOCAB_NAME,
        )
    )
    outputs[configs.SOURCE_IDS_KEY] = _pad(
        source_ids[:, : config.max_source_length], config.max_source_length
    )
    outputs[configs.SOURCE_LENGTH_KEY] = source_tokens.row_lengths()

    if configs.TARGET_KEY in inputs:
        target_tokens = tokenize(
            as_text_vector(inputs[configs.TARGET_KEY]),
            config.tokenization,
            config.lowercase,
        )
        target_ids = _shift_ids(
            tft.compute_and_apply_vocabulary(
                target_tokens,
                top_k=config.vocabulary_size,
                frequency_threshold=config.frequency_threshold,
                default_value=-1,
                vocab_filename=configs.TARGET_VOCAB_NAME,
            )
        )
        # BOS/EOS take one of the max_target_length positions.
        body = target_ids[:, : config.max_target_length - 1]
        batch = tf.shape(as_text_vector(inputs[configs.TARGET_KEY]))[0]
        bos = tf.RaggedTensor.from_tensor(
            tf.fill([batch, 1], tf.constant(BOS_ID, body.dtype))
        )
        eos = tf.RaggedTensor.from_tensor(
            tf.fill([batch, 1], tf.constant(EOS_ID, body.dtype))
        )
        length = config.max_target_length
        outputs[configs.TARGET_IN_KEY] = _pad(tf.concat([bos, body], 1), length)
        outputs[configs.TARGET_OUT_KEY] = _pad(
            tf.concat([body, eos], 1), length
        )
        outputs[configs.TARGET_LENGTH_KEY] = target_tokens.row_lengths()
    return outputs
