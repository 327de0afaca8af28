"""beam_search against brute-force enumeration and NumPy re-scoring."""

import os
import sys

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import decoding_toys as toys  # noqa: E402

from keras_seq.decoding import beam_search  # noqa: E402
from keras_seq.decoding import greedy_search  # noqa: E402


def _start(batch):
    return np.full((batch,), toys.BOS_ID, dtype="int32")


def _np(out):
    return {k: ops.convert_to_numpy(v) for k, v in out.items()}


def _tokens(out, row, i=None):
    ids = out["token_ids"][row] if i is None else out["token_ids"][row, i]
    n = out["lengths"][row] if i is None else out["lengths"][row, i]
    return [int(t) for t in ids[:n]]


def _np_coverage(toy, row, tokens, beta):
    _, aligns = toy.np_run(row, tokens)
    cov = np.sum(aligns[: len(tokens)], axis=0)
    logs = np.log(np.clip(cov, 1e-10, 1.0))
    return beta * np.sum(np.where(toy.source_mask[row], logs, 0.0))


@pytest.mark.parametrize("kind, min_length", [("table", 0), ("rnn", 2)])
def test_beam_width_one_is_greedy(kind, min_length):
    if kind == "table":
        toy = toys.TableToy(batch=4, vocab=6, steps=7, seed=1, scale=1.0)
    else:
        toy = toys.RnnToy(batch=4, vocab=6, seed=2)
    limits = np.array([7, 3, 5, 7], "int32")
    kwargs = dict(min_length=min_length)
    greedy = _np(
        greedy_search(
            toy.step_fn,
            toy.initial_state(),
            _start(4),
            toys.EOS_ID,
            limits,
            **kwargs,
        )
    )
    beam = _np(
        beam_search(
            toy.step_fn,
            toy.initial_state(),
            _start(4),
            toys.EOS_ID,
            limits,
            beam_width=1,
            **kwargs,
        )
    )
    np.testing.assert_array_equal(beam["token_ids"], greedy["token_ids"])
    np.testing.assert_array_equal(beam["lengths"], greedy["lengths"])
    np.testing.assert_allclose(beam["log_probs"], greedy["scores"], atol=1e-5)
    np.testing.assert_allclose(beam["scores"], greedy["scores"], atol=1e-5)
    if kind == "rnn":
        np.testing.assert_allclose(
            beam["alignment"], greedy["alignment"], atol=1e-6
        )
    # And greedy itself is the NumPy greedy decoder.
    for row in range(4):
        assert _tokens(beam, row) == toys.np_greedy(
            toy, row, int(limits[row]), min_length
        )


def _exhaustive_toy(kind, seed):
    if kind == "table":
        return toys.TableToy(batch=3, vocab=4, steps=4, seed=seed, scale=1.5)
    return toys.RnnToy(batch=3, vocab=4, seed=seed)


# V = 4, L = 4: at most 3^3 live prefixes and 3^3 * 4 = 108 candidates per
# step, so a beam of 108 keeps the whole search space.
EXHAUSTIVE_BEAM = 108


@pytest.mark.parametrize(
    "kind, alpha, min_length",
    [
        ("table", 0.0, 0),
        ("table", 0.6, 2),
        ("table", 2.0, 0),
        ("rnn", 0.0, 2),
        ("rnn", 0.6, 0),
        ("rnn", 2.0, 2),
    ],
)
def test_exhaustive_beam_equals_brute_force(kind, alpha, min_length):
    toy = _exhaustive_toy(kind, seed=7)
    n_best = 5
    out = _np(
        beam_search(
            toy.step_fn,
            toy.initial_state(),
            _start(3),
            toys.EOS_ID,
            4,
            beam_width=EXHAUSTIVE_BEAM,
            length_penalty=alpha,
            min_length=min_length,
            num_return_sequences=n_best,
        )
    )
    assert out["token_ids"].shape == (3, n_best, 4)
    for row in range(3):
        expected = toys.brute_force_best(
            toy, row, 4, alpha=alpha, min_length=min_length
        )
        for i in range(n_best):
            tokens, score, logp = expected[i]
            assert _tokens(out, row, i) == tokens
            np.testing.assert_allclose(out["scores"][row, i], score, atol=1e-5)
            np.testing.assert_allclose(
                out["log_probs"][row, i], logp, atol=1e-5
            )
            assert out["finished"][row, i]


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_exhaustive_beam_with_coverage_penalty(alpha):
    toy = toys.RnnToy(batch=3, vocab=4, seed=11, source_lengths=[5, 3, 1])
    beta = 0.4
    out = _np(
        beam_search(
            toy.step_fn,
            toy.initial_state(),
            _start(3),
            toys.EOS_ID,
            4,
            beam_width=EXHAUSTIVE_BEAM,
            length_penalty=alpha,
            coverage_penalty=beta,
            source_mask=toy.source_mask,
            num_return_sequences=3,
        )
    )
    for row in range(3):
        expected = toys.brute_force_best(toy, row, 4, alpha=alpha, beta=beta)
        for i in range(3):
            tokens, score, _ = expected[i]
            assert _tokens(out, row, i) == tokens
            np.testing.assert_allclose(out["scores"][row, i], score, atol=1e-5)


@pytest.mark.parametrize("alpha, beta", [(0.0, 0.0), (0.8, 0.0), (0.5, 0.3)])
def test_scores_are_the_models_log_probs_plus_penalties(alpha, beta):
    toy = toys.RnnToy(batch=3, vocab=9, seed=5, source_length=4)
    limits = np.array([8, 5, 8], "int32")
    out = _np(
        beam_search(
            toy.step_fn,
            toy.initial_state(),
            _start(3),
            toys.EOS_ID,
            limits,
            beam_width=4,
            length_penalty=alpha,
            coverage_penalty=beta,
            source_mask=toy.source_mask,
            num_return_sequences=4,
        )
    )
    assert out["alignment"].shape == (3, 4, 8, 4)
    for row in range(3):
        assert np.all(np.diff(out["scores"][row]) <= 1e-6)  # best first
        for i in range(4):
            tokens = _tokens(out, row, i)
            n = len(tokens)
            assert n <= limits[row]
            if out["finished"][row, i]:
                # EOS once, at the end: finished hypotheses are not extended.
                assert tokens[-1] == toys.EOS_ID
                assert toys.EOS_ID not in tokens[:-1]
            else:
                assert toys.EOS_ID not in tokens and n == limits[row]
            assert np.all(out["token_ids"][row, i, n:] == toys.PAD_ID)
            logp = toys.np_sequence_log_prob(toy, row, tokens)
            np.testing.assert_allclose(
                out["log_probs"][row, i], logp, atol=1e-4
            )
            score = logp / toys.gnmt_lp(n, alpha)
            if beta:
                score += _np_coverage(toy, row, tokens, beta)
            np.testing.assert_allclose(out["scores"][row, i], score, atol=1e-4)
            _, aligns = toy.np_run(row, tokens)
            np.testing.assert_allclose(
                out["alignment"][row, i, :n], np.stack(aligns[:n]), atol=1e-5
            )
            assert np.all(out["alignment"][row, i, n:] == 0.0)


def test_min_length_forbids_early_eos():
    toy = toys.TableToy(batch=2, vocab=6, steps=6, seed=3)
    toy.table[:, :, :, toys.EOS_ID] += 8.0  # EOS always the favourite
    out = _np(
        beam_search(
            toy.step_fn,
            toy.initial_state(),
            _start(2),
            toys.EOS_ID,
            6,
            beam_width=3,
            min_length=3,
            num_return_sequences=3,
        )
    )
    for row in range(2):
        for i in range(3):
            tokens = _tokens(out, row, i)
            assert len(tokens) >= 4 and tokens[-1] == toys.EOS_ID
            assert toys.EOS_ID not in tokens[:3]


def test_per_sentence_max_length_and_batch_independence():
    toy = toys.RnnToy(batch=4, vocab=8, seed=9, source_length=4)
    limits = np.array([2, 6, 3, 6], "int32")
    kwargs = dict(beam_width=3, length_penalty=0.7, num_return_sequences=2)
    batched = _np(
        beam_search(
            toy.step_fn,
            toy.initial_state(),
            _start(4),
            toys.EOS_ID,
            limits,
            **kwargs,
        )
    )
    assert batched["token_ids"].shape == (4, 2, 6)
    for row in range(4):
        alone = _np(
            beam_search(
                toy.step_fn,
                toy.initial_state(rows=[row]),
                _start(1),
                toys.EOS_ID,
                int(limits[row]),
                **kwargs,
            )
        )
        assert np.all(batched["lengths"][row] <= limits[row])
        width = int(limits[row])
        np.testing.assert_array_equal(
            alone["token_ids"][0], batched["token_ids"][row, :, :width]
        )
        np.testing.assert_array_equal(
            alone["lengths"][0], batched["lengths"][row]
        )
        np.testing.assert_allclose(
            alone["scores"][0], batched["scores"][row], atol=1e-5
        )


def test_no_finished_hypothesis_returns_best_truncated():
    toy = toys.TableToy(batch=2, vocab=4, steps=3, seed=4)
    toy.table[:, :, :, toys.EOS_ID] = -np.inf  # EOS impossible
    out = _np(
        beam_search(
            toy.step_fn,
            toy.initial_state(),
            _start(2),
            toys.EOS_ID,
            3,
            beam_width=27,
            length_penalty=1.0,
        )
    )
    import itertools

    for row in range(2):
        best = max(
            itertools.product([0, 1, 2], repeat=3),
            key=lambda s: toys.np_sequence_log_prob(toy, row, list(s)),
        )
        assert not out["finished"][row]
        assert out["lengths"][row] == 3
        assert _tokens(out, row) == list(best)
        logp = toys.np_sequence_log_prob(toy, row, list(best))
        np.testing.assert_allclose(
            out["scores"][row], logp / toys.gnmt_lp(3, 1.0), atol=1e-5
        )


def test_search_stops_once_no_live_beam_can_win():
    # EOS is overwhelmingly likely at step 0: after it every live prefix is
    # already worse than the finished "EOS", so the loop stops at once.
    toy = toys.TableToy(batch=2, vocab=5, steps=20, seed=0)
    toy.table[:, 0, :, toys.EOS_ID] = 20.0
    calls = []

    def step_fn(token_ids, state, step):
        calls.append(1)
        return toy.step_fn(token_ids, state, step)

    out = _np(
        beam_search(
            step_fn,
            toy.initial_state(),
            _start(2),
            toys.EOS_ID,
            20,
            beam_width=4,
        )
    )
    np.testing.assert_array_equal(out["lengths"], [1, 1])
    assert len(calls) == 1
    assert out["token_ids"].shape == (2, 20)


@pytest.mark.parametrize("seed, alpha", [(1, 0.7), (2, 0.0)])
def test_matches_numpy_textbook_beam_search(seed, alpha):
    # The NumPy reference runs eq. 4 to max_length with no early stopping,
    # so this also checks that stopping early never changes the result.
    toy = toys.TableToy(batch=3, vocab=7, steps=6, seed=seed, scale=1.5)
    for width in (2, 4, 16):
        out = _np(
            beam_search(
                toy.step_fn,
                toy.initial_state(),
                _start(3),
                toys.EOS_ID,
                6,
                beam_width=width,
                length_penalty=alpha,
            )
        )
        for row in range(3):
            tokens, score, logp = toys.np_beam_search(
                toy, row, 6, width, alpha=alpha
            )
            assert _tokens(out, row) == tokens, (width, row)
            np.testing.assert_allclose(out["scores"][row], score, atol=1e-5)
            np.testing.assert_allclose(out["log_probs"][row], logp, atol=1e-5)


@pytest.mark.parametrize("seed", [1])
def test_no_beam_beats_the_exhaustive_beam(seed):
    # Beam search is not monotone in the width in general: in
    # test_matches_numpy_textbook_beam_search (seed 2, row 2) width 4 finds
    # log P = -3.954 where width 2 finds -3.799, and the independent NumPy
    # reference agrees. What always holds: the beam covering the whole
    # search space finds the most probable sequence, so no narrower beam
    # scores higher, and a wider beam is never worse than greedy here.
    toy = _exhaustive_toy("rnn", seed)
    results = {}
    for width in (1, 2, 4, 12, EXHAUSTIVE_BEAM):
        results[width] = _np(
            beam_search(
                toy.step_fn,
                toy.initial_state(),
                _start(3),
                toys.EOS_ID,
                4,
                beam_width=width,
            )
        )
    # A truncated hypothesis (no EOS by max_length) is not comparable.
    finished = {w: r["finished"] for w, r in results.items()}
    results = {w: r["log_probs"] for w, r in results.items()}
    exhaustive = results[EXHAUSTIVE_BEAM]
    assert np.all(finished[EXHAUSTIVE_BEAM])
    for row in range(3):
        best = toys.brute_force_best(toy, row, 4)[0]
        np.testing.assert_allclose(exhaustive[row], best[2], atol=1e-5)
    for width, log_probs in results.items():
        done = finished[width]
        assert np.all(log_probs[done] <= exhaustive[done] + 1e-5), width
        # Empirical on these toys (not a theorem): never below greedy.
        both = done & finished[1]
        assert np.all(log_probs[both] >= results[1][both] - 1e-5), width


def test_jit_compile_and_serving_signature_equal_eager():
    toy = toys.RnnToy(batch=3, vocab=7, seed=4)
    kwargs = dict(
        beam_width=3,
        length_penalty=0.6,
        coverage_penalty=0.2,
        num_return_sequences=2,
    )
    eager = _np(
        beam_search(
            toy.step_fn,
            toy.initial_state(),
            _start(3),
            toys.EOS_ID,
            6,
            source_mask=toy.source_mask,
            **kwargs,
        )
    )

    @tf.function(jit_compile=True)
    def compiled(state, start, mask):
        return beam_search(
            toy.step_fn,
            state,
            start,
            toys.EOS_ID,
            6,
            source_mask=mask,
            **kwargs,
        )

    jit = _np(compiled(toy.initial_state(), _start(3), toy.source_mask))

    @tf.function(
        input_signature=[
            {
                "h": tf.TensorSpec([None, 6], tf.float32),
                "memory": tf.TensorSpec([None, 5, 6], tf.float32),
                "mask": tf.TensorSpec([None, 5], tf.bool),
            },
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None], tf.int32),
        ]
    )
    def serving(state, start, limits):
        return beam_search(
            toy.step_fn,
            state,
            start,
            toys.EOS_ID,
            limits,
            output_length=6,
            source_mask=state["mask"],
            **kwargs,
        )

    served = _np(
        serving(toy.initial_state(), _start(3), np.full(3, 6, "int32"))
    )
    for other in (jit, served):
        np.testing.assert_array_equal(other["token_ids"], eager["token_ids"])
        np.testing.assert_array_equal(other["lengths"], eager["lengths"])
        np.testing.assert_array_equal(other["finished"], eager["finished"])
        np.testing.assert_allclose(other["scores"], eager["scores"], atol=1e-5)
        np.testing.assert_allclose(
            other["alignment"], eager["alignment"], atol=1e-5
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"beam_width": 0}, "Received: beam_width=0"),
        ({"beam_width": 2.0}, "Received: beam_width=2.0"),
        ({"max_length": 0}, "Received: max_length=0"),
        ({"end_id": 5}, "Received: end_id=5"),
        ({"end_id": -1}, "Received: end_id=-1"),
        ({"pad_id": -1}, "Received: pad_id=-1"),
        ({"length_penalty": -0.5}, "Received: length_penalty=-0.5"),
        ({"coverage_penalty": -1.0}, "Received: coverage_penalty=-1.0"),
        ({"min_length": -2}, "Received: min_length=-2"),
        ({"num_return_sequences": 3}, "Received: num_return_sequences=3"),
        ({"num_return_sequences": 0}, "Received: num_return_sequences=0"),
        ({"coverage_penalty": 0.5}, "alignment"),
    ],
)
def test_bad_arguments(kwargs, match):
    toy = toys.TableToy(batch=2, vocab=5, steps=4)
    args = {"end_id": toys.EOS_ID, "max_length": 4, "beam_width": 2}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        beam_search(toy.step_fn, toy.initial_state(), _start(2), **args)


def test_saved_model_round_trip(tmp_path):
    # The searches must survive tf.saved_model.save / load (TF Serving path
    # is checked by serving/; here: the loop traces into a SavedModel with
    # an unknown batch size and gives the eager result after loading).
    toy = toys.RnnToy(batch=3, vocab=7, seed=8)
    spec = {
        "h": tf.TensorSpec([None, 6], tf.float32),
        "memory": tf.TensorSpec([None, 5, 6], tf.float32),
        "mask": tf.TensorSpec([None, 5], tf.bool),
    }
    module = tf.Module()

    @tf.function(input_signature=[spec, tf.TensorSpec([None], tf.int32)])
    def translate(state, start):
        out = beam_search(
            toy.step_fn,
            state,
            start,
            toys.EOS_ID,
            6,
            beam_width=3,
            length_penalty=0.6,
        )
        return {"token_ids": out["token_ids"], "scores": out["scores"]}

    module.translate = translate
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    got = _np(loaded.translate(toy.initial_state(), _start(3)))
    eager = _np(
        beam_search(
            toy.step_fn,
            toy.initial_state(),
            _start(3),
            toys.EOS_ID,
            6,
            beam_width=3,
            length_penalty=0.6,
        )
    )
    np.testing.assert_array_equal(got["token_ids"], eager["token_ids"])
    np.testing.assert_allclose(got["scores"], eager["scores"], atol=1e-5)
