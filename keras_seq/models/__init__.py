"""Public API of keras_seq.models; each module adds its exports here."""

from keras_seq.models.bert import BertClassifier
from keras_seq.models.bert import BertEncoder
from keras_seq.models.bert import BertPretrainer
from keras_seq.models.bert import BertSpanPredictor
from keras_seq.models.bert import load_hf_bert_checkpoint
from keras_seq.models.captioner import Captioner
from keras_seq.models.rnn_seq2seq import RNNSeq2Seq
from keras_seq.models.show_attend_tell_captioner import ShowAttendTellCaptioner
from keras_seq.models.transformer_captioner import TransformerCaptioner
from keras_seq.models.transformer_seq2seq import TransformerSeq2Seq
from keras_seq.models.translator import Translator

__all__ = [
    "BertClassifier",
    "BertEncoder",
    "BertPretrainer",
    "BertSpanPredictor",
    "Captioner",
    "RNNSeq2Seq",
    "ShowAttendTellCaptioner",
    "TransformerCaptioner",
    "TransformerSeq2Seq",
    "Translator",
    "load_hf_bert_checkpoint",
]
