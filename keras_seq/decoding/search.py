"""One entry point over the decoding strategies, used by every model."""

from keras_seq.decoding.beam_search import beam_search
from keras_seq.decoding.greedy_search import greedy_search
from keras_seq.decoding.sampling import sample

STRATEGIES = {"greedy": greedy_search, "beam": beam_search, "sample": sample}


def search(
    strategy,
    step_fn,
    state,
    start_ids,
    end_id,
    max_length,
    source_mask=None,
    **kwargs,
):
    """Runs `greedy_search`, `beam_search` or `sample` by name.

    Models implement `generate()` with this so that they accept the same
    strategies and options.

    Args:
        strategy: `"greedy"`, `"beam"` or `"sample"`.
        step_fn, state, start_ids, end_id, max_length: as in the searches
            (the decoding contract of docs/design.md).
        source_mask: optional boolean `(batch_size, source_length)`; given to
            beam search, which leaves source padding out of the coverage
            penalty. Ignored by the other strategies.
        **kwargs: options of the chosen search (`beam_width`,
            `length_penalty`, `temperature`, `top_k`, `top_p`, `seed`, ...).

    Returns:
        The dict returned by the chosen search.
    """
    if strategy not in STRATEGIES:
        raise ValueError(
            f"`strategy` must be one of {sorted(STRATEGIES)}. "
            f"Received: strategy={strategy!r}"
        )
    if strategy == "beam" and source_mask is not None:
        kwargs.setdefault("source_mask", source_mask)
    return STRATEGIES[strategy](
        step_fn,
        state,
        start_ids,
        end_id=end_id,
        max_length=max_length,
        **kwargs,
    )
