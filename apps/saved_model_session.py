"""A SavedModel run the way TF Serving runs it (TF1 session API), for the
commands that read `--model-dir` (`translate`, `caption`)."""

import os
import sys


def latest_version_dir(model_dir):
    """`model_dir` itself if it is a SavedModel, else its newest complete
    version (`keras_seq_serving.versions`: a half-copied newer folder is
    skipped with a warning, as TF Serving keeps serving the last version
    it could load)."""
    import warnings

    from keras_seq_serving import versions

    if not os.path.isdir(model_dir):
        raise ValueError(
            "`--model-dir` does not exist or is not a folder. Received: "
            f"model_dir={model_dir!r}"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", versions.IncompleteVersionWarning)
        path = versions.resolve_saved_model(model_dir)
    for warning in caught:
        print(f"keras-seq: warning: {warning.message}", file=sys.stderr)
    return path


class SessionModel:
    """A SavedModel whose signatures run through the TF1 session API, the
    loader TF Serving itself uses (so what a command prints is what the
    server would answer).

    Args:
        model_dir: a SavedModel folder or a `<model_name>/` folder of
            numbered versions (the newest complete one is loaded).
    """

    def __init__(self, model_dir):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers the TF Text ops)

        self.path = latest_version_dir(model_dir)
        # The TF1 loader logs a deprecation notice: not for the user.
        tf.get_logger().setLevel("ERROR")
        self._graph = tf.Graph()
        self._session = tf.compat.v1.Session(graph=self._graph)
        try:
            with self._graph.as_default():
                meta_graph = tf.compat.v1.saved_model.loader.load(
                    self._session, ["serve"], self.path
                )
        except (OSError, ValueError, RuntimeError, tf.errors.OpError) as error:
            detail = " ".join(str(error).split())[:200]
            raise ValueError(
                "Could not load the SavedModel "
                f"({type(error).__name__}: {detail}). Received: "
                f"model_dir={self.path!r}"
            ) from None
        self.signatures = dict(meta_graph.signature_def)
        if "serving_default" not in self.signatures:
            raise ValueError(
                "The SavedModel has no serving_default signature. Received: "
                f"model_dir={self.path!r}"
            )

    def run(self, name, input_key, values):
        """Runs signature `name` on a batch of `values` fed to its
        `input_key` string input; returns `{output name: NumPy array}`."""
        import numpy as np

        signature = self.signatures[name]
        if input_key not in signature.inputs:
            raise ValueError(
                f"The SavedModel's {name} signature has no {input_key!r} "
                f"input (inputs: {sorted(signature.inputs)}); is it the "
                f"right kind of model? Received: model_dir={self.path!r}"
            )
        fetches = {k: v.name for k, v in signature.outputs.items()}
        feeds = {signature.inputs[input_key].name: np.array(values, object)}
        return self._session.run(fetches, feed_dict=feeds)
