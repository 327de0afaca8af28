"""Tests of the generated shapes-captioning corpus."""

import numpy as np
import pytest

from keras_seq.datasets import SHAPES_VOCABULARY
from keras_seq.datasets import attention_localization
from keras_seq.datasets import decode_shapes_caption
from keras_seq.datasets import encode_shapes_captions
from keras_seq.datasets import generate_shapes_captions
from keras_seq.datasets.shapes_captions import COLOURS


def test_seeded_and_well_formed():
    first = generate_shapes_captions(20, seed=5)
    again = generate_shapes_captions(20, seed=5)
    other = generate_shapes_captions(20, seed=6)
    np.testing.assert_array_equal(first["images"], again["images"])
    assert first["captions"] == again["captions"]
    assert not np.array_equal(first["images"], other["images"])
    images = first["images"]
    assert images.shape == (20, 64, 64, 3) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    for objects in first["objects"]:
        assert 1 <= len(objects) <= 3
        kinds = {(o["colour"], o["shape"]) for o in objects}
        assert len(kinds) == len(objects)  # every noun names one shape


def test_captions_describe_the_pixels():
    data = generate_shapes_captions(60, seed=0, noise=0.0)
    for image, caption, objects in zip(
        data["images"], data["captions"], data["objects"]
    ):
        words = caption.split()
        # "a <colour> <shape>" per object, joined by relations.
        named = [
            (words[i + 1], words[i + 2])
            for i in range(len(words))
            if words[i] == "a"
        ]
        assert named == [(o["colour"], o["shape"]) for o in objects]
        for obj in objects:
            y0, x0, y1, x1 = obj["box"]
            patch = image[y0:y1, x0:x1].reshape(-1, 3)
            colour = np.array(COLOURS[obj["colour"]], "float32")
            painted = np.all(np.abs(patch - colour) < 1e-6, axis=1)
            # The shape fills a good part of its box, and its box edges.
            assert painted.mean() > 0.4, (caption, obj)
            assert painted.reshape(y1 - y0, x1 - x0)[0].any()
            assert painted.reshape(y1 - y0, x1 - x0)[:, -1].any()
        # The relations hold between the boxes (centres).
        relations = [
            words[i] for i in range(len(words)) if words[i] in ("left", "above")
        ]
        for rel, a, b in zip(relations, objects, objects[1:]):
            ay, ax = (
                (a["box"][0] + a["box"][2]) / 2,
                (a["box"][1] + a["box"][3]) / 2,
            )
            by, bx = (
                (b["box"][0] + b["box"][2]) / 2,
                (b["box"][1] + b["box"][3]) / 2,
            )
            if rel == "left":
                assert ax < bx, caption
            else:
                assert ay < by and a["cell"][1] == b["cell"][1], caption


def test_encode_decode_round_trip():
    data = generate_shapes_captions(30, seed=2)
    target_in, target_out = encode_shapes_captions(data["captions"], 14)
    assert target_in.shape == (30, 14)
    np.testing.assert_array_equal(target_in[:, 0], 2)
    for row, caption in enumerate(data["captions"]):
        n = len(caption.split())
        assert target_out[row, n] == 3 and np.all(target_out[row, n + 1 :] == 0)
        np.testing.assert_array_equal(
            target_in[row, 1 : n + 1], target_out[row, :n]
        )
        assert " ".join(decode_shapes_caption(target_out[row])) == caption
    assert SHAPES_VOCABULARY[:4] == ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]


def test_attention_localization_counts_peaks_in_boxes():
    # A 2x2 grid over a 64x64 image; region centres (16|48, 16|48).
    boxes = np.array(
        [[0, 0, 32, 32], [0, 32, 32, 64], [32, 0, 64, 32], [32, 32, 64, 64]]
    )
    objects = [
        [
            {"colour": "red", "shape": "circle", "box": (5, 5, 25, 25)},
            {"colour": "blue", "shape": "square", "box": (40, 40, 60, 60)},
        ]
    ]
    words = [
        [
            "a",
            "red",
            "circle",
            "left",
            "of",
            "a",
            "blue",
            "square",
            "a",
            "green",
            "circle",
        ]
    ]
    alignment = np.full((11, 4), 0.1)
    alignment[2, 0] = 0.7  # circle -> region 0, centre (16, 16): inside
    alignment[7, 0] = 0.7  # square -> region 0: outside its box
    result = attention_localization(words, [alignment], objects, boxes)
    assert result == {"localization": 0.5, "scored": 2, "unmatched": 1}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_examples": -1}, "num_examples"),
        ({"num_examples": 2, "image_size": 10}, "image_size"),
        ({"num_examples": 2, "max_objects": 10}, "max_objects"),
        (
            {"num_examples": 2, "min_objects": 3, "max_objects": 2},
            "max_objects",
        ),
        ({"num_examples": 2, "noise": -0.1}, "noise"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=f"Received: {message}"):
        generate_shapes_captions(**kwargs)


def test_bad_captions():
    with pytest.raises(ValueError, match="Received: caption='a purple circle'"):
        encode_shapes_captions(["a purple circle"], 8)
    with pytest.raises(ValueError, match="Received: max_length=3"):
        encode_shapes_captions(["a red circle"], 3)
