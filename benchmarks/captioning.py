"""Show, Attend and Tell on the generated shapes corpus, lambda = 0 vs 1.

Usage (from the repository root):

    TF_CPP_MIN_LOG_LEVEL=2 nice -n 10 .venv/bin/python \
        benchmarks/captioning.py --lambdas 0,1

Generates the seeded shapes corpus (`keras_seq.datasets.
generate_shapes_captions`: 64x64 images of 1 to `--max-objects` coloured
shapes, captions such as "a red circle left of a blue square"), trains one
`ShowAttendTellCaptioner` (built-in CNN with coordinate channels, an 8x8
grid of regions by default, `--filters` giving one block per entry, each
halving the grid; soft attention with the gating scalar) per value of
the doubly stochastic regularization lambda (Xu et al. 2015 eq. 14),
from the same seed, and
prints for each, on held-out images decoded greedily:

- exact match: share of captions equal to the reference;
- BLEU: corpus sacreBLEU (`keras_seq.metrics.corpus_bleu`, 13a);
- attention localization: for each generated shape noun that names a
  shape of the image (its colour and shape), whether the peak of the
  attention used to produce it, `argmax_i alpha_ti`, is a region whose
  centre lies inside that shape's box (`keras_seq.datasets.
  attention_localization`); the share of such nouns, and how many nouns
  named no shape of the image;
- the mean of the gating scalar beta_t, and the training time;
- the words generated against the references' and the first
  `--show-errors` wrong captions.

It saves the attention overlay of a few held-out images (the last model
trained) to `--figure`.

`--decoder transformer` trains a `TransformerCaptioner` instead
(`--num-layers` decoder layers of `--num-heads` heads and width
`--hidden-dim`, no region encoder, so each region keeps its own
features); its attention is the last
layer's cross-attention averaged over the heads, and lambda does not
apply (give `--lambdas 0`). `--schedule cosine` warms the learning rate
up over the first epoch and decays it to zero by the last (the session 9
runs of RESULTS.md).
"""

import argparse
import os
import time

import keras
import numpy as np
from keras import ops
from run_info import print_run_header

from keras_seq.datasets import SHAPES_VOCABULARY
from keras_seq.datasets import attention_localization
from keras_seq.datasets import decode_shapes_caption
from keras_seq.datasets import encode_shapes_captions
from keras_seq.datasets import generate_shapes_captions
from keras_seq.layers import ImageFeatureEncoder
from keras_seq.metrics import MaskedSparseCategoricalCrossentropy
from keras_seq.metrics import corpus_bleu
from keras_seq.metrics import exact_match
from keras_seq.models import ShowAttendTellCaptioner
from keras_seq.models import TransformerCaptioner
from keras_seq.plotting import plot_attention_overlay


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--max-objects", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument(
        "--schedule",
        choices=("constant", "cosine"),
        default="constant",
        help="cosine: linear warm-up over the first epoch to "
        "--learning-rate, then cosine decay to zero at the last step "
        "(Loshchilov and Hutter 2017, without restarts)",
    )
    parser.add_argument("--lambdas", default="0,1")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the training images (held-out: seed + 1000) and, "
        "unless --init-seed is given, of the weights and batches",
    )
    parser.add_argument(
        "--init-seed",
        type=int,
        default=None,
        help="seed of the weights and the batch order (default: --seed), "
        "to tell a hard training set from an unlucky initialisation",
    )
    parser.add_argument(
        "--figure", default="benchmarks/figures/captioning_attention.png"
    )
    parser.add_argument(
        "--filters",
        default="8,16,32",
        help="filters of the built-in CNN's blocks; each block halves the "
        "grid (3 blocks: 8x8 regions of a 64x64 image, 2 blocks: 16x16)",
    )
    parser.add_argument(
        "--convolutions-per-block",
        type=int,
        default=2,
        help="3x3 convolutions per block of the built-in CNN",
    )
    parser.add_argument(
        "--patch-size",
        type=int,
        default=None,
        help="the patch encoder instead of the CNN blocks: P x P patches "
        "(8: 8x8 regions of a 64x64 image), each region seeing its own "
        "patch only; --filters then gives the patch embedding's size and "
        "one 1x1 convolution per further entry",
    )
    parser.add_argument(
        "--decoder",
        choices=("show_attend_tell", "transformer"),
        default="show_attend_tell",
    )
    parser.add_argument(
        "--num-layers", type=int, default=1, help="Transformer decoder layers"
    )
    parser.add_argument(
        "--num-heads", type=int, default=1, help="Transformer attention heads"
    )
    parser.add_argument(
        "--hidden-dim",
        type=int,
        default=64,
        help="the decoder's width: the Transformer's d (feed-forward 2d) "
        "or the LSTM's units",
    )
    parser.add_argument(
        "--show-errors",
        type=int,
        default=10,
        help="print this many wrong held-out captions next to their "
        "references (0: none)",
    )
    args = parser.parse_args()
    if args.init_seed is None:
        args.init_seed = args.seed
    if (
        args.hidden_dim < 1
        or args.num_heads < 1
        or (args.decoder == "transformer" and args.hidden_dim % args.num_heads)
    ):
        parser.error(
            "--hidden-dim and --num-heads must be positive and, with "
            "--decoder transformer, --hidden-dim divisible by --num-heads. "
            "Received: "
            f"--hidden-dim {args.hidden_dim} --num-heads {args.num_heads}"
        )
    if args.show_errors < 0:
        parser.error(
            f"--show-errors must be 0 or more. Received: {args.show_errors}"
        )
    if args.decoder == "transformer" and args.lambdas != "0":
        parser.error(
            "lambda (the doubly stochastic regularizer) belongs to "
            "show_attend_tell; give --lambdas 0 with --decoder transformer. "
            f"Received: --lambdas {args.lambdas}"
        )
    return args


def build_model(regularization, max_length, args):
    patch_size = args.patch_size
    encoder = ImageFeatureEncoder(
        (64, 64, 3),
        filters=[int(f) for f in args.filters.split(",")],
        coordinate_channels=True,
        convolutions_per_block=None
        if patch_size
        else args.convolutions_per_block,
        patch_size=patch_size,
    )
    if args.decoder == "transformer":
        return TransformerCaptioner(
            encoder,
            len(SHAPES_VOCABULARY),
            hidden_dim=args.hidden_dim,
            num_layers=args.num_layers,
            num_heads=args.num_heads,
            intermediate_dim=2 * args.hidden_dim,
            num_encoder_layers=0,
            dropout=0.0,
            max_caption_length=max_length,
        )
    return ShowAttendTellCaptioner(
        encoder,
        len(SHAPES_VOCABULARY),
        embedding_dim=32,
        hidden_dim=args.hidden_dim,
        attention_units=32,
        attention_regularization=regularization,
        max_caption_length=max_length,
    )


def percent(fraction):
    """`fraction` as a percentage; "n/a" when no noun was scored (NaN)."""
    return "n/a" if np.isnan(fraction) else f"{100 * fraction:.1f}%"


def learning_rate(args):
    """The constant rate, or warm-up then cosine decay over all steps."""
    if args.schedule == "constant":
        return args.learning_rate
    steps_per_epoch = -(-args.train // args.batch_size)
    total = steps_per_epoch * args.epochs
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(total - steps_per_epoch, 1),
        warmup_target=args.learning_rate,
        warmup_steps=steps_per_epoch,
    )


def evaluate(model, test):
    out = model.generate(test["images"])
    tokens = ops.convert_to_numpy(out["token_ids"])
    alignments = ops.convert_to_numpy(out["alignment"])
    # The Transformer has no gating scalar: its context is used whole.
    gates = (
        ops.convert_to_numpy(out["gate"])
        if "gate" in out
        else np.ones(alignments.shape[:2], "float32")
    )
    lengths = ops.convert_to_numpy(out["lengths"])
    words = [decode_shapes_caption(row) for row in tokens]
    hypotheses = [" ".join(w) for w in words]
    # Localization with the attention of the noun's step, of the step
    # before it (the colour word's) and of two steps before (the article
    # "a", where the model starts the phrase).
    boxes = model.encoder.region_boxes()
    localization, at_colour, at_article = (
        attention_localization(
            words, np.roll(alignments, shift, axis=1), test["objects"], boxes
        )
        for shift in (0, 1, 2)
    )
    real = np.arange(gates.shape[1])[None, :] < lengths[:, None]
    return {
        "localization_at_colour": at_colour["localization"],
        "localization_at_article": at_article["localization"],
        "exact_match": exact_match(hypotheses, test["captions"]),
        "bleu": corpus_bleu(hypotheses, test["captions"]),
        **localization,
        "mean_gate": float(gates[real].mean()),
        "words": words,
        "hypotheses": hypotheses,
        "alignments": alignments,
        "gates": gates,
    }


def print_errors(hypotheses, references, limit):
    """The number of words generated against the references', and the
    first `limit` wrong captions: what BLEU counts beyond exact match."""
    generated = sum(len(h.split()) for h in hypotheses)
    expected = sum(len(r.split()) for r in references)
    wrong = [(h, r) for h, r in zip(hypotheses, references) if h != r]
    print(
        f"  words generated / in the references: {generated} / {expected} "
        f"({generated / max(expected, 1):.3f}); {len(wrong)} wrong captions"
        + (f", the first {min(limit, len(wrong))}:" if limit and wrong else "")
    )
    for hypothesis, reference in wrong[:limit]:
        print(f"    '{hypothesis}' for '{reference}'")


def main():
    args = parse_args()
    lambdas = [float(x) for x in args.lambdas.split(",")]
    print_run_header()
    train = generate_shapes_captions(
        args.train, seed=args.seed, max_objects=args.max_objects
    )
    test = generate_shapes_captions(
        args.test, seed=args.seed + 1000, max_objects=args.max_objects
    )
    max_length = 4 * args.max_objects + 2  # words + [BOS]/[EOS]
    target_in, target_out = encode_shapes_captions(
        train["captions"], max_length
    )
    print(
        f"corpus: {args.train} training / {args.test} held-out images, "
        f"1-{args.max_objects} shapes, {len(set(train['captions']))} "
        "distinct training captions; "
        f"{args.epochs} epochs, batch {args.batch_size}, "
        f"Adam {args.learning_rate} ({args.schedule}); seed {args.seed}, "
        f"weights seed {args.init_seed}",
        flush=True,
    )
    rows = []
    for regularization in lambdas:
        keras.utils.set_random_seed(args.init_seed)
        try:
            model = build_model(regularization, max_length, args)
        except ValueError as error:  # e.g. a patch size that does not fit
            raise SystemExit(f"captioning.py: {error}") from None
        model.compile(
            keras.optimizers.Adam(learning_rate(args)),
            MaskedSparseCategoricalCrossentropy(),
            jit_compile=True,
        )
        start = time.time()
        progress = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs, lam=regularization, t0=start: (
                print(
                    f"  lambda={lam:g} epoch {epoch + 1}: loss "
                    f"{logs['loss']:.3f} ({time.time() - t0:.0f} s)",
                    flush=True,
                )
            )
        )
        history = model.fit(
            {"images": train["images"], "target_in": target_in},
            target_out,
            batch_size=args.batch_size,
            epochs=args.epochs,
            verbose=0,
            callbacks=[progress],
        )
        seconds = time.time() - start
        result = evaluate(model, test)
        result.update(
            {
                "lambda": regularization,
                "seconds": seconds,
                "final_loss": history.history["loss"][-1],
            }
        )
        rows.append(result)
        print(
            f"lambda={regularization:g}: exact match "
            f"{100 * result['exact_match']:.1f}%, BLEU {result['bleu']:.2f}, "
            f"localization {percent(result['localization'])} of "
            f"{result['scored']} nouns ({result['unmatched']} nouns named "
            f"no shape of the image; at the colour word's step "
            f"{percent(result['localization_at_colour'])}, at the "
            f"article's {percent(result['localization_at_article'])}), "
            f"mean beta {result['mean_gate']:.3f}, "
            f"final training loss {result['final_loss']:.3f}, "
            f"training {seconds:.0f} s",
            flush=True,
        )
        print_errors(result["hypotheses"], test["captions"], args.show_errors)
    print()
    print(
        "| lambda | exact match | BLEU | localization | nouns scored "
        "(unmatched) | mean beta | training s |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['lambda']:g} | {100 * r['exact_match']:.1f}% | "
            f"{r['bleu']:.2f} | {percent(r['localization'])} | "
            f"{r['scored']} ({r['unmatched']}) | {r['mean_gate']:.3f} | "
            f"{r['seconds']:.0f} |"
        )
    last = rows[-1]
    # The first held-out image with two shapes (or the first image).
    index = next((i for i, o in enumerate(test["objects"]) if len(o) == 2), 0)
    words = last["words"][index]
    os.makedirs(os.path.dirname(args.figure) or ".", exist_ok=True)
    plot_attention_overlay(
        test["images"][index],
        # A caption cut at the length limit has no [EOS] step.
        words + ["[EOS]"][: last["alignments"].shape[1] - len(words)],
        last["alignments"][index],
        model.encoder.grid_shape,
        path=args.figure,
        title=(
            f"lambda={last['lambda']:g}: '{' '.join(words)}' "
            f"(reference: '{test['captions'][index]}')"
        ),
        gates=last["gates"][index],
    )
    print(f"\nfigure: {args.figure} (held-out image {index})")
    print(
        f"load average at end: {'/'.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
