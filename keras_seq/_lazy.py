"""Lazy exports for the parts of keras_seq that need TensorFlow.

The library proper (layers, models, decoding, metrics, ...) runs on any
Keras backend; tensorflow-text tokenizers and `tf.data` pipelines do not.
A package lists those names with the module defining each, and resolves
them on first access through a module-level `__getattr__` (PEP 562), so
that importing the package imports no TensorFlow and a missing TensorFlow
is reported with what to install.
"""

import importlib

# Top-level modules whose absence means "TensorFlow is not installed".
_TENSORFLOW_MODULES = ("tensorflow", "tensorflow_text")


def _is_missing_tensorflow(error):
    name = error.name or ""
    return any(
        name == module or name.startswith(module + ".")
        for module in _TENSORFLOW_MODULES
    )


def tensorflow_exports(package, exports, requirement):
    """Returns `(__getattr__, __dir__)` for `package`'s TensorFlow exports.

    Args:
        package: str, the package's `__name__`.
        exports: dict mapping each exported name to the module defining it.
        requirement: str, the ImportError message when TensorFlow (or
            tensorflow-text) is missing, e.g. "keras_seq.text needs
            TensorFlow and tensorflow-text: pip install tensorflow
            tensorflow-text".

    Returns:
        The two functions to assign to the package's `__getattr__` and
        `__dir__`.
    """

    def __getattr__(name):
        if name not in exports:
            raise AttributeError(
                f"module {package!r} has no attribute {name!r}"
            )
        try:
            module = importlib.import_module(exports[name])
        except ModuleNotFoundError as error:
            if not _is_missing_tensorflow(error):
                raise
            raise ImportError(
                f"{requirement} (importing {package}.{name}: no module "
                f"named {error.name!r})"
            ) from error
        value = getattr(module, name)
        # Cached: later accesses skip __getattr__.
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__():
        package_globals = vars(importlib.import_module(package))
        return sorted(set(package_globals) | set(exports))

    return __getattr__, __dir__
