"""Picking a model version folder: the newest COMPLETE one.

TF Serving's layout is `<base>/<model_name>/<version>/` with integer
version names. A version folder counts only when it is a complete
SavedModel: `saved_model.pb` and `variables/variables.index` present (the
files a SavedModel load needs first; the pipeline's Pusher writes versions
atomically, but a copy made by hand, by `gsutil cp` or by an older pusher
may be half done). Other folders and files (hidden temporary folders of a
push in progress, `assets`, notes) are not versions and are ignored; an
incomplete numbered folder newer than the chosen version is skipped with an
`IncompleteVersionWarning`, which is what TF Serving does too: it keeps
serving the last version it could load.
"""

import os
import warnings

COMPLETE_FILES = (
    "saved_model.pb",
    os.path.join("variables", "variables.index"),
)


class IncompleteVersionWarning(UserWarning):
    """A numbered version folder is not a complete SavedModel."""


def _listdir(path):
    import tensorflow as tf

    if "://" in path:
        return [name.rstrip("/") for name in tf.io.gfile.listdir(path)]
    return os.listdir(path)


def _exists(path):
    if "://" in path:
        import tensorflow as tf

        return tf.io.gfile.exists(path)
    return os.path.exists(path)


def _isdir(path):
    if "://" in path:
        import tensorflow as tf

        return tf.io.gfile.isdir(path)
    return os.path.isdir(path)


def is_complete(path):
    """Whether `path` holds a complete SavedModel (module docstring)."""
    return all(_exists(os.path.join(path, f)) for f in COMPLETE_FILES)


def version_dirs(base_dir):
    """`[(version, path)]` of the numbered folders of `base_dir`, oldest
    first (complete or not)."""
    if not _isdir(base_dir):
        return []
    return sorted(
        (int(name), os.path.join(base_dir, name))
        for name in _listdir(base_dir)
        if name.isdigit() and _isdir(os.path.join(base_dir, name))
    )


def complete_versions(base_dir):
    """`[(version, path)]` of the complete versions, oldest first."""
    return [(v, p) for v, p in version_dirs(base_dir) if is_complete(p)]


def latest_complete_version(base_dir, warn=True):
    """Path of the newest complete version folder of `base_dir`.

    Incomplete numbered folders newer than it are skipped with an
    `IncompleteVersionWarning` (when `warn`).

    Raises:
        ValueError: `base_dir` has no complete version.
    """
    found = version_dirs(base_dir)
    complete = [(v, p) for v, p in found if is_complete(p)]
    newest = complete[-1][0] if complete else None
    skipped = [p for v, p in found if newest is None or v > newest]
    if warn and skipped:
        warnings.warn(
            f"Skipping {len(skipped)} incomplete version folder(s) (no "
            f"{' or '.join(COMPLETE_FILES)}): {skipped}"
            + (f"; using {complete[-1][1]}" if complete else ""),
            IncompleteVersionWarning,
            stacklevel=2,
        )
    if not complete:
        raise ValueError(
            "No complete model version: the folder must hold numbered "
            "version folders with a SavedModel (saved_model.pb and "
            "variables/variables.index). Received: "
            f"base_dir={base_dir!r} with "
            + (
                f"incomplete versions {[v for v, _ in found]}"
                if found
                else "no version folder"
            )
        )
    return complete[-1][1]


def resolve_saved_model(model_dir, warn=True):
    """`model_dir` if it is itself a complete SavedModel, else its newest
    complete version (`latest_complete_version`)."""
    if _exists(os.path.join(model_dir, "saved_model.pb")):
        if not is_complete(model_dir):
            raise ValueError(
                "The SavedModel folder is incomplete (no "
                "variables/variables.index). Received: "
                f"model_dir={model_dir!r}"
            )
        return model_dir
    return latest_complete_version(model_dir, warn=warn)
