"""Client for a TF Serving server running the exported translator.

Both TF Serving APIs are supported:

- REST: `http://host:8501` -> `POST /v1/models/<name>:predict` with the
  columnar body `{"signature_name": ..., "inputs": {"text": [...]}}`.
- gRPC: `grpc://host:8500` (or `host:8500`) -> `PredictionService.Predict`
  with a `tensorflow_serving.apis.predict_pb2.PredictRequest`.

    client = TranslationClient("grpc://localhost:8500", model_name="translator")
    client.translate(["25 November 2026"])  # ["2026-11-25"]
"""

import json
import urllib.error
import urllib.request

import numpy as np

TEXT_INPUT = "text"
TRANSLATION_OUTPUT = "translation"


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
    """

    def __init__(
        self,
        url,
        model_name="translator",
        signature_name="serving_default",
        timeout=30.0,
    ):
        if not isinstance(url, str) or not url:
            raise ValueError(
                f"`url` must be a non-empty str. Received: url={url!r}"
            )
        self.url = url.rstrip("/")
        self.model_name = model_name
        self.signature_name = signature_name
        self.timeout = timeout
        self.protocol = "rest" if self.url.startswith("http") else "grpc"
        self._stub = None

    def predict(self, sentences):
        """All outputs of the signature, `{name: numpy array}`."""
        if self.protocol == "rest":
            return self._predict_rest(sentences)
        return self._predict_grpc(sentences)

    def translate(self, sentences):
        """Translations of `sentences`, a list of `str`."""
        outputs = self.predict(sentences)
        return [str(t) for t in outputs[TRANSLATION_OUTPUT].tolist()]

    def _predict_rest(self, sentences):
        body = json.dumps(build_rest_body(sentences, self.signature_name))
        request = urllib.request.Request(
            f"{self.url}/v1/models/{self.model_name}:predict",
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
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        if self._stub is None:
            target = self.url.removeprefix("grpc://")
            self._channel = grpc.insecure_channel(target)
            self._stub = prediction_service_pb2_grpc.PredictionServiceStub(
                self._channel
            )
        request = build_predict_request(
            sentences, self.model_name, self.signature_name
        )
        response = self._stub.Predict(request, timeout=self.timeout)
        return parse_predict_response(response)

    def close(self):
        if self._stub is not None:
            self._channel.close()
            self._stub = None
