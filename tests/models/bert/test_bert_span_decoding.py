"""Span probabilities and best-span decoding vs NumPy (Devlin sec. 4.2)."""

import numpy as np
import pytest

from keras_seq.models.bert import span_decoding

CLS, SEP, PAD = 101, 102, 0


def make_inputs(rng, batch=6, length=14):
    """[CLS] question [SEP] paragraph [SEP] [PAD]..., varied lengths."""
    token_ids = np.zeros((batch, length), np.int32)
    segment_ids = np.zeros((batch, length), np.int32)
    for row in range(batch):
        q = int(rng.integers(1, 4))
        p = int(rng.integers(1, length - q - 3 + 1))
        ids = [CLS] + list(rng.integers(1000, 2000, q)) + [SEP]
        ids += list(rng.integers(1000, 2000, p)) + [SEP]
        token_ids[row, : len(ids)] = ids
        segment_ids[row, q + 2 : len(ids)] = 1
    padding_mask = token_ids != PAD
    return token_ids, segment_ids, padding_mask


def numpy_paragraph(token_ids, segment_ids, padding_mask):
    return (
        padding_mask & (segment_ids == 1) & ~np.isin(token_ids, [CLS, SEP, PAD])
    )


def numpy_span_probabilities(start, end, paragraph, max_len):
    """P_ij = exp(S.T_i + E.T_j) / sum over eligible (i', j')."""
    batch, length = start.shape
    out = np.zeros((batch, length, length))
    for b in range(batch):
        pairs = [
            (i, j)
            for i in range(length)
            for j in range(length)
            if paragraph[b, i] and paragraph[b, j] and i <= j < i + max_len
        ]
        scores = np.array([start[b, i] + end[b, j] for i, j in pairs])
        weights = np.exp(scores - scores.max())
        weights /= weights.sum()
        for (i, j), w in zip(pairs, weights):
            out[b, i, j] = w
    return out


@pytest.mark.parametrize("max_len", [3, 100])
def test_span_and_start_probabilities_match_numpy(max_len):
    rng = np.random.default_rng(0)
    token_ids, segment_ids, padding_mask = make_inputs(rng)
    start = rng.standard_normal(token_ids.shape).astype(np.float32) * 3
    end = rng.standard_normal(token_ids.shape).astype(np.float32) * 3
    paragraph = numpy_paragraph(token_ids, segment_ids, padding_mask)
    mask = span_decoding.paragraph_mask(
        token_ids, segment_ids, padding_mask, (CLS, SEP, PAD)
    )
    np.testing.assert_array_equal(np.asarray(mask), paragraph)

    probs = np.asarray(
        span_decoding.span_probabilities(start, end, mask, max_len)
    )
    expected = numpy_span_probabilities(start, end, paragraph, max_len)
    np.testing.assert_allclose(probs, expected, atol=1e-6)

    # P_i(start) = exp(S.T_i) / sum_{j in paragraph} exp(S.T_j).
    p_start = np.asarray(span_decoding.start_probabilities(start, mask))
    e = np.where(paragraph, np.exp(start - start.max()), 0.0)
    np.testing.assert_allclose(p_start, e / e.sum(1, keepdims=True), atol=1e-6)


def test_best_span_is_the_numpy_argmax_and_always_valid():
    rng = np.random.default_rng(1)
    for _ in range(20):
        token_ids, segment_ids, padding_mask = make_inputs(rng, batch=8)
        # Large logits on the question and special tokens must be ignored.
        start = rng.standard_normal(token_ids.shape).astype(np.float32)
        end = rng.standard_normal(token_ids.shape).astype(np.float32)
        paragraph = numpy_paragraph(token_ids, segment_ids, padding_mask)
        start[~paragraph] += 50.0
        end[~paragraph] += 50.0
        max_len = int(rng.integers(1, 5))
        mask = span_decoding.paragraph_mask(
            token_ids, segment_ids, padding_mask, (CLS, SEP, PAD)
        )
        span = span_decoding.best_span(start, end, mask, max_len)
        s = np.asarray(span["start"])
        e = np.asarray(span["end"])
        assert np.asarray(span["found"]).all()
        for b in range(len(s)):
            assert s[b] <= e[b] < s[b] + max_len
            assert paragraph[b, s[b]] and paragraph[b, e[b]]
            assert segment_ids[b, s[b]] == 1
            assert token_ids[b, s[b]] not in (CLS, SEP, PAD)
            assert token_ids[b, e[b]] not in (CLS, SEP, PAD)
            best = max(
                (start[b, i] + end[b, j], i, j)
                for i in range(token_ids.shape[1])
                for j in range(i, min(i + max_len, token_ids.shape[1]))
                if paragraph[b, i] and paragraph[b, j]
            )
            assert (s[b], e[b]) == best[1:]
            np.testing.assert_allclose(span["score"][b], best[0], rtol=1e-6)


def test_row_without_paragraph_gives_zeros_not_nan():
    token_ids = np.array([[CLS, 5, SEP, 0], [CLS, 5, SEP, 7]], np.int32)
    segment_ids = np.array([[0, 0, 0, 0], [0, 0, 0, 1]], np.int32)
    mask = span_decoding.paragraph_mask(
        token_ids, segment_ids, token_ids != 0, (CLS, SEP, PAD)
    )
    logits = np.zeros((2, 4), np.float32)
    probs = np.asarray(
        span_decoding.span_probabilities(logits, logits, mask, 3)
    )
    assert np.isfinite(probs).all()
    assert probs[0].sum() == 0.0 and abs(probs[1].sum() - 1.0) < 1e-6
    p_start = np.asarray(span_decoding.start_probabilities(logits, mask))
    assert p_start[0].sum() == 0.0
    span = span_decoding.best_span(logits, logits, mask, 3)
    assert list(np.asarray(span["found"])) == [False, True]
    assert (int(span["start"][1]), int(span["end"][1])) == (3, 3)


def test_bad_max_answer_length():
    mask = np.ones((1, 3), bool)
    x = np.zeros((1, 3), np.float32)
    with pytest.raises(ValueError, match="max_answer_length=0"):
        span_decoding.best_span(x, x, mask, 0)
