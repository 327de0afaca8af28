"""SavedModel export of a `keras_seq.models.Captioner` for TF Serving.

The exported graph holds the whole path from encoded image to caption:

    JPEG/PNG/GIF/BMP bytes -> `decode_image_tensor` (grey -> RGB, alpha
    composited over white, resized to the encoder's size) -> model.generate
    (one while loop) -> ids -> vocabulary lookup, joined by spaces

Signature `serving_default` (the batch dimension is free, an empty batch is
allowed): `images` `(batch,)` string -> `caption` `(batch,)` string and
`score` `(batch,)` float32 (greedy: the sum of token log-probabilities;
beam: the length-penalised score).

Undecodable bytes (including an empty string) fail the whole request with
TensorFlow's `InvalidArgumentError` (TF Serving answers with an
INVALID_ARGUMENT status); no pixel-count limit is applied in the graph, so
limit the request size in front of the server. `Captioner.caption()` runs
the same function but checks the images in Python first and raises a
`ValueError` naming the bad one.

Layout: the folder given (TF Serving wants `<base>/<model_name>/<version>`)
with `saved_model.pb`, `variables/` and
`assets.extra/tf_serving_warmup_requests` (one request with a small
generated PNG).

Written with `keras.export.ExportArchive`, which restores through the TF1
session API TF Serving uses.
"""

from keras_seq.export.warmup import check_export_target
from keras_seq.export.warmup import write_warmup_requests

IMAGES_INPUT = "images"


def warmup_png(size=(32, 32)):
    """A small generated PNG (a colour gradient) for the warm-up request."""
    import numpy as np
    import tensorflow as tf

    height, width = size
    y = np.linspace(0, 255, height, dtype="float32")[:, None]
    x = np.linspace(0, 255, width, dtype="float32")[None, :]
    image = np.stack(
        [y + 0 * x, 0 * y + x, np.full((height, width), 96.0)], axis=-1
    ).astype("uint8")
    return tf.io.encode_png(image).numpy()


def export_captioner(
    captioner, path, model_name="captioner", warmup_images=None
):
    """Writes the SavedModel described in the module docstring.

    Args:
        captioner: a `keras_seq.models.Captioner`.
        path: the SavedModel folder to write (created; must not hold a
            SavedModel already).
        model_name: TF Serving model name written in the warm-up request.
        warmup_images: encoded images (bytes) of the warm-up request; None
            for one generated PNG, `()` for no warm-up records.

    Returns:
        `path`.
    """

    import keras
    import tensorflow as tf

    path = check_export_target(path, model_name)
    if warmup_images is None:
        warmup_images = [warmup_png()]
    warmup_images = list(warmup_images)
    for i, data in enumerate(warmup_images):
        if not isinstance(data, bytes) or not data:
            raise ValueError(
                "`warmup_images` must be non-empty encoded images (bytes). "
                f"Received: warmup_images[{i}] of type {type(data).__name__}"
            )
    signature = [tf.TensorSpec([None], tf.string, name=IMAGES_INPUT)]
    archive = keras.export.ExportArchive()
    archive.track(captioner)
    archive.add_endpoint(
        "serving_default",
        captioner.caption_bytes_tensor,
        input_signature=signature,
    )
    archive.write_out(path, verbose=False)
    if warmup_images:
        write_warmup_requests(path, model_name, {IMAGES_INPUT: warmup_images})
    return path
