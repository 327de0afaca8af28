"""Argument checks shared by the whole library.

Every check raises a `ValueError` that names the argument and ends with
"Received: name=value" (the Keras style), and returns the value to store.
Only Python and NumPy are used here, so any module (layers, models,
decoding, datasets) can import it without a backend or TensorFlow.
"""

import numbers

import numpy as np


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(
        value, (bool, np.bool_)
    )


def check_int(name, value, minimum=1, allow_none=False):
    """An integer argument `>= minimum` (a positive integer by default).

    Args:
        name: the argument's name, used in the message.
        value: the received value; a Python or NumPy integer (not a bool).
        minimum: the smallest allowed value.
        allow_none: whether `None` is accepted (and returned as is).

    Returns:
        `value` as a Python `int` (JSON-serializable in a config), or `None`.
    """
    if allow_none and value is None:
        return None
    if not _is_int(value) or value < minimum:
        kind = (
            "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        )
        if allow_none:
            kind += " or None"
        raise ValueError(f"`{name}` must be {kind}. Received: {name}={value!r}")
    return int(value)


def check_fraction(name, value, include_one=False):
    """A rate in `[0, 1)` (e.g. `dropout`), or `[0, 1]` with `include_one`.

    Returns:
        `value` unchanged.
    """
    ok = _is_real(value) and (
        0.0 <= value <= 1.0 if include_one else 0.0 <= value < 1.0
    )
    if not ok:
        interval = "[0, 1]" if include_one else "[0, 1)"
        raise ValueError(
            f"`{name}` must be in {interval}. Received: {name}={value!r}"
        )
    return value


def check_positive(name, value):
    """A real number `> 0` (e.g. `layer_norm_epsilon`, a scale).

    Returns:
        `value` unchanged.
    """
    if not _is_real(value) or not value > 0:
        raise ValueError(f"`{name}` must be > 0. Received: {name}={value!r}")
    return value


def check_non_negative(name, value):
    """A real number `>= 0`.

    Returns:
        `value` unchanged.
    """
    if not _is_real(value) or not value >= 0:
        raise ValueError(f"`{name}` must be >= 0. Received: {name}={value!r}")
    return value


def check_one_of(name, value, options):
    """One of the `options` (a tuple of allowed values).

    Returns:
        `value` unchanged.
    """
    if value not in options:
        raise ValueError(
            f"`{name}` must be one of {tuple(options)}. "
            f"Received: {name}={value!r}"
        )
    return value


def check_token_ids(
    name,
    ids,
    vocabulary_size,
    max_length=None,
    max_length_name="max_length",
    integer_dtype=True,
):
    """Token ids: integer dtype, `(batch, length)` with both > 0, and, when
    the values can be read (NumPy arrays, eager tensors), every id in
    `[0, vocabulary_size)`.

    Inside a traced function (symbolic tensors) only the dtype and the
    static shape are checked: the values do not exist yet. With
    `integer_dtype=False` (a model's `call()`, whose inputs Keras itself may
    have converted to floats, e.g. under a distribution strategy) a float
    dtype is accepted, but known values must still be whole numbers.

    Raises:
        ValueError: naming the argument and what was received (a negative
            id would silently read the last embedding row on some
            backends, a float id would be truncated, an empty source
            would be decoded from nothing).
    """
    dtype = _dtype_name(ids)
    if integer_dtype and "int" not in dtype:
        raise ValueError(
            f"`{name}` must hold integer token ids. Received: "
            f"{name}.dtype={dtype}"
        )
    shape = tuple(getattr(ids, "shape", np.shape(ids)))
    if len(shape) != 2:
        raise ValueError(
            f"`{name}` must have shape (batch_size, length). Received: "
            f"{name}.shape={shape}"
        )
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(
            f"`{name}` is empty: there must be at least one sequence of at "
            f"least one token. Received: {name}.shape={shape}"
        )
    if (
        max_length is not None
        and shape[1] is not None
        and shape[1] > max_length
    ):
        raise ValueError(
            f"`{name}` is longer than the model accepts ({max_length_name}="
            f"{max_length}); truncate it or build the model with a larger "
            f"{max_length_name}. Received: {name}.shape={shape}"
        )
    values = _concrete_values(ids)
    if values is None or values.size == 0:
        return ids
    if "int" not in dtype:
        fractional = np.argwhere(values != np.floor(values))
        if fractional.size:
            row, column = (int(i) for i in fractional[0])
            raise ValueError(
                f"`{name}` must hold integer token ids. Received: "
                f"{name}[{row}, {column}]={values[row, column]!r}"
            )
    low, high = int(values.min()), int(values.max())
    if low < 0 or high >= vocabulary_size:
        bad = low if low < 0 else high
        row, column = (int(i) for i in np.argwhere(values == bad)[0])
        raise ValueError(
            f"`{name}` must hold ids in [0, vocabulary_size="
            f"{vocabulary_size}). Received: {name}[{row}, {column}]={bad}"
        )
    return ids


def _dtype_name(ids):
    """ "int32", "float32"... for NumPy arrays and any backend's tensors."""
    dtype = getattr(ids, "dtype", None)
    if dtype is None:
        dtype = np.asarray(ids).dtype
    try:
        from keras import backend

        return backend.standardize_dtype(dtype)
    except (ImportError, ValueError):
        return str(dtype)


def _concrete_values(ids):
    """The values of a NumPy array or eager tensor; None when symbolic."""
    if isinstance(ids, (np.ndarray, list, tuple)):
        return np.asarray(ids)
    try:
        from keras import ops

        return np.asarray(ops.convert_to_numpy(ids))
    except Exception:  # noqa: BLE001  (symbolic: traced, no values yet)
        return None
