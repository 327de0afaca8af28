"""Input validation and TensorFlow string helpers shared by the tokenizers."""

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

# BERT-style pre-tokenization: split on whitespace and keep every
# punctuation (\pP) and symbol (\pS) character as its own token.
_WHITESPACE_AND_PUNCTUATION = r"\s+|[\pP\pS]"
_PUNCTUATION = r"[\pP\pS]"
# Combining marks removed by `strip_accents` after NFD decomposition.
_COMBINING_MARKS = r"\p{Mn}"

_NORMALIZATION_FORMS = ("NFC", "NFKC", "NFD", "NFKD")


def _row_to_str(row, index, name):
    """Decodes one Python/NumPy row to `str`, raising on invalid input."""
    if isinstance(row, tf.Tensor) and row.shape.rank == 0:
        row = row.numpy()  # e.g. the elements of a tf.data.Dataset
    if isinstance(row, np.generic):
        row = row.item()
    if isinstance(row, bytes):
        try:
            row = row.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"`{name}` row {index} is not valid UTF-8 ({error}). "
                f"Received: {name}[{index}]={row!r}"
            ) from None
    if not isinstance(row, str):
        raise ValueError(
            f"`{name}` must hold strings, but row {index} is of type "
            f"{type(row).__name__}. Received: {name}[{index}]={row!r}"
        )
    if not row.strip():
        raise ValueError(
            f"`{name}` row {index} is empty or whitespace only; every text "
            f"must contain at least one token. Received: "
            f"{name}[{index}]={row!r}"
        )
    return row


def validate_texts(texts, name="texts"):
    """Checks Python/NumPy texts and returns them as a list of `str`.

    Tokenizers call this on every Python or NumPy input, so bad rows fail
    early with a message naming the row instead of an opaque TensorFlow
    error. Tensors (e.g. inside `tf.data.Dataset.map` or a SavedModel) are
    not checked: there an empty row simply produces no tokens.

    Args:
        texts: a `str`/`bytes`, or a list, tuple or 1-D NumPy array of them.
        name: the argument name used in error messages.

    Returns:
        A list of `str` (a single `str` input gives a one-element list).

    Raises:
        ValueError: if a row is empty or whitespace only, is not valid
            UTF-8, or is not a string; or if `texts` is not 0-D or 1-D.
            The message names the row index and the received text.
    """
    if isinstance(texts, (str, bytes)):
        return [_row_to_str(texts, 0, name)]
    if isinstance(texts, np.ndarray):
        if texts.ndim > 1:
            raise ValueError(
                f"`{name}` must be a string or a 1-D sequence of strings. "
                f"Received: {name} with shape {texts.shape}"
            )
        texts = texts.reshape(-1).tolist()
    if not isinstance(texts, (list, tuple)):
        raise ValueError(
            f"`{name}` must be a string, a list/tuple/array of strings or a "
            f"tf.string tensor. Received: {name}={texts!r}"
        )
    return [_row_to_str(row, i, name) for i, row in enumerate(texts)]


def to_string_tensor(texts, name="texts"):
    """Converts texts to a tf.string tensor of rank 0 or 1.

    Python/NumPy input is validated with `validate_texts` first.

    Returns:
        A tuple `(batched, is_scalar)`: a rank-1 tf.string tensor and whether
        the input was a single string (rank 0).
    """
    if isinstance(texts, tf.RaggedTensor):
        raise ValueError(
            f"`{name}` must be a dense tf.string tensor of rank 0 or 1, not "
            f"a RaggedTensor. Received: {name}={texts!r}"
        )
    if isinstance(texts, (tf.Tensor, tf.Variable)):
        if texts.dtype != tf.string:
            raise ValueError(
                f"`{name}` must have dtype tf.string. Received: "
                f"{name}.dtype={texts.dtype.name}"
            )
        rank = texts.shape.rank
        if rank is not None and rank > 1:
            raise ValueError(
                f"`{name}` must have rank 0 or 1. Received: {name} with "
                f"shape {texts.shape}"
            )
        if rank == 0:
            return tf.expand_dims(texts, 0), True
        return texts, False
    is_scalar = isinstance(texts, (str, bytes)) or (
        isinstance(texts, np.ndarray) and texts.ndim == 0
    )
    rows = validate_texts(texts, name=name)
    return tf.constant(rows, dtype=tf.string, shape=[len(rows)]), is_scalar


def normalize(texts, lowercase, normalization="NFKC", strip_accents=False):
    """Unicode-normalizes and optionally lower-cases a tf.string tensor.

    Args:
        texts: tf.string tensor of any shape.
        lowercase: lower-case with Unicode rules
            (`tf.strings.lower(encoding="utf-8")`). Deliberately not
            `tensorflow_text.case_fold_utf8`: full case folding maps "ß" to
            "ss", which would make German output ("weisse Strasse") differ
            from the references ("weiße Straße") that BLEU compares with.
        normalization: a Unicode normalization form ("NFKC", "NFC", "NFKD",
            "NFD") or None.
        strip_accents: decompose (NFD) and drop combining marks, as the
            uncased BERT vocabularies expect ("café" -> "cafe").
    """
    if normalization is not None:
        texts = tf_text.normalize_utf8(texts, normalization)
    if lowercase:
        texts = tf.strings.lower(texts, encoding="utf-8")
    if strip_accents:
        texts = tf_text.normalize_utf8(texts, "NFD")
        texts = tf.strings.regex_replace(texts, _COMBINING_MARKS, "")
    return texts


def validate_normalization(normalization):
    if normalization is not None and normalization not in (
        _NORMALIZATION_FORMS
    ):
        raise ValueError(
            "`normalization` must be one of "
            f"{_NORMALIZATION_FORMS} or None. Received: "
            f"normalization={normalization!r}"
        )


def split_words(texts):
    """Splits normalized texts into word, number and punctuation tokens.

    Whitespace separates tokens and every punctuation or symbol character is
    its own token; then `tensorflow_text.UnicodeScriptTokenizer` splits
    runs of different scripts, which separates digits from letters
    ("25th" -> "25", "th"). The explicit punctuation split comes first
    because UnicodeScriptTokenizer alone treats digits, punctuation and
    spaces as one "Common" script and would glue "25/11/2026" into a single
    token.

    Args:
        texts: rank-1 tf.string tensor `(batch_size,)`.

    Returns:
        tf.RaggedTensor of tf.string, shape `(batch_size, None)`.
    """
    words = tf_text.regex_split(
        texts, _WHITESPACE_AND_PUNCTUATION, _PUNCTUATION
    )
    pieces = tf_text.UnicodeScriptTokenizer().tokenize(words.flat_values)
    return words.with_flat_values(pieces).merge_dims(1, 2)
