"""The client against in-process gRPC and REST test doubles of TF Serving.

Both doubles run the exported SavedModel for real; they only replace the
`tensorflow_model_server` binary, which is not installable here.
"""

import functools
import http.server
import json
import threading
from concurrent import futures

import grpc
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from keras_seq_serving import client

SENTENCES = ["25 November 2026", "2042.1.5", ""]


# Exports train a model, so these tests are slow (a minute or two).
pytestmark = pytest.mark.slow


@functools.cache
def _load(export_dir):
    return tf.saved_model.load(export_dir)


def run_signature(export_dir, name, text):
    signature = _load(export_dir).signatures[name]
    return {k: v.numpy() for k, v in signature(text=tf.constant(text)).items()}


class PredictionServiceDouble(
    prediction_service_pb2_grpc.PredictionServiceServicer
):
    def __init__(self, export_dir):
        self.export_dir = export_dir
        self.requests = []

    def Predict(self, request, context):  # noqa: N802
        self.requests.append(request)
        if request.model_spec.name != "translator":
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown model")
        text = tf.make_ndarray(request.inputs["text"])
        outputs = run_signature(
            self.export_dir, request.model_spec.signature_name, text
        )
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(request.model_spec)
        for key, value in outputs.items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
        return response


@pytest.fixture
def grpc_server(translator):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = PredictionServiceDouble(translator["export_dir"])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        servicer, server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"grpc://127.0.0.1:{port}", servicer
    server.stop(None)


def make_rest_handler(export_dir):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            if self.path != "/v1/models/translator:predict":
                self.send_response(404)
                self.end_headers()
                self.wfile.write(b'{"error": "Servable not found"}')
                return
            outputs = run_signature(
                export_dir,
                body.get("signature_name", "serving_default"),
                np.array(body["inputs"]["text"], dtype=object),
            )
            payload = {
                k: (
                    np.vectorize(lambda b: b.decode("utf-8"))(v).tolist()
                    if v.dtype == object
                    else v.tolist()
                )
                for k, v in outputs.items()
            }
            data = json.dumps({"outputs": payload}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def rest_server(translator):
    server = http.server.HTTPServer(
        ("127.0.0.1", 0), make_rest_handler(translator["export_dir"])
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_predict_request_proto_round_trip():
    request = client.build_predict_request(
        ["ä b", ""], "translator", "n_best", version=3
    )
    parsed = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    assert parsed.model_spec.name == "translator"
    assert parsed.model_spec.signature_name == "n_best"
    assert parsed.model_spec.version.value == 3
    values = tf.make_ndarray(parsed.inputs["text"])
    assert [v.decode("utf-8") for v in values] == ["ä b", ""]


def test_grpc_client_matches_local_model(translator, grpc_server):
    url, servicer = grpc_server
    expected = run_signature(
        translator["export_dir"], "serving_default", SENTENCES
    )
    got = client.TranslationClient(url).translate(SENTENCES)
    assert got == [t.decode("utf-8") for t in expected["translation"]]
    # The server received a real, complete PredictRequest.
    assert servicer.requests[-1].model_spec.signature_name == "serving_default"
    outputs = client.TranslationClient(url, signature_name="n_best").predict(
        SENTENCES
    )
    assert outputs["translations"].shape == (3, translator["beam_width"])
    np.testing.assert_allclose(
        outputs["scores"],
        run_signature(translator["export_dir"], "n_best", SENTENCES)["scores"],
    )


def test_grpc_unknown_model_is_a_clear_error(grpc_server):
    url, _ = grpc_server
    with pytest.raises(grpc.RpcError):
        client.TranslationClient(url, model_name="nope").translate(["x"])


def test_rest_client_matches_local_model(translator, rest_server):
    expected = run_signature(
        translator["export_dir"], "serving_default", SENTENCES
    )
    got = client.TranslationClient(rest_server).translate(SENTENCES)
    assert got == [t.decode("utf-8") for t in expected["translation"]]


def test_rest_errors_are_reported(rest_server):
    with pytest.raises(RuntimeError, match="404"):
        client.TranslationClient(rest_server, model_name="nope").translate(
            ["x"]
        )


def test_client_input_errors():
    with pytest.raises(ValueError, match="Received: sentences='abc'"):
        client.build_rest_body("abc")
    with pytest.raises(ValueError, match="Received: sentences="):
        client.build_predict_request([1, 2], "translator")
    with pytest.raises(ValueError, match="Received: url=''"):
        client.TranslationClient("")
    with pytest.raises(ValueError, match="'outputs'"):
        client.parse_rest_response({"predictions": []})
