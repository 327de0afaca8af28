"""TransformerSchedule vs Vaswani et al. 2017 eq. 3 written in NumPy."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_seq.optimizers import TransformerSchedule


def numpy_rate(step_num, d_model, warmup, scale=1.0):
    return scale * d_model**-0.5 * min(step_num**-0.5, step_num * warmup**-1.5)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_matches_equation_3(scale):
    schedule = TransformerSchedule(512, warmup_steps=4000, scale=scale)
    for iterations in [0, 1, 100, 3999, 4000, 10000, 100000]:
        np.testing.assert_allclose(
            float(ops.convert_to_numpy(schedule(iterations))),
            numpy_rate(iterations + 1, 512, 4000, scale),
            rtol=1e-5,
        )


def test_peak_at_warmup():
    schedule = TransformerSchedule(256, warmup_steps=100)
    rates = [float(ops.convert_to_numpy(schedule(i))) for i in range(300)]
    assert int(np.argmax(rates)) == 99  # step_num 100 = warmup_steps


def test_config_and_optimizer_round_trip():
    schedule = TransformerSchedule(128, warmup_steps=50, scale=0.5)
    clone = TransformerSchedule.from_config(schedule.get_config())
    assert clone.get_config() == schedule.get_config()
    optimizer = keras.optimizers.Adam(schedule)
    revived = keras.optimizers.Adam.from_config(optimizer.get_config())
    assert isinstance(revived._learning_rate, TransformerSchedule)
    assert revived._learning_rate.get_config() == schedule.get_config()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"hidden_dim": 0}, "hidden_dim"),
        ({"hidden_dim": 8, "warmup_steps": 0}, "warmup_steps"),
        ({"hidden_dim": 8, "scale": 0.0}, "scale"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        TransformerSchedule(**kwargs)
