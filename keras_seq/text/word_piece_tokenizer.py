"""WordPiece (subword) tokenizer built on tensorflow-text."""

import logging

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from keras_seq.text import special_tokens
from keras_seq.text.text_utils import normalize
from keras_seq.text.text_utils import validate_normalization
from keras_seq.text.text_utils import validate_texts
from keras_seq.text.tokenizer import Tokenizer


@keras.saving.register_keras_serializable(package="keras_seq")
class WordPieceTokenizer(Tokenizer):
    """Splits words into WordPiece subwords (Wu et al. 2016; BERT).

    Text is Unicode-normalized (NFKC by default), optionally lower-cased
    (and accent-stripped, as uncased BERT vocabularies require), split on
    whitespace and punctuation as BERT does, and every word is cut greedily
    into the longest vocabulary pieces
    (`tensorflow_text.FastWordpieceTokenizer`), continuation pieces carrying
    the `suffix_indicator` ("##"):
    "unaffable" -> "una", "##ffa", "##ble" with the BERT uncased vocab.
    A word that cannot be cut, or longer than `max_bytes_per_word`, becomes
    `unk_token`.

    Special tokens are configurable and their ids come from the vocabulary,
    so a BERT `vocab.txt` keeps its own ids ([PAD] 0, [UNK] 100, [CLS] 101,
    [SEP] 102, [MASK] 103): see `from_bert_vocabulary_file`. Vocabularies
    learned with `from_corpus` start with `RESERVED_TOKENS` (ids 0..3).

    Args:
        vocabulary: list of str (index = id).
        lowercase: lower-case before splitting.
        strip_accents: remove combining marks after NFD decomposition
            ("café" -> "cafe"), as uncased BERT does.
        normalization: Unicode normalization form applied first, or None.
        pad_token, unk_token, bos_token, eos_token: special token strings,
            each of which must be in `vocabulary`.
        suffix_indicator: prefix of continuation pieces.
        max_bytes_per_word: longer words map to `unk_token`.
        **kwargs: base layer arguments (e.g. `name`).

    Call arguments:
        inputs: str, list of str or tf.string tensor `(batch_size,)`.

    Returns (call/tokenize):
        int32 `tf.RaggedTensor` `(batch_size, None)`, without BOS/EOS.
    """

    def __init__(
        self,
        vocabulary,
        lowercase=True,
        strip_accents=False,
        normalization="NFKC",
        pad_token=special_tokens.PAD,
        unk_token=special_tokens.UNK,
        bos_token=special_tokens.BOS,
        eos_token=special_tokens.EOS,
        suffix_indicator="##",
        max_bytes_per_word=100,
        **kwargs,
    ):
        if not isinstance(strip_accents, bool):
            raise ValueError(
                "`strip_accents` must be a bool. Received: "
                f"strip_accents={strip_accents!r}"
            )
        if not isinstance(suffix_indicator, str) or not suffix_indicator:
            raise ValueError(
                "`suffix_indicator` must be a non-empty str. Received: "
                f"suffix_indicator={suffix_indicator!r}"
            )
        if (
            isinstance(max_bytes_per_word, bool)
            or not isinstance(max_bytes_per_word, int)
            or max_bytes_per_word < 1
        ):
            raise ValueError(
                "`max_bytes_per_word` must be an int >= 1. Received: "
                f"max_bytes_per_word={max_bytes_per_word!r}"
            )
        super().__init__(
            vocabulary,
            lowercase=lowercase,
            normalization=normalization,
            pad_token=pad_token,
            unk_token=unk_token,
            bos_token=bos_token,
            eos_token=eos_token,
            **kwargs,
        )
        self.strip_accents = strip_accents
        self.suffix_indicator = suffix_indicator
        self.max_bytes_per_word = max_bytes_per_word
        # Normalization is done by `_normalize` (so it matches from_corpus).
        # FastWordpieceTokenizer with pre-tokenization splits words as BERT
        # does (whitespace, punctuation, CJK characters) and cuts them with
        # the linear-time algorithm of Song et al. (2021); it gives the same
        # pieces as `BertTokenizer(lower_case=False)` about 4x faster, and
        # also treats U+00A0 (no-break space) as whitespace like BERT.
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=self._vocabulary,
            suffix_indicator=suffix_indicator,
            max_bytes_per_word=max_bytes_per_word,
            token_out_type=tf.int64,
            unknown_token=unk_token,
            no_pretokenization=False,
            support_detokenization=False,
        )

    def _normalize(self, texts):
        return normalize(
            texts, self.lowercase, self.normalization, self.strip_accents
        )

    def _tokenize_batch(self, texts):
        ids = self._wordpiece.tokenize(self._normalize(texts))
        return tf.cast(ids, tf.int32)

    def _join_tokens(self, tokens):
        text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
        # Continuation pieces attach to the previous piece.
        return tf.strings.regex_replace(
            text, " " + _escape(self.suffix_indicator), ""
        )

    @classmethod
    def from_corpus(
        cls,
        texts,
        vocabulary_size=8000,
        lowercase=True,
        strip_accents=False,
        normalization="NFKC",
        reserved_tokens=None,
        learn_params=None,
        **kwargs,
    ):
        """Learns a WordPiece vocabulary from a corpus.

        Uses tensorflow-text's
        `tools.wordpiece_vocab.bert_vocab_from_dataset` on the normalized
        texts (the same normalization the tokenizer applies later).

        Args:
            texts: iterable of str, or a `tf.data.Dataset` of scalar
                tf.string (validated with `validate_texts`).
            vocabulary_size: target size, reserved tokens included. It is
                an upper bound: the learner keeps no piece seen fewer than
                `learn_params["lower_thresh"]` (default 10) times, so a
                small corpus gives fewer tokens (logged as a warning;
                Multi30k German train with 8000 gives 3491).
            lowercase, strip_accents, normalization: as in the constructor.
            reserved_tokens: tokens placed first, in order (default
                `RESERVED_TOKENS`, so [PAD]=0, [UNK]=1, [BOS]=2, [EOS]=3).
            learn_params: extra arguments of
                `wordpiece_tokenizer_learner_lib.learn` (e.g.
                `{"lower_thresh": 10}`).
            **kwargs: passed to the constructor (e.g. the special tokens
                when `reserved_tokens` differs).
        """
        from tensorflow_text.tools.wordpiece_vocab import (
            bert_vocab_from_dataset as vocab_lib,
        )

        texts = validate_texts(list(texts), name="texts")
        if (
            isinstance(vocabulary_size, bool)
            or not isinstance(vocabulary_size, int)
            or vocabulary_size < 8
        ):
            raise ValueError(
                "`vocabulary_size` must be an int >= 8. Received: "
                f"vocabulary_size={vocabulary_size!r}"
            )
        validate_normalization(normalization)
        if reserved_tokens is None:
            reserved_tokens = list(special_tokens.RESERVED_TOKENS)
        dataset = (
            tf.data.Dataset.from_tensor_slices(texts)
            .batch(1024)
            .map(
                lambda x: normalize(x, lowercase, normalization, strip_accents)
            )
        )
        vocabulary = vocab_lib.bert_vocab_from_dataset(
            dataset,
            vocab_size=vocabulary_size,
            reserved_tokens=list(reserved_tokens),
            bert_tokenizer_params={"lower_case": False},
            learn_params=dict(learn_params or {}),
        )
        if len(vocabulary) < 0.9 * vocabulary_size:
            # The learner never keeps pieces seen fewer than `lower_thresh`
            # (default 10) times, which caps the size on small corpora.
            logging.getLogger(__name__).warning(
                "WordPieceTokenizer.from_corpus learned %d tokens for "
                "vocabulary_size=%d; pass learn_params={'lower_thresh': 2} "
                "(or another lower count) for a larger vocabulary.",
                len(vocabulary),
                vocabulary_size,
            )
        return cls(
            vocabulary,
            lowercase=lowercase,
            strip_accents=strip_accents,
            normalization=normalization,
            **kwargs,
        )

    @classmethod
    def from_vocabulary_file(cls, path, **kwargs):
        """Loads a vocabulary file; line i (0-based) has id i."""
        return cls(cls._read_vocabulary_file(path), **kwargs)

    @classmethod
    def from_bert_vocabulary_file(cls, path, lowercase=True, **kwargs):
        """Loads a BERT `vocab.txt` with BERT's special tokens and settings.

        [PAD] pads, [UNK] replaces unknown words, [CLS] is the BOS and
        [SEP] the EOS token (so `encode(..., add_bos=True, add_eos=True)`
        gives `[CLS] ... [SEP]`); ids are those of the file. An uncased
        vocabulary (`lowercase=True`) also strips accents, and no NFKC
        normalization is applied, as in the original BERT tokenizer.
        """
        options = {
            "lowercase": lowercase,
            "strip_accents": lowercase,
            "normalization": None,
            "pad_token": "[PAD]",
            "unk_token": "[UNK]",
            "bos_token": "[CLS]",
            "eos_token": "[SEP]",
        }
        options.update(kwargs)
        return cls.from_vocabulary_file(path, **options)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "strip_accents": self.strip_accents,
                "suffix_indicator": self.suffix_indicator,
                "max_bytes_per_word": self.max_bytes_per_word,
            }
        )
        return config


def _escape(text):
    """Escapes `text` for an RE2 pattern."""
    return "".join("\\" + c if not c.isalnum() else c for c in text)
