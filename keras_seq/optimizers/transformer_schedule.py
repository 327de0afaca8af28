"""The warm-up learning-rate schedule of the Transformer."""

import keras
from keras import ops

from keras_seq.validation import check_int
from keras_seq.validation import check_positive


@keras.saving.register_keras_serializable(package="keras_seq")
class TransformerSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """lrate = scale * d^-0.5 * min(n^-0.5, n * warmup_steps^-1.5).

    Vaswani et al. 2017 eq. 3 (sec. 5.3): the rate grows linearly for the
    first `warmup_steps` steps, peaks at `scale * (d * warmup_steps)^-0.5`
    and then decays with the inverse square root of the step number. `n` is
    the 1-based step number: Keras passes the number of updates done so far
    (0 at the first update), so `n = iterations + 1` and the first update
    does not get a rate of 0.

    Args:
        hidden_dim: int, d_model.
        warmup_steps: int, 4000 in the paper.
        scale: float, multiplies the rate (1.0 in the paper; a common
            knob for small models and batches).

    Example:
    >>> schedule = TransformerSchedule(hidden_dim=512, warmup_steps=4000)
    >>> optimizer = keras.optimizers.Adam(
    ...     schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9)
    """

    def __init__(self, hidden_dim, warmup_steps=4000, scale=1.0):
        self.hidden_dim = check_int("hidden_dim", hidden_dim)
        self.warmup_steps = check_int("warmup_steps", warmup_steps)
        check_positive("scale", scale)
        self.scale = float(scale)

    def __call__(self, step):
        n = ops.cast(step, "float32") + 1.0
        decay = ops.rsqrt(n)
        warmup = n * (float(self.warmup_steps) ** -1.5)
        return (
            self.scale
            * (float(self.hidden_dim) ** -0.5)
            * ops.minimum(decay, warmup)
        )

    def get_config(self):
        return {
            "hidden_dim": self.hidden_dim,
            "warmup_steps": self.warmup_steps,
            "scale": self.scale,
        }
