"""Beam search (MATH.md eq. 4) with GNMT length and coverage penalties."""

import keras
from keras import ops

from keras_seq.decoding import decoding_utils as utils
from keras_seq.validation import check_int


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

    MATH.md eq. 4. Every sentence keeps up to `k = beam_width` live
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
        logits, new_state, aux = utils.call_step_fn(
            step_fn, token_ids, flat_state, step
        )
        log_probs = ops.log_softmax(logits, axis=-1)  # (B * k, V)
        log_probs = utils.unflatten_beam_dim(log_probs, k)  # (B, k, V)
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
        aux = {key: utils.unflatten_beam_dim(v, k) for key, v in aux.items()}
        return log_probs, new_state, aux  # aux values (B, k, ...)

    def coverage_term(coverage):
        if beta == 0:
            return 0.0
        return utils.coverage_penalty(coverage, beta, source_mask)

    def update(loop, log_probs, new_state, aux):
        step = loop["step"]
        new_length = step + 1
        active = ops.logical_not(loop["done"])  # (B,)
        vocab = log_probs.shape[-1]
        # Joint log-probability of every one-token extension, (B, k, V).
        candidates = loop["live_log_probs"][:, :, None] + log_probs
        out = dict(loop)
        if beta > 0:
            coverage = loop["live_coverage"] + ops.cast(
                aux["alignment"], "float32"
            )  # (B, k, S)
        else:
            coverage = None

        # 1. MATH.md eq. 4: expand each live prefix by its k best tokens
        # (top-k over the vocabulary per beam), keep the best k of the
        # k * k candidates.
        per_beam = min(k, vocab)
        values, tokens = ops.top_k(candidates, per_beam)  # (B, k, kk)
        values = ops.reshape(values, (-1, k * per_beam))
        tokens = ops.reshape(tokens, (-1, k * per_beam))
        best, flat_index = ops.top_k(values, k)  # (B, k)
        best = ops.where(active[:, None], best, utils.NEG_INF)
        origin = flat_index // per_beam  # the beam each candidate extends
        new_tokens = ops.cast(
            ops.take_along_axis(tokens, flat_index, axis=1), "int32"
        )
        ends = ops.equal(new_tokens, end_id)  # (B, k)
        token_ids = utils.write_at_beam(
            utils.gather_beams(loop["live_token_ids"], origin),
            step,
            new_tokens,
        )
        if record_aux:
            step_aux = {
                key: utils.write_at_beam(
                    utils.gather_beams(loop["live_aux"][key], origin),
                    step,
                    utils.gather_beams(value, origin),
                )
                for key, value in aux.items()
            }
        if beta > 0:
            coverage = utils.gather_beams(coverage, origin)

        # 2. Candidates that end in EOS leave the beam: they join the
        # finished set (the k best by penalised score) and are frozen. The
        # others are the new live prefixes; the slots of the finished ones
        # are dead (-inf) for one step, and refill from the k * k
        # candidates of the next step.
        eos_scores = best / utils.length_penalty(new_length, alpha)
        eos_scores = eos_scores + coverage_term(coverage)
        eos_scores = ops.where(ends, eos_scores, utils.NEG_INF)
        pool_scores = ops.concatenate(
            [loop["fin_scores"], eos_scores], axis=1
        )  # (B, 2k)
        fin_scores, keep = ops.top_k(pool_scores, k)  # (B, k)

        def merge(old, new):
            return utils.gather_beams(ops.concatenate([old, new], axis=1), keep)

        out["fin_scores"] = fin_scores
        out["fin_log_probs"] = merge(loop["fin_log_probs"], best)
        out["fin_lengths"] = merge(
            loop["fin_lengths"],
            ops.broadcast_to(new_length, ops.shape(best)),
        )
        out["fin_token_ids"] = merge(loop["fin_token_ids"], token_ids)
        if record_aux:
            out["fin_aux"] = {
                key: merge(loop["fin_aux"][key], value)
                for key, value in step_aux.items()
            }

        out["live_log_probs"] = ops.where(ends, utils.NEG_INF, best)
        out["live_token_ids"] = token_ids
        if record_aux:
            out["live_aux"] = step_aux
        if beta > 0:
            out["live_coverage"] = coverage
        # Reorder the state with the beams. An entry the step function
        # returned unchanged (e.g. encoder outputs, cross-attention keys and
        # values, masks) is still the tiled copy, identical for every beam
        # of a sentence, so gathering it would be a costly no-op.
        out["state"] = keras.tree.map_structure(
            lambda new, old: (
                new if new is old else utils.gather_flat_beams(new, origin, k)
            ),
            new_state,
            loop["state"],
        )
        out["prev"] = utils.flatten_beam_dim(new_tokens)

        # 3. Stopped sentences keep their previous values (frozen).
        for key in out:
            if key.startswith(("fin_", "live_")):
                out[key] = keras.tree.map_structure(
                    lambda new, old: _where_rows(active, new, old),
                    out[key],
                    loop[key],
                )

        # 4. Which sentences stop now.
        length_done = new_length >= row_max
        live_best = ops.max(out["live_log_probs"], axis=1)
        bound = live_best / utils.length_penalty(row_max, alpha)
        # `fin_scores` is sorted best first; with an n-best list the n-th
        # finished hypothesis must be out of reach, so the list is complete.
        fin_best = out["fin_scores"][:, n_return - 1]
        no_live = live_best == utils.NEG_INF
        beaten = ops.logical_and(fin_best > utils.NEG_INF, fin_best >= bound)
        stops = ops.logical_and(
            active, ops.logical_or(length_done, ops.logical_or(beaten, no_live))
        )
        out["early"] = ops.logical_or(
            loop["early"],
            ops.logical_and(stops, ops.logical_not(length_done)),
        )
        out["done"] = ops.logical_or(loop["done"], stops)
        out["step"] = step + 1
        return out

    flat_state = keras.tree.map_structure(
        lambda x: utils.tile_beams(x, k), state
    )
    prev = utils.tile_beams(start_ids, k)  # (B * k,)
    step0 = ops.convert_to_tensor(0, dtype="int32")
    # Step 0 is peeled off the loop: its aux outputs give the buffer shapes.
    log_probs, new_state, aux = forward(prev, flat_state, step0)

    def zeros_like_steps(value):  # (B, k, ...) -> (B, k, L, ...)
        return ops.zeros(
            (batch_size, k, length) + tuple(value.shape[2:]), value.dtype
        )

    # Only beam 0 is live at first, so the k beams do not start as copies.
    first = ops.concatenate(
        [ops.zeros((1,)), ops.full((k - 1,), utils.NEG_INF)], axis=0
    )
    neg = ops.full((batch_size, k), utils.NEG_INF, "float32")
    loop = {
        "step": step0,
        "prev": prev,
        "state": flat_state,
        "done": row_max <= 0,
        "early": ops.zeros((batch_size,), "bool"),
        "live_token_ids": ops.full((batch_size, k, length), pad_id, "int32"),
        "live_log_probs": ops.broadcast_to(
            ops.cast(first, "float32")[None, :], (batch_size, k)
        ),
        "fin_token_ids": ops.full((batch_size, k, length), pad_id, "int32"),
        "fin_scores": neg,
        "fin_log_probs": neg,
        "fin_lengths": ops.zeros((batch_size, k), "int32"),
    }
    if record_aux:
        loop["live_aux"] = {
            key: zeros_like_steps(value) for key, value in aux.items()
        }
        loop["fin_aux"] = {
            key: zeros_like_steps(value) for key, value in aux.items()
        }
    if beta > 0:
        source_length = aux["alignment"].shape[-1]
        loop["live_coverage"] = ops.zeros(
            (batch_size, k, source_length), "float32"
        )
    loop = update(loop, log_probs, new_state, aux)

    def cond(loop):
        return ops.logical_and(
            loop["step"] < length, ops.any(ops.logical_not(loop["done"]))
        )

    def body(loop):
        log_probs, new_state, aux = forward(
            loop["prev"], loop["state"], loop["step"]
        )
        return (update(loop, log_probs, new_state, aux),)

    (loop,) = ops.while_loop(cond, body, (loop,))
    return _select_outputs(
        loop, row_max, alpha, coverage_term, n_return, record_aux, beta
    )


def _select_outputs(loop, row_max, alpha, coverage_term, n, record_aux, beta):
    """Ranks finished then truncated-live hypotheses; keeps the best `n`."""
    # Truncated live hypotheses are candidates only for sentences that ran
    # to their maximum length (not for those stopped by the bound).
    live_lengths = ops.broadcast_to(
        row_max[:, None], ops.shape(loop["live_log_probs"])
    )
    live_scores = loop["live_log_probs"] / utils.length_penalty(
        live_lengths, alpha
    )
    if beta > 0:
        live_scores = live_scores + coverage_term(loop["live_coverage"])
    live_scores = ops.where(loop["early"][:, None], utils.NEG_INF, live_scores)
    fin_flag = loop["fin_scores"] > utils.NEG_INF
    scores = ops.concatenate([loop["fin_scores"], live_scores], axis=1)
    flags = ops.concatenate(
        [fin_flag, ops.zeros_like(fin_flag)], axis=1
    )  # (B, 2k)
    # Rank = number of hypotheses that come before: finished first, then by
    # score, ties by position (an exact lexicographic sort, static shapes).
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
    rank = ops.sum(ops.cast(beats, "int32"), axis=2)  # (B, 2k)
    wanted = ops.arange(n, dtype="int32")
    order = ops.argmax(
        ops.equal(rank[:, None, :], wanted[None, :, None]), axis=-1
    )  # (B, n)
    order = ops.cast(order, "int32")

    def pick(fin, live):
        return utils.gather_beams(ops.concatenate([fin, live], axis=1), order)

    outputs = {
        "token_ids": pick(loop["fin_token_ids"], loop["live_token_ids"]),
        "lengths": pick(loop["fin_lengths"], live_lengths),
        "scores": utils.gather_beams(scores, order),
        "log_probs": pick(loop["fin_log_probs"], loop["live_log_probs"]),
        "finished": utils.gather_beams(flags, order),
    }
    if record_aux:
        for key in loop["fin_aux"]:
            if key in outputs:
                raise ValueError(
                    f"`step_fn` aux key {key!r} collides with an output key. "
                    f"Received: aux keys={sorted(loop['fin_aux'])}"
                )
            outputs[key] = pick(loop["fin_aux"][key], loop["live_aux"][key])
    if n == 1:
        outputs = {key: value[:, 0] for key, value in outputs.items()}
    return outputs


def _where_rows(active, new, old):
    """Takes `new` for active sentences and `old` for stopped ones."""
    mask = ops.reshape(active, (-1,) + (1,) * (len(new.shape) - 1))
    return ops.where(mask, new, old)


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
