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
    try:
        row.encode("utf-8")
    except UnicodeEncodeError as error:
        # A lone surrogate (e.g. from a bad `surrogateescape` decode) has no
        # UTF-8 encoding.
        raise ValueError(
            f"`{name}` row {index} cannot be encoded as UTF-8 ({error}). "
            f"Received: {name}[{index}]={row!r}"
        ) from None
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


def clean_text(texts):
    """Valid UTF-8, control characters as spaces, whitespace collapsed.

    The first step of every keras-seq tokenizer (the documented
    normalization that `detokenize(tokenize(s))` gives back):

    - bytes that are not UTF-8 become U+FFFD (inside a graph nothing can
      raise for one bad row);
    - control characters (Unicode category Cc: NUL, escape, DEL...) become
      spaces. They carry no text, and NUL would otherwise end the string
      for `tf.strings.lower`, silently dropping the rest of the text;
    - runs of whitespace become one space; leading and trailing whitespace
      are removed.

    Args:
        texts: tf.string tensor of any shape.
    """
    texts = tf.strings.unicode_transcode(
        texts,
        input_encoding="UTF-8",
        output_encoding="UTF-8",
        errors="replace",
        replacement_char=0xFFFD,
    )
    texts = tf.strings.regex_replace(texts, r"\p{Cc}", " ")
    return collapse_whitespace(texts)


def collapse_whitespace(texts):
    """Runs of whitespace (ASCII or Unicode separators) -> one space, and
    no leading or trailing whitespace."""
    texts = tf.strings.regex_replace(texts, r"[\s\p{Z}]+", " ")
    return tf.strings.strip(texts)


def normalize(texts, lowercase, normalization="NFKC", strip_accents=False):
    """Cleans, Unicode-normalizes and optionally lower-cases text.

    `clean_text` runs first (see there), then the normalization form, then
    lower-casing.

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
    texts = clean_text(texts)
    if normalization is not None:
        texts = tf_text.normalize_utf8(texts, normalization)
        # NFKC maps e.g. U+00A0 (no-break space) to a space: collapse again.
        texts = collapse_whitespace(texts)
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


# OpenNMT Tokenizer's joiner: a token written without a space before it in
# the text carries this prefix ("läuft." -> "läuft", "￭."), so detokenizing
# puts the text back together exactly.
JOINER = "\uffed"


def split_words(texts, joiner=None):
    """Splits normalized texts into word, number and punctuation tokens.

    Whitespace separates tokens and every punctuation or symbol character is
    its own token; then `tensorflow_text.UnicodeScriptTokenizer` splits
    runs of different scripts, which separates digits from letters
    ("25th" -> "25", "th"). The explicit punctuation split comes first
    because UnicodeScriptTokenizer alone treats digits, punctuation and
    spaces as one "Common" script and would glue "25/11/2026" into a single
    token.

    With a `joiner`, every token that follows another without a space in
    between is prefixed with it: "Ein Hund läuft." -> "Ein", "Hund",
    "läuft", "￭."; "2026-11-25" -> "2026", "￭-", "￭11", "￭-", "￭25". Then
    `join_words` restores the spacing exactly (the joiner annotation of the
    OpenNMT Tokenizer).

    Args:
        texts: rank-1 tf.string tensor `(batch_size,)`.
        joiner: None (spacing is not kept) or the marker string.

    Returns:
        tf.RaggedTensor of tf.string, shape `(batch_size, None)`.
    """
    words = tf_text.WhitespaceTokenizer().tokenize(texts)  # (B, words)
    pieces = tf_text.regex_split(
        words.flat_values, _WHITESPACE_AND_PUNCTUATION, _PUNCTUATION
    )  # (words, pieces)
    scripts = tf_text.UnicodeScriptTokenizer().tokenize(pieces.flat_values)
    pieces = pieces.with_flat_values(scripts).merge_dims(1, 2)
    if joiner:
        tokens = pieces.flat_values
        # Index of each token inside its whitespace-separated word.
        position = tf.range(tf.size(tokens, out_type=tf.int64)) - tf.repeat(
            pieces.row_starts(), pieces.row_lengths()
        )
        tokens = tf.where(position > 0, joiner + tokens, tokens)
        pieces = pieces.with_flat_values(tokens)
    return words.with_flat_values(pieces).merge_dims(1, 2)


def join_words(tokens, joiner=None):
    """Inverse of `split_words`: ragged tokens `(batch, None)` -> `(batch,)`.

    Tokens are joined with spaces; with a `joiner`, the space before a
    token carrying it is dropped (and a joiner at the very start, which a
    model may generate, is removed).
    """
    texts = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
    if joiner:
        texts = tf.strings.regex_replace(texts, " ?" + joiner, "")
    return texts


def split_characters(texts):
    """Normalized texts -> Unicode characters (spaces included).

    Args:
        texts: rank-1 tf.string tensor `(batch_size,)`.

    Returns:
        tf.RaggedTensor of tf.string `(batch_size, None)`; joining the
        characters with "" gives the text back.
    """
    return tf.strings.unicode_split(texts, "UTF-8")
