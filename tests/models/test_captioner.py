"""Tests of keras_seq.models.Captioner (captioning model + vocabulary +
search): captions against decoding written here, inputs, save/load."""

import os
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq.datasets import SHAPES_VOCABULARY
from keras_seq.datasets import generate_shapes_captions
from keras_seq.layers import ImageFeatureEncoder
from keras_seq.models import Captioner
from keras_seq.models import ShowAttendTellCaptioner
from keras_seq.models import TransformerCaptioner

SIZE = 32
MAX_LENGTH = 10


def _model(kind):
    keras.utils.set_random_seed(3)
    encoder = ImageFeatureEncoder((SIZE, SIZE, 3), filters=[8, 16])
    if kind == "sat":
        model = ShowAttendTellCaptioner(
            encoder,
            len(SHAPES_VOCABULARY),
            embedding_dim=8,
            hidden_dim=16,
            attention_units=8,
            max_caption_length=MAX_LENGTH,
        )
    else:
        model = TransformerCaptioner(
            encoder,
            len(SHAPES_VOCABULARY),
            hidden_dim=16,
            num_layers=1,
            num_heads=2,
            intermediate_dim=16,
            max_caption_length=MAX_LENGTH,
        )
    model.build()
    # An untrained model mostly says [PAD] or [EOS] first; lowering their
    # output bias makes it produce words, so the captions compared below
    # are not all empty.
    bias = model.output_projection.bias
    values = np.array(bias.numpy())
    values[[0, 2]] -= 20.0
    values[3] -= 1.0
    bias.assign(values)
    return model


def _words(token_ids):
    """Ids -> caption, written here: words up to the first [EOS]/[PAD]."""
    words = []
    for token in token_ids:
        if token in (0, 3):
            break
        words.append(SHAPES_VOCABULARY[token])
    return " ".join(words)


def _reference(model, images, strategy="greedy", **kw):
    out = model.generate(
        np.asarray(images, "float32"),
        strategy=strategy,
        max_length=MAX_LENGTH,
        **kw,
    )
    return [_words(row) for row in np.asarray(out["token_ids"]).tolist()]


def _png(image):
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.round(np.clip(image, 0, 1) * 255).astype("uint8")
    return tf.io.encode_png(image).numpy()


@pytest.fixture(scope="module", params=["sat", "transformer"])
def model(request):
    return _model(request.param)


@pytest.fixture(scope="module")
def images():
    return generate_shapes_captions(6, seed=4, image_size=SIZE)["images"]


def test_caption_equals_independent_greedy_decoding(model, images):
    captioner = Captioner(model, SHAPES_VOCABULARY)
    captions = captioner.caption(images)
    assert captions == _reference(model, images)
    assert any(captions), "the test model should produce words"
    assert all(isinstance(c, str) for c in captions)
    # One image -> one string; a batch split in chunks -> the same list.
    assert captioner.caption(images[2]) == captions[2]
    assert captioner.caption(images, batch_size=4) == captions


def test_caption_equals_independent_beam_decoding(model, images):
    captioner = Captioner(
        model, SHAPES_VOCABULARY, strategy="beam", beam_width=3
    )
    results = captioner.caption(images, return_scores=True)
    out = model.generate(
        images,
        strategy="beam",
        beam_width=3,
        length_penalty=0.0,
        max_length=MAX_LENGTH,
    )
    expected = [_words(r) for r in np.asarray(out["token_ids"]).tolist()]
    assert [r["caption"] for r in results] == expected
    np.testing.assert_allclose(
        [r["score"] for r in results], np.asarray(out["scores"]), atol=1e-5
    )


def test_encoded_images_and_paths(model, images, tmp_path):
    captioner = Captioner(model, SHAPES_VOCABULARY)
    pngs = [_png(image) for image in images]
    # Reference: the PNG decoded here with PIL-free NumPy/TF, no resize
    # needed (the PNG has the encoder's size).
    decoded = np.stack(
        [tf.io.decode_png(p).numpy().astype("float32") / 255 for p in pngs]
    )
    assert captioner.caption(pngs) == _reference(model, decoded)
    assert captioner.caption(pngs[1]) == _reference(model, decoded[1:2])[0]
    paths = []
    for i, data in enumerate(pngs):
        path = tmp_path / f"image{i}.png"
        path.write_bytes(data)
        paths.append(str(path))
    assert captioner.caption(paths) == captioner.caption(pngs)
    assert captioner.caption(tmp_path / "image0.png") == captioner.caption(
        pngs[0]
    )
    # uint8 arrays are scaled to [0, 1].
    uint8 = np.round(images * 255).astype("uint8")
    assert captioner.caption(uint8) == _reference(model, uint8 / 255.0)


def test_grey_rgba_and_resized_images(model, images):
    captioner = Captioner(model, SHAPES_VOCABULARY)
    rgb = np.round(images[0] * 255).astype("uint8")
    grey = rgb[..., :1]
    expected_grey = _reference(model, np.repeat(grey, 3, -1)[None] / 255.0)
    assert captioner.caption(_png(grey)) == expected_grey[0]
    assert captioner.caption(grey) == expected_grey[0]
    # RGBA: composited over white (rgb * alpha + 1 - alpha).
    alpha = np.full(rgb.shape[:2] + (1,), 255, "uint8")
    alpha[: SIZE // 2] = 0
    rgba = np.concatenate([rgb, alpha], -1)
    a = alpha / 255.0
    composited = rgb / 255.0 * a + (1.0 - a)
    expected = _reference(model, composited[None])[0]
    assert captioner.caption(_png(rgba)) == expected
    assert captioner.caption(rgba) == expected
    # Another size is resized (antialiased) to the encoder's.
    big = np.repeat(np.repeat(images[:2], 2, axis=1), 2, axis=2)
    resized = tf.image.resize(big, (SIZE, SIZE), antialias=True).numpy()
    assert captioner.caption(big) == _reference(model, resized)
    big_png = _png(big[0])
    assert np.all(np.isfinite(captioner.caption(big_png, True)["score"]))


def test_bad_inputs_raise_value_errors_naming_them(model, images, tmp_path):
    captioner = Captioner(model, SHAPES_VOCABULARY)
    good = _png(images[0])
    with pytest.raises(ValueError, match=r"images\[1\].*empty"):
        captioner.caption([good, b""])
    with pytest.raises(ValueError, match=r"Cannot decode image images\[0\]"):
        captioner.caption(b"not an image at all")
    with pytest.raises(ValueError, match="Cannot decode"):
        captioner.caption(good[: len(good) // 2])
    # A PNG header announcing 100000 x 100000 pixels: rejected before
    # anything is decoded.
    header = bytearray(good[:33])
    header[16:24] = (100000).to_bytes(4, "big") * 2
    with pytest.raises(ValueError, match="max_pixels"):
        captioner.caption(bytes(header) + good[33:])
    small = Captioner(model, SHAPES_VOCABULARY, max_pixels=100)
    with pytest.raises(ValueError, match="max_pixels=100"):
        small.caption(good)
    missing = str(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="not found.*missing.png"):
        captioner.caption(missing)
    folder = r"got a folder. Received: images\[1\]"
    with pytest.raises(ValueError, match=folder):
        captioner.caption([good, tmp_path])
    bad = images[:2].copy()
    bad[1, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        captioner.caption(bad)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        captioner.caption(images * 3)
    with pytest.raises(ValueError, match="Received: images.shape"):
        captioner.caption(np.zeros((2, SIZE, SIZE, 5), "float32"))
    with pytest.raises(ValueError, match="numeric array"):
        captioner.caption([object()])
    with pytest.raises(ValueError, match="mixing"):
        captioner.caption([good, images[0]])
    assert captioner.caption([]) == []
    assert captioner.caption(np.zeros((0, SIZE, SIZE, 3), "float32")) == []


def test_return_attention_matches_generate(model, images):
    captioner = Captioner(model, SHAPES_VOCABULARY)
    results = captioner.caption(images[:3], return_attention=True)
    out = model.generate(images[:3], max_length=MAX_LENGTH)
    grid = model.encoder.grid_shape
    for i, result in enumerate(results):
        assert set(result) == {"caption", "attention"}
        count = len(result["caption"].split())
        attention = result["attention"]
        assert attention.shape == (count, *grid)
        np.testing.assert_allclose(
            attention.reshape(count, -1),
            np.asarray(out["alignment"])[i, :count],
            atol=1e-6,
        )
        np.testing.assert_allclose(
            attention.reshape(count, -1).sum(-1), 1.0, atol=1e-4
        )
    single = captioner.caption(_png(images[0]), return_attention=True)
    assert single["caption"] == captioner.caption(_png(images[0]))


def test_save_load_round_trip(model, images, tmp_path):
    captioner = Captioner(
        model, SHAPES_VOCABULARY, strategy="beam", beam_width=2, max_length=8
    )
    path = str(tmp_path / "captioner.keras")
    captioner.save(path)
    restored = Captioner.load(path)
    assert isinstance(restored.captioner, type(model))
    assert restored.vocabulary == list(SHAPES_VOCABULARY)
    assert (restored.strategy, restored.beam_width, restored.max_length) == (
        "beam",
        2,
        8,
    )
    assert restored.image_size == (SIZE, SIZE)
    assert restored.caption(images, return_scores=True) == captioner.caption(
        images, return_scores=True
    )
    for a, b in zip(captioner.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)
    also = keras.saving.load_model(path, safe_mode=True)
    assert also.caption(images) == captioner.caption(images)


def test_load_errors(model, tmp_path):
    with pytest.raises(ValueError, match="No saved captioner"):
        Captioner.load(str(tmp_path / "nothing.keras"))
    text = tmp_path / "notes.keras"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a `.keras` archive"):
        Captioner.load(str(text))
    other = tmp_path / "other.txt"
    other.write_text("hello")
    with pytest.raises(ValueError, match="is a `.keras` file"):
        Captioner.load(str(other))
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    plain_path = str(tmp_path / "plain.keras")
    plain.save(plain_path)
    with pytest.raises(ValueError, match="not a Captioner.*Sequential"):
        Captioner.load(plain_path)
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("config.json", "{not json")
    with pytest.raises(ValueError, match="Could not read a saved captioner"):
        Captioner.load(str(broken))
    assert os.path.exists(plain_path)


def test_constructor_errors(model):
    with pytest.raises(ValueError, match="differ in size"):
        Captioner(model, SHAPES_VOCABULARY[:-1])
    with pytest.raises(ValueError, match="reserved tokens"):
        Captioner(model, ["a"] * len(SHAPES_VOCABULARY))
    with pytest.raises(ValueError, match="strategy="):
        Captioner(model, SHAPES_VOCABULARY, strategy="sample")
    with pytest.raises(ValueError, match="max_length=99"):
        Captioner(model, SHAPES_VOCABULARY, max_length=99)
    with pytest.raises(ValueError, match="beam_width=0"):
        Captioner(model, SHAPES_VOCABULARY, beam_width=0)
    with pytest.raises(ValueError, match="must have `generate`"):
        Captioner(keras.layers.Dense(2), SHAPES_VOCABULARY)


def test_fit_trains_the_model():
    model = _model("sat")
    captioner = Captioner(model, SHAPES_VOCABULARY)
    from keras_seq.datasets import encode_shapes_captions
    from keras_seq.metrics import MaskedSparseCategoricalCrossentropy

    data = generate_shapes_captions(8, seed=4, image_size=SIZE, max_objects=1)
    images, captions = data["images"], data["captions"]
    target_in, target_out = encode_shapes_captions(captions, MAX_LENGTH)
    captioner.compile(
        keras.optimizers.Adam(1e-2), MaskedSparseCategoricalCrossentropy()
    )
    x = {"images": images, "target_in": target_in}
    history = captioner.fit(x, target_out, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]


def test_joiner_words_are_glued_back(model):
    # A vocabulary made by WordTokenizer.split (the pipeline's) marks
    # punctuation glued to the word before with the joiner "￭".
    words = list(SHAPES_VOCABULARY)
    words[4], words[5] = "A", "￭."
    captioner = Captioner(model, words)
    ids = np.array([[4, 6, 5, 3, 7], [5, 4, 3, 0, 0], [4, 5, 5, 6, 3]])
    expected = []
    for row in ids.tolist():
        text = ""
        for token in row:
            if token in (0, 3):
                break
            word = words[token]
            # Written here: a joiner word attaches without its space.
            text += word[1:] if word.startswith("￭") else " " + word
        expected.append(text.strip())
    got = [t.decode() for t in captioner.detokenize_tensor(ids).numpy()]
    assert got == expected
    assert got[0] == f"A {words[6]}."
