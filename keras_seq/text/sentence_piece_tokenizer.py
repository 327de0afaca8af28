"""SentencePiece subword tokenizer (Kudo and Richardson 2018).

Trained with the `sentencepiece` package, run in graph with
`tensorflow_text.SentencepieceTokenizer`, so the same model file tokenizes
in Python, in `tf.data` and inside a SavedModel served by TF Serving (its
`SentencepieceOp`, `SentencepieceTokenizeOp` and `SentencepieceDetokenizeOp`
are in tensorflow-text's `ops_lib`, which the stock model server links).
"""

import base64
import hashlib
import io
import os
import random

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from keras_seq.text import special_tokens
from keras_seq.text.text_utils import normalize
from keras_seq.text.text_utils import validate_normalization
from keras_seq.text.text_utils import validate_texts
from keras_seq.text.tokenizer import Tokenizer

MODEL_TYPES = ("unigram", "bpe")


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}"
        )


class _SentencepieceModel(tf.saved_model.experimental.TrackableResource):
    """The `SentencepieceOp` resource of one model, named by its content.

    tensorflow-text creates the resource with an empty `shared_name`; after
    `tf.saved_model.load` two such resources in one SavedModel (a
    translator's source and target models) resolve to the same model, so
    the target side detokenizes with the source pieces ("Invalid id", or
    the wrong words: tensorflow/text issue 1304). A shared name made from
    the model's SHA-256 keeps different models apart and lets equal models
    share one resource.
    """

    def __init__(self, proto):
        self._proto = proto
        self._shared_name = (
            "keras_seq_sentencepiece_" + hashlib.sha256(proto).hexdigest()
        )
        super().__init__()
        _ = self.resource_handle  # creates the resource

    def _create_resource(self):
        # The op wrapper tensorflow-text loads from its own library.
        from tensorflow_text.python.ops import sentencepiece_tokenizer

        ops = sentencepiece_tokenizer.gen_sentencepiece_tokenizer
        return ops.sentencepiece_op(
            model=self._proto, shared_name=self._shared_name
        )


def _graph_tokenizer(proto):
    """A `tensorflow_text.SentencepieceTokenizer` whose model resource
    survives SaveModel export next to other SentencePiece models."""
    tokenizer = tf_text.SentencepieceTokenizer(model=proto, out_type=tf.int32)
    tokenizer._model_resource = _SentencepieceModel(proto)
    return tokenizer


def _pieces_of(proto):
    """The pieces of a serialized SentencePiece model (index = id)."""
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor()
    try:
        processor.LoadFromSerializedProto(proto)
    except (RuntimeError, OSError) as error:
        raise ValueError(
            "`proto` is not a SentencePiece model "
            f"({' '.join(str(error).split())}). Received: {len(proto)} bytes"
        ) from None
    return [processor.IdToPiece(i) for i in range(processor.GetPieceSize())]


@keras.saving.register_keras_serializable(package="keras_seq")
class SentencePieceTokenizer(Tokenizer):
    """Lossless, cased subword tokenization with a SentencePiece model.

    Text goes through the keras-seq normalization (`text_utils.normalize`:
    invalid UTF-8 -> U+FFFD, control characters -> spaces, whitespace runs
    -> one space, NFKC, optional lower-casing) and then the SentencePiece
    model, which was trained with the "identity" rule so it does not
    normalize again. Whitespace is a piece prefix ("▁"), so
    `detokenize(tokenize(s)) == s` for every normalized `s`: with
    `byte_fallback` (the default of `from_corpus`) a character never seen in
    training is spelled as UTF-8 byte pieces instead of becoming [UNK].

    The model reserves ids 0..3 for `[PAD]`, `[UNK]`, `[BOS]`, `[EOS]`, the
    ids of `keras_seq.text.special_tokens`, so it drops into every keras-seq
    model. The serialized model is part of the config (base64), so a
    `.keras` file or a SavedModel holding the tokenizer needs nothing else.

    Args:
        proto: the serialized SentencePiece model (`bytes`, or the base64
            text found in a saved config).
        lowercase: lower-case before the model (must match training).
        normalization: Unicode normalization form applied first, or None.
        **kwargs: base layer arguments (e.g. `name`).

    Example:

    >>> tokenizer = SentencePieceTokenizer.from_corpus(
    ...     german_sentences, vocabulary_size=8000
    ... )
    >>> tokenizer.detokenize(tokenizer.tokenize(["Ein Hund läuft."]))
    """

    def __init__(self, proto, lowercase=False, normalization="NFKC", **kwargs):
        if isinstance(proto, str):
            proto = base64.b64decode(proto.encode("ascii"))
        if not isinstance(proto, bytes) or not proto:
            raise ValueError(
                "`proto` must be the bytes of a SentencePiece model. "
                f"Received: proto of type {type(proto).__name__}"
            )
        pieces = _pieces_of(proto)
        if pieces[: len(special_tokens.RESERVED_TOKENS)] != (
            special_tokens.RESERVED_TOKENS
        ):
            raise ValueError(
                "The SentencePiece model must have the keras-seq reserved "
                f"pieces {special_tokens.RESERVED_TOKENS} at ids 0-3 (train "
                "it with `SentencePieceTokenizer.from_corpus`). Received: "
                f"pieces[:4]={pieces[:4]}"
            )
        self._proto = proto
        super().__init__(
            pieces,
            lowercase=lowercase,
            normalization=normalization,
            **kwargs,
        )
        self._sentencepiece = _graph_tokenizer(proto)

    @property
    def proto(self):
        """The serialized SentencePiece model."""
        return self._proto

    def _tokenize_batch(self, texts):
        ids = self._sentencepiece.tokenize(self._normalize(texts))
        return tf.cast(ids, tf.int32)

    def _ids_to_texts(self, ids):
        return self._sentencepiece.detokenize(tf.cast(ids, tf.int32))

    @classmethod
    def from_corpus(
        cls,
        texts,
        vocabulary_size=8000,
        model_type="unigram",
        lowercase=False,
        normalization="NFKC",
        character_coverage=1.0,
        byte_fallback=True,
        max_sentences=None,
        seed=0,
        exact_size=True,
        **kwargs,
    ):
        """Trains a SentencePiece model on `texts` (in memory).

        Args:
            texts: iterable of str, the training sentences (for a joint
                vocabulary, pass both languages).
            vocabulary_size: number of pieces, the 4 reserved ones included
                (and the 256 byte pieces when `byte_fallback`).
            model_type: "unigram" (Kudo 2018) or "bpe" (Sennrich et al.
                2016).
            lowercase, normalization: the keras-seq normalization applied
                before training and before every tokenization.
            character_coverage: fraction of characters covered by the
                model's own pieces (1.0 for alphabetic languages).
            byte_fallback: spell unknown characters as byte pieces, so
                nothing becomes [UNK] and detokenization stays exact.
            max_sentences: sample at most this many sentences (None: all).
            seed: seed of that sample.
            exact_size: True: the model has exactly `vocabulary_size`
                pieces, and a corpus too small for that many is an error;
                False: at most `vocabulary_size` (SentencePiece's
                `hard_vocab_limit=false`), for corpora of any size.
            **kwargs: passed to the constructor.

        Returns:
            A `SentencePieceTokenizer`.
        """
        import sentencepiece

        texts = validate_texts(list(texts), name="texts")
        _check_int("vocabulary_size", vocabulary_size, 8)
        if model_type not in MODEL_TYPES:
            raise ValueError(
                f"`model_type` must be one of {MODEL_TYPES}. Received: "
                f"model_type={model_type!r}"
            )
        validate_normalization(normalization)
        if not 0.9 <= float(character_coverage) <= 1.0:
            raise ValueError(
                "`character_coverage` must be in [0.9, 1]. Received: "
                f"character_coverage={character_coverage!r}"
            )
        if max_sentences is not None:
            _check_int("max_sentences", max_sentences, 1)
            if len(texts) > max_sentences:
                # Seeded sample in Python: the trainer's own sampling is
                # not seedable, and the model must be reproducible.
                texts = random.Random(seed).sample(texts, max_sentences)
        cleaned = []
        for start in range(0, len(texts), 4096):
            batch = tf.constant(texts[start : start + 4096])
            cleaned.extend(
                t.decode("utf-8")
                for t in normalize(batch, lowercase, normalization).numpy()
            )
        model = io.BytesIO()
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(cleaned),
                model_writer=model,
                vocab_size=vocabulary_size,
                hard_vocab_limit=bool(exact_size),
                model_type=model_type,
                character_coverage=float(character_coverage),
                byte_fallback=bool(byte_fallback),
                normalization_rule_name="identity",
                remove_extra_whitespaces=False,
                pad_id=special_tokens.PAD_ID,
                unk_id=special_tokens.UNK_ID,
                bos_id=special_tokens.BOS_ID,
                eos_id=special_tokens.EOS_ID,
                pad_piece=special_tokens.PAD,
                unk_piece=special_tokens.UNK,
                bos_piece=special_tokens.BOS,
                eos_piece=special_tokens.EOS,
                num_threads=1,
                minloglevel=2,
            )
        except (RuntimeError, OSError) as error:
            raise ValueError(
                "SentencePiece training failed: "
                f"{' '.join(str(error).split())} Received: "
                f"vocabulary_size={vocabulary_size}, {len(cleaned)} texts"
            ) from None
        return cls(
            model.getvalue(),
            lowercase=lowercase,
            normalization=normalization,
            **kwargs,
        )

    def save_model_file(self, path):
        """Writes the SentencePiece model (`.model`, readable by the
        `sentencepiece` package and `spm_encode`)."""
        directory = os.path.dirname(os.fspath(path))
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(path, "wb") as f:
            f.write(self._proto)

    @classmethod
    def from_model_file(cls, path, **kwargs):
        """Loads a model written by `save_model_file`."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ValueError(
                f"SentencePiece model file not found. Received: path={path!r}"
            )
        with open(path, "rb") as f:
            return cls(f.read(), **kwargs)

    def get_config(self):
        config = super().get_config()
        for key in (
            "vocabulary",
            "pad_token",
            "unk_token",
            "bos_token",
            "eos_token",
        ):
            config.pop(key)
        config["proto"] = base64.b64encode(self._proto).decode("ascii")
        return config
