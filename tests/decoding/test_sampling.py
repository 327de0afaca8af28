"""sample: top-k/top-p/temperature against NumPy distributions."""

import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import decoding_toys as toys  # noqa: E402

from keras_seq.decoding import greedy_search  # noqa: E402
from keras_seq.decoding import sample  # noqa: E402


def _start(batch):
    return np.full((batch,), toys.BOS_ID, dtype="int32")


def _np(out):
    return {k: ops.convert_to_numpy(v) for k, v in out.items()}


@pytest.mark.parametrize("kind", ["table", "rnn"])
def test_top_k_one_is_greedy(kind):
    if kind == "table":
        toy = toys.TableToy(batch=4, vocab=6, steps=6, seed=1, scale=1.0)
    else:
        toy = toys.RnnToy(batch=4, vocab=6, seed=2)
    greedy = _np(
        greedy_search(
            toy.step_fn, toy.initial_state(), _start(4), toys.EOS_ID, 6
        )
    )
    sampled = _np(
        sample(
            toy.step_fn,
            toy.initial_state(),
            _start(4),
            toys.EOS_ID,
            6,
            top_k=1,
            temperature=0.7,
            seed=3,
        )
    )
    for key in greedy:
        np.testing.assert_allclose(sampled[key], greedy[key], atol=1e-6)


def test_seed_reproducible_and_scores_are_model_log_probs():
    toy = toys.TableToy(batch=8, vocab=6, steps=6, seed=2, scale=0.5)

    def run(seed):
        return _np(
            sample(
                toy.step_fn,
                toy.initial_state(),
                _start(8),
                toys.EOS_ID,
                6,
                temperature=1.3,
                seed=seed,
            )
        )

    first, again, other = run(7), run(7), run(8)
    np.testing.assert_array_equal(first["token_ids"], again["token_ids"])
    assert not np.array_equal(first["token_ids"], other["token_ids"])
    for row in range(8):
        n = first["lengths"][row]
        tokens = list(first["token_ids"][row, :n])
        assert toys.EOS_ID not in tokens[:-1]
        assert np.all(first["token_ids"][row, n:] == toys.PAD_ID)
        np.testing.assert_allclose(
            first["scores"][row],
            toys.np_sequence_log_prob(toy, row, tokens),
            atol=1e-5,
        )


def _one_step_frequencies(logits, n, **kwargs):
    """Samples one token for n sentences from the same logits."""
    vocab = logits.shape[0]
    table = np.broadcast_to(logits, (n, 1, vocab, vocab)).astype("float32")
    out = sample(
        toys.TableToy.step_fn,
        {"table": ops.convert_to_tensor(np.ascontiguousarray(table))},
        _start(n),
        toys.EOS_ID,
        1,
        **kwargs,
    )
    tokens = ops.convert_to_numpy(out["token_ids"])[:, 0]
    return np.bincount(tokens, minlength=vocab) / n


LOGITS = np.array([0.3, -1.0, 1.2, 0.5, -0.2, 0.9], "float32")
N = 20000
# 4.5 standard deviations of a frequency with p <= 0.5 over N draws.
TOL = 4.5 * np.sqrt(0.25 / N)


def _np_softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_frequencies_match_softmax(temperature):
    freq = _one_step_frequencies(LOGITS, N, temperature=temperature, seed=11)
    np.testing.assert_allclose(
        freq, _np_softmax(LOGITS / temperature), atol=TOL
    )


def test_top_k_frequencies():
    freq = _one_step_frequencies(LOGITS, N, top_k=3, seed=12)
    expected = np.zeros(6)
    keep = np.argsort(-LOGITS)[:3]
    expected[keep] = _np_softmax(LOGITS[keep])
    np.testing.assert_allclose(freq, expected, atol=TOL)
    assert np.all(freq[np.argsort(-LOGITS)[3:]] == 0)


@pytest.mark.parametrize("top_p", [0.3, 0.5, 0.8, 0.95, 1.0])
def test_top_p_keeps_the_nucleus(top_p):
    probs = _np_softmax(LOGITS.astype(np.float64))
    order = np.argsort(-probs)
    cum = np.cumsum(probs[order])
    # Smallest prefix of the sorted tokens whose mass reaches top_p.
    size = int(np.searchsorted(cum, top_p - 1e-12) + 1)
    nucleus = order[:size]
    expected = np.zeros(6)
    expected[nucleus] = probs[nucleus] / probs[nucleus].sum()
    freq = _one_step_frequencies(LOGITS, N, top_p=top_p, seed=13)
    np.testing.assert_allclose(freq, expected, atol=TOL)
    outside = np.setdiff1d(np.arange(6), nucleus)
    assert np.all(freq[outside] == 0)


def test_top_k_and_top_p_together():
    freq = _one_step_frequencies(LOGITS, N, top_k=4, top_p=0.6, seed=14)
    order = np.argsort(-LOGITS)[:4]
    probs = _np_softmax(LOGITS[order].astype(np.float64))
    size = int(np.searchsorted(np.cumsum(probs), 0.6 - 1e-12) + 1)
    expected = np.zeros(6)
    expected[order[:size]] = probs[:size] / probs[:size].sum()
    np.testing.assert_allclose(freq, expected, atol=TOL)


def test_min_length_and_max_length_per_sentence():
    toy = toys.TableToy(batch=6, vocab=5, steps=6, seed=5)
    toy.table[:, :, :, toys.EOS_ID] += 3.0
    limits = np.array([6, 2, 4, 6, 5, 3], "int32")
    out = _np(
        sample(
            toy.step_fn,
            toy.initial_state(),
            _start(6),
            toys.EOS_ID,
            limits,
            min_length=2,
            seed=1,
        )
    )
    for row in range(6):
        n = out["lengths"][row]
        assert 1 <= n <= limits[row]
        assert toys.EOS_ID not in out["token_ids"][row, :2]
        assert np.all(out["token_ids"][row, n:] == toys.PAD_ID)


def test_jit_compile_runs_and_is_reproducible():
    # XLA draws stateless random numbers with another algorithm than the
    # TensorFlow CPU kernel, so the same seed gives different (equally
    # valid) samples compiled and eager. Compiled, the seed still fixes the
    # samples, and the deterministic part (top_k=1) equals eager exactly.
    toy = toys.RnnToy(batch=5, vocab=7, seed=6)

    def run(state, start, **kwargs):
        return sample(toy.step_fn, state, start, toys.EOS_ID, 6, **kwargs)

    compiled = tf.function(run, jit_compile=True)
    kwargs = dict(temperature=1.5, top_k=5, top_p=0.9, seed=21)
    first = _np(compiled(toy.initial_state(), _start(5), **kwargs))
    again = _np(compiled(toy.initial_state(), _start(5), **kwargs))
    np.testing.assert_array_equal(first["token_ids"], again["token_ids"])
    for row in range(5):
        n = first["lengths"][row]
        tokens = list(first["token_ids"][row, :n])
        np.testing.assert_allclose(
            first["scores"][row],
            toys.np_sequence_log_prob(toy, row, tokens),
            atol=1e-4,
        )
    kwargs = dict(top_k=1, seed=21)
    jit = _np(compiled(toy.initial_state(), _start(5), **kwargs))
    eager = _np(run(toy.initial_state(), _start(5), **kwargs))
    for key in eager:
        np.testing.assert_allclose(jit[key], eager[key], atol=1e-5)


def test_seed_generator_draws_fresh_samples():
    toy = toys.TableToy(batch=8, vocab=6, steps=6, seed=2, scale=0.3)
    generator = keras.random.SeedGenerator(5)
    a = _np(
        sample(
            toy.step_fn,
            toy.initial_state(),
            _start(8),
            toys.EOS_ID,
            6,
            seed=generator,
        )
    )
    b = _np(
        sample(
            toy.step_fn,
            toy.initial_state(),
            _start(8),
            toys.EOS_ID,
            6,
            seed=generator,
        )
    )
    assert not np.array_equal(a["token_ids"], b["token_ids"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"temperature": 0.0}, "Received: temperature=0.0"),
        ({"temperature": -1}, "Received: temperature=-1"),
        ({"top_k": 0}, "Received: top_k=0"),
        ({"top_p": 0.0}, "Received: top_p=0.0"),
        ({"top_p": 1.5}, "Received: top_p=1.5"),
        ({"seed": "abc"}, "Received: seed=abc"),
        ({"max_length": 0}, "Received: max_length=0"),
        ({"end_id": 5}, "Received: end_id=5"),
        ({"end_id": -1}, "Received: end_id=-1"),
        ({"pad_id": -1}, "Received: pad_id=-1"),
    ],
)
def test_bad_arguments(kwargs, match):
    toy = toys.TableToy(batch=2, vocab=5, steps=4)
    args = {"end_id": toys.EOS_ID, "max_length": 4}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sample(toy.step_fn, toy.initial_state(), _start(2), **args)
