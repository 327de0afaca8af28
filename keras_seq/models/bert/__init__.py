"""BERT (Devlin et al. 2019): encoder, pretraining and fine-tuning models."""

from keras_seq.models.bert.bert_classifier import BertClassifier
from keras_seq.models.bert.bert_embeddings import BertEmbeddings
from keras_seq.models.bert.bert_encoder import BertEncoder
from keras_seq.models.bert.bert_encoder import load_hf_bert_checkpoint
from keras_seq.models.bert.bert_masked_lm_head import BertMaskedLMHead
from keras_seq.models.bert.bert_pretrainer import BertPretrainer
from keras_seq.models.bert.bert_span_predictor import BertSpanPredictor

__all__ = [
    "BertClassifier",
    "BertEmbeddings",
    "BertEncoder",
    "BertMaskedLMHead",
    "BertPretrainer",
    "BertSpanPredictor",
    "load_hf_bert_checkpoint",
]
