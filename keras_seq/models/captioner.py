"""A captioner: an image-captioning model with its vocabulary and search.

The image side of the task objects (see `Translator`): images in, text
out, one artifact on disk.
"""

import os

import keras

STRATEGIES = ("greedy", "beam")
RESERVED = ("[PAD]", "[UNK]", "[BOS]", "[EOS]")
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
# `Captioner.export` and `caption_tensor` share these names.
IMAGES = "images"
CAPTION = "caption"
SCORE = "score"


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"`{name}` must be a positive int. Received: {name}={value!r}"
        )
    return value


def _check_vocabulary(vocabulary, vocabulary_size):
    if isinstance(vocabulary, (str, bytes)) or not isinstance(
        vocabulary, (list, tuple)
    ):
        raise ValueError(
            "`vocabulary` must be a list of words (ids = positions). "
            f"Received: vocabulary={vocabulary!r}"
        )
    vocabulary = tuple(vocabulary)
    bad = [w for w in vocabulary if not isinstance(w, str) or not w.strip()]
    if bad:
        raise ValueError(
            "`vocabulary` must hold non-empty strings. Received: "
            f"{bad[0]!r} in vocabulary"
        )
    if tuple(vocabulary[:4]) != RESERVED:
        raise ValueError(
            f"`vocabulary` must start with the reserved tokens {RESERVED} "
            f"(ids 0-3). Received: vocabulary[:4]={list(vocabulary[:4])}"
        )
    if len(set(vocabulary)) != len(vocabulary):
        raise ValueError(
            "`vocabulary` has repeated words. Received: "
            f"{len(vocabulary)} words, {len(set(vocabulary))} distinct"
        )
    if vocabulary_size is not None and len(vocabulary) != vocabulary_size:
        raise ValueError(
            "The model's vocabulary and `vocabulary` differ in size. "
            f"Received: captioner.vocabulary_size={vocabulary_size}, "
            f"len(vocabulary)={len(vocabulary)}"
        )
    return vocabulary


@keras.saving.register_keras_serializable(package="keras_seq")
class Captioner(keras.Model):
    """Images in, captions out: captioning model + vocabulary + search.

    Holds a keras-seq captioning model (`ShowAttendTellCaptioner` or
    `TransformerCaptioner`), its vocabulary (a list of words, id = position,
    ids 0-3 the reserved `[PAD]`, `[UNK]`, `[BOS]`, `[EOS]` of
    docs/design.md) and the search settings. The image size is the one of
    the model's encoder (`captioner.encoder.image_shape[:2]`).

    - `caption(images)` takes a NumPy batch `(B, H, W, 3)`, one image
      `(H, W, 3)` (float in `[0, 1]` or uint8 in `[0, 255]`; other sizes
      are resized), or encoded JPEG/PNG/GIF/BMP bytes or file paths (one or
      a list), and returns Python strings. Encoded images go through the
      conversions of `keras_seq.datasets.image_captions` (grey -> RGB,
      alpha composited over white); empty, undecodable or too large images
      raise a `ValueError` naming the input.
    - The same TensorFlow function decodes and captions encoded images in
      `caption()` and in the exported SavedModel, so both give identical
      strings.
    - `save("x.keras")` writes one file; `Captioner.load` restores it in
      Keras' safe mode.
    - `export(path)` writes the bytes -> string SavedModel for TF Serving.
    - Calling the captioner runs the model, so `compile`/`fit` train it on
      `({"images", "target_in"}, target_out)` batches.

    Args:
        captioner: the captioning model (with `generate()` and `encoder`).
        vocabulary: list of words; `vocabulary[i]` is the word of id `i`.
        strategy: "greedy" or "beam".
        beam_width: beams of beam search.
        length_penalty: GNMT length penalty alpha of beam search.
        max_length: most tokens generated (EOS included); defaults to
            `captioner.max_caption_length`.
        max_pixels: encoded images with more pixels are rejected by
            `caption()` (None: `image_captions.DEFAULT_MAX_PIXELS`).
        **kwargs: base `keras.Model` arguments (e.g. `name`).

    Example:

    >>> captioner = Captioner(model, SHAPES_VOCABULARY)
    >>> captioner.caption(images)  # (B, 64, 64, 3) floats
    ['a red circle left of a blue square', ...]
    >>> captioner.caption("photo.png")
    'a green triangle'
    >>> captioner.save("captioner.keras")
    >>> Captioner.load("captioner.keras").caption(["a.png", "b.png"])
    """

    def __init__(
        self,
        captioner,
        vocabulary,
        strategy="greedy",
        beam_width=4,
        length_penalty=0.0,
        max_length=None,
        max_pixels=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for attribute in ("generate", "encoder", "max_caption_length"):
            if not hasattr(captioner, attribute):
                raise ValueError(
                    f"`captioner` must have `{attribute}` (a keras_seq "
                    "captioning model). Received: captioner of type "
                    f"{type(captioner).__name__}"
                )
        if strategy not in STRATEGIES:
            raise ValueError(
                f"`strategy` must be one of {STRATEGIES}. Received: "
                f"strategy={strategy!r}"
            )
        _positive_int("beam_width", beam_width)
        if isinstance(length_penalty, bool) or not (
            isinstance(length_penalty, (int, float)) and length_penalty >= 0
        ):
            raise ValueError(
                "`length_penalty` must be a number >= 0. Received: "
                f"length_penalty={length_penalty!r}"
            )
        if max_length is None:
            max_length = captioner.max_caption_length
        _positive_int("max_length", max_length)
        if max_length > captioner.max_caption_length:
            raise ValueError(
                "`max_length` must be at most the model's "
                f"max_caption_length={captioner.max_caption_length}. "
                f"Received: max_length={max_length}"
            )
        if max_pixels is not None:
            _positive_int("max_pixels", max_pixels)
        self.captioner = captioner
        # A tuple of str is not tracked by Keras.
        self._words = _check_vocabulary(
            vocabulary, getattr(captioner, "vocabulary_size", None)
        )
        self.strategy = strategy
        self.beam_width = beam_width
        self.length_penalty = float(length_penalty)
        self.max_length = max_length
        self.max_pixels = max_pixels
        self._function_cache = _FunctionCache()
        # Every size is known from the model's constructor, so the
        # captioner is built at once (its variables exist for saving,
        # loading and exporting).
        self.build()

    @property
    def vocabulary(self):
        """The words, `vocabulary[i]` the word of id `i`."""
        return list(self._words)

    @property
    def image_size(self):
        """`(height, width)` the images are resized to."""
        return tuple(self.captioner.encoder.image_shape[:2])

    def build(self, input_shape=None):
        if not self.captioner.built:
            self.captioner.build()
        self.built = True

    def call(self, inputs, training=False):
        return self.captioner(inputs, training=training)

    # ------------------------------------------------------------------
    # The graph shared by `caption` and the SavedModel.
    def _generate(self, images, record_aux=False):
        kw = {"max_length": self.max_length, "record_aux": record_aux}
        if self.strategy == "beam":
            kw.update(
                beam_width=self.beam_width,
                length_penalty=self.length_penalty,
            )
        return self.captioner.generate(images, strategy=self.strategy, **kw)

    def detokenize_tensor(self, token_ids):
        """`(batch, steps)` ids -> `(batch,)` tf.string: the words before
        the first [EOS] (or [PAD]) joined by spaces, [BOS] dropped.

        A word carrying the joiner "￭" of `keras_seq.text.WordTokenizer`
        (a vocabulary made with `WordTokenizer.split`, e.g. "￭." for a
        full stop glued to the word before) is glued back: "A dog runs."
        """
        import tensorflow as tf

        from keras_seq.text.text_utils import JOINER
        from keras_seq.text.text_utils import join_words

        token_ids = tf.cast(token_ids, tf.int32)
        stop = tf.logical_or(
            tf.equal(token_ids, EOS_ID), tf.equal(token_ids, PAD_ID)
        )
        ended = tf.cumsum(tf.cast(stop, tf.int32), axis=1) > 0
        keep = tf.logical_and(
            tf.logical_not(ended), tf.not_equal(token_ids, BOS_ID)
        )
        table = tf.constant(list(self._words), tf.string)
        safe = tf.where(
            tf.logical_and(token_ids >= 0, token_ids < len(self._words)),
            token_ids,
            UNK_ID,
        )
        words = tf.ragged.boolean_mask(tf.gather(table, safe), keep)
        return join_words(words, JOINER)

    def caption_tensor(self, images):
        """Captions float32 `(batch, height, width, 3)` images in `[0, 1]`
        of the encoder's size, in TensorFlow ops.

        Returns:
            dict with `caption` `(batch,)` string and `score` `(batch,)`
            float32 (greedy: sum of the token log-probabilities; beam: the
            length-penalised score). An empty batch is allowed.
        """
        import tensorflow as tf

        height, width = self.image_size
        images = tf.ensure_shape(
            tf.cast(images, tf.float32), (None, height, width, 3)
        )
        batch = tf.shape(images)[0]
        # The searches need at least one row: an empty batch decodes one
        # blank image, which is then dropped.
        images = tf.cond(
            batch > 0,
            lambda: images,
            lambda: tf.zeros([1, height, width, 3], tf.float32),
        )
        outputs = self._generate(images)
        token_ids = tf.cast(outputs["token_ids"], tf.int32)[:batch]
        scores = tf.cast(outputs["scores"], tf.float32)[:batch]
        return {CAPTION: self.detokenize_tensor(token_ids), SCORE: scores}

    def decode_images_tensor(self, encoded):
        """`(batch,)` tf.string of encoded images -> float32 `(batch,
        height, width, 3)` with `decode_image_tensor`'s conversions."""
        import tensorflow as tf

        from keras_seq.datasets.image_captions import decode_image_tensor

        height, width = self.image_size
        return tf.map_fn(
            lambda data: decode_image_tensor(data, (height, width)),
            tf.reshape(encoded, [-1]),
            fn_output_signature=tf.TensorSpec((height, width, 3), tf.float32),
        )

    def caption_bytes_tensor(self, encoded):
        """`(batch,)` tf.string encoded images -> `caption_tensor` outputs.

        Undecodable bytes fail with TensorFlow's `InvalidArgumentError`
        (there is no Python in a graph to raise a `ValueError`)."""
        return self.caption_tensor(self.decode_images_tensor(encoded))

    def _function(self, kind):
        import tensorflow as tf

        functions = self._function_cache.functions
        if kind not in functions:
            height, width = self.image_size
            if kind == "bytes":
                fn = self.caption_bytes_tensor
                spec = tf.TensorSpec([None], tf.string)
            else:
                fn = self.caption_tensor
                spec = tf.TensorSpec([None, height, width, 3], tf.float32)
            functions[kind] = tf.function(
                fn, input_signature=[spec], autograph=False
            )
        return functions[kind]

    # ------------------------------------------------------------------
    # Python API.
    def _prepare(self, images):
        """-> ("bytes", list of bytes) or ("pixels", float32 array), and
        whether a single image was given."""
        import numpy as np

        from keras_seq.datasets import image_captions

        def encoded(item, i):
            if isinstance(item, (str, os.PathLike)):
                path = os.fspath(item)
                data = image_captions.read_image_file(
                    path, received=f"images[{i}]={path!r}"
                )
                name = repr(path)
            else:
                data, name = bytes(item), f"images[{i}]"
            # Checks (empty, undecodable, too large) with clear errors
            # before the graph sees the bytes.
            image_captions.decode_image(
                data, (8, 8), name=name, max_pixels=self.max_pixels
            )
            return data

        is_encoded = (str, bytes, bytearray, os.PathLike)
        if isinstance(images, is_encoded):
            return "bytes", [encoded(images, 0)], True
        if isinstance(images, (list, tuple)):
            if images and all(isinstance(x, is_encoded) for x in images):
                return (
                    "bytes",
                    [encoded(x, i) for i, x in enumerate(images)],
                    False,
                )
            if any(isinstance(x, is_encoded) for x in images):
                raise ValueError(
                    "`images` must be all encoded images (bytes or paths) "
                    "or all arrays. Received: a list mixing "
                    f"{sorted({type(x).__name__ for x in images})}"
                )
            if not images:
                return "pixels", np.zeros((0, 1, 1, 3), "float32"), False
        array = np.asarray(images)
        if array.dtype == object or array.dtype.kind not in "uif":
            raise ValueError(
                "`images` must be a numeric array, encoded image bytes or "
                f"file paths. Received: images of type {type(images).__name__}"
                f" (dtype {array.dtype})"
            )
        single = array.ndim == 3
        if single:
            array = array[None]
        if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
            raise ValueError(
                "`images` must be (batch, height, width, channels) or "
                "(height, width, channels) with 1, 3 or 4 channels. "
                f"Received: images.shape={np.shape(images)}"
            )
        if array.dtype.kind in "ui":
            array = array.astype("float32") / 255.0
        array = array.astype("float32")
        if not np.all(np.isfinite(array)):
            raise ValueError(
                "`images` has NaN or infinite values. Received: "
                f"{int(np.sum(~np.isfinite(array)))} non-finite values"
            )
        if array.size and (array.min() < 0.0 or array.max() > 1.0):
            raise ValueError(
                "Float `images` must be in [0, 1] (uint8 in [0, 255]). "
                f"Received: values in [{array.min()}, {array.max()}]"
            )
        return "pixels", self._to_rgb_size(array), single

    def _to_rgb_size(self, array):
        """Grey -> RGB, alpha over white, resize to `image_size`."""
        import numpy as np

        if array.shape[-1] == 4:
            alpha = array[..., 3:]
            array = array[..., :3] * alpha + (1.0 - alpha)
        if array.shape[-1] == 1:
            array = np.repeat(array, 3, axis=-1)
        if array.shape[0] and tuple(array.shape[1:3]) != self.image_size:
            import tensorflow as tf

            array = tf.image.resize(array, self.image_size, antialias=True)
            array = np.clip(array.numpy(), 0.0, 1.0)
        if not array.shape[0]:
            array = np.zeros((0, *self.image_size, 3), "float32")
        return np.ascontiguousarray(array, dtype="float32")

    def caption(
        self,
        images,
        return_scores=False,
        return_attention=False,
        batch_size=32,
    ):
        """Captions images.

        Args:
            images: a float (`[0, 1]`) or uint8 array `(B, H, W, C)` or one
                image `(H, W, C)` (C = 1, 3 or 4); or encoded image bytes or
                a file path, or a list of them.
            return_scores: also return the search scores.
            return_attention: also return, per caption, the attention map
                of each word: float32 `(num_words, grid_h, grid_w)`
                (`captioner.encoder.grid_shape`).
            batch_size: images decoded together.

        Returns:
            For a batch or list, a list of captions (`str`); for one image,
            one caption. With `return_scores` / `return_attention`, a dict
            per image with `"caption"`, and `"score"` / `"attention"`.

        Raises:
            ValueError: for inputs that are not images (the message names
                the input).
        """
        import tensorflow as tf

        _positive_int("batch_size", batch_size)
        kind, items, single = self._prepare(images)
        results = []
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            if return_attention:
                results.extend(self._caption_with_attention(kind, chunk))
                continue
            function = self._function(kind)
            chunk = tf.constant(chunk, tf.string if kind == "bytes" else None)
            outputs = {k: v.numpy() for k, v in function(chunk).items()}
            for text, score in zip(outputs[CAPTION], outputs[SCORE]):
                results.append(
                    {CAPTION: text.decode("utf-8"), SCORE: float(score)}
                )
        if not (return_scores or return_attention):
            results = [r[CAPTION] for r in results]
        elif not return_scores:
            for r in results:
                del r[SCORE]
        return results[0] if single else results

    def _caption_with_attention(self, kind, chunk):
        """Eager decoding that keeps the attention of each produced word."""
        import numpy as np
        import tensorflow as tf

        if kind == "bytes":
            pixels = self.decode_images_tensor(tf.constant(chunk, tf.string))
        else:
            pixels = tf.constant(chunk)
        outputs = self._generate(pixels, record_aux=True)
        token_ids = np.asarray(outputs["token_ids"])
        captions = self.detokenize_tensor(token_ids).numpy()
        alignment = np.asarray(outputs["alignment"], "float32")
        grid = tuple(self.captioner.encoder.grid_shape)
        rows = []
        for i, text in enumerate(captions):
            text = text.decode("utf-8")
            count = len(text.split())
            rows.append(
                {
                    CAPTION: text,
                    SCORE: float(np.asarray(outputs["scores"])[i]),
                    "attention": alignment[i, :count].reshape((count, *grid)),
                }
            )
        return rows

    # ------------------------------------------------------------------
    # Saving and serving.
    @classmethod
    def load(cls, path):
        """Loads a captioner saved with `save()` (Keras safe mode)."""
        from keras_seq.models.task_loading import load_task

        return load_task(path, cls, "captioner", _register_captioners)

    def export(self, path, model_name="captioner", warmup_images=None):
        """Writes the SavedModel for TF Serving (image bytes -> string).

        See `keras_seq.export.captioner_export.export_captioner`.
        """
        from keras_seq.export.captioner_export import export_captioner

        return export_captioner(
            self, path, model_name=model_name, warmup_images=warmup_images
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "captioner": keras.saving.serialize_keras_object(
                    self.captioner
                ),
                "vocabulary": list(self._words),
                "strategy": self.strategy,
                "beam_width": self.beam_width,
                "length_penalty": self.length_penalty,
                "max_length": self.max_length,
                "max_pixels": self.max_pixels,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["captioner"] = keras.saving.deserialize_keras_object(
            config["captioner"]
        )
        return cls(**config)


class _FunctionCache:
    """The traced caption functions, by input kind."""

    def __init__(self):
        self.functions = {}


def _register_captioners():
    """Imports the captioner models (and their layers) for loading."""
    from keras_seq.models import show_attend_tell_captioner  # noqa: F401
    from keras_seq.models import transformer_captioner  # noqa: F401
