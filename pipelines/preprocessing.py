"""Transform module file: vocabularies and text statistics, by keras_seq.text.

TFX's Transform component imports this file by path and calls
`preprocessing_fn(inputs, custom_config)`, where `custom_config` is
`keras_seq_pipelines.configs.DatasetConfig.to_dict()`.

There is no tokenization code here: every token comes from the
`keras_seq.text` tokenizer class the Translator will hold (`split()` of
`WordTokenizer` or `CharTokenizer`), so the vocabulary learned over the
whole training split (a full-pass Beam analyzer, `tft.vocabulary`) is
exactly the one the exported model looks tokens up in. The Trainer builds
the tokenizers from these vocabularies (`transform_graph` assets); for
`"sentencepiece"` it trains the SentencePiece model on the training split
itself, since a SentencePiece model cannot be learned inside a TF graph.

Outputs per row (what the Trainer reads):

- `source_text`, `target_text`: the raw text (a missing field is "");
- `source_length`, `target_length`: tokens per sentence (word/char), the
  whitespace-separated words for sentencepiece, so over-long sentences
  show up in the transformed statistics;
- `source_unknown`, `target_unknown`: tokens that will map to [UNK]
  (word/char only; 0 for sentencepiece, which has byte fallback).

For the caption task (`caption_features`): `image` (the encoded bytes,
unchanged), `caption_text`, `caption_length`, and the `caption_vocab`
vocabulary.
"""

import tensorflow as tf
import tensorflow_transform as tft

from keras_seq import text
from keras_seq_pipelines import configs


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


def split_tokens(texts, config, side):
    """Token strings of `texts` with the tokenizer class of `config`.

    Args:
        texts: `(batch,)` string tensor.
        config: `DatasetConfig`.
        side: "source" or "target" (the source may be lower-cased).

    Returns:
        `tf.RaggedTensor` of strings `(batch, None)`.
    """
    lowercase = config.source_lowercase if side == "source" else False
    if config.tokenization == "word":
        return text.WordTokenizer.split(texts, lowercase=lowercase)
    if config.tokenization == "char":
        return text.CharTokenizer.split(texts, lowercase=lowercase)
    # sentencepiece: words, for the length statistics only.
    return text.WordTokenizer.split(texts, lowercase=lowercase, joiner=None)


def _vocabulary(tokens, config, vocab_name):
    """The full-pass vocabulary of `tokens` (a deferred file name)."""
    return tft.vocabulary(
        tokens,
        top_k=config.vocabulary_size,
        # tft warns that a threshold of 1 is a no-op: pass None then.
        frequency_threshold=(
            config.frequency_threshold
            if config.frequency_threshold > 1
            else None
        ),
        vocab_filename=vocab_name,
    )


def caption_features(inputs, config):
    """The caption task's transformed features.

    The encoded image passes through unchanged (the Trainer and the served
    captioner decode it with the same ops); the caption's words, split by
    `keras_seq.text.WordTokenizer` (cased, punctuation glued with the
    joiner), give `caption_length` and the vocabulary `caption_vocab`.
    """
    texts = as_text_vector(inputs[configs.CAPTION_KEY])
    tokens = text.WordTokenizer.split(texts, lowercase=False)
    _vocabulary(tokens, config, configs.CAPTION_VOCAB_NAME)
    return {
        configs.IMAGE_KEY: as_text_vector(inputs[configs.IMAGE_KEY]),
        configs.CAPTION_TEXT_KEY: texts,
        configs.CAPTION_LENGTH_KEY: tokens.row_lengths(),
    }


def _side(raw, config, side, vocab_name, outputs):
    texts = as_text_vector(raw)
    tokens = split_tokens(texts, config, side)
    outputs[f"{side}_text"] = texts
    outputs[f"{side}_length"] = tokens.row_lengths()
    if config.tokenization == "sentencepiece":
        outputs[f"{side}_unknown"] = tf.zeros_like(tokens.row_lengths())
        return
    vocabulary = _vocabulary(tokens, config, vocab_name)
    ids = tft.apply_vocabulary(
        tokens, deferred_vocab_filename_tensor=vocabulary, default_value=-1
    )
    outputs[f"{side}_unknown"] = tf.reduce_sum(
        tf.cast(ids < 0, tf.int64), axis=1
    )


def preprocessing_fn(inputs, custom_config=None):
    """TFX Transform entry point (see the module docstring).

    Args:
        inputs: dict of raw features `source` and `target` (strings), or
            `image` (encoded bytes) and `caption` for the caption task.
        custom_config: `DatasetConfig.to_dict()`; defaults to the date corpus.

    Returns:
        dict of transformed features.
    """
    config = configs.DatasetConfig(**(custom_config or {}))
    if config.task == "caption":
        return caption_features(inputs, config)
    outputs = {}
    _side(
        inputs[configs.SOURCE_KEY],
        config,
        "source",
        configs.SOURCE_VOCAB_NAME,
        outputs,
    )
    if configs.TARGET_KEY in inputs:
        _side(
            inputs[configs.TARGET_KEY],
            config,
            "target",
            configs.TARGET_VOCAB_NAME,
            outputs,
        )
    return outputs
