"""Tokenizers and vocabularies built on tensorflow-text (TensorFlow only)."""

from keras_seq.text import special_tokens
from keras_seq.text.char_tokenizer import CharTokenizer
from keras_seq.text.sentence_piece_tokenizer import SentencePieceTokenizer
from keras_seq.text.special_tokens import BOS
from keras_seq.text.special_tokens import BOS_ID
from keras_seq.text.special_tokens import EOS
from keras_seq.text.special_tokens import EOS_ID
from keras_seq.text.special_tokens import PAD
from keras_seq.text.special_tokens import PAD_ID
from keras_seq.text.special_tokens import RESERVED_TOKENS
from keras_seq.text.special_tokens import UNK
from keras_seq.text.special_tokens import UNK_ID
from keras_seq.text.text_utils import JOINER
from keras_seq.text.text_utils import validate_texts
from keras_seq.text.tokenizer import Tokenizer
from keras_seq.text.word_piece_tokenizer import WordPieceTokenizer
from keras_seq.text.word_tokenizer import WordTokenizer

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
