"""The first Multi30k training pairs as the Trainer's TFRecord file."""

import gzip
import os

from keras_seq_pipelines import trainer


def read_lines(path, n):
    """The first `n` lines of a gzipped text file, newlines stripped."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [next(f).rstrip("\n") for _ in range(n)]


def write_train_pairs(multi30k_dir, folder, n):
    """`(path, english, german)`: the first `n` training pairs written to
    `folder/train.gz` by `trainer.write_texts`."""
    english = read_lines(os.path.join(multi30k_dir, "train.en.gz"), n)
    german = read_lines(os.path.join(multi30k_dir, "train.de.gz"), n)
    path = os.path.join(str(folder), "train.gz")
    trainer.write_texts(path, list(zip(english, german)))
    return path, english, german
