"""Distribution strategy, mixed precision and XLA selection.

MirroredStrategy is exercised for real over two logical CPU devices; they
must be configured before TensorFlow initialises its devices, so that part
runs in a fresh subprocess.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import pytest

from keras_seq_pipelines import distribution

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@pytest.mark.parametrize(
    "tpus, gpus, name",
    [
        (8, 0, "tpu"),
        (8, 4, "tpu"),
        (0, 4, "mirrored"),
        (0, 1, "one_device"),
        (0, 0, "one_device"),
    ],
)
def test_choose_strategy_name(tpus, gpus, name):
    assert distribution.choose_strategy_name(tpus, gpus) == name


def test_auto_on_this_cpu_machine():
    strategy = distribution.select_strategy("auto")
    assert strategy.num_replicas_in_sync == 1
    # Mixed precision only on GPU: float32 here, unless forced.
    assert distribution.configure_mixed_precision("auto") == "float32"
    assert distribution.configure_mixed_precision("on") == "mixed_float16"
    assert keras.config.dtype_policy().name == "mixed_float16"
    assert distribution.configure_mixed_precision("off") == "float32"


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: distribution_strategy='x'"):
        distribution.select_strategy("x")
    with pytest.raises(ValueError, match="Received: mixed_precision='gpu'"):
        distribution.configure_mixed_precision("gpu")
    with pytest.raises(ValueError, match="No TPU found"):
        distribution.select_strategy("tpu")


SCRIPT = textwrap.dedent(
    """
    import json, sys, types
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from keras_seq_pipelines import configs, distribution, trainer

    model_config = configs.ModelConfig(
        architecture="rnn",
        model_kwargs={"embedding_dim": 8, "hidden_dim": 8},
        learning_rate=0.5, batch_size=8)
    dataset_config = configs.DatasetConfig(
        max_source_length=6, max_target_length=5)
    rng = np.random.default_rng(0)
    # No padding, so every replica's masked mean has the same denominator.
    x = {"source_ids": rng.integers(4, 20, (8, 6)).astype("int32"),
         "target_in": rng.integers(4, 15, (8, 5)).astype("int32")}
    y = rng.integers(4, 15, (8, 5)).astype("int32")

    def one_step(strategy, jit_compile=False):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            sizes = (types.SimpleNamespace(vocabulary_size=20),
                     types.SimpleNamespace(vocabulary_size=15))
            model = trainer.build_model(model_config, dataset_config, sizes)
            model.compile(
                optimizer=keras.optimizers.SGD(0.5),
                loss=trainer.compile_model(model, model_config).loss,
                jit_compile=jit_compile)
            model(x)  # build, so the initial weights can be compared
        before = [np.array(w) for w in model.get_weights()]
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
        model.fit(ds, epochs=1, verbose=0)
        after = model.get_weights()
        return before, after, strategy.num_replicas_in_sync

    mirrored = distribution.select_strategy("mirrored")
    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    if sys.argv[1] == "xla":
        # XLA-compiled step on one device against the graph step.
        b1, a1, n1 = one_step(one, jit_compile=True)
        try:
            distribution.check_jit_compile(mirrored, True)
            error = ""
        except ValueError as e:
            error = str(e)
    else:
        b1, a1, n1 = one_step(mirrored)
        error = ""
    b2, a2, n2 = one_step(one)
    print(json.dumps({
        "error": error,
        "replicas": [n1, n2],
        "devices": list(mirrored.extended.worker_devices),
        "same_init": all(np.allclose(p, q) for p, q in zip(b1, b2)),
        "max_update": max(float(np.abs(a - b).max()) for a, b in zip(a2, b2)),
        "max_diff": max(float(np.abs(p - q).max()) for p, q in zip(a1, a2)),
    }))
    """
)


def _run_script(mode):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_mirrored_two_cpu_replicas_equal_single_device():
    """One SGD step on 2 replicas (4 examples each, gradients all-reduced)
    gives the same weights as one device on the whole batch of 8."""
    out = _run_script("graph")
    assert out["replicas"] == [2, 1]
    assert len(out["devices"]) == 2
    assert out["same_init"]
    assert out["max_update"] > 1e-3  # the step really changed the weights
    assert out["max_diff"] < 1e-5, out


@pytest.mark.slow
def test_xla_training_step_equals_graph_step():
    """`jit_compile=True` (XLA) gives the same SGD step as the TF graph on
    one device; XLA with two CPU replicas is refused with a clear error."""
    out = _run_script("xla")
    assert out["replicas"] == [1, 1]
    assert out["same_init"]
    assert out["max_update"] > 1e-3
    assert out["max_diff"] < 1e-5, out
    assert "jit_compile=True" in out["error"] and "CPU:1" in out["error"]


def test_check_jit_compile_allows_one_device():
    import tensorflow as tf

    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    distribution.check_jit_compile(one, True)
    distribution.check_jit_compile(one, False)
