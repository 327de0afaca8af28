"""The caption corpus check (`keras_seq_pipelines.caption_data`) and the
caption side of the evaluator: bad images are dropped with their reason,
the user's folder is only read, the clean tf.Examples hold the original
bytes, and multi-reference BLEU equals sacrebleu's own."""

import hashlib
import os

import numpy as np
import pytest
import sacrebleu
import tensorflow as tf

from keras_seq_pipelines import caption_data
from keras_seq_pipelines import configs
from keras_seq_pipelines import evaluation


def png(shape, seed=0):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
    return tf.io.encode_png(pixels).numpy()


def write_split(folder, files, lines):
    os.makedirs(folder, exist_ok=True)
    for name, data in files.items():
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    with open(os.path.join(folder, caption_data.CAPTIONS_FILENAME), "w") as f:
        f.write("".join(lines))


def digest(folder):
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                out[os.path.join(root, name)] = hashlib.sha256(
                    f.read()
                ).hexdigest()
    return out


def read_clean(path):
    rows = []
    for record in tf.data.TFRecordDataset(path):
        example = tf.train.Example.FromString(record.numpy())
        feature = example.features.feature
        rows.append(
            (
                feature[configs.IMAGE_KEY].bytes_list.value[0],
                feature[configs.CAPTION_KEY].bytes_list.value[0].decode(),
            )
        )
    return rows


@pytest.fixture
def corpus(tmp_path):
    good, grey, rgba = (
        png((20, 30, 3), 1),
        png((16, 16, 1), 2),
        png((16, 16, 4), 3),
    )
    write_split(
        str(tmp_path / "corpus" / "train"),
        {
            "a.png": good,
            "grey.png": grey,
            "rgba.png": rgba,
            "empty.png": b"",
            "junk.jpg": b"not an image at all",
        },
        [
            "a.png#0\tA red circle.\n",
            "a.png#1\t  a   red  circle \n",
            "grey.png#0\ta grey square\n",
            "rgba.png#0\ta see-through square\n",
            "empty.png#0\tnothing\n",
            "junk.jpg#0\tjunk\n",
            "missing.png#0\tgone\n",
        ],
    )
    write_split(
        str(tmp_path / "corpus" / "eval"),
        {"b.png": png((24, 24, 3), 4)},
        ["b.png#0\ta blue square\n"],
    )
    return tmp_path / "corpus", {"a": good, "grey": grey, "rgba": rgba}


def test_bad_images_are_dropped_and_reported(corpus, tmp_path):
    data_dir, images = corpus
    before = digest(str(data_dir))
    clean, reports = caption_data.check_caption_dir(
        str(data_dir), str(tmp_path / "clean"), image_size=32
    )
    assert digest(str(data_dir)) == before  # only read
    train = reports["train"]
    assert (train.lines, train.written) == (7, 4)
    reasons = " | ".join(r for _, _, r in train.dropped_lines)
    assert [n for _, n, _ in train.dropped_lines] == [5, 6, 7]
    assert "empty.png" in reasons and "empty (0 bytes)" in reasons
    assert "junk.jpg" in reasons
    assert "missing.png: image file not found" in reasons
    rows = read_clean(os.path.join(clean, "train", "data.tfrecord"))
    # The original bytes, whitespace-normalized captions, grey and RGBA
    # kept (decode_image converts them); two captions of a.png, two rows.
    assert rows == [
        (images["a"], "A red circle."),
        (images["a"], "a red circle"),
        (images["grey"], "a grey square"),
        (images["rgba"], "a see-through square"),
    ]


def test_unchanged_corpus_keeps_the_clean_file(corpus, tmp_path):
    data_dir, _ = corpus
    clean = str(tmp_path / "clean")
    caption_data.check_caption_dir(str(data_dir), clean, image_size=32)
    path = os.path.join(clean, "eval", "data.tfrecord")
    os.utime(path, (1, 1))
    caption_data.check_caption_dir(str(data_dir), clean, image_size=32)
    assert os.stat(path).st_mtime == 1  # ExampleGen's cache stays valid


def test_corpus_errors_name_the_problem(corpus, tmp_path):
    data_dir, _ = corpus
    clean = str(tmp_path / "clean")
    with pytest.raises(ValueError, match="does not exist"):
        caption_data.check_caption_dir(
            str(tmp_path / "nope"), clean, image_size=32
        )
    os.remove(data_dir / "eval" / caption_data.CAPTIONS_FILENAME)
    with pytest.raises(ValueError, match="no eval/captions.txt"):
        caption_data.check_caption_dir(str(data_dir), clean, image_size=32)
    write_split(str(data_dir / "eval"), {}, ["b.png\tno index\n"])
    with pytest.raises(ValueError, match="captions.txt:1: expected"):
        caption_data.check_caption_dir(str(data_dir), clean, image_size=32)
    write_split(str(data_dir / "eval"), {}, ["gone.png#0\tx\n"])
    with pytest.raises(ValueError, match="eval split has no usable"):
        caption_data.check_caption_dir(str(data_dir), clean, image_size=32)
    with pytest.raises(ValueError, match="inside the corpus"):
        caption_data.check_caption_dir(
            str(data_dir), str(data_dir / "train" / "x"), image_size=32
        )


def test_eval_images_in_train_stop_the_run(corpus, tmp_path):
    data_dir, images = corpus
    eval_dir = str(data_dir / "eval")
    write_split(eval_dir, {"b.png": images["a"]}, ["b.png#0\tx\n"])
    with pytest.raises(ValueError, match="1 of the 1 eval images"):
        caption_data.check_caption_dir(
            str(data_dir), str(tmp_path / "clean"), image_size=32
        )
    _, reports = caption_data.check_caption_dir(
        str(data_dir),
        str(tmp_path / "clean"),
        image_size=32,
        allow_anomalies=True,
    )
    assert reports["eval"].overlap == 1


def test_write_shapes_layout_reads_back(tmp_path):
    reports = caption_data.write_shapes(
        str(tmp_path), num_train=5, num_eval=2, num_test=2, image_size=32
    )
    assert {s: r.written for s, r in reports.items()} == {
        "train": 5,
        "eval": 2,
        "test": 2,
    }
    pairs = caption_data.read_split(str(tmp_path), "train")
    assert len(pairs) == 5 and pairs[0][0] == "images/000000.png"
    from keras_seq.datasets import generate_shapes_captions

    assert [c for _, c in pairs] == generate_shapes_captions(
        5, seed=0, image_size=32
    )["captions"]


def test_multi_reference_bleu_matches_sacrebleu():
    # Image x has two references, y one: scored once each, against all
    # of its references (sacrebleu's multi-reference BLEU computed here
    # with explicit streams where y's missing reference is its own first).
    sources = [b"x", b"y", b"x"]
    references = ["a red circle", "a blue square", "the red circle"]
    unique, lists = evaluation.group_references(sources, references)
    assert unique == [b"x", b"y"]
    assert lists == [["a red circle", "the red circle"], ["a blue square"]]
    hypotheses = ["the red circle", "a blue circle"]
    streams = evaluation.reference_streams(lists)
    ours = sacrebleu.corpus_bleu(hypotheses, streams).score
    direct = sacrebleu.corpus_bleu(
        hypotheses,
        [
            ["a red circle", "a blue square"],
            ["the red circle", "a blue square"],
        ],
    ).score
    assert ours == pytest.approx(direct)
    # Duplicating a reference does not change BLEU.
    single = sacrebleu.corpus_bleu(["a blue circle"], [["a blue square"]])
    doubled = sacrebleu.corpus_bleu(
        ["a blue circle"], [["a blue square"], ["a blue square"]]
    )
    assert single.score == pytest.approx(doubled.score)


def test_task_and_architecture_must_match():
    shapes, captioner = configs.preset("shapes")
    dates, translator = configs.preset("dates")
    configs.check_task(shapes, captioner)
    with pytest.raises(ValueError, match="caption task .* needs"):
        configs.check_task(shapes, translator)
    with pytest.raises(ValueError, match="translation task .* needs"):
        configs.check_task(dates, captioner)
    with pytest.raises(ValueError, match="tokenized into words"):
        configs.DatasetConfig(task="caption", tokenization="char")
    with pytest.raises(ValueError, match="`task` must be one of"):
        configs.DatasetConfig(task="speech")


def test_cli_errors_are_one_line(tmp_path, capsys):
    from keras_seq_apps import cli

    (tmp_path / "mine" / "train").mkdir(parents=True)
    base = ["pipeline", "run", "--dataset", "shapes", "--quiet"]
    out = ["--output-dir", str(tmp_path / "out")]
    code = cli.main(base + ["--data-dir", str(tmp_path / "mine")] + out)
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "no train/captions.txt" in err and str(tmp_path / "mine") in err
    code = cli.main(base + ["--architecture", "transformer"] + out)
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "needs an architecture in ('show_attend_tell',)" in err
    assert not (tmp_path / "out" / "data").exists()  # nothing written


def test_read_raw_pairs_keeps_image_bytes(tmp_path):
    path = str(tmp_path / "part.gz")
    rows = [(b"\x89PNG\xff", "a red circle"), (b"", "")]
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for image, caption in rows:
            feature = {
                configs.CAPTION_KEY: tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[caption.encode()])
                )
            }
            if image:
                feature[configs.IMAGE_KEY] = tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[image])
                )
            writer.write(
                tf.train.Example(
                    features=tf.train.Features(feature=feature)
                ).SerializeToString()
            )
    keys = (configs.IMAGE_KEY, configs.CAPTION_KEY)
    images, captions = evaluation.read_raw_pairs(
        [path], *keys, decode_source=False
    )
    assert images == [b"\x89PNG\xff", b""]
    assert captions == ["a red circle", ""]
    texts, _ = evaluation.read_raw_pairs([path], *keys)
    assert texts == ["\ufffdPNG\ufffd", ""]  # decoded, invalid bytes replaced
