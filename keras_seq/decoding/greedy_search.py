"""Greedy decoding: the most probable token at each step.

Sutskever et al. 2014 sec. 3.2 (their left-to-right beam search with a beam
of size 1).
"""

from keras import ops

from keras_seq.decoding.token_loop import run_token_loop


def greedy_search(
    step_fn,
    state,
    start_ids,
    end_id,
    max_length,
    pad_id=0,
    min_length=0,
    record_aux=True,
    output_length=None,
):
    """Greedy decoding: `y_j = argmax_y P(y | y_<j, x)` until EOS.

    Each sentence stops at its own EOS (later positions hold `pad_id`) or
    after `max_length` tokens. The loop is a single `keras.ops.while_loop`
    that exits as soon as every sentence has finished, while the outputs keep
    the static shape `(batch_size, L)`, so the search traces into a
    `tf.function` / SavedModel and compiles with `jit_compile=True`.

    Args:
        step_fn: callable `step_fn(token_ids, state, step) -> (logits,
            new_state, aux)` with `token_ids` `(batch_size,)` int32 (the
            previous token), `step` an int32 scalar (0-based index of the
            token being produced), `logits` `(batch_size, vocabulary_size)`,
            `new_state` of the same structure and shapes as `state`, `aux` a
            dict of `(batch_size, ...)` tensors to record (may be empty).
            E.g. `model.decode_step`.
        state: nested structure of tensors with leading axis `batch_size`,
            e.g. `model.initial_decoding_state(source_ids)`.
        start_ids: int tensor `(batch_size,)`, the first input (BOS).
        end_id: int, the EOS id.
        max_length: int >= 1, or an int tensor `(batch_size,)` of per-sentence
            limits (see `max_length_from_source`).
        pad_id: int written after EOS. Defaults to 0.
        min_length: int >= 0; EOS is forbidden for the first `min_length`
            tokens. Defaults to 0.
        record_aux: whether to return the aux tensors stacked over steps.
        output_length: static length `L` of the outputs; only needed when
            `max_length` is a symbolic tensor (defaults to `max_length` for
            an int and to the maximum of a concrete tensor).

    Returns:
        dict with
        - `token_ids`: `(batch_size, L)` int32, EOS included, `pad_id` after.
        - `lengths`: `(batch_size,)` int32, number of emitted tokens (EOS
          included).
        - `scores`: `(batch_size,)` float32, `sum_j log P(y_j | y_<j, x)`
          over the emitted tokens.
        - each aux key (e.g. `alignment`) stacked to `(batch_size, L, ...)`,
          zeros after a sentence ended.

    Example:
    ```python
    state = model.initial_decoding_state(source_ids)
    out = greedy_search(model.decode_step, state,
                        start_ids=ops.full((batch,), BOS_ID, "int32"),
                        end_id=EOS_ID, max_length=50)
    ```
    """

    def select(log_probs, step):
        del step
        return ops.argmax(log_probs, axis=-1)

    return run_token_loop(
        step_fn,
        state,
        start_ids,
        end_id,
        max_length,
        select,
        pad_id=pad_id,
        min_length=min_length,
        record_aux=record_aux,
        output_length=output_length,
    )
