"""Next-sentence-prediction pairs: IsNext or a random NotNext sentence.

Devlin et al. 2019, sec. 3.1 ("Task #2: Next Sentence Prediction (NSP)").
Plain Python and NumPy: the pairs are drawn before tokenization.
"""

import numpy as np

# Labels of the next-sentence task, as in the original BERT and Hugging Face
# (`next_sentence_label`): 0 means B follows A, 1 means B is random.
IS_NEXT = 0
NOT_NEXT = 1


def make_next_sentence_pairs(first, second, seed=0):
    """Builds next-sentence pairs (Devlin et al. 2019 sec. 3.1, task #2).

    `second[i]` must be the text that truly follows `first[i]`. For each `i`,
    with probability 1/2 the pair is `(first[i], second[i])` labelled
    `IS_NEXT` (0), otherwise `(first[i], second[j])` with a random `j != i`
    labelled `NOT_NEXT` (1).

    Args:
        first: sequence of `n >= 2` items (texts or token id lists).
        second: sequence of `n` items, the true continuations.
        seed: int, seed of the NumPy generator.

    Returns:
        `(first, second_or_random, labels)`: two lists and an int32 NumPy
        array of shape `(n,)`.
    """
    if len(first) != len(second):
        raise ValueError(
            "`first` and `second` must have the same length. Received: "
            f"len(first)={len(first)}, len(second)={len(second)}"
        )
    n = len(first)
    if n < 2:
        raise ValueError(
            f"At least two pairs are needed to draw a random sentence. "
            f"Received: len(first)={n}"
        )
    rng = np.random.default_rng(seed)
    labels = np.where(rng.random(n) < 0.5, IS_NEXT, NOT_NEXT).astype(np.int32)
    # A random j != i: draw from n - 1 values and skip i.
    others = rng.integers(0, n - 1, size=n)
    others = others + (others >= np.arange(n))
    chosen = [
        second[i] if labels[i] == IS_NEXT else second[others[i]]
        for i in range(n)
    ]
    return list(first), chosen, labels
