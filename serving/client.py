"""Client for a TF Serving server running the exported translator.

Both TF Serving APIs are supported:

- REST: `http://host:8501` -> `POST /v1/models/<name>:predict` with the
  columnar body `{"signature_name": ..., "inputs": {"text": [...]}}`.
- gRPC: `grpc://host:8500` (or `host:8500`) -> `PredictionService.Predict`
  with a `tensorflow_serving.apis.predict_pb2.PredictRequest`.

    client = TranslationClient("grpc://localhost:8500", model_name="translator")
    client.translate(["25 November 2026"])  # ["2026-11-25"]

Versions: without `version`, TF Serving answers with the newest version it
could load, which is the newest COMPLETE one (a half-copied folder fails to
load and the previous version stays served; the pipeline's Pusher never
shows one, see `keras_seq_pipelines.pusher`). `model_versions()` lists what
the server holds and in which state, `latest_available_version()` the
newest it serves, and `version=` pins every request to one version (on
disk, `keras_seq_serving.versions.latest_complete_version` picks the same).
"""

import json
import urllib.error
import urllib.request

import numpy as np

TEXT_INPUT = "text"
TRANSLATION_OUTPUT = "translation"
AVAILABLE = "AVAILABLE"


def build_predict_request(
    sentences, model_name, signature_name="serving_default", version=None
):
    """A `PredictRequest` holding `sentences` as the `text` string tensor."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    sentences = _check_sentences(sentences)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    request.inputs[TEXT_INPUT].CopyFrom(
        tf.make_tensor_proto(
            [s.encode("utf-8") for s in sentences], dtype=tf.string
        )
    )
    return request


def parse_predict_response(response):
    """`{output name: numpy array}` of a `PredictResponse` (strings decoded
    to `str`)."""
    import tensorflow as tf

    outputs = {}
    for name, tensor in response.outputs.items():
        value = tf.make_ndarray(tensor)
        if value.dtype == object:
            value = np.vectorize(
                lambda b: b.decode("utf-8", errors="replace"), otypes=[object]
            )(value)
        outputs[name] = value
    return outputs


def build_rest_body(sentences, signature_name="serving_default"):
    """JSON body of a REST predict call (columnar `inputs` format)."""
    sentences = _check_sentences(sentences)
    return {"signature_name": signature_name, "inputs": {TEXT_INPUT: sentences}}


def parse_rest_response(body):
    """`{output name: numpy array}` of a REST predict response body."""
    if "error" in body:
        raise RuntimeError(f"TF Serving returned an error: {body['error']}")
    outputs = body.get("outputs")
    if outputs is None:
        raise ValueError(
            "A REST predict response must hold 'outputs' (columnar format). "
            f"Received: body keys={sorted(body)}"
        )
    if not isinstance(outputs, dict):
        # A signature with a single output is returned unnamed.
        outputs = {TRANSLATION_OUTPUT: outputs}
    return {name: np.asarray(value) for name, value in outputs.items()}


def parse_rest_status(body):
    """`{version: state}` of a REST `GET /v1/models/<name>` body."""
    statuses = body.get("model_version_status")
    if statuses is None:
        raise ValueError(
            "A REST model status response must hold 'model_version_status'. "
            f"Received: body keys={sorted(body)}"
        )
    return {int(s["version"]): s["state"] for s in statuses}


def _check_version(version):
    if version is None:
        return None
    if isinstance(version, bool) or not str(version).isdigit():
        raise ValueError(
            "`version` must be a non-negative integer (a version folder "
            f"name). Received: version={version!r}"
        )
    return int(version)


def _check_sentences(sentences):
    if isinstance(sentences, str):
        raise ValueError(
            "`sentences` must be a list of strings, not one string. "
            f"Received: sentences={sentences!r}"
        )
    sentences = list(sentences)
    bad = [s for s in sentences if not isinstance(s, str)]
    if bad:
        raise ValueError(
            f"`sentences` must hold only str. Received: sentences={sentences!r}"
        )
    return sentences


class TranslationClient:
    """Translates through a TF Serving server (REST or gRPC).

    Args:
        url: `http://host:port` (REST), `grpc://host:port` or `host:port`
            (gRPC).
        model_name: the served model name (`--model_name` of the server).
        signature_name: signature to call.
        timeout: seconds per request.
        version: pin requests to this model version; None lets the server
            use its newest loaded (complete) version.
    """

    def __init__(
        self,
        url,
        model_name="translator",
        signature_name="serving_default",
        timeout=30.0,
        version=None,
    ):
        if not isinstance(url, str) or not url:
            raise ValueError(
                f"`url` must be a non-empty str. Received: url={url!r}"
            )
        self.url = url.rstrip("/")
        self.model_name = model_name
        self.signature_name = signature_name
        self.timeout = timeout
        self.version = _check_version(version)
        self.protocol = "rest" if self.url.startswith("http") else "grpc"
        self._stub = None
        self._channel = None

    def predict(self, sentences):
        """All outputs of the signature, `{name: numpy array}`."""
        if self.protocol == "rest":
            return self._predict_rest(sentences)
        return self._predict_grpc(sentences)

    def translate(self, sentences):
        """Translations of `sentences`, a list of `str`."""
        outputs = self.predict(sentences)
        return [str(t) for t in outputs[TRANSLATION_OUTPUT].tolist()]

    def model_versions(self):
        """`{version: state}` of the served model's versions (states:
        START, LOADING, AVAILABLE, UNLOADING, END)."""
        if self.protocol == "rest":
            url = f"{self.url}/v1/models/{self.model_name}"
            try:
                with urllib.request.urlopen(url, timeout=self.timeout) as r:
                    return parse_rest_status(json.loads(r.read()))
            except urllib.error.HTTPError as e:
                detail = e.read().decode("utf-8", errors="replace")
                raise RuntimeError(
                    f"TF Serving REST status call failed ({e.code}): {detail}"
                ) from e
        from tensorflow_serving.apis import get_model_status_pb2
        from tensorflow_serving.apis import model_service_pb2_grpc

        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = self.model_name
        stub = model_service_pb2_grpc.ModelServiceStub(self._grpc_channel())
        response = stub.GetModelStatus(request, timeout=self.timeout)
        state = get_model_status_pb2.ModelVersionStatus.State.Name
        return {
            int(s.version): state(s.state)
            for s in response.model_version_status
        }

    def latest_available_version(self):
        """The newest version the server serves (state AVAILABLE).

        Raises:
            RuntimeError: no version is available.
        """
        found = self.model_versions()
        available = [v for v, state in found.items() if state == AVAILABLE]
        if not available:
            raise RuntimeError(
                f"TF Serving has no AVAILABLE version of {self.model_name!r}. "
                f"Received: {found}"
            )
        return max(available)

    def _grpc_channel(self):
        import grpc

        if self._channel is None:
            target = self.url.removeprefix("grpc://")
            self._channel = grpc.insecure_channel(target)
        return self._channel

    def _predict_rest(self, sentences):
        body = json.dumps(build_rest_body(sentences, self.signature_name))
        path = f"/v1/models/{self.model_name}"
        if self.version is not None:
            path += f"/versions/{self.version}"
        request = urllib.request.Request(
            f"{self.url}{path}:predict",
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as r:
                return parse_rest_response(json.loads(r.read()))
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", errors="replace")
            raise RuntimeError(
                f"TF Serving REST call failed ({e.code}): {detail}"
            ) from e

    def _predict_grpc(self, sentences):
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        if self._stub is None:
            self._stub = prediction_service_pb2_grpc.PredictionServiceStub(
                self._grpc_channel()
            )
        request = build_predict_request(
            sentences, self.model_name, self.signature_name, self.version
        )
        response = self._stub.Predict(request, timeout=self.timeout)
        return parse_predict_response(response)

    def close(self):
        if self._channel is not None:
            self._channel.close()
        self._channel = None
        self._stub = None
