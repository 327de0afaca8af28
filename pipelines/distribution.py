"""Distribution strategy, mixed precision and XLA, chosen from the hardware.

Decision table (`choose_strategy_name`):

    TPU present            -> "tpu"         (TPUStrategy)
    2+ GPUs                -> "mirrored"    (MirroredStrategy over the GPUs)
    otherwise              -> "one_device"  (the GPU, else the CPU)

Mixed precision (`mixed_float16`) only pays off on GPUs with tensor cores,
and float16 on CPU is slow and less accurate, so "auto" enables it on GPU
only. XLA (`jit_compile`) is an explicit option of the model config; it
works with one device and with MirroredStrategy over GPUs, but not with
MirroredStrategy over logical CPU devices (XLA then reads variables placed
on another CPU device, a known XLA limitation), which
`check_jit_compile` rejects with a clear error.
"""

import os

import keras
import tensorflow as tf

STRATEGY_NAMES = ("auto", "tpu", "mirrored", "one_device")


def choose_strategy_name(num_tpus, num_gpus):
    """The strategy "auto" picks for this many TPU cores and GPUs."""
    if num_tpus > 0:
        return "tpu"
    if num_gpus > 1:
        return "mirrored"
    return "one_device"


def _tpu_resolver():
    """A TPU cluster resolver when a TPU is configured, else None."""
    if not (
        os.environ.get("TPU_NAME")
        or os.environ.get("COLAB_TPU_ADDR")
        or tf.config.list_logical_devices("TPU")
    ):
        return None
    try:
        return tf.distribute.cluster_resolver.TPUClusterResolver()
    except (ValueError, RuntimeError):
        return None


def select_strategy(name="auto"):
    """Returns a `tf.distribute.Strategy`.

    Args:
        name: `"auto"` (from the hardware, see the module docstring),
            `"tpu"`, `"mirrored"` (all GPUs, or all logical CPU devices when
            there is no GPU) or `"one_device"`.
    """
    if name not in STRATEGY_NAMES:
        raise ValueError(
            f"`distribution_strategy` must be one of {STRATEGY_NAMES}. "
            f"Received: distribution_strategy={name!r}"
        )
    resolver = _tpu_resolver() if name in ("auto", "tpu") else None
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = choose_strategy_name(1 if resolver else 0, len(gpus))
    if name == "tpu":
        if resolver is None:
            raise ValueError(
                "No TPU found (set TPU_NAME or run on a TPU VM). "
                "Received: distribution_strategy='tpu'"
            )
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if name == "mirrored":
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    device = gpus[0].name if gpus else "/cpu:0"
    return tf.distribute.OneDeviceStrategy(device)


def configure_mixed_precision(mode="auto"):
    """Sets Keras' global dtype policy; returns its name.

    Args:
        mode: `"auto"` (mixed_float16 on GPU only), `"on"` or `"off"`.
    """
    if mode not in ("auto", "on", "off"):
        raise ValueError(
            "`mixed_precision` must be 'auto', 'on' or 'off'. "
            f"Received: mixed_precision={mode!r}"
        )
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    use = mode == "on" or (mode == "auto" and on_gpu)
    policy = "mixed_float16" if use else "float32"
    keras.config.set_dtype_policy(policy)
    return policy


def check_jit_compile(strategy, jit_compile):
    """Raises if XLA cannot compile the training step under `strategy`.

    XLA compiles a replica's step for one device; with `MirroredStrategy`
    over several logical CPU devices the replicas' variables live on other
    CPU devices, which XLA's CPU backend cannot read
    ("Trying to access resource ... located in device CPU:1 from device
    CPU:0", https://www.tensorflow.org/xla/known_issues). GPUs and TPUs
    are fine.
    """
    if not jit_compile or strategy.num_replicas_in_sync < 2:
        return
    devices = list(strategy.extended.worker_devices)
    if any("CPU" in d.upper() for d in devices):
        raise ValueError(
            "XLA (`jit_compile=True`) is not supported with a multi-replica "
            "strategy over CPU devices (XLA cannot read variables placed on "
            "another CPU device). Use `distribution_strategy='one_device'` "
            "or turn XLA off. Received: jit_compile=True, "
            f"devices={devices}"
        )
