"""Built-in and downloadable corpora.

The corpora need no TensorFlow; `make_seq2seq_dataset` builds a `tf.data`
pipeline and is imported on first use (PEP 562).
"""

from keras_seq import _lazy
from keras_seq.datasets.dates import DATE_FORMATS
from keras_seq.datasets.dates import MAX_DATE
from keras_seq.datasets.dates import MIN_DATE
from keras_seq.datasets.dates import format_date
from keras_seq.datasets.dates import generate_dates
from keras_seq.datasets.dates import load_dates
from keras_seq.datasets.multi30k import MULTI30K_URL
from keras_seq.datasets.multi30k import load_multi30k
from keras_seq.datasets.multi30k import multi30k_file

__getattr__, __dir__ = _lazy.tensorflow_exports(
    __name__,
    {"make_seq2seq_dataset": "keras_seq.datasets.seq2seq_dataset"},
    "keras_seq.datasets.make_seq2seq_dataset builds a tf.data pipeline and "
    "needs TensorFlow: pip install tensorflow",
)

__all__ = [
    "DATE_FORMATS",
    "MAX_DATE",
    "MIN_DATE",
    "format_date",
    "generate_dates",
    "load_dates",
    "MULTI30K_URL",
    "load_multi30k",
    "make_seq2seq_dataset",
    "multi30k_file",
]
