"""Ancestral sampling with temperature, top-k and nucleus (top-p) filtering."""

import keras
from keras import ops

from keras_seq.decoding import decoding_utils as utils
from keras_seq.decoding.token_loop import run_token_loop
from keras_seq.validation import check_int


def sample(
    step_fn,
    state,
    start_ids,
    end_id,
    max_length,
    temperature=1.0,
    top_k=None,
    top_p=None,
    seed=None,
    pad_id=0,
    min_length=0,
    record_aux=True,
    output_length=None,
):
    """Samples `y_j ~ P(y | y_<j, x)` token by token until EOS.

    The distribution at each step is the model's, sharpened or flattened by
    `temperature` (`softmax(logits / T)`), then optionally restricted to the
    `top_k` most probable tokens (Fan et al. 2018) and/or to the nucleus:
    the smallest set of most probable tokens whose probability reaches
    `top_p` (Holtzman et al. 2020), renormalised. With `top_k=1` this is
    greedy search.

    All randomness is drawn before the loop, one uniform number per sentence
    and step, and turned into a token by inverting the cumulative
    distribution, so the loop body is deterministic: the search traces into
    a `tf.function` / SavedModel and compiles with `jit_compile=True`. The
    same integer `seed` gives the same samples within one execution mode;
    under XLA (`jit_compile=True`) TensorFlow generates stateless random
    numbers with another algorithm, so compiled samples differ from eager
    ones for the same seed.

    Args:
        step_fn: `step_fn(token_ids, state, step) -> (logits, new_state,
            aux)`, see `greedy_search`.
        state: nested structure of tensors, leading axis `batch_size`.
        start_ids: int tensor `(batch_size,)`, the first input (BOS).
        end_id: int, the EOS id.
        max_length: int >= 1 or int tensor `(batch_size,)`.
        temperature: float > 0. Defaults to 1 (the model's distribution).
        top_k: optional int >= 1.
        top_p: optional float in `(0, 1]`.
        seed: int (reproducible), a `keras.random.SeedGenerator` (a fresh
            draw at each call; create it outside a `tf.function`) or None
            (Keras' global generator).
        pad_id: int written after EOS.
        min_length: int >= 0; EOS is forbidden for the first `min_length`
            tokens.
        record_aux: whether to return the aux tensors stacked over steps.
        output_length: static output length when `max_length` is symbolic.

    Returns:
        dict as `greedy_search`: `token_ids (batch_size, L)`, `lengths`,
        `scores` (the sum of the MODEL's log-probabilities of the sampled
        tokens, before temperature and filtering) and the aux tensors.

    References:
        Holtzman et al. 2020, "The Curious Case of Neural Text
        Degeneration" (nucleus sampling). Fan et al. 2018, "Hierarchical
        Neural Story Generation" (top-k sampling).
    """
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not 0 < temperature < float("inf")
    ):
        raise ValueError(
            "`temperature` must be a finite float > 0. "
            f"Received: temperature={temperature}"
        )
    if top_k is not None:
        top_k = check_int("top_k", top_k)
    if top_p is not None and (
        isinstance(top_p, bool)
        or not isinstance(top_p, (int, float))
        or not 0 < top_p <= 1
    ):
        raise ValueError(
            f"`top_p` must be a float in (0, 1]. Received: top_p={top_p}"
        )
    if not (
        seed is None
        or isinstance(seed, keras.random.SeedGenerator)
        or (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0)
    ):
        raise ValueError(
            "`seed` must be None, an int >= 0 or a "
            f"keras.random.SeedGenerator. Received: seed={seed}"
        )
    length, _ = utils.resolve_max_length(
        max_length, output_length=output_length
    )
    start = ops.convert_to_tensor(start_ids)
    if len(start.shape) != 1:
        raise ValueError(
            "`start_ids` must have shape (batch_size,). Received: "
            f"start_ids.shape={start.shape}"
        )
    # One uniform number per sentence and step, drawn up front.
    uniforms = keras.random.uniform(
        (ops.shape(start)[0], length), dtype="float32", seed=seed
    )
    temperature = float(temperature)

    def select(log_probs, step):
        logits = log_probs / temperature  # (B, V); EOS may be -inf
        if top_k == 1:
            # A one-token support: no draw needed (and softmax over one
            # entry is 1).
            return ops.argmax(logits, axis=-1)
        vocab = logits.shape[-1]
        candidate_ids = None
        if top_k is not None and top_k < vocab:
            logits, candidate_ids = ops.top_k(logits, top_k)  # sorted
        elif top_p is not None and top_p < 1:
            logits, candidate_ids = ops.top_k(logits, vocab)  # full sort
        if top_p is not None and top_p < 1:
            # Nucleus: keep a token while the mass of the more probable
            # ones is still below top_p (the most probable is always kept).
            probs = ops.softmax(logits, axis=-1)
            mass_before = ops.cumsum(probs, axis=-1) - probs
            logits = ops.where(mass_before < top_p, logits, utils.NEG_INF)
        position = _invert_cdf(
            ops.softmax(logits, axis=-1), ops.take(uniforms, step, axis=1)
        )
        if candidate_ids is None:
            return position
        return ops.take_along_axis(candidate_ids, position[:, None], axis=1)[
            :, 0
        ]

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


def _invert_cdf(probs, uniform):
    """Index `i` with `F(i - 1) <= u * F(V) < F(i)`, F the cumulative sum.

    Args:
        probs: `(batch, n)` non-negative, rows summing to 1.
        uniform: `(batch,)` in `[0, 1)`.

    Returns:
        int32 `(batch,)`; never an index of probability zero.
    """
    cdf = ops.cumsum(probs, axis=-1)
    target = uniform[:, None] * cdf[:, -1:]
    index = ops.sum(ops.cast(cdf <= target, "int32"), axis=-1)
    # Rounding can push `target` onto the total: fall back on the last
    # token that has any probability.
    n = probs.shape[-1]
    positive = ops.cast(probs > 0, "int32")
    last = n - 1 - ops.argmax(ops.flip(positive, axis=-1), axis=-1)
    return ops.minimum(index, ops.cast(last, "int32"))
