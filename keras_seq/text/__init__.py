"""Tokenizers and vocabularies built on tensorflow-text (TensorFlow only).

The reserved tokens (`special_tokens`) need nothing but Python; every
other name is imported on first use (PEP 562), so that `keras_seq.models`
can import `keras_seq.text.special_tokens` on a backend without TensorFlow.
"""

from keras_seq import _lazy
from keras_seq.text import special_tokens
from keras_seq.text.special_tokens import BOS
from keras_seq.text.special_tokens import BOS_ID
from keras_seq.text.special_tokens import EOS
from keras_seq.text.special_tokens import EOS_ID
from keras_seq.text.special_tokens import PAD
from keras_seq.text.special_tokens import PAD_ID
from keras_seq.text.special_tokens import RESERVED_TOKENS
from keras_seq.text.special_tokens import UNK
from keras_seq.text.special_tokens import UNK_ID

# Name -> defining module, for the names that need TensorFlow.
_TENSORFLOW_EXPORTS = {
    "CharTokenizer": "keras_seq.text.char_tokenizer",
    "JOINER": "keras_seq.text.text_utils",
    "SentencePieceTokenizer": "keras_seq.text.sentence_piece_tokenizer",
    "Tokenizer": "keras_seq.text.tokenizer",
    "WordPieceTokenizer": "keras_seq.text.word_piece_tokenizer",
    "WordTokenizer": "keras_seq.text.word_tokenizer",
    "validate_texts": "keras_seq.text.text_utils",
}
__getattr__, __dir__ = _lazy.tensorflow_exports(
    __name__,
    _TENSORFLOW_EXPORTS,
    "keras_seq.text needs TensorFlow and tensorflow-text: "
    "pip install tensorflow tensorflow-text",
)

__all__ = [
    "BOS",
    "BOS_ID",
    "CharTokenizer",
    "EOS",
    "EOS_ID",
    "JOINER",
    "PAD",
    "PAD_ID",
    "RESERVED_TOKENS",
    "SentencePieceTokenizer",
    "UNK",
    "UNK_ID",
    "Tokenizer",
    "WordPieceTokenizer",
    "WordTokenizer",
    "special_tokens",
    "validate_texts",
]
