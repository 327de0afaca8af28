"""BertEmbeddings, BertMaskedLMHead, BertEncoder and the task models."""

import math
import os

import keras
import numpy as np
import pytest
from layer_test_case import run_layer_test

from keras_seq.models.bert import BertClassifier
from keras_seq.models.bert import BertEmbeddings
from keras_seq.models.bert import BertEncoder
from keras_seq.models.bert import BertMaskedLMHead
from keras_seq.models.bert import BertPretrainer
from keras_seq.models.bert import BertSpanPredictor

V, H = 120, 8


def gelu(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def tiny_encoder(**kwargs):
    config = dict(
        vocabulary_size=V,
        num_layers=2,
        num_heads=2,
        hidden_dim=H,
        intermediate_dim=16,
        dropout=0.1,
        max_sequence_length=12,
    )
    config.update(kwargs)
    return BertEncoder(**config)


def tiny_inputs(seed=0, batch=3, length=10):
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(104, V, size=(batch, length)).astype(np.int32)
    segment_ids = np.zeros((batch, length), np.int32)
    lengths = [length, length - 3, 5][:batch]
    for b, n in enumerate(lengths):
        token_ids[b, 0] = 101
        token_ids[b, n - 1] = 102
        token_ids[b, n // 2] = 102
        segment_ids[b, n // 2 + 1 : n] = 1
        token_ids[b, n:] = 0
    return {
        "token_ids": token_ids,
        "segment_ids": segment_ids,
        "padding_mask": token_ids != 0,
    }


def test_bert_embeddings_layer_and_numpy():
    ids = np.array([[1, 5, 7, 0], [3, 3, 2, 9]], np.int32)
    seg = np.array([[0, 0, 1, 1], [0, 1, 1, 1]], np.int32)
    run_layer_test(
        BertEmbeddings,
        {"vocabulary_size": 10, "hidden_dim": 4, "max_sequence_length": 6},
        args=[ids],
        kwargs={"segment_ids": seg},
    )
    layer = BertEmbeddings(10, 4, 6, layer_norm_epsilon=1e-6)
    out = np.asarray(layer(ids, seg))
    tok = np.asarray(layer.token_embedding.embeddings)
    sg = np.asarray(layer.segment_embedding.embeddings)
    pos = np.asarray(layer.position_embedding.embeddings)
    expected = layer_norm(
        tok[ids] + sg[seg] + pos[np.arange(4)][None],
        np.asarray(layer.layer_norm.gamma),
        np.asarray(layer.layer_norm.beta),
        1e-6,
    )
    np.testing.assert_allclose(out, expected, atol=1e-5)
    with pytest.raises(ValueError, match="max_sequence_length"):
        layer(np.zeros((1, 7), np.int32))
    with pytest.raises(ValueError, match="hidden_dim=0"):
        BertEmbeddings(10, 0, 6)


def test_masked_lm_head_layer_and_tied_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, H)).astype(np.float32)
    positions = np.array([[0, 3], [4, 4]], np.int32)
    run_layer_test(
        BertMaskedLMHead,
        {"vocabulary_size": V},
        args=[x, positions],
        expected_output_shape=(2, 2, V),
    )
    embedding = keras.layers.Embedding(V, H)
    embedding.build((None,))
    head = BertMaskedLMHead(V, token_embedding=embedding)
    logits = np.asarray(head(x, positions))
    head.output_bias.assign(rng.standard_normal(V).astype(np.float32))
    logits = np.asarray(head(x, positions))
    gathered = np.take_along_axis(x, positions[:, :, None], axis=1)
    h = gelu(
        gathered @ np.asarray(head.transform_dense.kernel)
        + np.asarray(head.transform_dense.bias)
    )
    h = layer_norm(
        h,
        np.asarray(head.transform_layer_norm.gamma),
        np.asarray(head.transform_layer_norm.beta),
        1e-12,
    )
    expected = h @ np.asarray(embedding.embeddings).T + np.asarray(
        head.output_bias
    )
    np.testing.assert_allclose(logits, expected, atol=1e-5)
    assert len(head.trainable_weights) == 4 + 1 + 1  # + tied embedding
    with pytest.raises(ValueError, match="vocabulary_size=7"):
        BertMaskedLMHead(7, token_embedding=embedding)


def test_encoder_padding_independence_saving_and_jit(tmp_path):
    encoder = tiny_encoder()
    inputs = tiny_inputs()
    out = encoder(inputs)
    # Row 2 alone and with other padding gives the same valid outputs.
    single = {k: v[2:3, :5] for k, v in inputs.items()}
    alone = encoder(single)
    np.testing.assert_allclose(
        np.asarray(alone["sequence_output"])[0],
        np.asarray(out["sequence_output"])[2, :5],
        atol=1e-5,
    )
    np.testing.assert_allclose(
        np.asarray(alone["pooled_output"])[0],
        np.asarray(out["pooled_output"])[2],
        atol=1e-5,
    )
    np.testing.assert_allclose(
        np.asarray(out["cls_output"]),
        np.asarray(out["sequence_output"])[:, 0],
    )
    # Config round trip and .keras save/load.
    config = encoder.get_config()
    assert BertEncoder.from_config(config).get_config() == config
    path = os.path.join(tmp_path, "encoder.keras")
    encoder.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        np.asarray(loaded(inputs)["sequence_output"]),
        np.asarray(out["sequence_output"]),
        atol=1e-6,
    )
    # jit_compile equals eager.
    encoder.compile(jit_compile=True)
    compiled = encoder.predict_on_batch(inputs)
    np.testing.assert_allclose(
        compiled["pooled_output"], np.asarray(out["pooled_output"]), atol=1e-5
    )


def test_encoder_mixed_precision_and_bad_arguments():
    encoder = tiny_encoder(dtype="mixed_float16")
    out = encoder(tiny_inputs())
    assert all("float32" in str(w.dtype) for w in encoder.trainable_weights)
    assert np.isfinite(
        keras.ops.convert_to_numpy(
            keras.ops.cast(out["sequence_output"], "float32")
        )
    ).all()
    with pytest.raises(ValueError, match="num_heads=3"):
        tiny_encoder(num_heads=3)
    with pytest.raises(ValueError, match="num_layers=0"):
        tiny_encoder(num_layers=0)
    with pytest.raises(ValueError, match="dropout"):
        tiny_encoder(dropout=1.5)


@pytest.mark.slow
def test_pretrainer_heads_tied_and_training(tmp_path):
    keras.utils.set_random_seed(0)
    encoder = tiny_encoder(dropout=0.0)
    pretrainer = BertPretrainer(encoder)
    inputs = tiny_inputs()
    inputs["mask_positions"] = np.array([[1, 2], [3, 0], [2, 0]], np.int32)
    out = pretrainer(inputs)
    assert out["mlm"].shape == (3, 2, V) and out["nsp"].shape == (3, 2)
    # NSP head on the pooled output tanh(W C).
    pooled = np.asarray(encoder(inputs)["pooled_output"])
    head = pretrainer.next_sentence_head
    np.testing.assert_allclose(
        np.asarray(out["nsp"]),
        pooled @ np.asarray(head.kernel) + np.asarray(head.bias),
        atol=1e-5,
    )
    # Tied: the MLM output matrix is the token embedding, held once.
    assert pretrainer.masked_lm_head.token_embedding is (
        encoder.token_embedding
    )
    ids = [id(w) for w in pretrainer.trainable_weights]
    assert len(ids) == len(set(ids))
    # Training on a fixed batch lowers the summed loss.
    y = {
        "mlm": np.array([[5, 6], [7, 0], [8, 0]], np.int32),
        "nsp": np.array([0, 1, 0], np.int32),
    }
    sw = {
        "mlm": np.array([[1, 1], [1, 0], [1, 0]], np.float32),
        "nsp": np.ones(3, np.float32),
    }
    pretrainer.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    # Masked-LM loss is the mean over the real predictions (weights).
    logits = np.asarray(pretrainer(inputs)["mlm"], np.float64)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    ce = -np.take_along_axis(logp, y["mlm"][..., None], -1)[..., 0]
    expected = (ce * sw["mlm"]).sum() / sw["mlm"].sum()
    before = np.asarray(encoder.token_embedding.embeddings).copy()
    # train_on_batch reports the loss of the weights before its update.
    first = pretrainer.train_on_batch(
        inputs, y, sample_weight=sw, return_dict=True
    )
    np.testing.assert_allclose(first["mlm_loss"], expected, rtol=1e-4)
    for _ in range(20):
        last = pretrainer.train_on_batch(
            inputs, y, sample_weight=sw, return_dict=True
        )
    assert last["loss"] < 0.5 * first["loss"]
    assert not np.allclose(before, encoder.token_embedding.embeddings)
    path = os.path.join(tmp_path, "pretrainer.keras")
    pretrainer.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    np.testing.assert_allclose(
        np.asarray(loaded(inputs)["mlm"]),
        np.asarray(pretrainer(inputs)["mlm"]),
        atol=1e-5,
    )
    assert loaded.masked_lm_head.token_embedding is (
        loaded.backbone.token_embedding
    )


@pytest.mark.slow
def test_classifier_softmax_of_w_c(tmp_path):
    encoder = tiny_encoder()
    inputs = tiny_inputs()
    for representation, key in (
        ("cls", "cls_output"),
        ("pooled", "pooled_output"),
    ):
        classifier = BertClassifier(
            encoder, num_classes=3, representation=representation
        )
        logits = np.asarray(classifier(inputs))
        c = np.asarray(encoder(inputs)[key])
        dense = classifier.output_dense
        expected = c @ np.asarray(dense.kernel) + np.asarray(dense.bias)
        np.testing.assert_allclose(logits, expected, atol=1e-5)
    path = os.path.join(tmp_path, "classifier.keras")
    classifier.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    np.testing.assert_allclose(loaded(inputs), logits, atol=1e-6)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    history = classifier.fit(inputs, np.array([0, 1, 2]), epochs=15, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    with pytest.raises(ValueError, match="num_classes=1"):
        BertClassifier(encoder, num_classes=1)
    with pytest.raises(ValueError, match="representation='mean'"):
        BertClassifier(encoder, 2, representation="mean")
    with pytest.raises(ValueError, match="backbone"):
        BertClassifier("bert", 2)


@pytest.mark.slow
def test_span_predictor_logits_decoding_and_training(tmp_path):
    encoder = tiny_encoder()
    model = BertSpanPredictor(encoder, max_answer_length=2)
    inputs = tiny_inputs()
    out = model(inputs)
    paragraph = (
        inputs["padding_mask"]
        & (inputs["segment_ids"] == 1)
        & ~np.isin(inputs["token_ids"], [0, 101, 102])
    )
    t = np.asarray(encoder(inputs)["sequence_output"])
    kernel = np.asarray(model.span_head.kernel)  # columns S and E
    np.testing.assert_allclose(
        np.asarray(out["start_logits"])[paragraph],
        (t @ kernel[:, 0])[paragraph],
        atol=1e-5,
    )
    np.testing.assert_allclose(
        np.asarray(out["end_logits"])[paragraph],
        (t @ kernel[:, 1])[paragraph],
        atol=1e-5,
    )
    assert (np.asarray(out["start_logits"])[~paragraph] <= -1e8).all()
    span = model.predict_span(inputs)
    for b in range(3):
        s, e = int(span["start"][b]), int(span["end"][b])
        assert paragraph[b, s] and paragraph[b, e] and s <= e < s + 2
    path = os.path.join(tmp_path, "span.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    assert loaded.max_answer_length == 2
    np.testing.assert_allclose(
        loaded(inputs)["end_logits"], out["end_logits"], atol=1e-6
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    y = {
        "start_logits": np.array([6, 5, 3]),
        "end_logits": np.array([7, 5, 3]),
    }
    losses = [
        model.train_on_batch(inputs, y, return_dict=True)["loss"]
        for _ in range(15)
    ]
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="max_answer_length=0"):
        BertSpanPredictor(encoder, max_answer_length=0)
