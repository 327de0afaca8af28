"""Multi30k (Elliott et al. 2016) task 1: English-German caption pairs.

The raw corpus is a set of gzip text files, one sentence per line, line i of
`{split}.en.gz` translating line i of `{split}.de.gz` (train: 29,000 pairs,
val: 1,014). Users get them from the dataset's public repository,
https://github.com/multi30k/dataset (`data/task1/raw/`); `load_multi30k`
downloads them there when no local `data_dir` is given.
"""

import gzip
import os
import re

import keras

from keras_seq.validation import check_one_of

MULTI30K_URL = (
    "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/"
)
LANGUAGES = ("en", "de", "fr", "cs")
_SPLIT_PATTERN = re.compile(r"[A-Za-z0-9_]+")


def _read_lines(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\r\n") for line in f]


def multi30k_file(split, language, data_dir=None, cache_dir=None):
    """Path of `{split}.{language}.gz`, downloading it if `data_dir` is None.

    Args:
        split: "train", "val", "test_2016_flickr", ...
        language: "en", "de", "fr" or "cs".
        data_dir: local directory holding the raw `.gz` files, or None to
            download from `MULTI30K_URL` with `keras.utils.get_file`
            (cached under `cache_dir`, by default `~/.keras/datasets`).
        cache_dir: download cache directory (only used when downloading).
    """
    if not isinstance(split, str) or not _SPLIT_PATTERN.fullmatch(split):
        raise ValueError(
            "`split` must be a file prefix such as 'train', 'val' or "
            f"'test_2016_flickr'. Received: split={split!r}"
        )
    check_one_of("language", language, LANGUAGES)
    filename = f"{split}.{language}.gz"
    if data_dir is not None:
        return os.path.join(os.fspath(data_dir), filename)
    return keras.utils.get_file(
        fname=filename,
        origin=MULTI30K_URL + filename,
        cache_dir=cache_dir,
        cache_subdir=os.path.join("datasets", "multi30k"),
    )


def load_multi30k(
    split,
    data_dir=None,
    source_language="en",
    target_language="de",
    cache_dir=None,
):
    """Reads Multi30k sentence pairs.

    Args:
        split: "train", "val", "test_2016_flickr", ... (the file prefix).
        data_dir: directory with `{split}.{lang}.gz`, e.g.
            "../shared/data/multi30k"; None downloads the files (see
            `multi30k_file`).
        source_language: language of the first element of each pair.
        target_language: language of the second element.
        cache_dir: download cache directory when `data_dir` is None.

    Returns:
        list of `(source, target)` str tuples, in file order (newlines
        stripped, nothing else changed).

    Raises:
        ValueError: on an unknown language, identical languages, a missing
            file, or files with different line counts.
    """
    check_one_of("source_language", source_language, LANGUAGES)
    check_one_of("target_language", target_language, LANGUAGES)
    if source_language == target_language:
        raise ValueError(
            "`source_language` and `target_language` must differ. Received: "
            f"source_language={source_language!r}, "
            f"target_language={target_language!r}"
        )
    paths = [
        multi30k_file(split, lang, data_dir=data_dir, cache_dir=cache_dir)
        for lang in (source_language, target_language)
    ]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise ValueError(
            f"Multi30k file(s) not found: {missing}. Download "
            f"`{split}.<lang>.gz` from {MULTI30K_URL} or pass data_dir=None "
            f"to download them. Received: data_dir={data_dir!r}"
        )
    sources, targets = (_read_lines(p) for p in paths)
    if len(sources) != len(targets):
        raise ValueError(
            "Multi30k source and target files must have the same number of "
            f"lines, but {paths[0]} has {len(sources)} and {paths[1]} has "
            f"{len(targets)}. Received: split={split!r}, "
            f"data_dir={data_dir!r}"
        )
    return list(zip(sources, targets))
