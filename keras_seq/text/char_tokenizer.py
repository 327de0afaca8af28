"""Character-level tokenizer built on TensorFlow string ops."""

import collections

import keras
import tensorflow as tf

from keras_seq.text import special_tokens
from keras_seq.text.text_utils import normalize
from keras_seq.text.text_utils import split_characters
from keras_seq.text.text_utils import validate_normalization
from keras_seq.text.text_utils import validate_texts
from keras_seq.text.tokenizer import Tokenizer
from keras_seq.text.tokenizer import check_corpus_arguments
from keras_seq.text.tokenizer import ranked_vocabulary


def _check_reserved_prefix(vocabulary):
    reserved = special_tokens.RESERVED_TOKENS
    if (
        isinstance(vocabulary, (list, tuple))
        and list(vocabulary[: len(reserved)]) != reserved
    ):
        raise ValueError(
            f"`vocabulary` must start with the reserved tokens {reserved}. "
            f"Received: vocabulary[:4]={list(vocabulary[:4])}"
        )


def _split(texts, lowercase, normalization):
    # A module function: autograph mis-binds a staticmethod called through
    # `self` inside a tf.function.
    return split_characters(normalize(texts, lowercase, normalization))


@keras.saving.register_keras_serializable(package="keras_seq")
class CharTokenizer(Tokenizer):
    """Splits text into Unicode characters (spaces included).

    Pipeline (all TensorFlow ops): `text_utils.clean_text` (invalid UTF-8
    -> U+FFFD, control characters -> spaces, whitespace runs -> one space,
    trimmed), Unicode normalization (NFKC by default), optional
    lower-casing, then `tf.strings.unicode_split`. `detokenize` joins the
    characters without separator, so `detokenize(tokenize(s)) == s` after
    that normalization whenever every character is in the vocabulary: the
    natural choice for short, closed-vocabulary outputs such as ISO dates
    ("2026-11-25").

    The vocabulary starts with `special_tokens.RESERVED_TOKENS` (`[PAD]`=0,
    `[UNK]`=1, `[BOS]`=2, `[EOS]`=3); the config holds it, so a saved
    tokenizer needs nothing else.

    Args:
        vocabulary: list of str (single characters after the 4 reserved
            tokens).
        lowercase: lower-case the text first.
        normalization: Unicode normalization form, or None.
        **kwargs: base layer arguments (e.g. `name`).

    Example:

    >>> tokenizer = CharTokenizer.from_corpus(["2026-11-25"])
    >>> tokenizer.detokenize(tokenizer.tokenize(["2026-11-25"]))
    """

    def __init__(self, vocabulary, lowercase=False, normalization="NFKC", **kw):
        _check_reserved_prefix(vocabulary)
        for i, token in enumerate(vocabulary[4:], start=4):
            if not isinstance(token, str) or len(token) != 1:
                raise ValueError(
                    "Every vocabulary entry after the reserved tokens must "
                    f"be one character. Received: vocabulary[{i}]={token!r}"
                )
        super().__init__(
            vocabulary, lowercase=lowercase, normalization=normalization, **kw
        )

    @staticmethod
    def split(texts, lowercase=False, normalization="NFKC"):
        """The characters of `(batch,)` texts, before the vocabulary (the
        TFX Transform learns the vocabulary from these).

        Returns:
            tf.RaggedTensor of tf.string `(batch_size, None)`.
        """
        return _split(texts, lowercase, normalization)

    def _tokenize_batch(self, texts):
        characters = _split(texts, self.lowercase, self.normalization)
        ids = tf.ragged.map_flat_values(self._token_table.lookup, characters)
        return tf.cast(ids, tf.int32)

    def _join_tokens(self, tokens):
        return tf.strings.reduce_join(tokens, axis=-1, separator="")

    @classmethod
    def from_corpus(
        cls,
        texts,
        max_vocabulary_size=None,
        min_frequency=1,
        lowercase=False,
        normalization="NFKC",
        **kwargs,
    ):
        """Builds the vocabulary from the characters of a corpus.

        Vocabulary = the reserved tokens, then characters by decreasing
        frequency, ties in code point order (deterministic).

        Args:
            texts: iterable of str (validated with `validate_texts`).
            max_vocabulary_size: maximum size including the 4 reserved
                tokens, or None.
            min_frequency: characters seen fewer times map to [UNK].
            lowercase, normalization: as in the constructor.
            **kwargs: passed to the constructor.
        """
        texts = validate_texts(list(texts), name="texts")
        validate_normalization(normalization)
        check_corpus_arguments(max_vocabulary_size, min_frequency)
        counts = collections.Counter()
        for start in range(0, len(texts), 4096):
            batch = tf.constant(texts[start : start + 4096])
            cleaned = normalize(batch, lowercase, normalization)
            for text in cleaned.numpy():
                counts.update(text.decode("utf-8"))
        vocabulary = ranked_vocabulary(
            counts, max_vocabulary_size, min_frequency
        )
        return cls(
            vocabulary,
            lowercase=lowercase,
            normalization=normalization,
            **kwargs,
        )

    @classmethod
    def from_vocabulary_file(cls, path, **kwargs):
        """Loads a vocabulary written by `save_vocabulary` (line = id)."""
        return cls(cls._read_vocabulary_file(path), **kwargs)

    def get_config(self):
        config = super().get_config()
        for key in ("pad_token", "unk_token", "bos_token", "eos_token"):
            config.pop(key)
        return config
