"""Helpers shared by the decoding functions (greedy, beam search, sampling).

Everything here is written with `keras.ops` on static shapes so that a
search that uses it traces into one `keras.ops.while_loop`, inside a
`tf.function`, a SavedModel or a `jit_compile=True` computation.
"""

import keras
import numpy as np
from keras import ops

from keras_seq.validation import check_int
from keras_seq.validation import check_non_negative

# Stands in for log(0) of forbidden or absent hypotheses. A true -inf keeps
# the arithmetic exact (-inf + finite = -inf, -inf / positive = -inf) and
# never meets another infinity in a subtraction, so no NaN appears.
NEG_INF = float("-inf")


def resolve_max_length(max_length, batch_size_hint=None, output_length=None):
    """Splits `max_length` into a static buffer length and per-row limits.

    Args:
        max_length: Python int (the same limit for every sequence) or an
            integer tensor of shape `(batch_size,)` (a limit per sequence,
            e.g. from `max_length_from_source`).
        batch_size_hint: unused, kept for symmetry with the callers.
        output_length: static length `L` of the returned buffers. Needed only
            when `max_length` is a symbolic tensor (inside a `tf.function`);
            for a concrete tensor it defaults to its maximum.

    Returns:
        `(L, row_max_length)` with `L` a Python int and `row_max_length`
        either a Python int or an int32 tensor `(batch_size,)` clipped to
        `[0, L]`.
    """
    del batch_size_hint
    if isinstance(max_length, (int, np.integer)) and not isinstance(
        max_length, bool
    ):
        max_length = check_int("max_length", max_length)
        if output_length is not None:
            output_length = check_int("output_length", output_length)
            if output_length < max_length:
                raise ValueError(
                    "`output_length` must be >= `max_length` when "
                    f"`max_length` is an int. Received: "
                    f"output_length={output_length}"
                )
            return output_length, max_length
        return max_length, max_length
    if isinstance(max_length, bool) or max_length is None:
        raise ValueError(
            "`max_length` must be an int >= 1 or an integer tensor of shape "
            f"(batch_size,). Received: max_length={max_length}"
        )
    concrete = _maybe_concrete(max_length)
    if concrete is not None:
        concrete = np.asarray(concrete)
        if concrete.ndim != 1 or not np.issubdtype(concrete.dtype, np.integer):
            raise ValueError(
                "`max_length` given as a tensor must be an integer vector of "
                f"shape (batch_size,). Received: max_length={concrete}"
            )
        if concrete.size and concrete.min() < 1:
            raise ValueError(
                "Every entry of `max_length` must be >= 1. Received: "
                f"max_length={concrete}"
            )
    if output_length is None:
        if concrete is None or concrete.size == 0:
            raise ValueError(
                "`output_length` (the static length of the output buffers) "
                "is required when `max_length` is a symbolic tensor. "
                f"Received: output_length={output_length}"
            )
        output_length = int(concrete.max())
    output_length = check_int("output_length", output_length)
    row_max = ops.minimum(ops.cast(max_length, "int32"), output_length)
    return output_length, row_max


def _maybe_concrete(x):
    """Returns a NumPy value for an eager tensor/array, else None."""
    if isinstance(x, (np.ndarray, list, tuple)):
        return np.asarray(x)
    try:
        return np.asarray(ops.convert_to_numpy(x))
    except Exception:  # symbolic (traced) tensor: no concrete value
        return None


def max_length_from_source(source_lengths, scale=1.5, offset=10, limit=None):
    """Maximum output length relative to the source: `scale * |x| + offset`.

    A common choice in NMT (e.g. `a = 1.5, b = 10`): a translation rarely
    exceeds a fixed multiple of its source, so each sentence stops at its
    own limit instead of a global one.

    Args:
        source_lengths: integer tensor `(batch_size,)`, the number of real
            (non-padding) source tokens per sentence.
        scale: float `a`.
        offset: int `b`.
        limit: optional Python int, an upper bound (the static
            `output_length` a search will be given).

    Returns:
        int32 tensor `(batch_size,)` = `clip(floor(a * |x| + b), 1, limit)`.
    """
    check_non_negative("scale", scale)
    if limit is not None:
        limit = check_int("limit", limit)
    lengths = ops.cast(source_lengths, "float32") * float(scale) + offset
    lengths = ops.cast(ops.floor(lengths), "int32")
    lengths = ops.maximum(lengths, 1)
    if limit is not None:
        lengths = ops.minimum(lengths, limit)
    return lengths


def write_at(buffer, step, value):
    """Writes `value` at time index `step` (axis 1) of `buffer`.

    `buffer` is `(batch, L, ...)` and `value` `(batch, ...)`. A one-hot
    select instead of a dynamic-update-slice keeps the graph to core ops
    that a stock TF Serving build has.

    Args:
        buffer: tensor `(batch, L, ...)`.
        step: int32 scalar tensor.
        value: tensor `(batch, ...)`, cast to the buffer's dtype.

    Returns:
        The updated buffer, same shape and dtype.
    """
    length = buffer.shape[1]
    mask = ops.equal(ops.arange(length, dtype="int32"), step)  # (L,)
    mask = ops.reshape(mask, (1, length) + (1,) * (len(buffer.shape) - 2))
    value = ops.expand_dims(ops.cast(value, buffer.dtype), 1)
    return ops.where(mask, value, buffer)


def check_step_outputs(logits, aux, batch_size_static):
    """Checks the step function kept to the contract."""
    if len(logits.shape) != 2:
        raise ValueError(
            "`step_fn` must return logits of shape (batch, vocabulary_size). "
            f"Received: logits.shape={logits.shape}"
        )
    if not isinstance(aux, dict):
        raise ValueError(
            "`step_fn` must return `(logits, state, aux)` with `aux` a dict. "
            f"Received: aux={aux!r}"
        )
    del batch_size_static


def check_token_id(value, name, vocabulary_size):
    """Checks `end_id` / `pad_id` against the logits' vocabulary size."""
    if vocabulary_size is not None and value >= vocabulary_size:
        raise ValueError(
            f"`{name}` must be smaller than the vocabulary size of the "
            f"logits ({vocabulary_size}). Received: {name}={value}"
        )


def call_step_fn(step_fn, token_ids, state, step):
    """Calls `step_fn` and normalises its outputs (float32 logits)."""
    outputs = step_fn(token_ids, state, step)
    if not isinstance(outputs, (tuple, list)) or len(outputs) != 3:
        raise ValueError(
            "`step_fn(token_ids, state, step)` must return a tuple "
            "`(logits, new_state, aux)`. Received: "
            f"{type(outputs).__name__} of length "
            f"{len(outputs) if isinstance(outputs, (tuple, list)) else 'n/a'}"
        )
    logits, new_state, aux = outputs
    aux = {} if aux is None else aux
    check_step_outputs(logits, aux, None)
    new_state = keras.tree.map_structure(_cast_like, new_state, state)
    return ops.cast(logits, "float32"), new_state, aux


def _cast_like(new, old):
    """Casts `new` to `old`'s dtype, returning `new` itself if it has it
    (so a state entry the step passes through stays the same object)."""
    if keras.backend.standardize_dtype(
        new.dtype
    ) == keras.backend.standardize_dtype(old.dtype):
        return new
    return ops.cast(new, old.dtype)
