"""Reads Hugging Face BERT checkpoints and maps them onto `BertEncoder`.

A Hugging Face BERT directory holds `config.json` (the architecture),
`model.safetensors` (the weights, read into NumPy with the `safetensors`
package) and `vocab.txt` (one word piece per line; the id of a piece is its
line number). Every weight of `BertModel` is mapped onto `BertEncoder`; a
missing, unexpected or mis-shaped weight, or a config this encoder cannot
represent, raises a `ValueError` that names it.

PyTorch `Linear` weights are `(out, in)` and compute `x W^T + b`; Keras
kernels are `(in, out)`, so every dense weight is transposed. The attention
projections are `EinsumDense` kernels holding all heads (see
`keras_seq.layers.MultiHeadAttention`): query/key/value `W^T` reshaped to
`(hidden, heads, head_dim)`, the output projection to `(heads, head_dim,
hidden)`.
"""

import collections
import json
import os

import numpy as np

HFBertCheckpoint = collections.namedtuple(
    "HFBertCheckpoint", ["encoder", "vocabulary", "lowercase", "config"]
)
HFBertFiles = collections.namedtuple(
    "HFBertFiles", ["config", "vocabulary", "lowercase", "weights"]
)

# Buffers that Hugging Face stores beside the weights; they hold no
# parameters (`position_ids` is arange(max_position_embeddings)).
_BUFFERS = ("embeddings.position_ids",)
# Prefix of the encoder in task checkpoints (BertForPreTraining, ...).
_BERT_PREFIX = "bert."

_REQUIRED_CONFIG = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
    "type_vocab_size",
)


def _config_error(path, key, value, expected):
    return ValueError(
        f"{path}: `{key}` must be {expected} for BertEncoder. "
        f"Received: {key}={value!r}"
    )


def read_hf_bert_config(path):
    """Reads and checks a Hugging Face BERT `config.json`.

    Returns:
        Dict of `BertEncoder` constructor arguments.
    """
    if not os.path.isfile(path):
        raise ValueError(f"No BERT config.json found. Received: path={path!r}")
    with open(path, encoding="utf-8") as f:
        try:
            config = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{path} is not valid JSON ({error}). Received: path={path!r}"
            ) from None
    missing = [k for k in _REQUIRED_CONFIG if k not in config]
    if missing:
        raise ValueError(
            f"{path} misses the BERT config keys {missing}. Received: "
            f"keys={sorted(config)}"
        )
    model_type = config.get("model_type", "bert")
    if model_type != "bert":
        raise _config_error(path, "model_type", model_type, '"bert"')
    # Hugging Face "gelu" is the exact erf GELU, as keras' "gelu".
    act = config.get("hidden_act", "gelu")
    if act != "gelu":
        raise _config_error(path, "hidden_act", act, '"gelu" (exact erf)')
    position_type = config.get("position_embedding_type", "absolute")
    if position_type != "absolute":
        raise _config_error(
            path, "position_embedding_type", position_type, '"absolute"'
        )
    if config.get("is_decoder", False) or config.get("add_cross_attention"):
        raise _config_error(
            path, "is_decoder", config.get("is_decoder"), "false"
        )
    for key in _REQUIRED_CONFIG:
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _config_error(path, key, value, "a positive int")
    if config["hidden_size"] % config["num_attention_heads"]:
        raise ValueError(
            f"{path}: `hidden_size` must be divisible by "
            f"`num_attention_heads`. Received: hidden_size="
            f"{config['hidden_size']}, num_attention_heads="
            f"{config['num_attention_heads']}"
        )
    return {
        "vocabulary_size": config["vocab_size"],
        "num_layers": config["num_hidden_layers"],
        "num_heads": config["num_attention_heads"],
        "hidden_dim": config["hidden_size"],
        "intermediate_dim": config["intermediate_size"],
        "dropout": float(config.get("hidden_dropout_prob", 0.1)),
        "max_sequence_length": config["max_position_embeddings"],
        "num_segments": config["type_vocab_size"],
        "layer_norm_epsilon": float(config.get("layer_norm_eps", 1e-12)),
        "initializer_range": float(config.get("initializer_range", 0.02)),
    }


def read_vocabulary(path):
    """Reads `vocab.txt`: one word piece per line, id = line number."""
    if not os.path.isfile(path):
        raise ValueError(f"No vocab.txt found. Received: path={path!r}")
    with open(path, encoding="utf-8") as f:
        vocabulary = [line.rstrip("\n").rstrip("\r") for line in f]
    while vocabulary and vocabulary[-1] == "":
        vocabulary.pop()
    return vocabulary


def hf_weight_map(encoder):
    """Maps each Hugging Face `BertModel` weight name to a target.

    Returns:
        Dict `hf_name -> (keras_variable, transform)` where `transform` turns
        the NumPy array of the checkpoint into the variable's layout.
    """
    heads = encoder.num_heads
    head_dim = encoder.hidden_dim // heads

    def same(w):
        return w

    def transpose(w):
        return w.T

    def qkv_kernel(w):  # (out=H, in=H) -> (in, heads, head_dim)
        return w.T.reshape(w.shape[1], heads, head_dim)

    def qkv_bias(b):
        return b.reshape(heads, head_dim)

    def output_kernel(w):  # (out=H, in=H) -> (heads, head_dim, out)
        return w.T.reshape(heads, head_dim, w.shape[0])

    emb = encoder.embeddings
    mapping = {
        "embeddings.word_embeddings.weight": (
            emb.token_embedding.embeddings,
            same,
        ),
        "embeddings.token_type_embeddings.weight": (
            emb.segment_embedding.embeddings,
            same,
        ),
        "embeddings.position_embeddings.weight": (
            emb.position_embedding.embeddings,
            same,
        ),
        "embeddings.LayerNorm.weight": (emb.layer_norm.gamma, same),
        "embeddings.LayerNorm.bias": (emb.layer_norm.beta, same),
        "pooler.dense.weight": (encoder.pooler_dense.kernel, transpose),
        "pooler.dense.bias": (encoder.pooler_dense.bias, same),
    }
    for i, layer in enumerate(encoder.transformer_layers):
        p = f"encoder.layer.{i}."
        att = layer.self_attention
        ffn = layer.feed_forward
        for hf_name, dense in (
            ("query", att.query_dense),
            ("key", att.key_dense),
            ("value", att.value_dense),
        ):
            mapping[f"{p}attention.self.{hf_name}.weight"] = (
                dense.kernel,
                qkv_kernel,
            )
            mapping[f"{p}attention.self.{hf_name}.bias"] = (
                dense.bias,
                qkv_bias,
            )
        mapping.update(
            {
                f"{p}attention.output.dense.weight": (
                    att.output_dense.kernel,
                    output_kernel,
                ),
                f"{p}attention.output.dense.bias": (
                    att.output_dense.bias,
                    same,
                ),
                f"{p}attention.output.LayerNorm.weight": (
                    layer.self_attention_layer_norm.gamma,
                    same,
                ),
                f"{p}attention.output.LayerNorm.bias": (
                    layer.self_attention_layer_norm.beta,
                    same,
                ),
                f"{p}intermediate.dense.weight": (
                    ffn.intermediate_dense.kernel,
                    transpose,
                ),
                f"{p}intermediate.dense.bias": (
                    ffn.intermediate_dense.bias,
                    same,
                ),
                f"{p}output.dense.weight": (
                    ffn.output_dense.kernel,
                    transpose,
                ),
                f"{p}output.dense.bias": (ffn.output_dense.bias, same),
                f"{p}output.LayerNorm.weight": (
                    layer.feed_forward_layer_norm.gamma,
                    same,
                ),
                f"{p}output.LayerNorm.bias": (
                    layer.feed_forward_layer_norm.beta,
                    same,
                ),
            }
        )
    return mapping


def assign_hf_weights(encoder, weights, skip_prefixes=("cls.",)):
    """Assigns Hugging Face `BertModel` weights (NumPy) to `encoder`.

    Args:
        encoder: a built `BertEncoder`.
        weights: dict `name -> np.ndarray`, as read from `model.safetensors`.
            Names may carry the `bert.` prefix of task checkpoints.
        skip_prefixes: names starting with these are task heads that the
            encoder does not hold (e.g. `cls.` of `BertForPreTraining`) and
            are ignored.

    Raises:
        ValueError: naming every missing, unexpected and mis-shaped weight.
    """
    weights = {
        (k[len(_BERT_PREFIX) :] if k.startswith(_BERT_PREFIX) else k): v
        for k, v in weights.items()
        if not any(k.startswith(p) for p in skip_prefixes)
    }
    for buffer in _BUFFERS:
        weights.pop(buffer, None)
    mapping = hf_weight_map(encoder)
    missing = sorted(set(mapping) - set(weights))
    unexpected = sorted(set(weights) - set(mapping))
    mis_shaped = []
    converted = {}
    for name in sorted(set(mapping) & set(weights)):
        variable, transform = mapping[name]
        value = np.asarray(weights[name])
        target = tuple(variable.shape)
        try:
            new = transform(value)
        except ValueError:
            new = None
        if new is None or tuple(new.shape) != target:
            mis_shaped.append(
                f"{name}: checkpoint shape {tuple(value.shape)}, "
                f"expected {_expected_hf_shape(name, target)} for "
                f"{variable.path} {target}"
            )
            continue
        converted[name] = new
    problems = []
    if missing:
        problems.append(f"missing weights: {missing}")
    if unexpected:
        problems.append(f"unexpected weights: {unexpected}")
    if mis_shaped:
        problems.append("mis-shaped weights: " + "; ".join(mis_shaped))
    if problems:
        raise ValueError(
            "The checkpoint does not match the BertEncoder built from its "
            "config. " + ". ".join(problems) + ". Received: weights with "
            f"{len(weights)} entries"
        )
    for name, value in converted.items():
        variable, _ = mapping[name]
        variable.assign(value.astype(variable.dtype))


def _expected_hf_shape(name, target):
    """The Hugging Face shape that maps to a Keras shape (for messages)."""
    if name.endswith("attention.self.query.weight") or name.endswith(
        ("attention.self.key.weight", "attention.self.value.weight")
    ):
        return (target[1] * target[2], target[0])
    if name.endswith(("query.bias", "key.bias", "value.bias")):
        return (target[0] * target[1],)
    if name.endswith("attention.output.dense.weight"):
        return (target[2], target[0] * target[1])
    if (
        name.endswith(".weight")
        and len(target) == 2
        and "embeddings" not in (name)
    ):
        return (target[1], target[0])
    return target


def read_hf_bert_checkpoint(directory):
    """Reads a Hugging Face BERT directory without building a model.

    Reads `config.json`, `model.safetensors` and `vocab.txt` (and
    `tokenizer_config.json` for `do_lower_case`, if present).
    `keras_seq.models.bert.load_hf_bert_checkpoint` builds the
    `BertEncoder` from these and assigns the weights (`assign_hf_weights`).

    Args:
        directory: path of the checkpoint directory.

    Returns:
        `HFBertFiles(config, vocabulary, lowercase, weights)`: the encoder's
        arguments, the word pieces (list, id = index), whether the tokenizer
        lower-cases, and the weights (dict `name -> np.ndarray`).

    Raises:
        ValueError: for a missing file, a config the encoder cannot
            represent or a vocabulary whose size differs from the config.
    """
    if not isinstance(directory, (str, os.PathLike)) or not os.path.isdir(
        directory
    ):
        raise ValueError(
            "`directory` must be an existing checkpoint directory. "
            f"Received: directory={directory!r}"
        )
    config = read_hf_bert_config(os.path.join(directory, "config.json"))
    vocabulary = read_vocabulary(os.path.join(directory, "vocab.txt"))
    if len(vocabulary) != config["vocabulary_size"]:
        raise ValueError(
            f"vocab.txt in {directory} has {len(vocabulary)} entries but "
            f"config.json says vocab_size={config['vocabulary_size']}. "
            f"Received: len(vocabulary)={len(vocabulary)}"
        )
    weights_path = os.path.join(directory, "model.safetensors")
    if not os.path.isfile(weights_path):
        raise ValueError(
            "No model.safetensors in the checkpoint directory. "
            f"Received: directory={directory!r}"
        )
    from safetensors.numpy import load_file

    weights = load_file(weights_path)
    lowercase = True
    tokenizer_config = os.path.join(directory, "tokenizer_config.json")
    if os.path.isfile(tokenizer_config):
        with open(tokenizer_config, encoding="utf-8") as f:
            lowercase = bool(json.load(f).get("do_lower_case", True))

    return HFBertFiles(config, vocabulary, lowercase, weights)
