"""Checks every public keras-seq layer goes through (the conventions of
Keras' and keras-hub's layer tests).

`run_layer_test(layer_cls, init_kwargs, args, kwargs)` builds the layer,
calls it as `layer(*args, **kwargs)` and checks:

1. the config round trip: `get_config()` is JSON-serializable and
   `from_config(get_config())` gives the same config, also through
   `keras.saving.serialize_keras_object` / `deserialize_keras_object`;
2. the output shape equals `compute_output_shape` of the positional input
   shapes (unless `check_output_shape=False`, for layers whose output shape
   depends on keyword inputs) and `expected_output_shape` when given;
3. a `.keras` save/load of the layer (wrapped in a small model) gives
   identical outputs;
4. the compiled (`jit_compile=True`) output equals the eager output;
5. a compiled training step (mean-square of the float outputs) runs, gives a
   finite loss and changes the trainable weights;
6. the layer built with the `mixed_float16` dtype policy keeps float32
   variables and gives finite outputs.

Array arguments (NumPy arrays) in `args`/`kwargs` are model inputs; other
keyword values (`training=False`, Python numbers) are passed as they are.
"""

import json
import os

import keras
import numpy as np
from keras import ops


def _flatten(outputs):
    if isinstance(outputs, dict):
        return [outputs[k] for k in sorted(outputs)]
    if isinstance(outputs, (list, tuple)):
        flat = []
        for o in outputs:
            flat.extend(_flatten(o))
        return flat
    return [outputs]


def _shapes(outputs):
    if isinstance(outputs, dict):
        return [tuple(outputs[k]) for k in sorted(outputs)]
    if (
        isinstance(outputs, (list, tuple))
        and outputs
        and isinstance(outputs[0], (list, tuple, dict))
    ):
        flat = []
        for o in outputs:
            flat.extend(_shapes(o))
        return flat
    return [tuple(outputs)]


@keras.saving.register_keras_serializable(package="keras_seq_tests")
class LayerWrapper(keras.Model):
    """Calls one layer with named array inputs, so it can be saved/compiled.

    Its config keeps the input shapes and dtypes so that loading builds the
    layer by calling it on zeros before the weights are restored.
    """

    def __init__(
        self,
        layer,
        num_args,
        tensor_kwargs,
        static_kwargs,
        input_specs,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.layer = layer
        self.num_args = num_args
        self.tensor_kwargs = list(tensor_kwargs)
        self.static_kwargs = dict(static_kwargs)
        self.input_specs = {
            k: (list(s), d) for k, (s, d) in input_specs.items()
        }

    def call(self, inputs):
        args = [inputs[f"arg{i}"] for i in range(self.num_args)]
        kwargs = {k: inputs[k] for k in self.tensor_kwargs}
        return self.layer(*args, **kwargs, **self.static_kwargs)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        floats = [
            ops.cast(o, "float32")
            for o in _flatten(y_pred)
            if "float" in str(o.dtype)
        ]
        return sum(ops.mean(ops.square(o)) for o in floats)

    def zeros_inputs(self):
        return {
            k: np.zeros(s, dtype=d) for k, (s, d) in self.input_specs.items()
        }

    def get_config(self):
        return {
            "layer": keras.saving.serialize_keras_object(self.layer),
            "num_args": self.num_args,
            "tensor_kwargs": self.tensor_kwargs,
            "static_kwargs": self.static_kwargs,
            "input_specs": self.input_specs,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)

    def build_from_config(self, config):
        self(self.zeros_inputs())


def _split_inputs(args, kwargs):
    inputs, tensor_kwargs, static_kwargs = {}, [], {}
    for i, a in enumerate(args):
        inputs[f"arg{i}"] = np.asarray(a)
    for k, v in kwargs.items():
        if isinstance(v, np.ndarray):
            inputs[k] = v
            tensor_kwargs.append(k)
        else:
            static_kwargs[k] = v
    specs = {k: (list(v.shape), str(v.dtype)) for k, v in inputs.items()}
    return inputs, tensor_kwargs, static_kwargs, specs


def _assert_all_close(actual, expected, atol, what):
    actual, expected = _flatten(actual), _flatten(expected)
    assert len(actual) == len(expected), what
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(
            ops.convert_to_numpy(a).astype("float64"),
            ops.convert_to_numpy(e).astype("float64"),
            atol=atol,
            rtol=atol,
            err_msg=what,
        )


def run_layer_test(
    layer_cls,
    init_kwargs,
    args,
    kwargs=None,
    expected_output_shape=None,
    check_output_shape=True,
    check_saving=True,
    check_jit=True,
    check_training=True,
    check_mixed_precision=True,
    tmp_dir=None,
    atol=1e-5,
):
    """Runs the standard checks; returns the eager outputs of the layer."""
    import tempfile

    kwargs = kwargs or {}
    inputs, tensor_kwargs, static_kwargs, specs = _split_inputs(args, kwargs)

    # 1. Config round trip.
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    json.dumps(config)
    for key in init_kwargs:
        assert key in config, f"get_config() misses constructor arg {key!r}"
    assert layer_cls.from_config(config).get_config() == config
    revived = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(revived) is layer_cls
    assert revived.get_config() == config

    # 2. Output shape.
    model = LayerWrapper(layer, len(args), tensor_kwargs, static_kwargs, specs)
    eager = model(inputs)
    actual_shapes = [tuple(o.shape) for o in _flatten(eager)]
    if check_output_shape:
        input_shapes = [tuple(np.shape(a)) for a in args]
        computed = layer.compute_output_shape(*input_shapes)
        assert [tuple(s) for s in _shapes(computed)] == actual_shapes, (
            f"compute_output_shape gave {computed}, call gave {actual_shapes}"
        )
    if expected_output_shape is not None:
        assert [tuple(s) for s in _shapes(expected_output_shape)] == (
            actual_shapes
        )
    for o in _flatten(eager):
        if "float" in str(o.dtype):
            assert np.all(np.isfinite(ops.convert_to_numpy(o))), "non-finite"

    # 3. .keras save/load.
    if check_saving:
        tmp_dir = tmp_dir or tempfile.mkdtemp()
        path = os.path.join(tmp_dir, "layer.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        _assert_all_close(loaded(inputs), eager, atol, ".keras round trip")

    # 4. Compiled equals eager.
    if check_jit:
        model.compile(jit_compile=True)
        compiled = model.predict_on_batch(inputs)
        _assert_all_close(compiled, eager, max(atol, 1e-4), "jit_compile")

    # 5. A compiled training step moves the weights.
    if check_training and layer.trainable_weights:
        before = [ops.convert_to_numpy(w) for w in layer.trainable_weights]
        model.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=True)
        logs = model.train_on_batch(inputs, return_dict=True)
        assert np.isfinite(logs["loss"]), logs
        after = [ops.convert_to_numpy(w) for w in layer.trainable_weights]
        assert any(not np.array_equal(b, a) for b, a in zip(before, after)), (
            "a training step changed no trainable weight"
        )

    # 6. Mixed precision: float32 variables, finite outputs.
    if check_mixed_precision:
        mp_layer = layer_cls(**init_kwargs, dtype="mixed_float16")
        mp_model = LayerWrapper(
            mp_layer, len(args), tensor_kwargs, static_kwargs, specs
        )
        outputs = mp_model(inputs)
        for w in mp_layer.weights:
            if w.trainable:
                assert "float32" in str(w.dtype), (w.path, w.dtype)
        for o in _flatten(outputs):
            if "float" in str(o.dtype):
                values = ops.convert_to_numpy(ops.cast(o, "float32"))
                assert np.all(np.isfinite(values)), "mixed precision: NaN"
    return eager
