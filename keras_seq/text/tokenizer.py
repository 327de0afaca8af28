"""Base class of the keras-seq tokenizers (TensorFlow + tensorflow-text)."""

import os

import keras
import numpy as np
import tensorflow as tf

from keras_seq.text import special_tokens
from keras_seq.text.text_utils import normalize
from keras_seq.text.text_utils import to_string_tensor
from keras_seq.text.text_utils import validate_normalization


def _check_vocabulary(vocabulary):
    if isinstance(vocabulary, (str, bytes)) or not isinstance(
        vocabulary, (list, tuple)
    ):
        raise ValueError(
            "`vocabulary` must be a list of token strings. Received: "
            f"vocabulary={vocabulary!r}"
        )
    tokens = []
    seen = {}
    for i, token in enumerate(vocabulary):
        if isinstance(token, bytes):
            token = token.decode("utf-8")
        if not isinstance(token, str) or not token or "\n" in token:
            raise ValueError(
                "Every vocabulary entry must be a non-empty string without "
                f"newlines. Received: vocabulary[{i}]={token!r}"
            )
        if token in seen:
            raise ValueError(
                f"Vocabulary entries must be unique, but {token!r} appears "
                f"at ids {seen[token]} and {i}. Received: "
                f"vocabulary[{i}]={token!r}"
            )
        seen[token] = i
        tokens.append(token)
    return tokens


class Tokenizer(keras.layers.Layer):
    """Base class: a vocabulary, its lookup tables and shared encoding logic.

    Subclasses implement `_tokenize_batch` (rank-1 tf.string ->
    `(batch_size, None)` int32 ragged ids) and `_join_tokens`. Everything
    is TensorFlow ops, so the methods work eagerly, in `tf.data.Dataset.map`
    and inside a `tf.function`/SavedModel. Outputs are always TensorFlow
    tensors (whatever the Keras backend), as for `keras_hub` tokenizers.

    Args:
        vocabulary: list of token strings; the id of a token is its index.
        lowercase: lower-case (Unicode rules) before splitting.
        normalization: Unicode normalization form applied first ("NFKC" by
            default), or None.
        pad_token, unk_token, bos_token, eos_token: the special token
            strings; each must be in `vocabulary` (their ids are read from
            it). Out-of-vocabulary tokens map to the id of `unk_token`.
        **kwargs: base `keras.layers.Layer` arguments (e.g. `name`).
    """

    def __init__(
        self,
        vocabulary,
        lowercase=True,
        normalization="NFKC",
        pad_token=special_tokens.PAD,
        unk_token=special_tokens.UNK,
        bos_token=special_tokens.BOS,
        eos_token=special_tokens.EOS,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # Strings in, TensorFlow tensors out: no backend conversion.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        vocabulary = _check_vocabulary(vocabulary)
        if not isinstance(lowercase, bool):
            raise ValueError(
                f"`lowercase` must be a bool. Received: lowercase={lowercase!r}"
            )
        validate_normalization(normalization)
        self.lowercase = lowercase
        self.normalization = normalization
        self._vocabulary = vocabulary
        self._token_to_id_map = {t: i for i, t in enumerate(vocabulary)}
        ids = {}
        for arg, token in (
            ("pad_token", pad_token),
            ("unk_token", unk_token),
            ("bos_token", bos_token),
            ("eos_token", eos_token),
        ):
            if token not in self._token_to_id_map:
                raise ValueError(
                    f"`{arg}` must be a token of the vocabulary, but "
                    f"{token!r} is not in it (first entries: "
                    f"{vocabulary[:5]}). For a BERT vocab.txt pass "
                    "bos_token='[CLS]', eos_token='[SEP]'. Received: "
                    f"{arg}={token!r}"
                )
            ids[arg] = self._token_to_id_map[token]
        self.pad_token = pad_token
        self.unk_token = unk_token
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.pad_id = ids["pad_token"]
        self.unk_id = ids["unk_token"]
        self.bos_id = ids["bos_token"]
        self.eos_id = ids["eos_token"]
        # Lookup tables are TF resources tracked by the layer, so they are
        # saved with a SavedModel that tracks the tokenizer.
        self._token_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(vocabulary, dtype=tf.string),
                tf.range(len(vocabulary), dtype=tf.int64),
            ),
            default_value=self.unk_id,
        )
        self._id_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.range(len(vocabulary), dtype=tf.int64),
                tf.constant(vocabulary, dtype=tf.string),
            ),
            default_value=unk_token,
        )
        self.built = True

    # ------------------------------------------------------------------
    # Vocabulary.
    @property
    def vocabulary(self):
        """The vocabulary as a list of str (index = id)."""
        return list(self._vocabulary)

    @property
    def vocabulary_size(self):
        return len(self._vocabulary)

    def token_to_id(self, token):
        """Id of `token` (the unknown-token id if it is not in the vocab)."""
        return self._token_to_id_map.get(token, self.unk_id)

    def id_to_token(self, token_id):
        """Token string of `token_id`."""
        token_id = int(token_id)
        if not 0 <= token_id < len(self._vocabulary):
            raise ValueError(
                "`token_id` must be in [0, vocabulary_size="
                f"{len(self._vocabulary)}). Received: token_id={token_id}"
            )
        return self._vocabulary[token_id]

    def save_vocabulary(self, path):
        """Writes the vocabulary to `path`, one token per line (line = id)."""
        directory = os.path.dirname(os.fspath(path))
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            for token in self._vocabulary:
                f.write(token + "\n")

    @staticmethod
    def _read_vocabulary_file(path):
        """Reads a vocabulary file; the line number is the id (as vocab.txt)."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ValueError(
                f"Vocabulary file not found. Received: path={path!r}"
            )
        with open(path, encoding="utf-8") as f:
            tokens = [line.rstrip("\r\n") for line in f]
        return tokens

    # ------------------------------------------------------------------
    # Tokenization.
    def _normalize(self, texts):
        return normalize(texts, self.lowercase, self.normalization)

    def _tokenize_batch(self, texts):
        raise NotImplementedError

    def _join_tokens(self, tokens):
        """Joins ragged string tokens `(batch, None)` into `(batch,)` text."""
        return tf.strings.reduce_join(tokens, axis=-1, separator=" ")

    def tokenize(self, texts):
        """Text to token ids (no BOS/EOS added).

        Args:
            texts: a string, a list/tuple/NumPy array of strings, or a
                tf.string tensor of shape `()` or `(batch_size,)`.
                Python/NumPy input is checked with `validate_texts`
                (empty rows raise); in a tensor an empty row gives no ids.

        Returns:
            int32 `tf.RaggedTensor` `(batch_size, None)`, or a dense `(None,)`
            tensor for a single string.
        """
        batch, is_scalar = to_string_tensor(texts)
        ids = self._tokenize_batch(batch)
        if is_scalar:
            return ids[0]
        return ids

    def call(self, inputs):
        return self.tokenize(inputs)

    def encode(
        self, texts, max_length, add_bos=False, add_eos=False, truncate=True
    ):
        """Text to dense, padded token ids.

        Truncation keeps the first `max_length - add_bos - add_eos` tokens
        of the text; BOS/EOS are added after truncating, so with
        `add_eos=True` every row still ends with EOS (a truncated text
        becomes a shortened sentence followed by EOS). With `truncate=False`
        a text that does not fit raises (`ValueError` eagerly, a
        `tf.errors.InvalidArgumentError` inside a graph).

        Args:
            texts: as in `tokenize`.
            max_length: int, the length of every output row.
            add_bos: prepend the BOS id.
            add_eos: append the EOS id.
            truncate: cut texts that do not fit instead of raising.

        Returns:
            int32 tensor `(batch_size, max_length)` padded with the PAD id,
            or `(max_length,)` for a single string.
        """
        num_special = int(bool(add_bos)) + int(bool(add_eos))
        if (
            isinstance(max_length, bool)
            or not isinstance(max_length, (int, np.integer))
            or max_length < max(1, num_special)
        ):
            raise ValueError(
                "`max_length` must be an int >= max(1, number of added "
                f"special tokens={num_special}). Received: "
                f"max_length={max_length!r}"
            )
        max_length = int(max_length)
        budget = max_length - num_special
        batch, is_scalar = to_string_tensor(texts)
        ids = self._tokenize_batch(batch)
        lengths = ids.row_lengths()
        if truncate:
            ids = ids[:, :budget]
        elif tf.executing_eagerly():
            too_long = np.nonzero(lengths.numpy() > budget)[0]
            if too_long.size:
                row = int(too_long[0])
                raise ValueError(
                    f"Row {row} of `texts` has {int(lengths[row])} tokens, "
                    f"more than max_length={max_length} minus "
                    f"{num_special} special tokens allows, and truncate is "
                    f"False. Received: texts[{row}]="
                    f"{batch[row].numpy().decode('utf-8')!r}"
                )
        else:
            with tf.control_dependencies(
                [
                    tf.debugging.assert_less_equal(
                        lengths,
                        tf.cast(budget, lengths.dtype),
                        message="A text is longer than max_length allows "
                        "and truncate=False.",
                    )
                ]
            ):
                ids = tf.identity(ids)
        ids = self._add_special(ids, add_bos, add_eos)
        dense = ids.to_tensor(
            default_value=self.pad_id, shape=[None, max_length]
        )
        if is_scalar:
            return dense[0]
        return dense

    def _add_special(self, ids, add_bos, add_eos):
        batch_size = ids.nrows()
        parts = []
        if add_bos:
            parts.append(
                tf.RaggedTensor.from_tensor(
                    tf.fill([batch_size, 1], tf.constant(self.bos_id, tf.int32))
                )
            )
        parts.append(ids)
        if add_eos:
            parts.append(
                tf.RaggedTensor.from_tensor(
                    tf.fill([batch_size, 1], tf.constant(self.eos_id, tf.int32))
                )
            )
        if len(parts) == 1:
            return ids
        return tf.concat(parts, axis=1)

    def detokenize(self, ids):
        """Token ids back to text.

        Reading stops at the first EOS; PAD and BOS are dropped; the tokens
        are joined back into text the way the subclass split it (words
        with their original spacing, characters without separator,
        SentencePiece pieces by the SentencePiece decoder, WordPiece "##"
        continuations merged). Ids outside `[0, vocabulary_size)` raise.

        Args:
            ids: int tensor `(batch_size, length)` (dense or ragged), or a
                single sequence `(length,)`; a NumPy array or nested list
                is accepted too.

        Returns:
            tf.string tensor `(batch_size,)`, or a scalar for one sequence.
        """
        if isinstance(ids, tf.RaggedTensor):
            ids = ids.to_tensor(default_value=self.pad_id)
        else:
            ids = tf.convert_to_tensor(ids)
        if not ids.dtype.is_integer:
            raise ValueError(
                f"`ids` must be integer token ids. Received: ids.dtype="
                f"{ids.dtype.name}"
            )
        rank = ids.shape.rank
        if rank not in (1, 2):
            raise ValueError(
                "`ids` must have shape (batch_size, length) or (length,). "
                f"Received: ids.shape={ids.shape}"
            )
        is_single = rank == 1
        if is_single:
            ids = ids[tf.newaxis, :]
        ids = tf.cast(ids, tf.int64)
        ids = self._check_id_range(ids)
        # Positions strictly before the first EOS (the EOS itself has a
        # cumulative count of 1 and is dropped).
        # tf.equal, not ==: inside a TF1 graph context `==` compares
        # tensor identity.
        is_eos = tf.cast(tf.equal(ids, self.eos_id), tf.int32)
        before_eos = tf.equal(tf.cumsum(is_eos, 1), 0)
        keep = (
            before_eos
            & tf.not_equal(ids, self.pad_id)
            & tf.not_equal(ids, self.bos_id)
        )
        texts = self._ids_to_texts(tf.ragged.boolean_mask(ids, keep))
        if is_single:
            return texts[0]
        return texts

    def _check_id_range(self, ids):
        """Ids outside `[0, vocabulary_size)` raise instead of reading as
        [UNK] (a ValueError eagerly, an InvalidArgumentError in a graph)."""
        size = len(self._vocabulary)
        if tf.executing_eagerly():
            values = ids.numpy()
            bad = (values < 0) | (values >= size)
            if bad.any():
                row, column = (int(i) for i in np.argwhere(bad)[0])
                raise ValueError(
                    "`ids` must be token ids in [0, vocabulary_size="
                    f"{size}). Received: ids[{row}, {column}]="
                    f"{int(values[row, column])}"
                )
            return ids
        with tf.control_dependencies(
            [
                tf.debugging.assert_non_negative(
                    ids, message="Token ids must be >= 0."
                ),
                tf.debugging.assert_less(
                    ids,
                    tf.constant(size, ids.dtype),
                    message="Token ids must be < vocabulary_size.",
                ),
            ]
        ):
            return tf.identity(ids)

    def _ids_to_texts(self, ids):
        """Ragged int64 ids `(batch, None)` (specials removed) -> texts."""
        tokens = tf.ragged.map_flat_values(self._id_table.lookup, ids)
        return self._join_tokens(tokens)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (None,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": list(self._vocabulary),
                "lowercase": self.lowercase,
                "normalization": self.normalization,
                "pad_token": self.pad_token,
                "unk_token": self.unk_token,
                "bos_token": self.bos_token,
                "eos_token": self.eos_token,
            }
        )
        return config

    def get_build_config(self):
        return None


def check_corpus_arguments(max_vocabulary_size, min_frequency):
    """The `from_corpus` size arguments shared by the tokenizers."""
    num_reserved = len(special_tokens.RESERVED_TOKENS)
    if max_vocabulary_size is not None and (
        isinstance(max_vocabulary_size, bool)
        or not isinstance(max_vocabulary_size, int)
        or max_vocabulary_size <= num_reserved
    ):
        raise ValueError(
            "`max_vocabulary_size` must be None or an int > "
            f"{num_reserved} (the reserved tokens). Received: "
            f"max_vocabulary_size={max_vocabulary_size!r}"
        )
    if (
        isinstance(min_frequency, bool)
        or not isinstance(min_frequency, int)
        or min_frequency < 1
    ):
        raise ValueError(
            "`min_frequency` must be an int >= 1. Received: "
            f"min_frequency={min_frequency!r}"
        )


def ranked_vocabulary(counts, max_vocabulary_size, min_frequency):
    """The reserved tokens, then the counted tokens by decreasing frequency
    (ties in code point order, so the result is deterministic)."""
    for token in special_tokens.RESERVED_TOKENS:
        counts.pop(token, None)
    ranked = sorted(
        (item for item in counts.items() if item[1] >= min_frequency),
        key=lambda item: (-item[1], item[0]),
    )
    vocabulary = list(special_tokens.RESERVED_TOKENS) + [
        token for token, _ in ranked
    ]
    if max_vocabulary_size is not None:
        vocabulary = vocabulary[:max_vocabulary_size]
    return vocabulary
