"""Latency of the exported translator, loaded through the TF1 session API
(the path TF Serving uses), per sentence and per batch of 32, for the greedy
`serving_default` and the beam-search `n_best` signatures.

    .venv/bin/python benchmarks/serving_latency.py \\
        --model-dir outputs/pipeline/serving/translator --repeats 20

The sentences are held-out dates (`keras_seq.datasets.load_dates` test
split). Prints median and 90th percentile milliseconds per call, and
sentences per second.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def measure(sess, signature_def, sentences, repeats, input_key="text"):
    out_key = sorted(signature_def.outputs)[0]
    fetch = signature_def.outputs[out_key].name
    feed_name = signature_def.inputs[input_key].name
    batch = np.array(sentences, dtype=object)
    sess.run(fetch, {feed_name: batch})  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sess.run(fetch, {feed_name: batch})
        times.append(time.perf_counter() - start)
    times = np.array(times) * 1000
    return np.median(times), np.percentile(times, 90)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    from keras_seq.datasets import load_dates
    from keras_seq_apps.saved_model_session import latest_version_dir

    path = latest_version_dir(args.model_dir)
    sentences = [s for s, _ in load_dates(0, 0, 64, seed=7)["test"]]
    print(f"model: {path}")
    print(
        f"{'signature':<16}{'batch':>6}{'median ms':>11}{'p90 ms':>9}"
        f"{'sent/s':>9}"
    )
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)
        for name in ("serving_default", "n_best"):
            if name not in meta.signature_def:
                print(f"{name:<16} (not exported)")
                continue
            for batch_size in (1, 32):
                median, p90 = measure(
                    sess,
                    meta.signature_def[name],
                    sentences[:batch_size],
                    args.repeats,
                )
                print(
                    f"{name:<16}{batch_size:>6}{median:>11.1f}{p90:>9.1f}"
                    f"{batch_size / median * 1000:>9.0f}"
                )


if __name__ == "__main__":
    main()
