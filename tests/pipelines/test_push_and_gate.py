"""The atomic Pusher and the anomalies gate, on their executors and in a
small LocalDagRunner pipeline (no Beam, no training)."""

import os

import pytest
from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import OutputArtifact
from tfx.dsl.component.experimental.annotations import Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils
from tfx.types import standard_artifacts

from keras_seq_pipelines import gates
from keras_seq_pipelines import pipeline
from keras_seq_pipelines import pusher
from keras_seq_serving import versions


def saved_model_like(folder, size=1000):
    """A folder with the files of a SavedModel (content does not matter)."""
    os.makedirs(os.path.join(folder, "variables"))
    os.makedirs(os.path.join(folder, "assets"))
    for name in (
        "saved_model.pb",
        "fingerprint.pb",
        "variables/variables.index",
        "variables/variables.data-00000-of-00001",
        "assets/vocab.txt",
    ):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(os.urandom(size))
    return folder


def pipeline_pusher_executor(tmp_path):
    """The executor class the pipeline's Pusher really uses."""
    p = pipeline.create_pipeline(
        "t", str(tmp_path / "root"), str(tmp_path / "d"), str(tmp_path / "s")
    )
    component = next(c for c in p.components if c.id == "Pusher")
    return component.executor_spec.executor_class


def run_pusher(executor_class, model_dir, base_dir, blessed=True):
    model = standard_artifacts.Model()
    model.uri = str(model_dir)
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(model_dir) + "_blessing"
    blessing.set_int_custom_property("blessed", int(blessed))
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(model_dir) + "_pushed"
    destination = tfx.proto.PushDestination(
        filesystem=tfx.proto.PushDestination.Filesystem(
            base_directory=str(base_dir)
        )
    )
    from tfx.utils import proto_utils

    executor_class().Do(
        {"model": [model], "model_blessing": [blessing]},
        {"pushed_model": [pushed]},
        {"push_destination": proto_utils.proto_to_json(destination)},
    )
    return pushed


def test_a_push_killed_midway_leaves_no_version_folder(tmp_path, monkeypatch):
    # Issue 15: TFX's Pusher copies file by file into <base>/<version>, so a
    # push that dies midway leaves a half-written version that `translate`
    # and TF Serving see.
    model = saved_model_like(str(tmp_path / "model" / "Format-Serving"))
    base = tmp_path / "serving"
    executor_class = pipeline_pusher_executor(tmp_path)
    from tfx.dsl.io import fileio

    real_copy = fileio.copy
    copied = []

    def dying_copy(src, dst, *args, **kwargs):
        if len(copied) == 2:
            raise KeyboardInterrupt("killed during the copy")
        copied.append(dst)
        return real_copy(src, dst, *args, **kwargs)

    monkeypatch.setattr(fileio, "copy", dying_copy)
    with pytest.raises(KeyboardInterrupt):
        run_pusher(executor_class, tmp_path / "model", base)
    numbered = [n for n in os.listdir(base) if n.isdigit()]
    assert numbered == [], os.listdir(base)
    monkeypatch.setattr(fileio, "copy", real_copy)
    pushed = run_pusher(executor_class, tmp_path / "model", base)
    (name,) = os.listdir(base)  # leftovers removed, one complete version
    assert name == pushed.get_string_custom_property("pushed_version")
    assert versions.is_complete(os.path.join(base, name))
    with open(os.path.join(model, "variables/variables.index"), "rb") as a:
        with open(
            os.path.join(base, name, "variables/variables.index"), "rb"
        ) as b:
            assert a.read() == b.read()


def test_push_never_reuses_or_skips_a_version(tmp_path):
    model = tmp_path / "model"
    saved_model_like(str(model / "Format-Serving"))
    base = tmp_path / "serving"
    os.makedirs(base / "9999999999")  # a version from the future
    pushed = run_pusher(pusher.AtomicPusherExecutor, model, base)
    assert pushed.get_string_custom_property("pushed_version") == "10000000000"
    again = run_pusher(pusher.AtomicPusherExecutor, model, base)
    assert again.get_string_custom_property("pushed_version") == "10000000001"
    not_blessed = run_pusher(
        pusher.AtomicPusherExecutor, model, tmp_path / "other", blessed=False
    )
    assert not_blessed.get_int_custom_property("pushed") == 0
    assert not os.path.exists(tmp_path / "other")


# ------------------------------------------------------------ the gate


@component
def MakeAnomalies(  # noqa: N802
    anomalies: OutputArtifact[standard_artifacts.ExampleAnomalies],
):
    anomalies_artifact(anomalies.uri, with_anomaly=True)
    anomalies.split_names = artifact_utils.encode_split_names(["train", "eval"])


@component
def Downstream(marker: Parameter[str]):  # noqa: N802
    with open(marker, "w") as f:
        f.write("ran")


def anomalies_artifact(folder, with_anomaly):
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    artifact = standard_artifacts.ExampleAnomalies()
    artifact.uri = str(folder)
    artifact.split_names = artifact_utils.encode_split_names(["train", "eval"])
    for split in ("train", "eval"):
        anomalies = anomalies_pb2.Anomalies()
        if with_anomaly and split == "eval":
            info = anomalies.anomaly_info["target"]
            info.short_description = "Column dropped"
            info.description = "The feature was present in fewer examples."
        path = os.path.join(str(folder), f"Split-{split}")
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "SchemaDiff.pb"), "wb") as f:
            f.write(anomalies.SerializeToString())
    return artifact


def test_gate_fails_with_the_anomaly_descriptions(tmp_path):
    artifact = anomalies_artifact(tmp_path / "a", with_anomaly=True)
    executor = gates.AnomaliesGateExecutor()
    with pytest.raises(
        gates.AnomaliesFound,
        match="--allow-anomalies.*Received: eval: feature 'target': The "
        "feature was present in fewer",
    ):
        executor.Do({"anomalies": [artifact]}, {}, {"allow_anomalies": 0})
    executor.Do({"anomalies": [artifact]}, {}, {"allow_anomalies": 1})
    clean = anomalies_artifact(tmp_path / "b", with_anomaly=False)
    executor.Do({"anomalies": [clean]}, {}, {"allow_anomalies": 0})


def test_transform_and_trainer_run_after_the_gate(tmp_path):
    p = pipeline.create_pipeline(
        "t", str(tmp_path / "root"), str(tmp_path / "d"), str(tmp_path / "s")
    )
    nodes = {c.id: c for c in p.components}
    for name in ("Transform", "Trainer"):
        upstream = {n.id for n in nodes[name].upstream_nodes}
        assert "AnomaliesGate" in upstream, name


def test_a_failing_gate_stops_downstream_components(tmp_path):
    """With LocalDagRunner: anomalies -> the gate fails -> a component that
    depends on the gate (as Transform does) never runs."""
    marker = tmp_path / "downstream_ran"
    make = MakeAnomalies()
    gate = gates.AnomaliesGate(anomalies=make.outputs["anomalies"])
    downstream = Downstream(marker=str(marker))
    downstream.add_upstream_node(gate)
    p = tfx.dsl.Pipeline(
        pipeline_name="gate",
        pipeline_root=str(tmp_path / "root"),
        components=[make, gate, downstream],
        metadata_connection_config=(
            tfx.orchestration.metadata.sqlite_metadata_connection_config(
                str(tmp_path / "m.sqlite")
            )
        ),
    )
    with pytest.raises(gates.AnomaliesFound, match="ExampleValidator found"):
        tfx.orchestration.LocalDagRunner().run(p)
    assert not marker.exists()
