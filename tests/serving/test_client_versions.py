"""TranslationClient and model versions: the served versions and their
states, the newest AVAILABLE one, and pinning requests to a version (REST
and gRPC, against small fake servers)."""

import http.server
import json
import threading
from concurrent import futures

import grpc
import pytest
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import prediction_service_pb2_grpc

from keras_seq_serving import client

# Version 30 is a half-copied folder the server failed to load.
STATUSES = [(10, "END"), (20, "AVAILABLE"), (30, "END")]


@pytest.fixture
def rest_server():
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, body, code=200):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            self._send(
                {
                    "model_version_status": [
                        {"version": str(v), "state": s, "status": {}}
                        for v, s in STATUSES
                    ]
                }
            )

        def do_POST(self):  # noqa: N802
            seen.append(self.path)
            length = int(self.headers["Content-Length"])
            texts = json.loads(self.rfile.read(length))["inputs"]["text"]
            self._send({"outputs": {"translation": [t[::-1] for t in texts]}})

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()


class FakeServing(
    model_service_pb2_grpc.ModelServiceServicer,
    prediction_service_pb2_grpc.PredictionServiceServicer,
):
    def __init__(self):
        self.versions_asked = []

    def GetModelStatus(self, request, context):  # noqa: N802
        response = get_model_status_pb2.GetModelStatusResponse()
        for version, state in STATUSES:
            response.model_version_status.add(
                version=version,
                state=get_model_status_pb2.ModelVersionStatus.State.Value(
                    state
                ),
            )
        return response

    def Predict(self, request, context):  # noqa: N802
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        self.versions_asked.append(
            request.model_spec.version.value
            if request.model_spec.HasField("version")
            else None
        )
        texts = tf.make_ndarray(request.inputs["text"])
        response = predict_pb2.PredictResponse()
        response.outputs["translation"].CopyFrom(
            tf.make_tensor_proto([t[::-1] for t in texts], dtype=tf.string)
        )
        return response


@pytest.fixture
def grpc_server():
    servicer = FakeServing()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(servicer, server)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        servicer, server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"grpc://127.0.0.1:{port}", servicer
    server.stop(None)


def test_rest_versions_and_pinning(rest_server):
    url, seen = rest_server
    c = client.TranslationClient(url)
    assert c.model_versions() == {10: "END", 20: "AVAILABLE", 30: "END"}
    assert c.latest_available_version() == 20
    assert c.translate(["abc"]) == ["cba"]
    pinned = client.TranslationClient(url, version=c.latest_available_version())
    assert pinned.translate(["abc"]) == ["cba"]
    assert seen == [
        "/v1/models/translator:predict",
        "/v1/models/translator/versions/20:predict",
    ]


def test_grpc_versions_and_pinning(grpc_server):
    url, servicer = grpc_server
    c = client.TranslationClient(url)
    assert c.model_versions() == {10: "END", 20: "AVAILABLE", 30: "END"}
    assert c.latest_available_version() == 20
    assert c.translate(["abc"]) == ["cba"]
    pinned = client.TranslationClient(url, version=20)
    assert pinned.translate(["abc"]) == ["cba"]
    assert servicer.versions_asked == [None, 20]
    c.close()
    pinned.close()


@pytest.mark.parametrize("version", [-1, "latest", 1.5, True])
def test_bad_version_is_a_clear_error(version):
    with pytest.raises(ValueError, match="Received: version="):
        client.TranslationClient("http://localhost:1", version=version)


def test_no_available_version_is_a_clear_error():
    with pytest.raises(ValueError, match="model_version_status"):
        client.parse_rest_status({"error": "x"})
    c = client.TranslationClient("http://localhost:1")
    c.model_versions = lambda: {5: "LOADING"}
    with pytest.raises(RuntimeError, match="no AVAILABLE version"):
        c.latest_available_version()
