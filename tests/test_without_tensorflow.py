"""keras-seq on Keras with one backend and no TensorFlow (JAX, torch).

Runs in `.venv-jax` and `.venv-torch` (scripts/backend_env.sh), which have
no TensorFlow, and in the TensorFlow environment too (the training and
decoding tests are the same on every backend). The date corpus is
tokenized by a few lines of Python here, because `keras_seq.text` is built
on tensorflow-text.
"""

import importlib.util
import re
import sys

import keras
import numpy as np
import pytest
from keras import ops

from keras_seq import decoding
from keras_seq import layers
from keras_seq import models
from keras_seq.datasets import load_dates
from keras_seq.metrics import MaskedSparseCategoricalCrossentropy

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


class _Vocabulary:
    """Lower-cased letter runs, digit runs and single symbols, in id order.

    The same split as `keras_seq.text.WordTokenizer` on the date corpus
    ("25th" -> "25", "th"; "2026-11-25" -> "2026", "-", "11", "-", "25").
    """

    def __init__(self, texts):
        words = sorted({w for text in texts for w in self.split(text)})
        self.tokens = ["[PAD]", "[UNK]", "[BOS]", "[EOS]", *words]
        self.ids = {token: i for i, token in enumerate(self.tokens)}

    @staticmethod
    def split(text):
        return re.findall(r"[a-z]+|[0-9]+|[^\sa-z0-9]", text.lower())

    def encode(self, texts, length, add_bos=False, add_eos=False):
        ids = np.zeros((len(texts), length), "int32")
        for row, text in enumerate(texts):
            tokens = [self.ids.get(w, UNK_ID) for w in self.split(text)]
            tokens = [BOS_ID] * add_bos + tokens + [EOS_ID] * add_eos
            assert len(tokens) <= length, text
            ids[row, : len(tokens)] = tokens
        return ids


def _date_batches(num_train):
    data = load_dates(num_train=num_train, num_val=0, num_test=64, seed=3)
    source_vocabulary = _Vocabulary([s for s, _ in data["train"]])
    target_vocabulary = _Vocabulary([t for _, t in data["train"]])

    def arrays(pairs):
        sources = [s for s, _ in pairs]
        targets = [t for _, t in pairs]
        x = {
            "source_ids": source_vocabulary.encode(sources, 16),
            "target_in": target_vocabulary.encode(targets, 6, add_bos=True),
        }
        y = target_vocabulary.encode(targets, 6, add_eos=True)
        return x, y

    return (
        arrays(data["train"]),
        arrays(data["test"]),
        len(source_vocabulary.tokens),
        len(target_vocabulary.tokens),
    )


def _check_scores_against_teacher_forcing(model, source_ids, out, key):
    """`out[key]` (the summed log-probabilities of each decoded sequence)
    equals the teacher-forced pass's on that sequence."""
    tokens = ops.convert_to_numpy(out["token_ids"])
    lengths = ops.convert_to_numpy(out["lengths"])
    target_in = np.concatenate(
        [np.full((len(tokens), 1), BOS_ID, "int32"), tokens[:, :-1]], axis=1
    )
    logits = model({"source_ids": source_ids, "target_in": target_in})
    log_probs = ops.convert_to_numpy(ops.log_softmax(logits, axis=-1))
    for b, n in enumerate(lengths):
        expected = log_probs[b, np.arange(n), tokens[b, :n]].sum()
        np.testing.assert_allclose(
            ops.convert_to_numpy(out[key])[b], expected, rtol=1e-4, atol=1e-5
        )
        # Decoding stops at EOS and pads with 0 after it.
        assert tokens[b, n - 1] == EOS_ID or n == tokens.shape[1]
        assert (tokens[b, n:] == PAD_ID).all()


def _check_greedy_is_argmax(model, source_ids, out):
    """Each greedy token is the argmax of the teacher-forced pass on the
    greedy output itself (an independent recomputation with `call()`)."""
    tokens = ops.convert_to_numpy(out["token_ids"])
    lengths = ops.convert_to_numpy(out["lengths"])
    target_in = np.concatenate(
        [np.full((len(tokens), 1), BOS_ID, "int32"), tokens[:, :-1]], axis=1
    )
    logits = model({"source_ids": source_ids, "target_in": target_in})
    argmax = ops.convert_to_numpy(ops.argmax(logits, axis=-1))
    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(tokens[b, :n], argmax[b, :n])


@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow",
    reason="checks an environment without TensorFlow (.venv-jax, "
    ".venv-torch from scripts/backend_env.sh); this one has it",
)
def test_library_imports_without_tensorflow():
    assert importlib.util.find_spec("tensorflow") is None
    assert importlib.util.find_spec("tensorflow_text") is None
    # Imported above, at the top of this file, with no TensorFlow.
    assert layers.LuongAttention and models.RNNSeq2Seq
    assert decoding.beam_search
    assert not [m for m in sys.modules if m.split(".")[0] == "tensorflow"]
    from keras_seq.text.special_tokens import PAD_ID as pad_id

    assert pad_id == PAD_ID
    with pytest.raises(ImportError, match="pip install tensorflow"):
        from keras_seq.text import WordTokenizer  # noqa: F401
    import keras_seq.datasets

    with pytest.raises(ImportError, match="pip install tensorflow"):
        keras_seq.datasets.make_seq2seq_dataset  # noqa: B018


def test_rnn_luong_learns_dates_and_decodes():
    keras.utils.set_random_seed(0)
    (x, y), (test_x, test_y), source_size, target_size = _date_batches(2048)
    model = models.RNNSeq2Seq(
        source_size,
        target_size,
        embedding_dim=32,
        hidden_dim=64,
        attention="luong",
        score="general",
        max_source_length=16,
        max_target_length=6,
    )
    model.compile(
        keras.optimizers.Adam(1e-2), MaskedSparseCategoricalCrossentropy()
    )
    losses = model.fit(x, y, batch_size=64, epochs=4, verbose=0)
    losses = losses.history["loss"]
    assert np.isfinite(losses).all()
    # Uniform guessing over the target vocabulary costs log(V) nats.
    assert losses[0] < np.log(target_size)
    assert losses[-1] < 0.75 * losses[0], losses

    source_ids = test_x["source_ids"][:8]
    greedy = model.generate(source_ids, max_length=6)
    _check_greedy_is_argmax(model, source_ids, greedy)
    _check_scores_against_teacher_forcing(model, source_ids, greedy, "scores")
    assert ops.convert_to_numpy(greedy["alignment"]).shape == (8, 6, 16)

    beam = model.generate(source_ids, strategy="beam", beam_width=3)
    _check_scores_against_teacher_forcing(model, source_ids, beam, "log_probs")


def test_transformer_trains_and_decodes():
    keras.utils.set_random_seed(0)
    (x, y), (test_x, _), source_size, target_size = _date_batches(256)
    model = models.TransformerSeq2Seq(
        source_size,
        target_size,
        hidden_dim=32,
        num_layers=1,
        num_heads=2,
        intermediate_dim=64,
        dropout=0.0,
        max_source_length=16,
        max_target_length=6,
    )
    model.compile(
        keras.optimizers.Adam(3e-3), MaskedSparseCategoricalCrossentropy()
    )
    losses = model.fit(x, y, batch_size=64, epochs=3, verbose=0)
    losses = losses.history["loss"]  # 4 steps per epoch
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.8 * losses[0], losses

    source_ids = test_x["source_ids"][:4]
    greedy = model.generate(source_ids, max_length=6)
    _check_greedy_is_argmax(model, source_ids, greedy)
    beam = model.generate(source_ids, strategy="beam", beam_width=3)
    _check_scores_against_teacher_forcing(model, source_ids, beam, "log_probs")
