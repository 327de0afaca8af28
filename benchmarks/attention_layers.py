"""Speed of the RNN attention layers, next to Keras' own attention layers.

Measures, on the same inputs in the same run:

1. all-steps attention (teacher forcing), compiled with XLA:
   `LuongAttention(score="dot")` vs `keras.layers.Attention()` (the same
   formula; their outputs are also compared), `LuongAttention("general")`,
   `LuongAttention("concat")`, `BahdanauAttention` vs
   `keras.layers.AdditiveAttention` (Keras' variant has no projections, so
   it does less work; listed for scale only), `LocalAttention` local-m and
   local-p;
2. step-by-step decoding with `BahdanauAttention`: recomputing `W_2 h_s`
   at every step vs passing `keys=precompute_values(values)`.

Usage:
    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python benchmarks/attention_layers.py
"""

import argparse
import time

import keras
import numpy as np
from keras import ops

from keras_seq.layers import BahdanauAttention
from keras_seq.layers import LocalAttention
from keras_seq.layers import LuongAttention


def _time(fn, repeats):
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    ops.convert_to_numpy(keras.tree.flatten(out)[0])
    return (time.perf_counter() - start) / repeats * 1e3


def _median_times(fns, repeats, rounds):
    """Median ms per call of each function, measured in interleaved rounds.

    The machine is shared: interleaving the candidates and taking the median
    of several rounds keeps a burst of load from favouring one of them.
    """
    for fn in fns:
        fn()  # trace / compile
        fn()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            times[i].append(_time(fn, repeats))
    return [float(np.median(t)) for t in times]


def _compiled(layer_call):
    import tensorflow as tf

    return tf.function(layer_call, jit_compile=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--source_length", type=int, default=30)
    parser.add_argument("--target_length", type=int, default=30)
    parser.add_argument("--hidden_dim", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    b, s, t, d = (
        args.batch_size,
        args.source_length,
        args.target_length,
        args.hidden_dim,
    )
    rng = np.random.default_rng(0)
    query = ops.convert_to_tensor(rng.normal(size=(b, t, d)), "float32")
    values = ops.convert_to_tensor(rng.normal(size=(b, s, d)), "float32")
    lengths = rng.integers(s // 2, s + 1, size=b)
    mask = ops.convert_to_tensor(np.arange(s)[None] < lengths[:, None])
    query_mask = ops.ones((b, t), "bool")
    print(
        f"batch={b} source_length={s} target_length={t} hidden_dim={d} "
        f"repeats={args.repeats} rounds={args.rounds} (median of rounds)"
    )

    print("\n1. all steps, jit_compile=True, ms per call")
    luong_dot = LuongAttention(score="dot")
    keras_dot = keras.layers.Attention()
    ours = luong_dot(query, values, mask=mask)[0]
    peer = keras_dot([query, values], mask=[query_mask, mask])
    diff = float(np.max(np.abs(ops.convert_to_numpy(ours - peer))))
    print(f"   LuongAttention(dot) vs keras Attention max |diff| = {diff:.2e}")
    cases = [
        ("LuongAttention(score='dot')", luong_dot, "ours"),
        ("keras.layers.Attention (peer)", keras_dot, "peer"),
        ("LuongAttention(score='general')", LuongAttention("general"), "ours"),
        ("LuongAttention(score='concat')", LuongAttention("concat"), "ours"),
        ("BahdanauAttention(units=hidden_dim)", BahdanauAttention(d), "ours"),
        ("keras.layers.AdditiveAttention (peer)", None, "additive"),
        (
            "LocalAttention(window=10, local-m)",
            LocalAttention(10, "local-m"),
            "ours",
        ),
        (
            "LocalAttention(window=10, local-p)",
            LocalAttention(10, "local-p"),
            "ours",
        ),
    ]
    additive = keras.layers.AdditiveAttention()
    fns = []
    for _, layer, kind in cases:
        if kind == "ours":
            fn = _compiled(lambda q, v, m, layer=layer: layer(q, v, mask=m))
        elif kind == "peer":
            fn = _compiled(
                lambda q, v, m: keras_dot([q, v], mask=[query_mask, m])
            )
        else:
            fn = _compiled(
                lambda q, v, m: additive([q, v], mask=[query_mask, m])
            )
        fns.append(lambda fn=fn: fn(query, values, mask))
    for (name, _, _), ms in zip(
        cases, _median_times(fns, args.repeats, args.rounds)
    ):
        print(f"   {name:40s} {ms:8.2f}")

    print("\n2. step-by-step Bahdanau decoding, jit_compile=True, ms per step")
    bahdanau = BahdanauAttention(d)
    state = query[:, 0]
    bahdanau(state, values, mask=mask)
    keys = bahdanau.precompute_values(values)
    recompute = _compiled(lambda q, v, m: bahdanau(q, v, mask=m))
    cached = _compiled(lambda q, v, m, k: bahdanau(q, v, mask=m, keys=k))
    a = recompute(state, values, mask)[0]
    c = cached(state, values, mask, keys)[0]
    diff = float(np.max(np.abs(ops.convert_to_numpy(a - c))))
    ms_re, ms_ca = _median_times(
        [
            lambda: recompute(state, values, mask),
            lambda: cached(state, values, mask, keys),
        ],
        args.repeats * 5,
        args.rounds,
    )
    print(f"   recompute W_2 h_s every step             {ms_re:8.3f}")
    print(f"   keys=precompute_values(values)            {ms_ca:8.3f}")
    print(f"   speed-up {ms_re / ms_ca:.2f}x, max |diff| = {diff:.2e}")


if __name__ == "__main__":
    main()
