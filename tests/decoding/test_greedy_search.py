"""greedy_search against a NumPy greedy decoder (Sutskever et al. sec. 3.2)."""

import os
import sys

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import decoding_toys as toys  # noqa: E402

from keras_seq.decoding import greedy_search  # noqa: E402


def _start(batch):
    return np.full((batch,), toys.BOS_ID, dtype="int32")


def _np(out):
    return {k: ops.convert_to_numpy(v) for k, v in out.items()}


def _check_against_numpy(toy, out, max_length, min_length=0):
    batch = out["token_ids"].shape[0]
    for row in range(batch):
        expected = toys.np_greedy(toy, row, max_length, min_length)
        n = len(expected)
        assert out["lengths"][row] == n
        np.testing.assert_array_equal(out["token_ids"][row, :n], expected)
        # Padding after EOS / after the limit.
        assert np.all(out["token_ids"][row, n:] == toys.PAD_ID)
        np.testing.assert_allclose(
            out["scores"][row],
            toys.np_sequence_log_prob(toy, row, expected),
            rtol=1e-5,
            atol=1e-5,
        )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_table_toy_matches_numpy_greedy(seed):
    toy = toys.TableToy(batch=4, vocab=6, steps=7, seed=seed, scale=1.0)
    out = _np(
        greedy_search(
            toy.step_fn, toy.initial_state(), _start(4), toys.EOS_ID, 7
        )
    )
    assert out["token_ids"].shape == (4, 7)
    _check_against_numpy(toy, out, 7)


def test_rnn_toy_matches_numpy_including_alignments():
    toy = toys.RnnToy(batch=3, vocab=7, seed=3)
    out = _np(
        greedy_search(
            toy.step_fn, toy.initial_state(), _start(3), toys.EOS_ID, 6
        )
    )
    _check_against_numpy(toy, out, 6)
    assert out["alignment"].shape == (3, 6, 5)
    for row in range(3):
        n = out["lengths"][row]
        tokens = list(out["token_ids"][row, :n])
        _, aligns = toy.np_run(row, tokens)
        np.testing.assert_allclose(
            out["alignment"][row, :n], np.stack(aligns[:n]), atol=1e-5
        )
        assert np.all(out["alignment"][row, n:] == 0.0)
        # Padded source positions get exactly zero weight.
        assert np.all(out["alignment"][row][:, ~toy.source_mask[row]] == 0.0)


def test_eos_stops_each_sequence_and_loop_exits_early():
    # Row 0 says EOS at step 1, row 1 at step 0; every step prefers EOS
    # afterwards, so the loop should exit after 2 steps of 10.
    vocab, steps = 5, 10
    table = np.zeros((2, steps, vocab, vocab), "float32")
    table[:, :, :, 4] = 1.0
    table[0, 1, :, toys.EOS_ID] = 5.0
    table[1, 0, :, toys.EOS_ID] = 5.0
    calls = []

    def step_fn(token_ids, state, step):
        calls.append(1)
        return toys.TableToy.step_fn(token_ids, state, step)

    out = _np(
        greedy_search(
            step_fn,
            {"table": ops.convert_to_tensor(table)},
            _start(2),
            toys.EOS_ID,
            steps,
        )
    )
    np.testing.assert_array_equal(out["lengths"], [2, 1])
    np.testing.assert_array_equal(out["token_ids"][0, :3], [4, 3, 0])
    np.testing.assert_array_equal(out["token_ids"][1, :2], [3, 0])
    assert out["token_ids"].shape == (2, steps)
    # Eager execution runs the loop body in Python: 2 steps, not 10.
    assert len(calls) == 2


def test_min_length_prevents_early_eos():
    vocab, steps = 5, 6
    rng = np.random.default_rng(0)
    table = rng.normal(size=(2, steps, vocab, vocab)).astype("float32")
    table[:, :, :, toys.EOS_ID] = 10.0  # EOS always the favourite
    toy = toys.TableToy(batch=2, vocab=vocab, steps=steps)
    toy.table = table
    out = _np(
        greedy_search(
            toy.step_fn,
            toy.initial_state(),
            _start(2),
            toys.EOS_ID,
            steps,
            min_length=3,
        )
    )
    np.testing.assert_array_equal(out["lengths"], [4, 4])
    assert np.all(out["token_ids"][:, 3] == toys.EOS_ID)
    assert not np.any(out["token_ids"][:, :3] == toys.EOS_ID)
    _check_against_numpy(toy, out, steps, min_length=3)


def test_per_sequence_max_length_and_batch_independence():
    # Scale small so that EOS is rare and the limits matter.
    toy = toys.TableToy(batch=3, vocab=6, steps=6, seed=5, scale=0.3)
    toy.table[:, :, :, toys.EOS_ID] -= 5.0
    limits = np.array([2, 6, 4], "int32")
    out = _np(
        greedy_search(
            toy.step_fn, toy.initial_state(), _start(3), toys.EOS_ID, limits
        )
    )
    assert out["token_ids"].shape == (3, 6)
    for row in range(3):
        expected = toys.np_greedy(toy, row, int(limits[row]))
        assert out["lengths"][row] == len(expected)
        assert len(expected) <= limits[row]
        alone = _np(
            greedy_search(
                toy.step_fn,
                toy.initial_state(rows=[row]),
                _start(1),
                toys.EOS_ID,
                int(limits[row]),
            )
        )
        n = len(expected)
        np.testing.assert_array_equal(
            alone["token_ids"][0, :n], out["token_ids"][row, :n]
        )
        np.testing.assert_allclose(
            alone["scores"][0], out["scores"][row], rtol=1e-6
        )
    _check_against_numpy_limits(toy, out, limits)


def _check_against_numpy_limits(toy, out, limits):
    for row, limit in enumerate(limits):
        expected = toys.np_greedy(toy, row, int(limit))
        np.testing.assert_array_equal(
            out["token_ids"][row, : len(expected)], expected
        )
        assert np.all(out["token_ids"][row, len(expected) :] == toys.PAD_ID)


def test_max_length_from_source():
    from keras_seq.decoding import max_length_from_source

    got = ops.convert_to_numpy(
        max_length_from_source(np.array([0, 3, 10]), 1.5, 2, limit=12)
    )
    np.testing.assert_array_equal(got, [2, 6, 12])


def test_jit_compile_and_symbolic_batch_equal_eager():
    toy = toys.RnnToy(batch=3, vocab=7, seed=4)
    eager = _np(
        greedy_search(
            toy.step_fn, toy.initial_state(), _start(3), toys.EOS_ID, 6
        )
    )

    @tf.function(jit_compile=True)
    def compiled(state, start):
        return greedy_search(toy.step_fn, state, start, toys.EOS_ID, 6)

    jit = _np(compiled(toy.initial_state(), _start(3)))

    # A serving-style signature: unknown batch size, per-row limits.
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
        return greedy_search(
            toy.step_fn, state, start, toys.EOS_ID, limits, output_length=6
        )

    served = _np(
        serving(toy.initial_state(), _start(3), np.full(3, 6, "int32"))
    )
    for other in (jit, served):
        np.testing.assert_array_equal(other["token_ids"], eager["token_ids"])
        np.testing.assert_array_equal(other["lengths"], eager["lengths"])
        np.testing.assert_allclose(other["scores"], eager["scores"], atol=1e-5)
        np.testing.assert_allclose(
            other["alignment"], eager["alignment"], atol=1e-5
        )


def test_record_aux_false_drops_aux():
    toy = toys.RnnToy(batch=2, vocab=7, seed=4)
    out = greedy_search(
        toy.step_fn,
        toy.initial_state(),
        _start(2),
        toys.EOS_ID,
        4,
        record_aux=False,
    )
    assert set(out) == {"token_ids", "lengths", "scores"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_length": 0}, "Received: max_length=0"),
        ({"end_id": 5}, "Received: end_id=5"),
        ({"end_id": -1}, "Received: end_id=-1"),
        ({"pad_id": -1}, "Received: pad_id=-1"),
        ({"max_length": 2.5}, "Received: max_length=2.5"),
        ({"max_length": np.array([3, 0], "int32")}, "max_length="),
        ({"min_length": -1}, "Received: min_length=-1"),
    ],
)
def test_bad_arguments(kwargs, match):
    toy = toys.TableToy(batch=2, vocab=5, steps=4)
    args = {"end_id": toys.EOS_ID, "max_length": 4}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        greedy_search(toy.step_fn, toy.initial_state(), _start(2), **args)


def test_symbolic_max_length_needs_output_length():
    toy = toys.TableToy(batch=2, vocab=5, steps=4)

    @tf.function
    def run(limits):
        return greedy_search(
            toy.step_fn, toy.initial_state(), _start(2), toys.EOS_ID, limits
        )

    with pytest.raises(ValueError, match="output_length"):
        run(tf.constant([2, 3]))
