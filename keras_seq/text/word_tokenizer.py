"""Word-level tokenizer built on tensorflow-text."""

import collections

import keras
import tensorflow as tf

from keras_seq.text import special_tokens
from keras_seq.text.text_utils import JOINER
from keras_seq.text.text_utils import join_words
from keras_seq.text.text_utils import normalize
from keras_seq.text.text_utils import split_words
from keras_seq.text.text_utils import validate_normalization
from keras_seq.text.text_utils import validate_texts
from keras_seq.text.tokenizer import Tokenizer
from keras_seq.text.tokenizer import check_corpus_arguments
from keras_seq.text.tokenizer import ranked_vocabulary


def _split(texts, lowercase, normalization, joiner):
    # A module function: autograph mis-binds a staticmethod called through
    # `self` inside a tf.function.
    return split_words(normalize(texts, lowercase, normalization), joiner)


@keras.saving.register_keras_serializable(package="keras_seq")
class WordTokenizer(Tokenizer):
    """Splits text into words, numbers and punctuation and maps them to ids.

    Pipeline (all TensorFlow ops): `text_utils.clean_text` (invalid UTF-8
    -> U+FFFD, control characters -> spaces, whitespace collapsed), Unicode
    normalization (`tensorflow_text.normalize_utf8`, NFKC by default),
    optional
    Unicode lower-casing (`tf.strings.lower`, which keeps "ß" unlike
    `tensorflow_text.case_fold_utf8`), a split on whitespace
    that keeps every punctuation/symbol character as a token, then
    `tensorflow_text.UnicodeScriptTokenizer`, which separates runs of
    different scripts: "Nov 25th, 2026" -> "nov", "25", "th", ",", "2026";
    "25/11/2026" -> "25", "/", "11", "/", "2026". Tokens are looked up in a
    `tf.lookup` table; unknown tokens get `UNK_ID`.

    A token that follows another without a space in the text carries the
    `joiner` prefix "￭" (OpenNMT Tokenizer's joiner annotation):
    "Ein Hund läuft." -> "Ein", "Hund", "läuft", "￭."; so `detokenize`
    gives the text back with its spacing ("2026-11-25", not
    "2026 - 11 - 25"): `detokenize(tokenize(s)) == s` after the
    normalization above, when every token is in the vocabulary.
    `joiner=None` gives plain tokens joined by spaces.

    The vocabulary starts with the reserved tokens of
    `keras_seq.text.special_tokens` (`[PAD]`=0, `[UNK]`=1, `[BOS]`=2,
    `[EOS]`=3). The layer works eagerly, in `tf.data.Dataset.map` and
    inside a `tf.function`/SavedModel, and its config holds the vocabulary.

    Args:
        vocabulary: list of str; must begin with `RESERVED_TOKENS`.
        lowercase: lower-case the text before splitting.
        normalization: Unicode normalization form, or None.
        joiner: marker of tokens glued to the previous one ("￭"), or None.
        **kwargs: base layer arguments (e.g. `name`).

    Call arguments:
        inputs: str, list of str or tf.string tensor `(batch_size,)`.

    Returns (call/tokenize):
        int32 `tf.RaggedTensor` `(batch_size, None)` of ids, without BOS/EOS.

    Example:

    >>> tokenizer = WordTokenizer.from_corpus(["A man rides.", "A dog."])
    >>> tokenizer.encode(["a dog rides"], max_length=5, add_eos=True)
    """

    def __init__(
        self,
        vocabulary,
        lowercase=True,
        normalization="NFKC",
        joiner=JOINER,
        **kw,
    ):
        if (
            isinstance(vocabulary, (list, tuple))
            and list(vocabulary[: len(special_tokens.RESERVED_TOKENS)])
            != special_tokens.RESERVED_TOKENS
        ):
            raise ValueError(
                "`vocabulary` must start with the reserved tokens "
                f"{special_tokens.RESERVED_TOKENS}. Received: "
                f"vocabulary[:4]={list(vocabulary[:4])}"
            )
        if joiner is not None and (
            not isinstance(joiner, str) or not joiner or joiner.isspace()
        ):
            raise ValueError(
                "`joiner` must be None or a non-empty, non-space string. "
                f"Received: joiner={joiner!r}"
            )
        self.joiner = joiner
        super().__init__(
            vocabulary,
            lowercase=lowercase,
            normalization=normalization,
            **kw,
        )

    @staticmethod
    def split(texts, lowercase=True, normalization="NFKC", joiner=JOINER):
        """The token strings of `(batch,)` texts, before the vocabulary.

        The tokenizer's own first step, usable without a vocabulary (the
        TFX Transform learns the vocabulary from these tokens).

        Returns:
            tf.RaggedTensor of tf.string `(batch_size, None)`.
        """
        return _split(texts, lowercase, normalization, joiner)

    def _tokenize_batch(self, texts):
        words = _split(texts, self.lowercase, self.normalization, self.joiner)
        ids = tf.ragged.map_flat_values(self._token_table.lookup, words)
        return tf.cast(ids, tf.int32)

    def _join_tokens(self, tokens):
        return join_words(tokens, self.joiner)

    @classmethod
    def from_corpus(
        cls,
        texts,
        max_vocabulary_size=None,
        min_frequency=1,
        lowercase=True,
        normalization="NFKC",
        joiner=JOINER,
        batch_size=1024,
        **kwargs,
    ):
        """Builds the vocabulary from a corpus.

        Vocabulary = the reserved tokens, then tokens by decreasing
        frequency, ties in alphabetical (code point) order, so the result is
        deterministic.

        Args:
            texts: iterable of str, or a `tf.data.Dataset` of scalar
                tf.string (validated with `validate_texts`).
            max_vocabulary_size: maximum size including the 4 reserved
                tokens, or None for no limit.
            min_frequency: tokens seen fewer times are left out (-> UNK).
            lowercase: as in the constructor.
            normalization: as in the constructor.
            joiner: as in the constructor.
            batch_size: texts tokenized per TensorFlow call.
            **kwargs: passed to the constructor.
        """
        texts = validate_texts(list(texts), name="texts")
        check_corpus_arguments(max_vocabulary_size, min_frequency)
        validate_normalization(normalization)
        counts = collections.Counter()
        for start in range(0, len(texts), batch_size):
            batch = tf.constant(texts[start : start + batch_size])
            words = split_words(
                normalize(batch, lowercase, normalization), joiner
            )
            counts.update(w.decode("utf-8") for w in words.flat_values.numpy())
        vocabulary = ranked_vocabulary(
            counts, max_vocabulary_size, min_frequency
        )
        return cls(
            vocabulary,
            lowercase=lowercase,
            normalization=normalization,
            joiner=joiner,
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
        config["joiner"] = self.joiner
        return config
