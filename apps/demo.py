"""`keras-seq demo`: an attentional seq2seq learns to normalise dates.

Builds the seeded date corpus (`keras_seq.datasets.load_dates`: free-text
dates -> ISO 8601, test dates never seen in training in any format), word
tokenizers, trains an `RNNSeq2Seq` (Luong global attention, general score,
input feeding by default) or, with `--architecture transformer`, a small
`TransformerSeq2Seq`, with a progress bar, then prints a few
translations, the exact-match accuracy on the held-out test dates (beam
search, as the saved translator decodes), and saves to `--output-dir`:

- `translator.keras`: a `keras_seq.models.Translator` (the model, both
  tokenizers and the search settings in one file), for
  `keras-seq translate --model outputs/demo/translator.keras "..."` or
  `keras_seq.models.Translator.load(...)`;
- `alignment.png`: the attention heatmap of one hand-typed date;
- `results.json`: the settings and the measured figures.

Example:
    keras-seq demo --epochs 4 --output-dir outputs/demo
    keras-seq demo --attention none  # fixed-context baseline (Sutskever)
    keras-seq demo --architecture transformer --epochs 5

Keras and TensorFlow are imported inside `run()`, so `keras-seq demo --help`
answers at once.
"""

import json
import os
import time

ATTENTION_CHOICES = ("luong", "local", "bahdanau", "none")
ARCHITECTURE_CHOICES = ("rnn", "transformer")
# Adam learning rate when --learning-rate is not given.
DEFAULT_LEARNING_RATES = {"rnn": 3e-3, "transformer": 1e-3}

# Dates typed by hand, printed after training (their days may be in any
# split; the exact-match figure is computed on the held-out test split).
EXAMPLES = (
    "Saturday, March 7th 1987",
    "25/12/2031",
    "the 3rd of july 1999",
    "NOV 9, 04",
    "2017.2.14",
)


class _Default(int):
    """An int default not typed by the user: `--task caption` replaces it
    with its own default (a given value is a plain int)."""


def add_arguments(parser):
    """Adds the demo's options to an `argparse` (sub)parser."""
    parser.add_argument(
        "--output-dir",
        default=os.path.join("outputs", "demo"),
        help="where the model, vocabularies, heatmap and results go "
        "(default: outputs/demo)",
    )
    parser.add_argument(
        "--task",
        choices=("translate", "caption"),
        default="translate",
        help="translate (the date seq2seq, default) or caption (a "
        "Show-Attend-Tell captioner on generated shape images; uses "
        "--epochs, --num-train, --num-test, --embedding-dim, --hidden-dim, "
        "--batch-size, --learning-rate, --seed, with defaults of its own: "
        "5 epochs, 2000 training and 300 test images, about 4 minutes on 2 "
        "cores)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=_Default(4),
        help="training epochs (default: 4)",
    )
    parser.add_argument(
        "--architecture",
        choices=ARCHITECTURE_CHOICES,
        default="rnn",
        help="rnn (RNNSeq2Seq with --attention) or transformer "
        "(TransformerSeq2Seq, --hidden-dim wide, --num-layers encoder and "
        "decoder layers, --num-heads heads) (default: rnn)",
    )
    parser.add_argument(
        "--attention",
        choices=ATTENTION_CHOICES,
        default="luong",
        help="luong (global), local (local-p), bahdanau, or none "
        "(Sutskever fixed context) (default: luong)",
    )
    parser.add_argument(
        "--score",
        choices=("dot", "general", "concat"),
        default="general",
        help="Luong score for luong/local attention (default: general)",
    )
    parser.add_argument(
        "--cell", choices=("lstm", "gru"), default="lstm", help="RNN cell"
    )
    parser.add_argument("--embedding-dim", type=int, default=_Default(64))
    parser.add_argument("--hidden-dim", type=int, default=_Default(128))
    parser.add_argument(
        "--num-layers",
        type=int,
        default=2,
        help="Transformer layers per stack (default: 2)",
    )
    parser.add_argument(
        "--num-heads",
        type=int,
        default=4,
        help="Transformer attention heads; must divide --hidden-dim "
        "(default: 4)",
    )
    parser.add_argument("--batch-size", type=int, default=_Default(64))
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="Adam learning rate (default: 3e-3 for rnn, 1e-3 for transformer)",
    )
    parser.add_argument(
        "--num-train",
        type=int,
        default=_Default(20000),
        help="training examples",
    )
    parser.add_argument(
        "--num-val", type=int, default=1000, help="validation examples"
    )
    parser.add_argument(
        "--num-test",
        type=int,
        default=_Default(1000),
        help="held-out test dates for the exact-match figure",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _check_args(args):
    for name in (
        "epochs",
        "embedding_dim",
        "hidden_dim",
        "num_layers",
        "num_heads",
        "batch_size",
        "num_train",
        "num_val",
        "num_test",
    ):
        value = getattr(args, name)
        if value < 1:
            raise ValueError(
                f"`--{name.replace('_', '-')}` must be >= 1. "
                f"Received: {name}={value}"
            )
    if args.architecture == "transformer" and args.hidden_dim % args.num_heads:
        raise ValueError(
            "`--num-heads` must divide `--hidden-dim`. Received: "
            f"hidden_dim={args.hidden_dim}, num_heads={args.num_heads}"
        )
    if args.learning_rate is None:
        args.learning_rate = DEFAULT_LEARNING_RATES[args.architecture]
    if not args.learning_rate > 0:
        raise ValueError(
            "`--learning-rate` must be > 0. "
            f"Received: learning_rate={args.learning_rate}"
        )


def _encode_pairs(pairs, source_tokenizer, target_tokenizer, lengths):
    """`({"source_ids", "target_in"}, target_out)` NumPy arrays."""
    source_length, target_length = lengths
    sources = [s for s, _ in pairs]
    targets = [t for _, t in pairs]
    x = {
        "source_ids": source_tokenizer.encode(
            sources, source_length, truncate=False
        ).numpy(),
        "target_in": target_tokenizer.encode(
            targets, target_length, add_bos=True, truncate=False
        ).numpy(),
    }
    y = target_tokenizer.encode(
        targets, target_length, add_eos=True, truncate=False
    ).numpy()
    return x, y


def _exact_match_callback(evaluate):
    """A Keras callback printing (and logging) the validation exact match
    after every epoch."""
    import keras

    class ExactMatchCallback(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.history = []

        def on_epoch_end(self, epoch, logs=None):
            accuracy = evaluate()
            self.history.append(accuracy)
            if logs is not None:
                logs["val_exact_match"] = accuracy
            print(
                f"epoch {epoch + 1}: validation exact match {accuracy:.2%}",
                flush=True,
            )

    return ExactMatchCallback()


def build_tokenizers(train_pairs):
    """Source: words, lower-cased ("NOV 9, 04" reads like "nov 9, 04");
    target: words with their spacing kept (joiner) and case kept, so the
    translator writes "2026-11-25"."""
    from keras_seq.text import WordTokenizer

    source = WordTokenizer.from_corpus([s for s, _ in train_pairs])
    target = WordTokenizer.from_corpus(
        [t for _, t in train_pairs], lowercase=False
    )
    return source, target


def build_model(args, source_tokenizer, target_tokenizer, lengths):
    """The demo's `RNNSeq2Seq` or `TransformerSeq2Seq`."""
    from keras_seq.models import RNNSeq2Seq
    from keras_seq.models import TransformerSeq2Seq

    source_length, target_length = lengths
    if args.architecture == "transformer":
        return TransformerSeq2Seq(
            source_vocabulary_size=source_tokenizer.vocabulary_size,
            target_vocabulary_size=target_tokenizer.vocabulary_size,
            hidden_dim=args.hidden_dim,
            num_layers=args.num_layers,
            num_heads=args.num_heads,
            intermediate_dim=2 * args.hidden_dim,
            dropout=0.1,
            max_source_length=source_length,
            max_target_length=target_length,
        )
    return RNNSeq2Seq(
        source_vocabulary_size=source_tokenizer.vocabulary_size,
        target_vocabulary_size=target_tokenizer.vocabulary_size,
        embedding_dim=args.embedding_dim,
        hidden_dim=args.hidden_dim,
        cell=args.cell,
        attention=None if args.attention == "none" else args.attention,
        score=args.score,
        local_mode="local-p",
        input_feeding=True,
        max_source_length=source_length,
        max_target_length=target_length,
    )


def _longest(tokenizer, texts):
    return int(tokenizer.tokenize(texts).row_lengths().numpy().max())


def train_and_evaluate(args):
    """Runs the whole demo; returns the dict written to results.json."""
    _check_args(args)
    import keras

    from keras_seq.datasets import load_dates
    from keras_seq.metrics import MaskedAccuracy
    from keras_seq.metrics import MaskedSparseCategoricalCrossentropy
    from keras_seq.metrics import exact_match
    from keras_seq.models import Translator

    start_time = time.time()
    keras.utils.set_random_seed(args.seed)
    os.makedirs(args.output_dir, exist_ok=True)
    data = load_dates(
        num_train=args.num_train,
        num_val=args.num_val,
        num_test=args.num_test,
        seed=args.seed,
    )
    source_tokenizer, target_tokenizer = build_tokenizers(data["train"])
    every_pair = data["train"] + data["val"] + data["test"]
    # Room for long hand-typed dates too; +1 for BOS/EOS.
    source_length = max(
        _longest(source_tokenizer, [s for s, _ in every_pair]), 16
    )
    target_length = _longest(target_tokenizer, [t for _, t in every_pair]) + 1
    lengths = (source_length, target_length)
    x_train, y_train = _encode_pairs(
        data["train"], source_tokenizer, target_tokenizer, lengths
    )
    x_val, y_val = _encode_pairs(
        data["val"], source_tokenizer, target_tokenizer, lengths
    )
    print(
        f"date corpus: {len(data['train'])} train, {len(data['val'])} "
        f"validation, {len(data['test'])} held-out test examples; "
        f"vocabularies {source_tokenizer.vocabulary_size} (source) / "
        f"{target_tokenizer.vocabulary_size} (target) tokens",
        flush=True,
    )
    model = build_model(args, source_tokenizer, target_tokenizer, lengths)
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss=MaskedSparseCategoricalCrossentropy(),
        metrics=[MaskedAccuracy()],
    )
    # Greedy during training (fast); the saved translator uses beam search.
    greedy = Translator(
        model, source_tokenizer, target_tokenizer, strategy="greedy"
    )
    val_sources = [s for s, _ in data["val"]]
    val_targets = [t for _, t in data["val"]]
    callback = _exact_match_callback(
        lambda: exact_match(
            greedy.translate(val_sources, batch_size=500), val_targets
        )
    )
    train_start = time.time()
    model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        batch_size=args.batch_size,
        epochs=args.epochs,
        callbacks=[callback],
        verbose=0 if args.quiet else 1,
    )
    train_seconds = time.time() - train_start

    translator = Translator(model, source_tokenizer, target_tokenizer)
    test_sources = [s for s, _ in data["test"]]
    test_targets = [t for _, t in data["test"]]
    hypotheses = translator.translate(test_sources, batch_size=250)
    accuracy = exact_match(hypotheses, test_targets)

    print("\nTranslations of held-out test dates:")
    for source, hypothesis, target in list(
        zip(test_sources, hypotheses, test_targets)
    )[:5]:
        mark = "ok" if hypothesis == target else "WRONG"
        print(f"  {source!r:38} -> {hypothesis}  [{mark}]")
    examples = translator.translate(list(EXAMPLES))
    print("Translations of hand-typed dates:")
    for source, hypothesis in zip(EXAMPLES, examples):
        print(f"  {source!r:38} -> {hypothesis}")
    print(
        f"\nExact match on the {len(test_targets)} held-out test dates: "
        f"{accuracy:.2%} (beam search, {args.epochs} epochs, "
        f"{train_seconds:.0f} s of training)"
    )

    heatmap_path = None
    if args.attention != "none" or args.architecture == "transformer":
        heatmap_path = os.path.join(args.output_dir, "alignment.png")
        _plot_example(
            model,
            source_tokenizer,
            target_tokenizer,
            EXAMPLES[0],
            heatmap_path,
            "cross-attention of the last decoder layer, mean over heads"
            if args.architecture == "transformer"
            else "alignment a_t(s)",
        )
        print(f"Attention heatmap of {EXAMPLES[0]!r}: {heatmap_path}")
    translator_path = os.path.join(args.output_dir, "translator.keras")
    translator.save(translator_path)
    results = {
        "architecture": args.architecture,
        "attention": "multi-head"
        if args.architecture == "transformer"
        else args.attention,
        "score": args.score,
        "cell": args.cell,
        "epochs": args.epochs,
        "seed": args.seed,
        "num_train": len(data["train"]),
        "num_test": len(test_targets),
        "test_exact_match": accuracy,
        "val_exact_match_per_epoch": callback.history,
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.time() - start_time, 1),
        "translator": translator_path,
        "alignment_png": heatmap_path,
        "examples": dict(zip(EXAMPLES, examples)),
        "test_errors": [
            [s, h, t]
            for s, h, t in zip(test_sources, hypotheses, test_targets)
            if h != t
        ][:20],
    }
    with open(os.path.join(args.output_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(
        f"Translator and results saved in {args.output_dir}; try\n"
        f"  keras-seq translate --model {translator_path} "
        '"25 November 2026"'
    )
    return results


def _plot_example(model, source_tokenizer, target_tokenizer, text, path, what):
    """Heatmap of the greedy translation of `text`, cropped to its tokens."""
    from keras import ops

    from keras_seq.plotting import plot_alignment

    ids = source_tokenizer.encode([text], model.max_source_length).numpy()
    outputs = {
        k: ops.convert_to_numpy(v) for k, v in model.generate(ids).items()
    }
    source_ids = [i for i in ids[0] if i != 0]
    length = int(outputs["lengths"][0])
    target_ids = outputs["token_ids"][0][:length]
    weights = outputs["alignment"][0][:length, : len(source_ids)]

    def label(tokenizer, token_id):
        # The joiner marks spacing, it is not part of the token's text.
        token = tokenizer.id_to_token(token_id)
        return token.replace(getattr(tokenizer, "joiner", None) or "\0", "")

    plot_alignment(
        weights,
        [label(source_tokenizer, i) for i in source_ids],
        [label(target_tokenizer, i) for i in target_ids],
        path,
        title=f"{text!r}: {what}",
    )


def run(args):
    """Entry point of `keras-seq demo`; returns the process exit code."""
    if getattr(args, "task", "translate") == "caption":
        from keras_seq_apps.demo_caption import CAPTION_DEFAULTS
        from keras_seq_apps.demo_caption import train_and_evaluate_captioner

        for name, value in CAPTION_DEFAULTS.items():
            given = getattr(args, name, None)
            if given is None or isinstance(given, _Default):
                setattr(args, name, value)
        _check_args(args)
        train_and_evaluate_captioner(args)
        return 0
    train_and_evaluate(args)
    return 0
