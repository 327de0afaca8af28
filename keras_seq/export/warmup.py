"""TF Serving warm-up records (`assets.extra/tf_serving_warmup_requests`).

TF Serving replays these `PredictionLog` records when it loads a version,
so the first real request does not pay for graph initialisation.
"""

import os

WARMUP_FILENAME = "tf_serving_warmup_requests"


def write_warmup_requests(
    export_dir, model_name, inputs, signature_name="serving_default"
):
    """Writes one warm-up `PredictRequest` for `signature_name`.

    Args:
        export_dir: the SavedModel folder.
        model_name: the TF Serving model name the request addresses.
        inputs: dict of input name -> list of values (e.g. `{"text":
            ["25 November 2026"]}`; `bytes` values for string inputs).
        signature_name: the signature the request runs.

    Returns:
        The path of the written file.
    """
    import tensorflow as tf

    try:
        from tensorflow_serving.apis import model_pb2
        from tensorflow_serving.apis import predict_pb2
        from tensorflow_serving.apis import prediction_log_pb2
    except ImportError as error:
        raise ImportError(
            "Writing TF Serving warm-up records needs the "
            "tensorflow-serving-api package (pip install "
            "tensorflow-serving-api), or pass warmup_texts=() to skip them. "
            f"Received: {error}"
        ) from None

    directory = os.path.join(export_dir, "assets.extra")
    tf.io.gfile.makedirs(directory)
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(
            name=model_name, signature_name=signature_name
        )
    )
    for name, values in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(values))
    log = prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)
    )
    path = os.path.join(directory, WARMUP_FILENAME)
    with tf.io.TFRecordWriter(path) as writer:
        writer.write(log.SerializeToString())
    return path


def check_export_target(path, model_name):
    """Checks the arguments every export shares; returns `path` as a str.

    Raises:
        ValueError: `path` already holds a SavedModel (TF Serving versions
            are immutable), or `model_name` is empty or holds "/".
    """
    path = os.fspath(path)
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        raise ValueError(
            "The export folder already holds a SavedModel; TF Serving "
            "versions are immutable, write a new version folder. Received: "
            f"path={path!r}"
        )
    if not model_name or "/" in model_name:
        raise ValueError(
            "`model_name` must be a non-empty name without '/'. "
            f"Received: model_name={model_name!r}"
        )
    return path
