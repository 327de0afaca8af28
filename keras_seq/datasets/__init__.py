"""Built-in and downloadable corpora."""

from keras_seq.datasets.dates import DATE_FORMATS
from keras_seq.datasets.dates import MAX_DATE
from keras_seq.datasets.dates import MIN_DATE
from keras_seq.datasets.dates import format_date
from keras_seq.datasets.dates import generate_dates
from keras_seq.datasets.dates import load_dates

__all__ = [
    "DATE_FORMATS",
    "MAX_DATE",
    "MIN_DATE",
    "format_date",
    "generate_dates",
    "load_dates",
]
