"""make_next_sentence_pairs: IsNext / NotNext pairs drawn 50/50."""

import numpy as np
import pytest

from keras_seq.models.bert.next_sentence_pairs import IS_NEXT
from keras_seq.models.bert.next_sentence_pairs import NOT_NEXT
from keras_seq.models.bert.next_sentence_pairs import make_next_sentence_pairs


def test_next_sentence_pairs():
    n = 4000
    first = [f"a{i}" for i in range(n)]
    second = [f"b{i}" for i in range(n)]
    a, b, labels = make_next_sentence_pairs(first, second, seed=0)
    assert a == first
    is_next = labels == IS_NEXT
    assert abs(is_next.mean() - 0.5) < 4.5 * np.sqrt(0.25 / n)
    for i in range(n):
        if labels[i] == IS_NEXT:
            assert b[i] == second[i]
        else:
            assert labels[i] == NOT_NEXT
            assert b[i] != second[i] and b[i] in second
    _, b2, labels2 = make_next_sentence_pairs(first, second, seed=0)
    assert b2 == b and (labels2 == labels).all()
    with pytest.raises(ValueError, match="len"):
        make_next_sentence_pairs(first, second[:-1])
    with pytest.raises(ValueError, match="len"):
        make_next_sentence_pairs(["x"], ["y"])
