"""TF Serving layout helpers for exported models.

The SavedModel itself is written by the library's task objects
(`keras_seq.models.Translator.export`, in `keras_seq.export`): raw text in,
raw text out, with warm-up records. TF Serving wants it under
`<base_dir>/<model_name>/<version>/`; `versioned_export_dir` builds that
path.
"""

import os
import time


def versioned_export_dir(base_dir, model_name, version=None):
    """`<base_dir>/<model_name>/<version>`; version defaults to Unix time."""
    if not model_name or "/" in model_name:
        raise ValueError(
            "`model_name` must be a non-empty name without '/'. "
            f"Received: model_name={model_name!r}"
        )
    version = int(time.time()) if version is None else version
    if not isinstance(version, int) or version < 0:
        raise ValueError(
            "`version` must be a non-negative int (TF Serving reads numeric "
            f"version folders). Received: version={version!r}"
        )
    return os.path.join(base_dir, model_name, str(version))
