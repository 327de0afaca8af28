"""Public API of keras_seq.decoding; each module adds its exports here."""

from keras_seq.decoding.beam_search import beam_search  # noqa: F401
from keras_seq.decoding.decoding_utils import max_length_from_source  # noqa: F401
from keras_seq.decoding.greedy_search import greedy_search  # noqa: F401
from keras_seq.decoding.sampling import sample  # noqa: F401
from keras_seq.decoding.search import search  # noqa: F401
