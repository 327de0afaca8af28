"""The shared layer checks catch the faults they are meant to catch."""

import keras
import numpy as np
import pytest
from layer_test_case import run_layer_test


def test_passes_on_keras_dense():
    x = np.random.rand(2, 3, 4).astype("float32")
    out = run_layer_test(keras.layers.Dense, {"units": 5}, (x,))
    assert tuple(out.shape) == (2, 3, 5)


@keras.saving.register_keras_serializable(package="keras_seq_tests")
class _ForgetsConfig(keras.layers.Dense):
    def __init__(self, units, scale=1.0, **kwargs):
        super().__init__(units, **kwargs)
        self.scale = scale

    def call(self, x):
        return super().call(x) * self.scale


def test_fails_when_get_config_misses_an_argument():
    x = np.random.rand(2, 4).astype("float32")
    with pytest.raises(AssertionError, match="scale"):
        run_layer_test(_ForgetsConfig, {"units": 3, "scale": 2.0}, (x,))


@keras.saving.register_keras_serializable(package="keras_seq_tests")
class _WrongShape(keras.layers.Dense):
    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units + 1,)


def test_fails_when_compute_output_shape_is_wrong():
    x = np.random.rand(2, 4).astype("float32")
    with pytest.raises(AssertionError, match="compute_output_shape"):
        run_layer_test(_WrongShape, {"units": 3}, (x,), check_saving=False)
