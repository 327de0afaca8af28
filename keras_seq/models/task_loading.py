"""Loading a saved task object (`Translator`, `Captioner`) safely."""

import os
import zipfile

import keras


def load_task(path, cls, what, register):
    """Loads a `.keras` file holding a `cls` instance, in Keras safe mode.

    Args:
        path: the `.keras` file.
        cls: the expected class (e.g. `Translator`).
        what: its name in messages ("translator", "captioner").
        register: a function importing the modules whose classes the file
            may hold (registers them for deserialization).

    Raises:
        ValueError: the file is missing, not a `.keras` archive, unreadable,
            or holds another kind of model; the message names the path.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(
            f"No saved {what} at this path. Received: path={path!r}"
        )
    if not path.endswith(".keras"):
        raise ValueError(
            f"A saved {what} is a `.keras` file (a SavedModel folder is for "
            f"TF Serving). Received: path={path!r}"
        )
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"Could not read a saved {what}: the file is not a `.keras` "
            f"archive (a zip file). Received: path={path!r}"
        )
    register()
    _register_training_objects()
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"Could not read a saved {what} ({type(error).__name__}: "
            f"{' '.join(str(error).split())[:300]}). Received: path={path!r}"
        ) from None
    if not isinstance(model, cls):
        raise ValueError(
            f"The file holds a model that is not a {cls.__name__}. "
            f"Received: {type(model).__name__} from path={path!r}"
        )
    return model


def _register_training_objects():
    """Imports the keras-seq classes a compiled model's saved training
    configuration can name (the learning-rate schedule inside the
    optimizer, the masked losses and metrics): a model saved after
    `compile(Adam(TransformerSchedule(...)), ...)` must load in a fresh
    process too."""
    from keras_seq import metrics  # noqa: F401
    from keras_seq import optimizers  # noqa: F401
