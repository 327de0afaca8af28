"""Image-caption corpora for the pipeline: layout, built-in corpus, check.

A caption corpus is a folder with one sub-folder per split:

    D/train/captions.txt     Flickr8k-style lines "<image>#<k><TAB><caption>"
    D/train/<image files>    named in captions.txt, relative to D/train/
    D/eval/captions.txt, D/eval/<image files>

(`keras_seq.datasets.read_flickr8k_captions` parses the captions file; an
image with k captions gives k training examples.) `write_shapes` writes the
built-in generated shapes corpus in this layout. `check_caption_dir` reads
every image once with `keras_seq.datasets.decode_image` (the conversions
and checks the served captioner applies), drops what cannot be used
(missing, empty, undecodable or too large images) and reports it, and
writes the clean copy ExampleGen ingests:

    clean/{train,eval}/data.tfrecord   tf.Examples {image: encoded bytes,
                                       caption: text}

rewritten only when its bytes change, so an unchanged corpus keeps the
pipeline's cache valid. `D` is only read.
"""

import hashlib
import os

from keras_seq_pipelines import configs
from keras_seq_pipelines.data_check import EVAL_SPLIT
from keras_seq_pipelines.data_check import TRAIN_SPLIT
from keras_seq_pipelines.data_check import DataReport
from keras_seq_pipelines.data_check import _inside
from keras_seq_pipelines.data_check import _same_bytes

CAPTIONS_FILENAME = "captions.txt"
TFRECORD_FILENAME = "data.tfrecord"
TEST_SPLIT = "test"
# Eval images also in train, tolerated without --allow-anomalies.
MAX_OVERLAP_FRACTION = 0.01


def write_shapes(
    data_dir, num_train=2000, num_eval=300, num_test=300, seed=0, image_size=48
):
    """Writes the generated shapes corpus in the caption corpus layout.

    `keras_seq.datasets.generate_shapes_captions` with seeds `seed`,
    `seed + 10000` and `seed + 20000` for train, eval and test (the test
    split is for checking a pushed model from outside the pipeline); the
    images are PNG files.

    Returns:
        `{split: DataReport}` (`written` = images).
    """
    import numpy as np
    import tensorflow as tf

    from keras_seq.datasets import generate_shapes_captions

    reports = {}
    for offset, (split, count) in enumerate(
        (
            (TRAIN_SPLIT, num_train),
            (EVAL_SPLIT, num_eval),
            (TEST_SPLIT, num_test),
        )
    ):
        corpus = generate_shapes_captions(
            count, seed=seed + 10_000 * offset, image_size=image_size
        )
        folder = os.path.join(data_dir, split)
        os.makedirs(os.path.join(folder, "images"), exist_ok=True)
        lines = []
        for index, (image, caption) in enumerate(
            zip(corpus["images"], corpus["captions"])
        ):
            name = f"images/{index:06d}.png"
            png = tf.io.encode_png(np.round(image * 255).astype("uint8"))
            with open(os.path.join(folder, name), "wb") as file:
                file.write(png.numpy())
            lines.append(f"{name}#0\t{caption}\n")
        with open(os.path.join(folder, CAPTIONS_FILENAME), "w") as file:
            file.writelines(lines)
        reports[split] = DataReport(split=split, written=count)
    return reports


def read_split(data_dir, split):
    """`[(image file, caption)]` of one split folder, in file order."""
    from keras_seq.datasets import read_flickr8k_captions

    path = os.path.join(data_dir, split, CAPTIONS_FILENAME)
    if not os.path.isfile(path):
        raise ValueError(
            f"The caption corpus has no {split}/{CAPTIONS_FILENAME}. Give a "
            f"folder holding train/ and eval/, each with a {CAPTIONS_FILENAME}"
            " of '<image>#<k><TAB><caption>' lines and the images it names. "
            f"Received: data_dir={data_dir!r}"
        )
    return [
        (image, caption)
        for image, captions in read_flickr8k_captions(path).items()
        for caption in captions
    ]


def check_split(data_dir, split, image_size, max_pixels=None):
    """Reads and checks one split.

    Returns:
        `([(image bytes, caption)], DataReport)`; unusable images are
        dropped and listed in the report (a malformed captions line, e.g.
        an empty caption, raises the reader's `ValueError` naming the
        file and line).
    """
    report = DataReport(split=split)
    folder = os.path.join(data_dir, split)
    examples, checked = [], {}
    for row, (name, caption) in enumerate(read_split(data_dir, split), 1):
        report.lines += 1
        caption = " ".join(caption.split())
        path = os.path.join(folder, name)
        if name not in checked:
            checked[name] = _read_checked(path, image_size, max_pixels)
        data, error = checked[name]
        if error:
            report.drop("skipped_malformed", None, row, f"{name}: {error}")
            continue
        examples.append((data, caption))
    report.written = len(examples)
    return examples, report


def _read_checked(path, image_size, max_pixels):
    """`(bytes, None)` of a usable image, else `(None, reason)`."""
    from keras_seq.datasets import decode_image

    if not os.path.isfile(path):
        return None, "image file not found"
    with open(path, "rb") as file:
        data = file.read()
    try:
        decode_image(data, (image_size, image_size), path, max_pixels)
    except ValueError as error:
        return None, " ".join(str(error).split())
    return data, None


def write_tfrecord(examples, path):
    """Writes `[(image bytes, caption)]` as tf.Examples, atomically, and
    only if the bytes change (ExampleGen's cache fingerprints file times)."""
    import tensorflow as tf

    tmp = path + ".new"
    with tf.io.TFRecordWriter(tmp) as writer:
        for data, caption in examples:
            example = tf.train.Example(
                features=tf.train.Features(
                    feature={
                        configs.IMAGE_KEY: _bytes_feature(data),
                        configs.CAPTION_KEY: _bytes_feature(
                            caption.encode("utf-8")
                        ),
                    }
                )
            )
            writer.write(example.SerializeToString())
    if os.path.exists(path) and _same_bytes(path, tmp):
        os.remove(tmp)
    else:
        os.replace(tmp, path)


def _bytes_feature(value):
    import tensorflow as tf

    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def check_caption_dir(
    data_dir,
    clean_dir,
    image_size,
    max_pixels=None,
    allow_anomalies=False,
):
    """Checks a caption corpus and writes its clean copy for ExampleGen.

    Args:
        data_dir: the corpus folder (module docstring); only read.
        clean_dir: where `{train,eval}/data.tfrecord` go.
        image_size: side the images are checked at (decoding is what
            fails; the size only sets the resize).
        max_pixels: larger images are dropped (None: the
            `keras_seq.datasets.image_captions.DEFAULT_MAX_PIXELS`).
        allow_anomalies: report eval images also in train instead of
            stopping.

    Returns:
        `(clean_dir, {split: DataReport})`.

    Raises:
        ValueError: a missing folder, split or captions file, a malformed
            captions line, a split with no usable example, or train/eval
            overlap; the message says what to fix.
    """
    if not os.path.isdir(data_dir):
        raise ValueError(
            "The caption data folder does not exist. Give a folder holding "
            f"train/ and eval/, each with a {CAPTIONS_FILENAME} and its "
            f"images. Received: data_dir={data_dir!r}"
        )
    if any(
        _inside(clean_dir, os.path.join(data_dir, s))
        for s in (TRAIN_SPLIT, EVAL_SPLIT)
    ) or os.path.realpath(clean_dir) == os.path.realpath(data_dir):
        raise ValueError(
            "The clean copy would be written over or inside the corpus: "
            "choose another output folder (your corpus is only read). "
            f"Received: data_dir={data_dir!r}, clean copy in {clean_dir!r}"
        )
    splits, reports = {}, {}
    for split in (TRAIN_SPLIT, EVAL_SPLIT):
        splits[split], reports[split] = check_split(
            data_dir, split, image_size, max_pixels
        )
        if not splits[split]:
            raise ValueError(
                f"The {split} split has no usable image-caption pair "
                f"({reports[split].summary()}). Received: "
                f"data_dir={data_dir!r}"
            )
    train_images = {hashlib.sha256(d).digest() for d, _ in splits[TRAIN_SPLIT]}
    eval_images = {hashlib.sha256(d).digest() for d, _ in splits[EVAL_SPLIT]}
    overlap = len(train_images & eval_images)
    reports[EVAL_SPLIT].overlap = overlap
    if overlap > MAX_OVERLAP_FRACTION * len(eval_images) and not (
        allow_anomalies
    ):
        raise ValueError(
            f"{overlap} of the {len(eval_images)} eval images are also in "
            "train, so the evaluation would measure memorization; remove "
            "them or pass --allow-anomalies. Received: "
            f"data_dir={data_dir!r}"
        )
    for split, examples in splits.items():
        os.makedirs(os.path.join(clean_dir, split), exist_ok=True)
        write_tfrecord(
            examples, os.path.join(clean_dir, split, TFRECORD_FILENAME)
        )
    return clean_dir, reports
