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
