"""corpus_bleu and exact_match."""

import collections
import math

import numpy as np
import pytest
import sacrebleu

from keras_seq.metrics import corpus_bleu
from keras_seq.metrics import exact_match


def _numpy_bleu(hypotheses, references):
    """BLEU from Papineni et al. 2002 for whitespace-tokenized text."""
    matches = np.zeros(4)
    totals = np.zeros(4)
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references):
        h, r = hyp.split(), ref.split()
        hyp_len += len(h)
        ref_len += len(r)
        for n in range(1, 5):
            h_ngrams = collections.Counter(
                tuple(h[i : i + n]) for i in range(len(h) - n + 1)
            )
            r_ngrams = collections.Counter(
                tuple(r[i : i + n]) for i in range(len(r) - n + 1)
            )
            matches[n - 1] += sum(
                min(c, r_ngrams[g]) for g, c in h_ngrams.items()
            )
            totals[n - 1] += max(len(h) - n + 1, 0)
    precisions = matches / totals
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return 100 * bp * math.exp(np.log(precisions).mean())


def test_identical_and_disjoint():
    refs = ["a man rides a horse on the beach", "two dogs play in the snow"]
    assert corpus_bleu(refs, refs) == pytest.approx(100.0)
    assert sacrebleu.corpus_bleu(refs, [refs]).score == pytest.approx(100.0)
    disjoint = ["xx yy zz ww vv uu", "qq rr ss tt oo"]
    assert corpus_bleu(disjoint, refs) == pytest.approx(0.0)


def test_partial_matches_numpy_bleu():
    hyps = [
        "a man rides a brown horse on the sand",
        "two dogs are playing in snow",
    ]
    refs = [
        "a man rides a horse on the beach today",
        "two dogs are playing in the snow",
    ]
    expected = _numpy_bleu(hyps, refs)
    assert 0 < expected < 100
    assert corpus_bleu(hyps, refs) == pytest.approx(expected, abs=1e-6)
    # Brevity penalty active: hypotheses shorter than references.
    short = ["a man rides a horse", "two dogs are playing"]
    expected = _numpy_bleu(short, refs)
    assert corpus_bleu(short, refs) == pytest.approx(expected, abs=1e-6)


def test_lowercase_and_multiple_references():
    hyps = ["A Man Rides A Horse On The Beach"]
    refs = ["a man rides a horse on the beach"]
    assert corpus_bleu(hyps, refs) < 100
    assert corpus_bleu(hyps, refs, lowercase=True) == pytest.approx(100.0)
    multi = corpus_bleu(
        ["a man rides a horse on the beach"],
        [["a woman walks", "a man rides a horse on the beach"]],
    )
    assert multi == pytest.approx(100.0)
    tensor_like = np.array([b"a man rides a horse on the beach"])
    assert corpus_bleu(tensor_like, refs) == pytest.approx(100.0)


def test_exact_match():
    hyps = ["2026 - 11 - 25", "1999-01-02", "x"]
    refs = ["2026-11-25", "1999-01-02 ", "y"]
    assert exact_match(hyps, refs) == pytest.approx(1 / 3)
    assert exact_match(hyps, refs, ignore_spaces=True) == pytest.approx(2 / 3)


def test_bad_inputs():
    with pytest.raises(ValueError, match="len\\(references\\)=1"):
        corpus_bleu(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="hypotheses"):
        corpus_bleu("a b", ["a b"])
    with pytest.raises(ValueError, match="len\\(hypotheses\\)=0"):
        exact_match([], [])
