"""tf.data pipelines of teacher-forcing batches for seq2seq training.

`tf.data` is the input pipeline of Keras on every backend, so this module
uses TensorFlow directly (like `keras_seq.text`).
"""

import logging

import numpy as np
import tensorflow as tf

from keras_seq.validation import check_int

logger = logging.getLogger(__name__)

_TOKENIZE_CHUNK = 4096


def _is_text(value):
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return isinstance(value, str) and bool(value.strip())


def _tokenize_all(tokenizer, texts):
    """Ragged int32 ids of all texts, tokenized in chunks."""
    parts = [
        tokenizer.tokenize(texts[i : i + _TOKENIZE_CHUNK])
        for i in range(0, len(texts), _TOKENIZE_CHUNK)
    ]
    return tf.concat(parts, axis=0) if len(parts) > 1 else parts[0]


def _check_tokenizer(tokenizer, name):
    for attribute in ("tokenize", "pad_id", "bos_id", "eos_id"):
        if not hasattr(tokenizer, attribute):
            raise ValueError(
                f"`{name}` must be a keras_seq.text tokenizer (with "
                f"`tokenize`, `pad_id`, `bos_id`, `eos_id`). Received: "
                f"{name}={tokenizer!r}"
            )
    if tokenizer.pad_id != 0:
        raise ValueError(
            f"`{name}` must pad with id 0 (padding is derived from ids != 0). "
            f"Received: {name}.pad_id={tokenizer.pad_id}"
        )


def make_seq2seq_dataset(
    pairs,
    source_tokenizer,
    target_tokenizer,
    batch_size,
    max_source_length,
    max_target_length,
    shuffle=True,
    seed=0,
    drop_over_long=False,
    bucket_boundaries=None,
    pad_to_bucket_boundary=False,
    drop_remainder=False,
    batch_tokens=None,
):
    """Builds `({"source_ids", "target_in"}, target_out)` batches.

    For a pair (x, y) with target tokens y_1..y_n (docs/design.md):
    `source_ids = x_1..x_m` (no BOS/EOS), `target_in = [BOS] y_1..y_n` and
    `target_out = y_1..y_n [EOS]`, all int32 and padded with 0.

    Length limits: with `drop_over_long=False` a source longer than
    `max_source_length` keeps its first `max_source_length` tokens, and a
    target keeps its first `max_target_length - 1` tokens so that BOS/EOS
    still fit (target_out then ends with EOS after the cut). With
    `drop_over_long=True` such pairs are dropped instead. Pairs with an empty
    (or whitespace-only, or non-UTF-8) side, or a side that yields no
    tokens, are skipped; the counts of skipped and dropped pairs are logged
    (logger `keras_seq.datasets.seq2seq_dataset`), never raised.

    Args:
        pairs: sequence of `(source_text, target_text)`.
        source_tokenizer: a `keras_seq.text` tokenizer for the sources.
        target_tokenizer: a `keras_seq.text` tokenizer for the targets.
        batch_size: int >= 1.
        max_source_length: int >= 1, S.
        max_target_length: int >= 2, T (counting BOS or EOS).
        shuffle: shuffle the examples (reshuffled every epoch).
        seed: shuffle seed.
        drop_over_long: drop over-long pairs instead of truncating them.
        bucket_boundaries: optional increasing list of lengths; groups
            examples of similar length (`bucket_by_sequence_length` on the
            longer side) and pads each batch to its own longest sequence,
            which saves computation on short sentences. Without it every
            batch is padded to the fixed shapes `(B, S)` / `(B, T)`, which
            keeps shapes static (best for `jit_compile`).
        pad_to_bucket_boundary: with `bucket_boundaries`, pad every batch
            of bucket i to the bucket's width (`boundaries[i] - 1`, the
            last bucket to the maximum lengths), each capped at
            `max_source_length` / `max_target_length`, so that only
            `len(bucket_boundaries) + 1` shapes occur (few XLA
            compilations).
        drop_remainder: drop the last incomplete batch (of each bucket).
        batch_tokens: with `bucket_boundaries`, size batches in tokens:
            a batch of bucket i holds `min(batch_size, batch_tokens //
            width_i)` pairs, `width_i` being the bucket's longest length
            (`boundaries[i] - 1`; the last bucket: the larger of the two
            maximum lengths), so short sentences come in larger batches
            (`bucket_batch_sizes`). `batch_size` stays the most pairs per
            batch: raise it too. Must be at least that larger maximum
            length.

    Returns:
        `tf.data.Dataset` of
        `({"source_ids": (B, S) int32, "target_in": (B, T) int32},
        target_out (B, T) int32)`.
    """
    _check_tokenizer(source_tokenizer, "source_tokenizer")
    _check_tokenizer(target_tokenizer, "target_tokenizer")
    batch_size = check_int("batch_size", batch_size)
    max_source_length = check_int("max_source_length", max_source_length)
    max_target_length = check_int(
        "max_target_length", max_target_length, minimum=2
    )
    if batch_tokens is not None and bucket_boundaries is None:
        raise ValueError(
            "`batch_tokens` sizes the batches of length buckets: pass "
            "`bucket_boundaries` too. Received: bucket_boundaries=None, "
            f"batch_tokens={batch_tokens!r}"
        )
    if bucket_boundaries is not None:
        bucket_boundaries = [int(b) for b in bucket_boundaries]
        if (
            not bucket_boundaries
            or any(
                b <= a for a, b in zip(bucket_boundaries, bucket_boundaries[1:])
            )
            or bucket_boundaries[0] < 1
        ):
            raise ValueError(
                "`bucket_boundaries` must be a non-empty, strictly "
                "increasing list of positive ints. Received: "
                f"bucket_boundaries={bucket_boundaries!r}"
            )
        batch_sizes = bucket_batch_sizes(
            bucket_boundaries,
            max(max_source_length, max_target_length),
            batch_size,
            batch_tokens,
        )
    pairs = list(pairs)
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(
                "`pairs` must hold (source, target) pairs. Received: "
                f"pairs[{i}]={pair!r}"
            )
    kept = [p for p in pairs if _is_text(p[0]) and _is_text(p[1])]
    num_empty = len(pairs) - len(kept)
    sources = [
        s.decode("utf-8") if isinstance(s, bytes) else s for s, _ in kept
    ]
    targets = [
        t.decode("utf-8") if isinstance(t, bytes) else t for _, t in kept
    ]
    if kept:
        source_ids = _tokenize_all(source_tokenizer, sources)
        target_ids = _tokenize_all(target_tokenizer, targets)
        source_lengths = source_ids.row_lengths().numpy()
        target_lengths = target_ids.row_lengths().numpy()
    else:
        source_lengths = target_lengths = np.zeros([0], np.int64)
    has_tokens = (source_lengths > 0) & (target_lengths > 0)
    num_empty += int((~has_tokens).sum())
    fits = (source_lengths <= max_source_length) & (
        target_lengths <= max_target_length - 1
    )
    num_over_long = int((has_tokens & ~fits).sum())
    keep = has_tokens & fits if drop_over_long else has_tokens
    if num_empty:
        logger.warning(
            "make_seq2seq_dataset: skipped %d of %d pairs with an empty "
            "source or target.",
            num_empty,
            len(pairs),
        )
    if num_over_long:
        logger.warning(
            "make_seq2seq_dataset: %d pairs exceed max_source_length=%d or "
            "max_target_length=%d; %s.",
            num_over_long,
            max_source_length,
            max_target_length,
            "dropped" if drop_over_long else "truncated",
        )
    if not keep.any():
        raise ValueError(
            "No usable pair is left after skipping empty and over-long "
            f"pairs. Received: {len(pairs)} pairs, of which {num_empty} "
            f"empty and {num_over_long} over-long (drop_over_long="
            f"{drop_over_long})"
        )
    indices = np.nonzero(keep)[0]
    source_ids = tf.gather(source_ids, indices)[:, :max_source_length]
    target_ids = tf.gather(target_ids, indices)[:, : max_target_length - 1]
    bos = tf.constant([target_tokenizer.bos_id], tf.int32)
    eos = tf.constant([target_tokenizer.eos_id], tf.int32)

    def to_example(source, target):
        target_in = tf.concat([bos, target], axis=0)
        target_out = tf.concat([target, eos], axis=0)
        return {"source_ids": source, "target_in": target_in}, target_out

    dataset = tf.data.Dataset.from_tensor_slices((source_ids, target_ids))
    if shuffle:
        dataset = dataset.shuffle(
            len(indices), seed=seed, reshuffle_each_iteration=True
        )
    dataset = dataset.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
    if bucket_boundaries is None:
        dataset = dataset.padded_batch(
            batch_size,
            padded_shapes=(
                {
                    "source_ids": [max_source_length],
                    "target_in": [max_target_length],
                },
                [max_target_length],
            ),
            padding_values=0,
            drop_remainder=drop_remainder,
        )
    elif not pad_to_bucket_boundary:
        dataset = dataset.bucket_by_sequence_length(
            _example_length,
            bucket_boundaries=bucket_boundaries,
            bucket_batch_sizes=batch_sizes,
            padding_values=0,
            drop_remainder=drop_remainder,
        )
    else:
        dataset = _bucket_to_boundaries(
            dataset,
            bucket_boundaries,
            batch_sizes,
            max_source_length,
            max_target_length,
            drop_remainder,
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


def bucket_batch_sizes(bucket_boundaries, longest, batch_size, batch_tokens):
    """Pairs per batch of each length bucket.

    Bucket i holds bucketing lengths in `[boundaries[i-1], boundaries[i])`,
    so its rows are at most `width_i = boundaries[i] - 1` long (the last
    bucket: `longest`). Without `batch_tokens` every bucket batches
    `batch_size` pairs; with it, `min(batch_size, batch_tokens //
    width_i)`: batches of short sentences hold more of them, so that every
    batch carries about the same number of tokens (fairseq's
    `--max-tokens`, with `batch_size` as its `--batch-size`).

    Args:
        bucket_boundaries: strictly increasing positive ints.
        longest: the longest bucketing length (width of the last bucket).
        batch_size: int >= 1, the most pairs per batch.
        batch_tokens: None, or int >= `longest`: the most bucketing-length
            positions (rows x width) per batch.

    Returns:
        list of `len(bucket_boundaries) + 1` ints.
    """
    batch_size = check_int("batch_size", batch_size)
    widths = [b - 1 for b in bucket_boundaries] + [longest]
    if batch_tokens is None:
        return [batch_size] * len(widths)
    batch_tokens = check_int("batch_tokens", batch_tokens)
    if batch_tokens < longest:
        raise ValueError(
            "`batch_tokens` must hold at least one pair of the longest "
            f"length ({longest}). Received: batch_tokens={batch_tokens}"
        )
    return [max(1, min(batch_size, batch_tokens // w)) for w in widths]


def _example_length(features, _):
    """Bucketing length: the longer of source and target_in."""
    return tf.maximum(
        tf.shape(features["source_ids"])[0],
        tf.shape(features["target_in"])[0],
    )


def _bucket_to_boundaries(
    dataset,
    boundaries,
    batch_sizes,
    max_source_length,
    max_target_length,
    drop_remainder,
):
    """Groups examples by length bucket and pads to the bucket's width;
    bucket i batches `batch_sizes[i]` examples."""
    longest = max(max_source_length, max_target_length)
    widths = [b - 1 for b in boundaries] + [longest]
    boundaries_t = tf.constant(boundaries, tf.int32)
    widths_t = tf.constant(widths, tf.int64)
    sizes_t = tf.constant(batch_sizes, tf.int64)

    def bucket_of(features, target_out):
        length = _example_length(features, target_out)
        # Bucket i holds lengths in [boundaries[i-1], boundaries[i]).
        return tf.reduce_sum(
            tf.cast(length >= boundaries_t, tf.int64), keepdims=False
        )

    def batch_bucket(bucket, window):
        width = widths_t[bucket]
        source_width = tf.minimum(width, max_source_length)
        target_width = tf.minimum(width, max_target_length)
        return window.padded_batch(
            sizes_t[bucket],
            padded_shapes=(
                {
                    "source_ids": tf.reshape(source_width, [1]),
                    "target_in": tf.reshape(target_width, [1]),
                },
                tf.reshape(target_width, [1]),
            ),
            padding_values=0,
            drop_remainder=drop_remainder,
        )

    return dataset.group_by_window(
        key_func=bucket_of,
        reduce_func=batch_bucket,
        window_size_func=lambda bucket: sizes_t[bucket],
    )
