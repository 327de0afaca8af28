"""The word-tokenization export (a Transformer, Multi30k), as TF Serving
would load it: the date tests cover the character path; this one covers
the word path of the serving graph (punctuation split, WhitespaceTokenizer,
detokenization with spaces) and the Transformer's cached decoding."""

import numpy as np
import pytest
import tensorflow_text  # noqa: F401  (TF Serving links the TF Text ops)
from serving_fixtures import detokenize_rows
from serving_fixtures import full_vocabulary
from serving_fixtures import run_op_check
from serving_fixtures import session_run

from keras_seq.text import special_tokens
from keras_seq_pipelines import configs

pytestmark = pytest.mark.slow

SENTENCES = [
    "Two young, White males are outside near many bushes.",
    "A man in an orange hat starring at something.",
    "",
    "word " * 500,
]


@pytest.fixture(scope="module")
def word_translator(tmp_path_factory):
    import serving_fixtures

    return serving_fixtures.build_translator(
        str(tmp_path_factory.mktemp("word_translator")),
        num_train=300,
        epochs=1,
        beam_width=2,
        dataset="multi30k",
    )


def _python_word_tokens(text):
    """The word tokenization re-done in Python: lowercase, punctuation
    marks as their own tokens, split on whitespace."""
    import re

    text = re.sub(r"([^\w\s])", r" \1 ", text.lower())
    return text.split()


def test_word_export_translates_like_the_model(word_translator):
    tft_output = word_translator["tf_transform_output"]
    vocab_source = full_vocabulary(tft_output, configs.SOURCE_VOCAB_NAME)
    vocab_target = full_vocabulary(tft_output, configs.TARGET_VOCAB_NAME)
    index = {t: i for i, t in enumerate(vocab_source)}
    length = word_translator["dataset_config"].max_source_length
    source_ids = np.zeros((len(SENTENCES), length), "int32")
    for row, sentence in enumerate(SENTENCES):
        ids = [
            index.get(t, special_tokens.UNK_ID)
            for t in _python_word_tokens(sentence)
        ][:length]
        source_ids[row, : len(ids)] = ids
    model = word_translator["model"]
    expected_ids = np.asarray(
        model.generate(
            source_ids,
            max_length=word_translator["dataset_config"].max_target_length,
        )["token_ids"]
    )
    expected = detokenize_rows(expected_ids, vocab_target, separator=" ")

    out = session_run(
        word_translator["export_dir"],
        "serving_default",
        {"text": np.array(SENTENCES, dtype=object)},
    )
    np.testing.assert_array_equal(out["token_ids"], expected_ids)
    assert [t.decode("utf-8") for t in out["translation"]] == expected


def test_word_export_ops_are_available_in_stock_tf_serving(word_translator):
    result = run_op_check(word_translator["export_dir"])
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "WhitespaceTokenizeWithOffsetsV2" in result.stdout, result.stdout
    assert "All ops are supported" in result.stdout
