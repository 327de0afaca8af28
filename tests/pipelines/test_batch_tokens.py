"""`ModelConfig.batch_tokens`: the Trainer's length buckets sized in tokens
(fairseq's `--max-tokens`), on Multi30k pairs."""

import dataclasses
import math

import numpy as np
import pytest
from multi30k_files import write_train_pairs

from keras_seq_pipelines import configs
from keras_seq_pipelines import trainer

BOUNDARIES = (16, 24, 32, 40, 56)


def _bucket(lengths):
    return np.searchsorted(np.array(BOUNDARIES), lengths, side="right")


def test_batches_hold_at_most_batch_tokens(tmp_path, multi30k_dir):
    path, english, german = write_train_pairs(multi30k_dir, tmp_path, 300)
    dataset_config, model_config = configs.preset("multi30k")
    dataset_config = dataclasses.replace(dataset_config, vocabulary_size=600)
    model_config = dataclasses.replace(
        model_config,
        bucket_boundaries=BOUNDARIES,
        batch_size=1000,
        batch_tokens=480,
    )
    tokenizers = trainer.build_tokenizers(dataset_config, None, path)
    dataset = trainer.make_dataset(
        path, tokenizers, dataset_config, model_config
    )
    # Widths (longest source + target_out of a bucket) 15, 23, 31, 39, 55
    # and 64 + 72 for the last bucket: 480 tokens make batches of these.
    sizes = [480 // w for w in (15, 23, 31, 39, 55, 64 + 72)]
    # Bucket of every pair, from the tokenizers directly: source tokens (at
    # most 64) + target tokens (at most 71) + EOS.
    source_lengths = tokenizers[0].tokenize(english).row_lengths().numpy()
    target_lengths = tokenizers[1].tokenize(german).row_lengths().numpy()
    lengths = np.minimum(source_lengths, 64) + np.minimum(target_lengths, 71)
    counts = np.bincount(_bucket(lengths + 1), minlength=6)
    assert counts[5] > 0  # the last bucket is exercised too
    expected = {b: math.ceil(counts[b] / sizes[b]) for b in range(6)}
    batches = {b: 0 for b in range(6)}
    for features, target_out in dataset:
        lengths = (features["source_ids"].numpy() != 0).sum(1) + (
            target_out.numpy() != 0
        ).sum(1)
        buckets = set(_bucket(lengths).tolist())
        assert len(buckets) == 1
        bucket = buckets.pop()
        assert len(lengths) <= sizes[bucket]
        batches[bucket] += 1
    assert batches == expected
    assert sum(counts) == 300


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"batch_tokens": 0}, "Received: batch_tokens=0"),
        ({"batch_tokens": 512}, "set `bucket_boundaries` too"),
    ],
)
def test_batch_tokens_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        configs.ModelConfig(**kwargs)
