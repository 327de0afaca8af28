"""Beam search with GNMT length and coverage penalties.

The search is a loop over a small state record (`BeamState`: the live
hypotheses still being extended, the finished ones, and the model's
decoding state) and small pure functions, one per idea, in the manner of
Flax's `examples/wmt/decode.py`:

- `flatten_beam_dim` / `unflatten_beam_dim` / `tile_beams`: the model sees
  `batch_size * beam_width` rows, the search `(batch_size, beam_width)`;
- `gather_beams`: reorder the beams of each sentence;
- `top_k_candidates`: expand every live prefix and keep the best `k`;
- `gnmt_length_penalty` / `gnmt_coverage_penalty`: GNMT's rescoring (Wu
  et al. 2016, eq. 14);
- `update_finished`: candidates that end in EOS join the finished set;
- `sentences_to_stop`: the exact early-stopping bound;
- `select_best`: rank finished, then truncated live, hypotheses.

Notation in the shape comments: `B` batch size, `k` beam width, `V`
vocabulary size, `L` output length, `S` source length.
"""

import collections

import keras
from keras import ops

from keras_seq.decoding import decoding_utils as utils
from keras_seq.validation import check_int

# Hypotheses still being extended. `aux` maps each recorded aux key to
# `(B, k, L, ...)` (empty without `record_aux`); `coverage` is the attention
# each source position received, `(B, k, S)`, or `()` without a coverage
# penalty.
LiveBeams = collections.namedtuple(
    "LiveBeams", ["token_ids", "log_probs", "aux", "coverage"]
)
# The `k` best hypotheses that ended in EOS, by penalised score (`-inf` for
# empty slots). `token_ids (B, k, L)`, `scores`, `log_probs`, `lengths`
# `(B, k)`, `aux` as in `LiveBeams`.
FinishedBeams = collections.namedtuple(
    "FinishedBeams", ["token_ids", "scores", "log_probs", "lengths", "aux"]
)
# The loop state: `step` int32 scalar, the index of the token produced
# next; `prev (B * k,)` the last token of every live hypothesis (the next
# input of the model); `state` the model's decoding state, `(B * k, ...)`;
# `done (B,)` sentences that have stopped; `early (B,)` those stopped by the
# bound before their maximum length; `live`, `finished` as above.
BeamState = collections.namedtuple(
    "BeamState",
    ["step", "prev", "state", "done", "early", "live", "finished"],
)


def flatten_beam_dim(x):
    """`(batch, beam, ...)` -> `(batch * beam, ...)`."""
    shape = ops.shape(x)
    return ops.reshape(x, (-1,) + tuple(shape[2:]))


def unflatten_beam_dim(x, beam_width):
    """`(batch * beam, ...)` -> `(batch, beam, ...)`."""
    shape = ops.shape(x)
    return ops.reshape(x, (-1, beam_width) + tuple(shape[1:]))


def tile_beams(x, beam_width):
    """`(batch, ...)` -> `(batch * beam, ...)`, each row repeated `beam` times
    consecutively (so row `b * beam + j` is beam `j` of sentence `b`)."""
    return ops.repeat(x, beam_width, axis=0)


def _flat_rows(beam_indices, old_beam):
    """Row `b * old_beam + beam_indices[b, j]` for every `(b, j)`, flat."""
    indices = ops.cast(beam_indices, "int32")
    batch = ops.shape(indices)[0]
    offsets = ops.arange(batch, dtype="int32")[:, None] * old_beam
    return ops.reshape(indices + offsets, (-1,))


def gather_beams(x, beam_indices):
    """Selects beams of each sentence: `out[b, j] = x[b, beam_indices[b, j]]`.

    Implemented as one row gather on the flattened `(batch * old_beam, ...)`
    tensor (`ops.take` on axis 0), which copies whole rows; a
    `take_along_axis` would broadcast the indices to the full shape of `x`
    and gather element by element, which is many times slower for a
    key/value cache.

    Args:
        x: tensor `(batch, old_beam, ...)`.
        beam_indices: int tensor `(batch, new_beam)`.

    Returns:
        Tensor `(batch, new_beam, ...)`.
    """
    old_beam = x.shape[1]
    new_beam = beam_indices.shape[1]
    flat = flatten_beam_dim(x)  # (batch * old_beam, ...)
    rows = _flat_rows(beam_indices, old_beam)  # (batch * new_beam,)
    return unflatten_beam_dim(ops.take(flat, rows, axis=0), new_beam)


def gather_flat_beams(x, beam_indices, beam_width):
    """`gather_beams` for a flattened `(batch * beam, ...)` tensor (state)."""
    return ops.take(x, _flat_rows(beam_indices, beam_width), axis=0)


def write_at_beam(buffer, step, value):
    """Writes `value (batch, beam, ...)` at time index `step` (axis 2) of
    `buffer (batch, beam, L, ...)`, with a one-hot select (see
    `decoding_utils.write_at`)."""
    length = buffer.shape[2]
    mask = ops.equal(ops.arange(length, dtype="int32"), step)  # (L,)
    mask = ops.reshape(mask, (1, 1, length) + (1,) * (len(buffer.shape) - 3))
    value = ops.expand_dims(ops.cast(value, buffer.dtype), 2)
    return ops.where(mask, value, buffer)


def gnmt_length_penalty(lengths, alpha):
    """GNMT length penalty `lp(Y) = ((5 + |Y|) / 6) ** alpha` (Wu et al.
    2016, eq. 14). `alpha = 0` gives 1 (no normalisation).

    Args:
        lengths: tensor of lengths `|Y|` (EOS counted as a token).
        alpha: Python float >= 0.

    Returns:
        float32 tensor of the same shape.
    """
    lengths = ops.cast(lengths, "float32")
    if alpha == 0:
        return ops.ones_like(lengths)
    return ops.power((5.0 + lengths) / 6.0, float(alpha))


def gnmt_coverage_penalty(coverage, beta, source_mask=None):
    """GNMT coverage penalty (Wu et al. 2016, eq. 14):
    `cp(X; Y) = beta * sum_i log(min(sum_j p_ij, 1.0))`.

    Args:
        coverage: float tensor `(..., source_length)`, the attention each
            source position received, summed over the target steps.
        beta: Python float >= 0.
        source_mask: optional bool tensor broadcastable to `coverage`; masked
            (padding) positions are left out of the sum. Positions never
            attended get the floor `log(1e-10)` rather than `-inf`.

    Returns:
        float32 tensor `coverage.shape[:-1]`, always <= 0.
    """
    coverage = ops.cast(coverage, "float32")
    logs = ops.log(ops.clip(coverage, 1e-10, 1.0))
    if source_mask is not None:
        logs = ops.where(ops.cast(source_mask, "bool"), logs, 0.0)
    return float(beta) * ops.sum(logs, axis=-1)


def top_k_candidates(live_log_probs, log_probs, active, k):
    """Expands each live prefix by its `k` best tokens, keeps the best `k`.

    Sutskever et al. 2014 sec. 3.1: the `k * k` candidates are the `k` best
    one-token extensions (top-k over the vocabulary) of each of the `k`
    live prefixes, ranked by joint log-probability.

    Args:
        live_log_probs: `(B, k)` float32, `log P(prefix | x)`.
        log_probs: `(B, k, V)` float32, `log P(y | prefix, x)`.
        active: `(B,)` bool; stopped sentences get `-inf` candidates.
        k: the beam width.

    Returns:
        `(best, origin, new_tokens)`, each `(B, k)`: the joint
        log-probability of the kept candidates, the beam each one extends
        and its last token (int32).
    """
    vocab = log_probs.shape[-1]
    candidates = live_log_probs[:, :, None] + log_probs  # (B, k, V)
    per_beam = min(k, vocab)
    values, tokens = ops.top_k(candidates, per_beam)  # (B, k, per_beam)
    values = ops.reshape(values, (-1, k * per_beam))  # (B, k * per_beam)
    tokens = ops.reshape(tokens, (-1, k * per_beam))
    best, flat_index = ops.top_k(values, k)  # (B, k)
    best = ops.where(active[:, None], best, utils.NEG_INF)
    origin = flat_index // per_beam  # (B, k), the beam each extends
    new_tokens = ops.cast(
        ops.take_along_axis(tokens, flat_index, axis=1), "int32"
    )  # (B, k)
    return best, origin, new_tokens


def update_finished(finished, eos_scores, log_probs, length, token_ids, aux):
    """Adds the candidates that end in EOS to the finished set.

    The finished set stays the `k` best by penalised score: the `k` old and
    the `k` new candidates are pooled and the best `k` kept.

    Args:
        finished: `FinishedBeams` with `k` slots.
        eos_scores: `(B, k)` float32 penalised scores of the new candidates,
            `-inf` for those that do not end in EOS.
        log_probs: `(B, k)` their joint log-probabilities.
        length: int32 scalar, their length `|Y|` (EOS included).
        token_ids: `(B, k, L)` their tokens.
        aux: dict of `(B, k, L, ...)`, their recorded aux tensors.

    Returns:
        The new `FinishedBeams`.
    """
    pool_scores = ops.concatenate(
        [finished.scores, eos_scores], axis=1
    )  # (B, 2k)
    k = finished.scores.shape[1]
    scores, keep = ops.top_k(pool_scores, k)  # (B, k)

    def merge(old, new):  # (B, k, ...) twice -> (B, k, ...)
        return gather_beams(ops.concatenate([old, new], axis=1), keep)

    return FinishedBeams(
        token_ids=merge(finished.token_ids, token_ids),
        scores=scores,
        log_probs=merge(finished.log_probs, log_probs),
        lengths=merge(
            finished.lengths, ops.broadcast_to(length, ops.shape(log_probs))
        ),
        aux={key: merge(finished.aux[key], aux[key]) for key in aux},
    )


def where_active(active, new, old):
    """`new` for active sentences, `old` for stopped ones (frozen), over
    matching nested structures whose tensors start with the batch axis."""

    def select(new, old):
        mask = ops.reshape(active, (-1,) + (1,) * (len(new.shape) - 1))
        return ops.where(mask, new, old)

    return keras.tree.map_structure(select, new, old)


def sentences_to_stop(
    live_log_probs, finished_scores, active, length, row_max, alpha, n
):
    """Which sentences stop after this step, and which of them early.

    A sentence stops at its maximum length, when it has no live prefix
    left, or when no live prefix can beat its `n`-th best finished
    hypothesis any more: a live prefix's log-probability only decreases as
    it grows, so divided by `lp(row_max)` (the largest divisor it can
    reach, for `alpha >= 0`) it bounds its final score; the coverage
    penalty is <= 0 and cannot raise the bound.

    Args:
        live_log_probs: `(B, k)` after the step.
        finished_scores: `(B, k)` sorted best first.
        active: `(B,)` bool, sentences still running before the step.
        length: int32 scalar, the hypotheses' length after the step.
        row_max: `(B,)` int32, each sentence's maximum length.
        alpha: the length penalty.
        n: the number of hypotheses returned.

    Returns:
        `(stops, early)`, `(B,)` bool: sentences that stop now, and those
        of them stopped before their maximum length.
    """
    length_done = length >= row_max  # (B,)
    live_best = ops.max(live_log_probs, axis=1)  # (B,)
    bound = live_best / gnmt_length_penalty(row_max, alpha)
    fin_best = finished_scores[:, n - 1]  # the n-th best finished
    no_live = live_best == utils.NEG_INF
    beaten = ops.logical_and(fin_best > utils.NEG_INF, fin_best >= bound)
    stops = ops.logical_and(
        active, ops.logical_or(length_done, ops.logical_or(beaten, no_live))
    )
    return stops, ops.logical_and(stops, ops.logical_not(length_done))


def beam_search(
    step_fn,
    state,
    start_ids,
    end_id,
    max_length,
    beam_width=4,
    length_penalty=0.0,
    coverage_penalty=0.0,
    min_length=0,
    num_return_sequences=1,
    pad_id=0,
    source_mask=None,
    record_aux=True,
    output_length=None,
):
    """Beam search: keep the `k` most probable prefixes, expand, repeat.

    Sutskever et al. 2014 sec. 3.2. Every sentence keeps up to
    `k = beam_width` live
    prefixes, ranked by their joint log-probability
    `sum_j log P(y_j | y_<j, x)`. At each step every live prefix is expanded
    by its `k` best tokens (top-k over the vocabulary per beam) and the best
    `k` of those `k * k` candidates are kept. A kept candidate that ends in
    EOS moves to a finished set (the `k` best by penalised score) and is
    never extended again; the others are the new live prefixes. The beam
    refills to `k` live prefixes at the next step from the `k * k`
    candidates. With `beam_width=1` this is exactly greedy search.

    Finished hypotheses are ranked by the GNMT score (Wu et al. 2016,
    eq. 14) `s(Y, X) = log P(Y | X) / lp(Y) + cp(X; Y)` with
    `lp(Y) = ((5 + |Y|) / 6) ** alpha` (`|Y|` counts EOS) and
    `cp(X; Y) = beta * sum_i log(min(sum_j p_ij, 1))`, `p_ij` the attention
    on source position `i` at target step `j` (`aux["alignment"]`).

    A sentence stops when no live prefix can beat its best finished
    hypothesis any more (its n-th best for an n-best list), or after
    `max_length` tokens. The bound is exact: a live prefix's
    log-probability only decreases as it grows, and for `alpha >= 0`
    dividing by `lp(max_length)` (the largest divisor it can reach) gives
    an upper bound of its final length-normalised score; the coverage
    penalty is <= 0 so it cannot raise the bound. A stopped sentence is
    frozen while the others continue, so its result does not depend on the
    rest of the batch. The loop (one `keras.ops.while_loop`) ends when
    every sentence has stopped.

    If no hypothesis of a sentence has finished by `max_length`, its best
    live (truncated, no EOS) hypotheses are returned instead, scored with
    `|Y| = max_length`, and `finished` is False for them. In an n-best
    list, finished hypotheses always come before truncated ones.

    Args:
        step_fn: `step_fn(token_ids, state, step) -> (logits, new_state,
            aux)`, see `greedy_search`. It is called on `batch_size *
            beam_width` rows.
        state: nested structure of tensors, leading axis `batch_size`; it is
            tiled to `batch_size * beam_width` rows (row `b * k + j` is beam
            `j` of sentence `b`) and reordered with the beams at each step.
        start_ids: int tensor `(batch_size,)`, the first input (BOS).
        end_id: int, the EOS id.
        max_length: int >= 1 or int tensor `(batch_size,)` (per sentence).
        beam_width: int >= 1, `k`. `beam_width=1` is greedy search.
        length_penalty: float `alpha >= 0`. 0 ranks by log-probability.
        coverage_penalty: float `beta >= 0`; needs `aux["alignment"]`
            `(batch * k, source_length)` from `step_fn`.
        min_length: int >= 0; EOS is forbidden for the first `min_length`
            tokens.
        num_return_sequences: int `n` in `[1, beam_width]`; with `n > 1`
            the n-best list is returned.
        pad_id: int written after EOS.
        source_mask: optional bool `(batch_size, source_length)`; source
            padding left out of the coverage penalty.
        record_aux: whether to return the aux tensors of the returned
            hypotheses.
        output_length: static output length when `max_length` is symbolic.

    Returns:
        dict with, for `n = 1` (for `n > 1` an axis `n` follows the batch
        axis, best first):
        - `token_ids`: `(batch_size, L)` int32, EOS included, pad after.
        - `lengths`: `(batch_size,)` int32, `|Y|` with EOS.
        - `scores`: `(batch_size,)` float32, the penalised score `s(Y, X)`.
        - `log_probs`: `(batch_size,)` float32, `log P(Y | X)`.
        - `finished`: `(batch_size,)` bool, False if truncated at
          `max_length`.
        - each aux key stacked to `(batch_size, L, ...)` (e.g. `alignment`
          `(batch_size, L, S)`; `(batch_size, n, L, S)` for n-best).

    References:
        Sutskever et al. 2014, "Sequence to Sequence Learning with Neural
        Networks", sec. 3.1. Wu et al. 2016, "Google's Neural Machine
        Translation System", sec. 7, eq. 14.
    """
    k = check_int("beam_width", beam_width)
    n_return = check_int("num_return_sequences", num_return_sequences)
    if n_return > k:
        raise ValueError(
            "`num_return_sequences` must be <= `beam_width` "
            f"({k}). Received: num_return_sequences={num_return_sequences}"
        )
    alpha = _validate_penalty(length_penalty, "length_penalty")
    beta = _validate_penalty(coverage_penalty, "coverage_penalty")
    min_length = check_int("min_length", min_length, minimum=0)
    end_id = check_int("end_id", end_id, minimum=0)
    pad_id = check_int("pad_id", pad_id, minimum=0)
    length, row_max = utils.resolve_max_length(
        max_length, output_length=output_length
    )
    start_ids = ops.cast(ops.convert_to_tensor(start_ids), "int32")
    if len(start_ids.shape) != 1:
        raise ValueError(
            "`start_ids` must have shape (batch_size,). Received: "
            f"start_ids.shape={start_ids.shape}"
        )
    batch_size = ops.shape(start_ids)[0]
    row_max = ops.broadcast_to(ops.cast(row_max, "int32"), (batch_size,))
    if source_mask is not None:
        source_mask = ops.cast(source_mask, "bool")[:, None, :]  # (B, 1, S)

    def forward(token_ids, flat_state, step):
        """One model step on the `B * k` rows; outputs per beam."""
        logits, new_state, aux = utils.call_step_fn(
            step_fn, token_ids, flat_state, step
        )
        log_probs = ops.log_softmax(logits, axis=-1)  # (B * k, V)
        log_probs = unflatten_beam_dim(log_probs, k)  # (B, k, V)
        vocab = log_probs.shape[-1]
        utils.check_token_id(end_id, "end_id", vocab)
        if min_length > 0:
            is_eos = ops.equal(ops.arange(vocab, dtype="int32"), end_id)
            forbid = ops.logical_and(is_eos, step < min_length)
            log_probs = ops.where(forbid, utils.NEG_INF, log_probs)
        if beta > 0 and "alignment" not in aux:
            raise ValueError(
                "`coverage_penalty > 0` needs `step_fn` to return "
                "aux['alignment'] of shape (batch, source_length). Received: "
                f"aux keys={sorted(aux)}"
            )
        aux = {key: unflatten_beam_dim(v, k) for key, v in aux.items()}
        return log_probs, new_state, aux  # aux values (B, k, ...)

    def coverage_term(coverage):
        if beta == 0:
            return 0.0
        return gnmt_coverage_penalty(coverage, beta, source_mask)

    def update(beams, log_probs, new_state, aux):
        """The search state after one step of the model."""
        step = beams.step
        new_length = step + 1
        active = ops.logical_not(beams.done)  # (B,)
        live = beams.live
        coverage = live.coverage  # () without a coverage penalty
        if beta > 0:
            coverage = live.coverage + ops.cast(
                aux["alignment"], "float32"
            )  # (B, k, S)

        # 1. Expand each live prefix by its k best tokens, keep the best k
        # of the k * k candidates.
        best, origin, new_tokens = top_k_candidates(
            live.log_probs, log_probs, active, k
        )  # (B, k) each
        ends = ops.equal(new_tokens, end_id)  # (B, k)
        token_ids = write_at_beam(
            gather_beams(live.token_ids, origin), step, new_tokens
        )  # (B, k, L)
        step_aux = {}
        if record_aux:
            step_aux = {
                key: write_at_beam(
                    gather_beams(live.aux[key], origin),
                    step,
                    gather_beams(value, origin),
                )
                for key, value in aux.items()
            }  # (B, k, L, ...)
        if beta > 0:
            coverage = gather_beams(coverage, origin)  # (B, k, S)

        # 2. Candidates that end in EOS leave the beam: they join the
        # finished set (the k best by penalised score) and are frozen. The
        # others are the new live prefixes; the slots of the finished ones
        # are dead (-inf) for one step, and refill from the k * k
        # candidates of the next step.
        eos_scores = best / gnmt_length_penalty(new_length, alpha)
        eos_scores = eos_scores + coverage_term(coverage)
        eos_scores = ops.where(ends, eos_scores, utils.NEG_INF)  # (B, k)
        finished = update_finished(
            beams.finished, eos_scores, best, new_length, token_ids, step_aux
        )
        live = LiveBeams(
            token_ids=token_ids,
            log_probs=ops.where(ends, utils.NEG_INF, best),
            aux=step_aux,
            coverage=coverage,
        )

        # 3. Stopped sentences keep their previous values (frozen).
        live = where_active(active, live, beams.live)
        finished = where_active(active, finished, beams.finished)

        # 4. Which sentences stop now.
        stops, early = sentences_to_stop(
            live.log_probs,
            finished.scores,
            active,
            new_length,
            row_max,
            alpha,
            n_return,
        )
        # Reorder the model state with the beams. An entry the step
        # function returned unchanged (e.g. encoder outputs, cross-attention
        # keys and values, masks) is still the tiled copy, identical for
        # every beam of a sentence, so gathering it would be a costly no-op.
        new_state = keras.tree.map_structure(
            lambda new, old: (
                new if new is old else gather_flat_beams(new, origin, k)
            ),
            new_state,
            beams.state,
        )
        return BeamState(
            step=step + 1,
            prev=flatten_beam_dim(new_tokens),  # (B * k,)
            state=new_state,
            done=ops.logical_or(beams.done, stops),
            early=ops.logical_or(beams.early, early),
            live=live,
            finished=finished,
        )

    flat_state = keras.tree.map_structure(lambda x: tile_beams(x, k), state)
    prev = tile_beams(start_ids, k)  # (B * k,)
    step0 = ops.convert_to_tensor(0, dtype="int32")
    # Step 0 is peeled off the loop: its aux outputs give the buffer shapes.
    log_probs, new_state, aux = forward(prev, flat_state, step0)
    beams = initial_beam_state(
        step0,
        prev,
        flat_state,
        row_max,
        aux if record_aux else {},
        aux["alignment"].shape[-1] if beta > 0 else None,
        k,
        length,
        pad_id,
    )
    beams = update(beams, log_probs, new_state, aux)

    def cond(beams):
        return ops.logical_and(
            beams.step < length, ops.any(ops.logical_not(beams.done))
        )

    def body(beams):
        log_probs, new_state, aux = forward(beams.prev, beams.state, beams.step)
        return (update(beams, log_probs, new_state, aux),)

    (beams,) = ops.while_loop(cond, body, (beams,))
    return select_best(beams, row_max, alpha, coverage_term, n_return, beta)


def initial_beam_state(
    step, prev, state, row_max, aux, source_length, k, length, pad_id
):
    """The search state before the first token.

    Only beam 0 is live at first (the others have log-probability `-inf`),
    so the `k` beams do not start as `k` copies of the same prefix.

    Args:
        step: int32 scalar 0.
        prev: `(B * k,)` int32, the start tokens.
        state: the model state tiled to `(B * k, ...)`.
        row_max: `(B,)` int32, each sentence's maximum length.
        aux: dict of the first step's aux outputs `(B, k, ...)` to record
            (empty to record none); they give the buffers' shapes.
        source_length: `S` for the coverage penalty, or `None` without it.
        k: the beam width.
        length: `L`, the static output length.
        pad_id: the id the token buffers start with.

    Returns:
        A `BeamState`.
    """
    batch_size = ops.shape(row_max)[0]

    def zeros_like_steps(value):  # (B, k, ...) -> (B, k, L, ...)
        return ops.zeros(
            (batch_size, k, length) + tuple(value.shape[2:]), value.dtype
        )

    first = ops.concatenate(
        [ops.zeros((1,)), ops.full((k - 1,), utils.NEG_INF)], axis=0
    )
    neg = ops.full((batch_size, k), utils.NEG_INF, "float32")
    live = LiveBeams(
        token_ids=ops.full((batch_size, k, length), pad_id, "int32"),
        log_probs=ops.broadcast_to(
            ops.cast(first, "float32")[None, :], (batch_size, k)
        ),
        aux={key: zeros_like_steps(value) for key, value in aux.items()},
        coverage=(
            ()
            if source_length is None
            else ops.zeros((batch_size, k, source_length), "float32")
        ),
    )
    finished = FinishedBeams(
        token_ids=ops.full((batch_size, k, length), pad_id, "int32"),
        scores=neg,
        log_probs=neg,
        lengths=ops.zeros((batch_size, k), "int32"),
        aux={key: zeros_like_steps(value) for key, value in aux.items()},
    )
    return BeamState(
        step=step,
        prev=prev,
        state=state,
        done=row_max <= 0,
        early=ops.zeros((batch_size,), "bool"),
        live=live,
        finished=finished,
    )


def select_best(beams, row_max, alpha, coverage_term, n, beta):
    """Ranks finished then truncated-live hypotheses; keeps the best `n`.

    Returns:
        The output dict of `beam_search`: an axis `n` follows the batch
        axis, except for `n == 1`.
    """
    live, finished = beams.live, beams.finished
    # Truncated live hypotheses are candidates only for sentences that ran
    # to their maximum length (not for those stopped by the bound).
    live_lengths = ops.broadcast_to(
        row_max[:, None], ops.shape(live.log_probs)
    )  # (B, k)
    live_scores = live.log_probs / gnmt_length_penalty(live_lengths, alpha)
    if beta > 0:
        live_scores = live_scores + coverage_term(live.coverage)
    live_scores = ops.where(beams.early[:, None], utils.NEG_INF, live_scores)
    fin_flag = finished.scores > utils.NEG_INF
    scores = ops.concatenate([finished.scores, live_scores], axis=1)
    flags = ops.concatenate(
        [fin_flag, ops.zeros_like(fin_flag)], axis=1
    )  # (B, 2k)
    order = _rank_order(scores, flags, n)  # (B, n)

    def pick(fin, live):  # (B, k, ...) twice -> (B, n, ...)
        return gather_beams(ops.concatenate([fin, live], axis=1), order)

    outputs = {
        "token_ids": pick(finished.token_ids, live.token_ids),
        "lengths": pick(finished.lengths, live_lengths),
        "scores": gather_beams(scores, order),
        "log_probs": pick(finished.log_probs, live.log_probs),
        "finished": gather_beams(flags, order),
    }
    for key in finished.aux:
        if key in outputs:
            raise ValueError(
                f"`step_fn` aux key {key!r} collides with an output key. "
                f"Received: aux keys={sorted(finished.aux)}"
            )
        outputs[key] = pick(finished.aux[key], live.aux[key])
    if n == 1:
        outputs = {key: value[:, 0] for key, value in outputs.items()}
    return outputs


def _rank_order(scores, flags, n):
    """Indices `(B, n)` of the `n` best hypotheses, finished first.

    Rank = number of hypotheses that come before: finished first, then by
    score, ties by position (an exact lexicographic sort, static shapes).

    Args:
        scores: `(B, H)` float32.
        flags: `(B, H)` bool, True for finished hypotheses.
        n: how many to keep.
    """
    size = scores.shape[1]
    s_i, s_j = scores[:, :, None], scores[:, None, :]
    f_i, f_j = flags[:, :, None], flags[:, None, :]
    position = ops.arange(size, dtype="int32")
    earlier = (position[None, :] < position[:, None])[None]  # j before i
    same_flag = ops.equal(f_i, f_j)
    better = ops.logical_or(
        s_j > s_i, ops.logical_and(ops.equal(s_j, s_i), earlier)
    )
    beats = ops.logical_or(
        ops.logical_and(f_j, ops.logical_not(f_i)),
        ops.logical_and(same_flag, better),
    )  # (B, i, j): j ranks above i
    rank = ops.sum(ops.cast(beats, "int32"), axis=2)  # (B, H)
    wanted = ops.arange(n, dtype="int32")
    order = ops.argmax(
        ops.equal(rank[:, None, :], wanted[None, :, None]), axis=-1
    )  # (B, n)
    return ops.cast(order, "int32")


def _validate_penalty(value, name):
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not value >= 0
        or value == float("inf")
    ):
        raise ValueError(
            f"`{name}` must be a finite float >= 0. Received: {name}={value}"
        )
    return float(value)
