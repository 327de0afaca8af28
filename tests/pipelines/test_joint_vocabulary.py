"""`DatasetConfig.joint_vocabulary`: one SentencePiece model for both sides
(the tokenizers a Transformer with `share_embeddings=True` needs)."""

import dataclasses

import pytest
from multi30k_files import write_train_pairs

from keras_seq_pipelines import configs
from keras_seq_pipelines import trainer


def _vocabulary(tokenizer):
    return set(tokenizer.vocabulary)


def test_joint_model_holds_pieces_of_both_languages(tmp_path, multi30k_dir):
    path, english, german = write_train_pairs(multi30k_dir, tmp_path, 400)
    dataset_config, _ = configs.preset("multi30k")
    dataset_config = dataclasses.replace(dataset_config, vocabulary_size=600)
    separate = trainer.build_tokenizers(dataset_config, None, path)
    joint_config = dataclasses.replace(dataset_config, joint_vocabulary=True)
    source, target = trainer.build_tokenizers(joint_config, None, path)
    assert source is target
    assert source.vocabulary_size <= 600
    # Pieces only the English model learned and pieces only the German
    # model learned are both in the joint model.
    joint = _vocabulary(source)
    only_english = _vocabulary(separate[0]) - _vocabulary(separate[1])
    only_german = _vocabulary(separate[1]) - _vocabulary(separate[0])
    assert {"▁the", "▁with"} <= only_english & joint
    assert {"▁ein", "▁mit"} <= only_german & joint
    # Lossless on either side.
    for text in (english[0], german[0]):
        decoded = source.detokenize(source.tokenize([text]))[0]
        assert decoded.numpy().decode("utf-8") == text


@pytest.mark.parametrize(
    "changes",
    [
        {"tokenization": "word"},
        {"source_lowercase": True},
    ],
)
def test_joint_vocabulary_needs_cased_sentencepiece(changes):
    with pytest.raises(ValueError, match="joint_vocabulary=True"):
        configs.DatasetConfig(
            **{
                "tokenization": "sentencepiece",
                "source_lowercase": False,
                "joint_vocabulary": True,
                **changes,
            }
        )
