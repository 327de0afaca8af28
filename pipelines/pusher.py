"""An atomic Pusher: a model version appears whole or not at all.

TFX's Pusher copies the SavedModel file by file into
`<base_directory>/<version>/` (`saved_model.pb` last). A process killed
during the copy leaves a numbered folder that is half written: TF Serving
tries to load it (and keeps the old version when it fails), and a program
that picks "the highest number" loads a broken model.

`AtomicPusherExecutor` copies into a hidden temporary folder of the same
base directory (`.<version>.incomplete-<random>`; a name TF Serving and
`keras_seq_serving.versions` never take for a version), checks that the copy
is a complete SavedModel, then renames it to `<version>`. On a local or
POSIX file system the rename is atomic, so readers see either no folder or
the complete model. (On object stores such as GCS a folder rename is a copy;
there, readers must check completeness, as
`keras_seq_serving.versions.latest_complete_version` does.)

A leftover temporary folder (a push that was killed) is removed by the next
push. A version number is never reused: if `int(time.time())` is not above
every existing version (two pushes in one second, a clock set back), the
next number above them is used, where TFX's Pusher would skip the push.

This is an executor class for the stock `Pusher` component:
`Pusher(..., custom_executor_spec=ExecutorClassSpec(AtomicPusherExecutor))`
keeps its inputs, outputs, blessing check and ML Metadata properties.
"""

import os
import time
import uuid

from absl import logging
from tfx.components.pusher import executor as tfx_pusher_executor
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs
from tfx.utils import io_utils
from tfx.utils import proto_utils

from keras_seq_serving import versions

INCOMPLETE_MARK = ".incomplete-"


def next_version(base_directory, now=None):
    """`int(now)`, or one more than the highest existing version."""
    now = int(time.time() if now is None else now)
    existing = [
        int(name)
        for name in (
            fileio.listdir(base_directory)
            if fileio.isdir(base_directory)
            else []
        )
        if name.strip("/").isdigit()
    ]
    return str(max([now] + [v + 1 for v in existing]))


def remove_leftovers(base_directory):
    """Deletes temporary folders of pushes that did not finish."""
    if not fileio.isdir(base_directory):
        return []
    removed = []
    for name in fileio.listdir(base_directory):
        name = name.strip("/")
        if name.startswith(".") and INCOMPLETE_MARK in name:
            path = os.path.join(base_directory, name)
            logging.warning("Removing an unfinished push: %s", path)
            fileio.rmtree(path)
            removed.append(path)
    return removed


def push_atomically(model_path, base_directory, now=None):
    """Copies the SavedModel `model_path` to `<base>/<version>` atomically.

    Returns:
        `(version, serving_path)`.

    Raises:
        RuntimeError: the copy is not a complete SavedModel (nothing is
            published).
    """
    fileio.makedirs(base_directory)
    remove_leftovers(base_directory)
    version = next_version(base_directory, now)
    serving_path = os.path.join(base_directory, version)
    tmp = os.path.join(
        base_directory, f".{version}{INCOMPLETE_MARK}{uuid.uuid4().hex[:8]}"
    )
    try:
        io_utils.copy_dir(model_path, tmp)
        if not versions.is_complete(tmp):
            raise RuntimeError(
                "The model to push is not a complete SavedModel "
                f"({', '.join(versions.COMPLETE_FILES)} needed). Received: "
                f"model_path={model_path!r}"
            )
        fileio.rename(tmp, serving_path, overwrite=False)
    except BaseException:
        try:
            if fileio.exists(tmp):
                fileio.rmtree(tmp)
        except Exception:  # noqa: BLE001 (the next push removes it)
            pass
        raise
    logging.info("Model pushed atomically to %s.", serving_path)
    return version, serving_path


class AtomicPusherExecutor(tfx_pusher_executor.Executor):
    """TFX's Pusher executor with an atomic file-system push."""

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802
        self._log_startup(input_dict, output_dict, exec_properties)
        model_push = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY]
        )
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(model_push)
            return
        model_path = self.GetModelPath(input_dict)
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.PUSH_DESTINATION_KEY],
            destination,
        )
        kind = destination.WhichOneof("destination")
        if kind != "filesystem":
            raise NotImplementedError(
                "AtomicPusherExecutor pushes to a file system only. "
                f"Received: push destination {kind!r}"
            )
        version, serving_path = push_atomically(
            model_path, destination.filesystem.base_directory
        )
        # Archive copy in the pushed_model artifact, as TFX's Pusher does.
        io_utils.copy_dir(model_path, model_push.uri)
        self._MarkPushed(
            model_push,
            pushed_destination=serving_path,
            pushed_version=version,
        )
