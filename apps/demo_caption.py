"""`keras-seq demo --task caption`: Show, Attend and Tell on coloured shapes.

Generates the seeded shapes corpus (`keras_seq.datasets.
generate_shapes_captions`: 1-3 coloured shapes per image, captions such as
"a red circle left of a blue square"), trains a `ShowAttendTellCaptioner`
(a small CNN encoder, gated soft attention) for a short default, then
prints a few captions, the exact match and the sacreBLEU score on held-out
images (greedy search, as the saved captioner decodes), and saves to
`--output-dir`:

- `captioner.keras`: a `keras_seq.models.Captioner` (model, vocabulary,
  search settings), for `Captioner.load` or `keras-seq caption --model`;
- `attention.png`: the attention of each word of one held-out caption
  over its image (`keras_seq.plotting.plot_attention_overlay`);
- `caption_results.json`: the settings and the measured figures.

Keras and TensorFlow are imported inside the functions.
"""

import json
import os
import time

# Defaults of the caption task (the translation demo keeps its own).
CAPTION_DEFAULTS = {
    "epochs": 5,
    "num_train": 2000,
    "num_test": 300,
    "learning_rate": 3e-3,
    "batch_size": 32,
    "embedding_dim": 32,
    "hidden_dim": 128,
}
IMAGE_SIZE = 48
MAX_CAPTION_LENGTH = 16


def train_and_evaluate_captioner(args):
    """Trains, evaluates and saves the captioner; returns the results."""
    import keras
    import numpy as np
    import sacrebleu

    from keras_seq.datasets import SHAPES_VOCABULARY
    from keras_seq.datasets import encode_shapes_captions
    from keras_seq.datasets import generate_shapes_captions
    from keras_seq.layers import ImageFeatureEncoder
    from keras_seq.metrics import MaskedSparseCategoricalCrossentropy
    from keras_seq.models import Captioner
    from keras_seq.models import ShowAttendTellCaptioner
    from keras_seq.plotting import plot_attention_overlay

    keras.utils.set_random_seed(args.seed)
    os.makedirs(args.output_dir, exist_ok=True)
    train = generate_shapes_captions(
        args.num_train, seed=args.seed, image_size=IMAGE_SIZE
    )
    test = generate_shapes_captions(
        args.num_test, seed=args.seed + 10_000, image_size=IMAGE_SIZE
    )
    target_in, target_out = encode_shapes_captions(
        train["captions"], MAX_CAPTION_LENGTH
    )
    encoder = ImageFeatureEncoder(
        (IMAGE_SIZE, IMAGE_SIZE, 3), filters=[16, 32, 64]
    )
    model = ShowAttendTellCaptioner(
        encoder,
        len(SHAPES_VOCABULARY),
        embedding_dim=args.embedding_dim,
        hidden_dim=args.hidden_dim,
        attention_units=64,
        max_caption_length=MAX_CAPTION_LENGTH,
    )
    captioner = Captioner(model, SHAPES_VOCABULARY, strategy="greedy")
    captioner.compile(
        keras.optimizers.Adam(args.learning_rate),
        MaskedSparseCategoricalCrossentropy(),
    )
    print(
        f"Training a Show-Attend-Tell captioner on {args.num_train} "
        f"generated {IMAGE_SIZE}x{IMAGE_SIZE} shape images "
        f"({args.epochs} epochs)..."
    )
    start = time.time()
    captioner.fit(
        {"images": train["images"], "target_in": target_in},
        target_out,
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=0 if args.quiet else 1,
    )
    seconds = time.time() - start
    results = captioner.caption(test["images"], return_attention=True)
    hypotheses = [r["caption"] for r in results]
    references = test["captions"]
    exact = float(np.mean([h == r for h, r in zip(hypotheses, references)]))
    bleu = sacrebleu.corpus_bleu(hypotheses, [references])
    for hypothesis, reference in list(zip(hypotheses, references))[:5]:
        print(f"  predicted: {hypothesis}\n  reference: {reference}")
    print(
        f"Held-out exact match: {exact:.2%}, BLEU {bleu.score:.1f} "
        f"({args.num_test} images, greedy search, {seconds:.0f} s training)"
    )
    path = os.path.join(args.output_dir, "captioner.keras")
    captioner.save(path)
    overlay = os.path.join(args.output_dir, "attention.png")
    words = hypotheses[0].split()
    attention = results[0]["attention"]
    plot_attention_overlay(
        test["images"][0],
        words,
        attention.reshape(len(words), -1),
        encoder.grid_shape,
        path=overlay,
        title=hypotheses[0],
    )
    summary = {
        "task": "caption",
        "epochs": args.epochs,
        "num_train": args.num_train,
        "num_test": args.num_test,
        "image_size": IMAGE_SIZE,
        "exact_match": exact,
        "bleu": bleu.score,
        "bleu_signature": str(bleu.format(signature=True)),
        "training_seconds": seconds,
    }
    with open(
        os.path.join(args.output_dir, "caption_results.json"), "w"
    ) as file:
        json.dump(summary, file, indent=2)
    print(f"Saved {path} and {overlay}. Try:")
    test_png = os.path.join(args.output_dir, "example.png")
    _write_png(test["images"][0], test_png)
    print(f"  keras-seq caption --model {path} {test_png}")
    return summary


def _write_png(image, path):
    import numpy as np
    import tensorflow as tf

    data = tf.io.encode_png(np.round(image * 255).astype("uint8")).numpy()
    with open(path, "wb") as file:
        file.write(data)
