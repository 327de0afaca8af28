"""`AnomaliesGate`: stops the pipeline on ExampleValidator's anomalies.

ExampleValidator only writes its findings (`Split-<split>/SchemaDiff.pb`,
a `tensorflow_metadata` `Anomalies` proto per split); nothing downstream
reads them. This component reads them and fails with their descriptions,
and the pipeline makes Transform and the Trainer run after it
(`add_upstream_node`), so a corpus with anomalies never reaches training.
`allow_anomalies=True` (`--allow-anomalies`) logs them and lets the run go
on.
"""

import os

from absl import logging
from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import base_executor
from tfx.dsl.components.base import executor_spec
from tfx.types import artifact_utils
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter
from tfx.types.component_spec import ExecutionParameter

SCHEMA_DIFF_FILENAME = "SchemaDiff.pb"


class AnomaliesFound(ValueError):
    """ExampleValidator found anomalies and they are not allowed."""


def read_anomalies(anomalies_artifact):
    """`{split: [description, ...]}` of an `ExampleAnomalies` artifact
    (splits without anomalies are left out)."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2
    from tfx.utils import io_utils

    found = {}
    splits = artifact_utils.decode_split_names(anomalies_artifact.split_names)
    for split in splits:
        path = os.path.join(
            artifact_utils.get_split_uri([anomalies_artifact], split),
            SCHEMA_DIFF_FILENAME,
        )
        anomalies = anomalies_pb2.Anomalies.FromString(
            io_utils.read_bytes_file(path)
        )
        messages = []
        for feature, info in sorted(anomalies.anomaly_info.items()):
            text = info.description or info.short_description
            messages.append(f"feature {feature!r}: {text}")
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            messages.append(
                f"dataset: {info.description or info.short_description}"
            )
        if messages:
            found[split] = messages
    return found


def describe(found):
    return "; ".join(
        f"{split}: {message}"
        for split, messages in sorted(found.items())
        for message in messages
    )


class AnomaliesGateSpec(types.ComponentSpec):
    PARAMETERS = {"allow_anomalies": ExecutionParameter(type=int)}
    INPUTS = {
        "anomalies": ChannelParameter(type=standard_artifacts.ExampleAnomalies)
    }
    OUTPUTS = {}


class AnomaliesGateExecutor(base_executor.BaseExecutor):
    """Fails on anomalies unless `allow_anomalies` (module docstring)."""

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802
        anomalies = artifact_utils.get_single_instance(input_dict["anomalies"])
        found = read_anomalies(anomalies)
        if not found:
            logging.info("AnomaliesGate: no anomaly.")
            return
        text = describe(found)
        if exec_properties.get("allow_anomalies"):
            logging.warning(
                "AnomaliesGate: anomalies allowed (--allow-anomalies): %s",
                text,
            )
            return
        raise AnomaliesFound(
            f"ExampleValidator found anomalies in the data, so the run stops "
            f"before Transform and training: fix the corpus (or pass "
            f"--allow-anomalies to run anyway). Received: {text} "
            f"(in {anomalies.uri})"
        )


class AnomaliesGate(base_component.BaseComponent):
    """Fails when ExampleValidator found anomalies (module docstring).

    Args:
        anomalies: `ExampleAnomalies` channel of ExampleValidator.
        allow_anomalies: log the anomalies instead of failing.
    """

    SPEC_CLASS = AnomaliesGateSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(AnomaliesGateExecutor)

    def __init__(self, anomalies, allow_anomalies=False):
        super().__init__(
            spec=AnomaliesGateSpec(
                anomalies=anomalies, allow_anomalies=int(bool(allow_anomalies))
            )
        )
