"""Corpus-level text metrics: BLEU (sacrebleu) and exact match."""

import re

import numpy as np
import sacrebleu


def _as_texts(values, name):
    """Lists of str from lists, NumPy arrays or tf.string tensors."""
    if hasattr(values, "numpy"):
        values = values.numpy()
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(
        values, (list, tuple)
    ):
        raise ValueError(
            f"`{name}` must be a list of strings. Received: {name}={values!r}"
        )
    texts = []
    for i, value in enumerate(values):
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if not isinstance(value, str):
            raise ValueError(
                f"`{name}` must hold strings, but row {i} is "
                f"{type(value).__name__}. Received: {name}[{i}]={value!r}"
            )
        texts.append(value)
    return texts


def _reference_streams(references, num_hypotheses):
    """sacrebleu wants one stream per reference set: refs[k][i]."""
    if hasattr(references, "numpy"):
        references = references.numpy()
    if isinstance(references, np.ndarray):
        references = references.tolist()
    if (
        isinstance(references, (list, tuple))
        and references
        and all(isinstance(r, (list, tuple)) for r in references)
    ):
        per_hypothesis = [
            _as_texts(list(r), f"references[{i}]")
            for i, r in enumerate(references)
        ]
        counts = {len(r) for r in per_hypothesis}
        if len(counts) != 1 or 0 in counts:
            raise ValueError(
                "With several references per hypothesis every hypothesis "
                "needs the same non-zero number of references. Received: "
                f"reference counts={sorted(counts)}"
            )
        streams = [list(s) for s in zip(*per_hypothesis)]
    else:
        streams = [_as_texts(references, "references")]
    if len(streams[0]) != num_hypotheses:
        raise ValueError(
            "`hypotheses` and `references` must have the same length. "
            f"Received: len(hypotheses)={num_hypotheses}, "
            f"len(references)={len(streams[0])}"
        )
    return streams


def corpus_bleu(hypotheses, references, lowercase=False, tokenize="13a"):
    """Corpus BLEU (Papineni et al. 2002) on a 0-100 scale, via sacrebleu.

    BLEU = BP * exp(sum_n 1/4 log p_n), with p_n the clipped n-gram
    precisions (n = 1..4) over the whole corpus and brevity penalty
    BP = exp(1 - r/c) if c < r else 1 (c, r: hypothesis and reference
    lengths in tokens). Computed by `sacrebleu.corpus_bleu` with its default
    settings (13a tokenization, "exp" smoothing), so scores are comparable
    with published sacreBLEU numbers.

    Args:
        hypotheses: list (or 1-D array/tf.string tensor) of str.
        references: list of str (one reference per hypothesis), or a list
            of lists holding the same number of references per hypothesis.
        lowercase: case-insensitive BLEU.
        tokenize: sacrebleu tokenizer name ("13a", "intl", "none", ...).

    Returns:
        float, BLEU in [0, 100].
    """
    hypotheses = _as_texts(hypotheses, "hypotheses")
    if not hypotheses:
        raise ValueError(
            "`hypotheses` must not be empty. Received: hypotheses=[]"
        )
    streams = _reference_streams(references, len(hypotheses))
    result = sacrebleu.corpus_bleu(
        hypotheses, streams, lowercase=lowercase, tokenize=tokenize
    )
    return float(result.score)


def exact_match(hypotheses, references, ignore_spaces=False):
    """Share of hypotheses equal to their reference (in [0, 1]).

    Texts are compared after stripping leading/trailing whitespace. With
    `ignore_spaces=True` all whitespace is removed first, which compares a
    detokenized "2026 - 11 - 25" equal to "2026-11-25".

    Args:
        hypotheses: list (or 1-D array/tf.string tensor) of str.
        references: list of str of the same length.
        ignore_spaces: compare without any whitespace.

    Returns:
        float in [0, 1].
    """
    hypotheses = _as_texts(hypotheses, "hypotheses")
    references = _as_texts(references, "references")
    if len(hypotheses) != len(references) or not hypotheses:
        raise ValueError(
            "`hypotheses` and `references` must be non-empty and of the "
            f"same length. Received: len(hypotheses)={len(hypotheses)}, "
            f"len(references)={len(references)}"
        )

    def clean(text):
        return re.sub(r"\s+", "", text) if ignore_spaces else text.strip()

    matches = sum(clean(h) == clean(r) for h, r in zip(hypotheses, references))
    return matches / len(hypotheses)
