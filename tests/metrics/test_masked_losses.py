"""MaskedSparseCategoricalCrossentropy and MaskedAccuracy against NumPy."""

import keras
import numpy as np
import pytest

from keras_seq.metrics import MaskedAccuracy
from keras_seq.metrics import MaskedSparseCategoricalCrossentropy


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _numpy_loss(y_true, logits, eps=0.0):
    """Label-smoothed cross-entropy, mean over y_true != 0 (Luong eq. 4)."""
    log_p = _log_softmax(logits.astype(np.float64))
    vocab = logits.shape[-1]
    total, count = 0.0, 0
    for b in range(y_true.shape[0]):
        for t in range(y_true.shape[1]):
            if y_true[b, t] == 0:
                continue
            q = np.full(vocab, eps / vocab)
            q[y_true[b, t]] += 1.0 - eps
            total += -(q * log_p[b, t]).sum()
            count += 1
    return total / count if count else 0.0


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 7)).astype("float32") * 3
    y_true = np.array(
        [[4, 5, 6, 3, 0], [1, 3, 0, 0, 0], [2, 2, 2, 2, 3]], dtype="int32"
    )
    return y_true, logits


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_loss_matches_numpy(batch, eps):
    y_true, logits = batch
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=eps)
    value = float(loss(y_true, logits))
    np.testing.assert_allclose(value, _numpy_loss(y_true, logits, eps),
                               rtol=1e-5)  # fmt: skip


def test_loss_independent_of_padding_amount(batch):
    y_true, logits = batch
    loss = MaskedSparseCategoricalCrossentropy()
    padded_true = np.pad(y_true, ((0, 0), (0, 6)))
    padded_logits = np.pad(logits, ((0, 0), (0, 6), (0, 0)))
    np.testing.assert_allclose(
        float(loss(padded_true, padded_logits)),
        float(loss(y_true, logits)),
        rtol=1e-6,
    )


def test_loss_from_probabilities_and_sum_reduction(batch):
    y_true, logits = batch
    probs = np.exp(_log_softmax(logits)).astype("float32")
    loss = MaskedSparseCategoricalCrossentropy(from_logits=False)
    np.testing.assert_allclose(
        float(loss(y_true, probs)), _numpy_loss(y_true, logits), rtol=1e-5
    )
    summed = MaskedSparseCategoricalCrossentropy(reduction="sum")
    count = int((y_true != 0).sum())
    np.testing.assert_allclose(
        float(summed(y_true, logits)),
        _numpy_loss(y_true, logits) * count,
        rtol=1e-5,
    )
    per_token = MaskedSparseCategoricalCrossentropy(reduction=None)
    values = np.asarray(per_token(y_true, logits))
    assert values.shape == (3, 5)
    assert np.all(values[y_true == 0] == 0)


def test_all_padding_gives_zero_not_nan():
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=0.1)
    value = float(loss(np.zeros((2, 3), "int32"), np.ones((2, 3, 5))))
    assert value == 0.0


def test_loss_serialization_and_fit():
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=0.2)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, MaskedSparseCategoricalCrossentropy)
    assert restored.label_smoothing == 0.2
    # A model whose logits carry a Keras padding mask (mask_zero) must not
    # apply the mask twice.
    inputs = keras.Input((4,), dtype="int32")
    x = keras.layers.Embedding(6, 8, mask_zero=True)(inputs)
    outputs = keras.layers.Dense(6)(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss=MaskedSparseCategoricalCrossentropy(),
                  metrics=[MaskedAccuracy()])  # fmt: skip
    x = np.array([[1, 2, 3, 0], [4, 5, 0, 0]], "int32")
    y = np.array([[2, 3, 4, 0], [5, 1, 0, 0]], "int32")
    logits = model.predict(x, verbose=0)
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose(result["loss"], _numpy_loss(y, logits),
                               rtol=1e-5)  # fmt: skip


def test_loss_bad_arguments():
    with pytest.raises(ValueError, match="label_smoothing=1.5"):
        MaskedSparseCategoricalCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="from_logits"):
        MaskedSparseCategoricalCrossentropy(from_logits="yes")


def test_accuracy_matches_numpy(batch):
    y_true, logits = batch
    metric = MaskedAccuracy()
    metric.update_state(y_true, logits)
    mask = y_true != 0
    expected = (logits.argmax(-1) == y_true)[mask].mean()
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-6)
    # Accumulates over batches: a second, fully correct batch.
    y2 = np.array([[1, 2, 0]], "int32")
    logits2 = np.eye(4, dtype="float32")[[1, 2, 3]][None]
    metric.update_state(y2, logits2)
    hits = (logits.argmax(-1) == y_true)[mask].sum() + 2
    np.testing.assert_allclose(
        float(metric.result()), hits / (mask.sum() + 2), rtol=1e-6
    )
    metric.reset_state()
    assert float(metric.result()) == 0.0
    restored = MaskedAccuracy.from_config(metric.get_config())
    assert restored.ignore_class == 0
