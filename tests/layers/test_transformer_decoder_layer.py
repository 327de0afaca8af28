"""TransformerDecoderLayer against NumPy written from Vaswani et al. 2017.

Sec. 3.1-3.3: masked self-attention (position i sees positions <= i),
cross-attention on the encoder output, FFN; each LayerNorm(x + Sublayer(x))
(or pre-norm x + Sublayer(LayerNorm(x))).
"""

import numpy as np
import pytest
from keras import ops

from keras_seq.layers import TransformerDecoderLayer
from tests.layer_test_case import run_layer_test
from tests.layers.test_multi_head_attention import numpy_mha
from tests.layers.test_transformer_encoder_layer import numpy_ffn
from tests.layers.test_transformer_encoder_layer import numpy_layer_norm

B, T, S, D, HEADS, FF = 2, 5, 4, 8, 2, 16


def numpy_decoder_layer(layer, y, x, encoder_mask):
    """y: decoder input (B, T, D), x: encoder output (B, S, D)."""
    y = y.astype("float64")
    causal = np.broadcast_to(np.tril(np.ones((T, T), bool)), (B, T, T))
    cross = None
    if encoder_mask is not None:
        cross = np.broadcast_to(encoder_mask[:, None, :], (B, T, S))

    def block(y, norm, fn):
        if layer.normalize_first:
            return y + fn(numpy_layer_norm(y, norm))
        return numpy_layer_norm(y + fn(y), norm)

    y = block(
        y,
        layer.self_attention_layer_norm,
        lambda h: numpy_mha(layer.self_attention, h, h, causal)[0],
    )
    if layer.use_cross_attention:
        y = block(
            y,
            layer.cross_attention_layer_norm,
            lambda h: numpy_mha(layer.cross_attention, h, x, cross)[0],
        )
    return block(
        y,
        layer.feed_forward_layer_norm,
        lambda h: numpy_ffn(h, layer.feed_forward),
    )


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(B, T, D)).astype("float32")
    x = rng.normal(size=(B, S, D)).astype("float32")
    encoder_mask = np.arange(S)[None, :] < np.array([[4], [2]])
    return y, x, encoder_mask


@pytest.mark.parametrize("normalize_first", [False, True])
@pytest.mark.parametrize("use_cross_attention", [True, False])
def test_matches_numpy(normalize_first, use_cross_attention):
    y, x, encoder_mask = _inputs()
    layer = TransformerDecoderLayer(
        HEADS,
        FF,
        normalize_first=normalize_first,
        use_cross_attention=use_cross_attention,
        bias_initializer="random_normal",
    )
    if use_cross_attention:
        out = layer(y, x, encoder_padding_mask=encoder_mask)
    else:
        out = layer(y)
    expected = numpy_decoder_layer(layer, y, x.astype("float64"), encoder_mask)
    np.testing.assert_allclose(ops.convert_to_numpy(out), expected, atol=1e-4)


def test_causality_future_tokens_do_not_change_the_past():
    y, x, encoder_mask = _inputs(1)
    layer = TransformerDecoderLayer(HEADS, FF)
    out = ops.convert_to_numpy(layer(y, x, encoder_padding_mask=encoder_mask))
    changed = y.copy()
    changed[:, 3:] = np.random.default_rng(9).normal(size=(B, T - 3, D))
    out2 = ops.convert_to_numpy(
        layer(changed, x, encoder_padding_mask=encoder_mask)
    )
    np.testing.assert_allclose(out2[:, :3], out[:, :3], atol=1e-6)
    assert not np.allclose(out2[:, 3:], out[:, 3:])


@pytest.mark.parametrize("normalize_first", [False, True])
def test_cached_steps_equal_full_pass(normalize_first):
    y, x, encoder_mask = _inputs(2)
    layer = TransformerDecoderLayer(HEADS, FF, normalize_first=normalize_first)
    full = ops.convert_to_numpy(layer(y, x, encoder_padding_mask=encoder_mask))
    self_cache = layer.initial_self_attention_cache(B, T + 3)
    cross_cache = layer.compute_cross_attention_cache(x)
    steps = []
    for i in range(T):
        out, _, cross_w, self_cache, _ = layer(
            y[:, i : i + 1],
            encoder_padding_mask=encoder_mask,
            self_attention_cache=self_cache,
            self_attention_cache_update_index=i,
            cross_attention_cache=cross_cache,
            return_attention_scores=True,
        )
        steps.append(ops.convert_to_numpy(out))
    np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-5)
    cross_w = ops.convert_to_numpy(cross_w)
    assert cross_w.shape == (B, HEADS, 1, S)
    assert np.all(cross_w[1, :, :, 2:] == 0.0)


def test_returns_self_and_cross_weights():
    y, x, encoder_mask = _inputs(3)
    layer = TransformerDecoderLayer(HEADS, FF)
    _, self_w, cross_w = layer(
        y, x, encoder_padding_mask=encoder_mask, return_attention_scores=True
    )
    self_w = ops.convert_to_numpy(self_w)
    cross_w = ops.convert_to_numpy(cross_w)
    assert self_w.shape == (B, HEADS, T, T)
    assert cross_w.shape == (B, HEADS, T, S)
    assert np.all(
        self_w[..., np.triu_indices(T, 1)[0], np.triu_indices(T, 1)[1]] == 0.0
    )
    np.testing.assert_allclose(cross_w.sum(-1), 1.0, atol=1e-5)


def test_encoder_sequence_required_with_cross_attention():
    y, x, _ = _inputs()
    with pytest.raises(ValueError, match="encoder_sequence=None"):
        TransformerDecoderLayer(HEADS, FF)(y)
    with pytest.raises(ValueError, match="use_cross_attention=False"):
        TransformerDecoderLayer(HEADS, FF, use_cross_attention=False)(y, x)


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: dropout=2"):
        TransformerDecoderLayer(HEADS, FF, dropout=2)
    with pytest.raises(ValueError, match="Received: num_heads=0"):
        TransformerDecoderLayer(0, FF)


def test_run_layer_test():
    y, x, encoder_mask = _inputs()
    run_layer_test(
        TransformerDecoderLayer,
        {"num_heads": HEADS, "intermediate_dim": FF, "dropout": 0.1},
        [y, x],
        {"encoder_padding_mask": encoder_mask},
    )
    run_layer_test(
        TransformerDecoderLayer,
        {
            "num_heads": HEADS,
            "intermediate_dim": FF,
            "use_cross_attention": False,
            "normalize_first": True,
        },
        [y],
        check_mixed_precision=True,
    )
