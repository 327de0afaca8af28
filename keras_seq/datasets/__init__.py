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
from keras_seq.datasets.image_captions import decode_image
from keras_seq.datasets.image_captions import decode_image_tensor
from keras_seq.datasets.image_captions import load_coco_captions
from keras_seq.datasets.image_captions import load_flickr8k
from keras_seq.datasets.image_captions import load_image
from keras_seq.datasets.image_captions import read_coco_captions
from keras_seq.datasets.image_captions import read_flickr8k_captions
from keras_seq.datasets.image_captions import read_image_file
from keras_seq.datasets.multi30k import MULTI30K_URL
from keras_seq.datasets.multi30k import load_multi30k
from keras_seq.datasets.multi30k import multi30k_file
from keras_seq.datasets.shapes_captions import SHAPES_VOCABULARY
from keras_seq.datasets.shapes_captions import attention_localization
from keras_seq.datasets.shapes_captions import decode_shapes_caption
from keras_seq.datasets.shapes_captions import encode_shapes_captions
from keras_seq.datasets.shapes_captions import generate_shapes_captions

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
    "SHAPES_VOCABULARY",
    "attention_localization",
    "decode_image",
    "decode_image_tensor",
    "decode_shapes_caption",
    "encode_shapes_captions",
    "generate_shapes_captions",
    "load_coco_captions",
    "load_flickr8k",
    "load_image",
    "read_coco_captions",
    "read_flickr8k_captions",
    "read_image_file",
]
