"""An independent NumPy BERT forward pass on Hugging Face-named weights.

Written from the formulas (Vaswani et al. 2017 eq. 1 and sec. 3.1;
Devlin et al. 2019 sec. 3):
embeddings = LayerNorm(E_tok + E_seg + E_pos); each layer
x = LN(x + MHA(x)); x = LN(x + W2 gelu(W1 x + b1) + b2) with the exact erf
GELU; pooled = tanh(W_p x_0 + b_p). PyTorch `Linear` weights are (out, in).
"""

import math

import numpy as np

_erf = np.vectorize(math.erf)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def linear(x, w, b):
    return x @ w.T + b


def softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def random_hf_weights(
    rng, vocab, hidden, layers, intermediate, positions, segments=2
):
    """Random weights with the names and shapes of Hugging Face BertModel."""

    def r(*shape):
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": r(vocab, hidden),
        "embeddings.position_embeddings.weight": r(positions, hidden),
        "embeddings.token_type_embeddings.weight": r(segments, hidden),
        "embeddings.LayerNorm.weight": 1 + r(hidden),
        "embeddings.LayerNorm.bias": r(hidden),
        "pooler.dense.weight": r(hidden, hidden),
        "pooler.dense.bias": r(hidden),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            w[f"{p}attention.self.{name}.weight"] = r(hidden, hidden)
            w[f"{p}attention.self.{name}.bias"] = r(hidden)
        w[f"{p}attention.output.dense.weight"] = r(hidden, hidden)
        w[f"{p}attention.output.dense.bias"] = r(hidden)
        w[f"{p}attention.output.LayerNorm.weight"] = 1 + r(hidden)
        w[f"{p}attention.output.LayerNorm.bias"] = r(hidden)
        w[f"{p}intermediate.dense.weight"] = r(intermediate, hidden)
        w[f"{p}intermediate.dense.bias"] = r(intermediate)
        w[f"{p}output.dense.weight"] = r(hidden, intermediate)
        w[f"{p}output.dense.bias"] = r(hidden)
        w[f"{p}output.LayerNorm.weight"] = 1 + r(hidden)
        w[f"{p}output.LayerNorm.bias"] = r(hidden)
    return w


def bert_forward(w, token_ids, segment_ids, padding_mask, num_heads, eps):
    """Returns (sequence_output, pooled_output) in float64."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    batch, length = token_ids.shape
    x = (
        w["embeddings.word_embeddings.weight"][token_ids]
        + w["embeddings.token_type_embeddings.weight"][segment_ids]
        + w["embeddings.position_embeddings.weight"][np.arange(length)][None]
    )
    x = layer_norm(
        x,
        w["embeddings.LayerNorm.weight"],
        w["embeddings.LayerNorm.bias"],
        eps,
    )
    hidden = x.shape[-1]
    d = hidden // num_heads
    i = 0
    while f"encoder.layer.{i}.attention.self.query.weight" in w:
        p = f"encoder.layer.{i}."

        def heads(name, x=x, p=p):
            y = linear(
                x,
                w[f"{p}attention.self.{name}.weight"],
                w[f"{p}attention.self.{name}.bias"],
            )
            return y.reshape(batch, length, num_heads, d).transpose(0, 2, 1, 3)

        q, k, v = heads("query"), heads("key"), heads("value")
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)  # (B, h, T, T)
        scores = np.where(padding_mask[:, None, None, :], scores, -np.inf)
        weights = softmax(scores)
        context = (
            (weights @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        )
        attn = linear(
            context,
            w[f"{p}attention.output.dense.weight"],
            w[f"{p}attention.output.dense.bias"],
        )
        x = layer_norm(
            x + attn,
            w[f"{p}attention.output.LayerNorm.weight"],
            w[f"{p}attention.output.LayerNorm.bias"],
            eps,
        )
        h = gelu(
            linear(
                x,
                w[f"{p}intermediate.dense.weight"],
                w[f"{p}intermediate.dense.bias"],
            )
        )
        h = linear(h, w[f"{p}output.dense.weight"], w[f"{p}output.dense.bias"])
        x = layer_norm(
            x + h,
            w[f"{p}output.LayerNorm.weight"],
            w[f"{p}output.LayerNorm.bias"],
            eps,
        )
        i += 1
    pooled = np.tanh(
        linear(x[:, 0], w["pooler.dense.weight"], w["pooler.dense.bias"])
    )
    return x, pooled
