"""The one-hypothesis-per-sentence decoding loop behind greedy and sampling.

Both strategies run the same loop (Sutskever et al. 2014 sec. 3.2 with a
beam of one): feed the previous token,
get `log P(y_j | y_<j, x)`, pick a token, stop a sentence at its own EOS or
length limit. They differ only in how the token is picked, which the caller
passes as `select_fn(log_probs, step) -> token_ids`.
"""

from keras import ops

from keras_seq.decoding import decoding_utils as utils
from keras_seq.validation import check_int


def run_token_loop(
    step_fn,
    state,
    start_ids,
    end_id,
    max_length,
    select_fn,
    pad_id=0,
    min_length=0,
    record_aux=True,
    output_length=None,
):
    """Decodes one hypothesis per sentence with one `ops.while_loop`.

    Args:
        step_fn: `step_fn(token_ids, state, step) -> (logits, state, aux)`.
        state: nested structure of tensors, leading axis = batch.
        start_ids: int tensor `(batch,)`, the first input token (BOS).
        end_id: int, the EOS id.
        max_length: int or int tensor `(batch,)`.
        select_fn: `select_fn(log_probs (batch, V) float32, step) ->
            token_ids (batch,)`; `log_probs` already has EOS forbidden
            before `min_length`.
        pad_id: int written after EOS.
        min_length: int, EOS is forbidden at steps `< min_length`.
        record_aux: whether to stack the step function's aux tensors.
        output_length: static output length when `max_length` is symbolic.

    Returns:
        dict with `token_ids (batch, L)` int32, `lengths (batch,)` int32,
        `scores (batch,)` float32 (sum of the log-probabilities of the
        emitted tokens) and every aux key stacked to `(batch, L, ...)`.
    """
    end_id = check_int("end_id", end_id, minimum=0)
    pad_id = check_int("pad_id", pad_id, minimum=0)
    min_length = check_int("min_length", min_length, minimum=0)
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

    def forward(token_ids, state, step):
        logits, new_state, aux = utils.call_step_fn(
            step_fn, token_ids, state, step
        )
        log_probs = ops.log_softmax(logits, axis=-1)  # (B, V)
        vocab = log_probs.shape[-1]
        utils.check_token_id(end_id, "end_id", vocab)
        if min_length > 0:
            # Forbid EOS until `min_length` tokens have been produced.
            is_eos = ops.equal(ops.arange(vocab, dtype="int32"), end_id)
            forbid = ops.logical_and(is_eos[None, :], step < min_length)
            log_probs = ops.where(forbid, utils.NEG_INF, log_probs)
        return log_probs, new_state, aux

    def update(loop, log_probs, new_state, aux):
        step = loop["step"]
        active = ops.logical_not(loop["finished"])  # (B,)
        chosen = ops.cast(select_fn(log_probs, step), "int32")  # (B,)
        chosen_log_prob = ops.take_along_axis(
            log_probs, chosen[:, None], axis=1
        )[:, 0]
        token = ops.where(active, chosen, pad_id)
        out = dict(loop)
        out["token_ids"] = utils.write_at(loop["token_ids"], step, token)
        out["scores"] = loop["scores"] + ops.where(active, chosen_log_prob, 0.0)
        out["lengths"] = loop["lengths"] + ops.cast(active, "int32")
        finished = ops.logical_or(
            loop["finished"], ops.logical_and(active, chosen == end_id)
        )
        # A sentence that has produced `row_max` tokens is done too.
        out["finished"] = ops.logical_or(finished, step + 1 >= row_max)
        if record_aux:
            out["aux"] = {
                key: utils.write_at(
                    loop["aux"][key],
                    step,
                    _mask_rows(ops.cast(value, loop["aux"][key].dtype), active),
                )
                for key, value in aux.items()
            }
        out["state"] = new_state
        out["prev"] = token
        out["step"] = step + 1
        return out

    # Step 0 is peeled off the loop: its aux outputs give the shapes of the
    # aux buffers, which must exist before the loop starts.
    step0 = ops.convert_to_tensor(0, dtype="int32")
    log_probs, new_state, aux = forward(start_ids, state, step0)
    loop = {
        "step": step0,
        "prev": start_ids,
        "state": state,
        "finished": row_max <= 0,
        "token_ids": ops.full((batch_size, length), pad_id, dtype="int32"),
        "scores": ops.zeros((batch_size,), dtype="float32"),
        "lengths": ops.zeros((batch_size,), dtype="int32"),
    }
    if record_aux:
        loop["aux"] = {
            key: ops.zeros(
                (batch_size, length) + tuple(value.shape[1:]),
                dtype=value.dtype,
            )
            for key, value in aux.items()
        }
    loop = update(loop, log_probs, new_state, aux)

    def cond(loop):
        return ops.logical_and(
            loop["step"] < length, ops.any(ops.logical_not(loop["finished"]))
        )

    def body(loop):
        log_probs, new_state, aux = forward(
            loop["prev"], loop["state"], loop["step"]
        )
        return (update(loop, log_probs, new_state, aux),)

    (loop,) = ops.while_loop(cond, body, (loop,))
    outputs = {
        "token_ids": loop["token_ids"],
        "lengths": loop["lengths"],
        "scores": loop["scores"],
    }
    if record_aux:
        for key, value in loop["aux"].items():
            if key in outputs:
                raise ValueError(
                    f"`step_fn` aux key {key!r} collides with an output key. "
                    f"Received: aux keys={sorted(loop['aux'])}"
                )
            outputs[key] = value
    return outputs


def _mask_rows(value, active):
    """Zeros the rows of `value` (batch, ...) whose sentence has ended."""
    active = ops.reshape(active, (-1,) + (1,) * (len(value.shape) - 1))
    return ops.where(active, value, ops.zeros_like(value))
