"""`keras-seq translate`: translate with a SavedModel or a TF Serving server.

    keras-seq translate --model-dir outputs/pipeline/serving/translator \\
        "25 November 2026" "tuesday, 13 december 1994"
    keras-seq translate --server grpc://localhost:8500 "25 November 2026"
    echo "25 November 2026" | keras-seq translate --model-dir DIR

`--model-dir` takes a SavedModel folder or a `<model_name>/` folder of
numbered versions (the newest is used, as TF Serving does).
"""

import os
import sys


def add_arguments(parser):
    parser.add_argument(
        "sentences",
        nargs="*",
        help="sentences to translate (default: one per line on stdin)",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--model-dir", help="SavedModel folder or <model_name>/ of versions"
    )
    where.add_argument(
        "--server",
        help="TF Serving URL: http://host:8501 (REST) or grpc://host:8500",
    )
    parser.add_argument("--model-name", default="translator")
    parser.add_argument(
        "--n-best",
        action="store_true",
        help="print the beam-search n-best list with scores",
    )


def latest_version_dir(model_dir):
    """`model_dir` itself if it is a SavedModel, else its newest version."""
    if os.path.exists(os.path.join(model_dir, "saved_model.pb")):
        return model_dir
    versions = (
        [d for d in os.listdir(model_dir) if d.isdigit()]
        if os.path.isdir(model_dir)
        else []
    )
    if not versions:
        raise ValueError(
            "`--model-dir` must be a SavedModel folder or hold numbered "
            f"version folders. Received: model_dir={model_dir!r}"
        )
    return os.path.join(model_dir, max(versions, key=int))


class LocalTranslator:
    """Runs the exported signatures in this process."""

    def __init__(self, model_dir):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers the TF Text ops)

        self.path = latest_version_dir(model_dir)
        self._loaded = tf.saved_model.load(self.path)
        self.signatures = self._loaded.signatures

    def translate(self, sentences):
        out = self.signatures["serving_default"](text=_as_tensor(sentences))
        return [t.decode("utf-8") for t in out["translation"].numpy()]

    def n_best(self, sentences):
        if "n_best" not in self.signatures:
            raise ValueError(
                "This model has no n_best signature (exported with "
                f"beam_width=1). Received: model_dir={self.path!r}"
            )
        out = self.signatures["n_best"](text=_as_tensor(sentences))
        return [
            [(t.decode("utf-8"), float(s)) for t, s in zip(ts, ss)]
            for ts, ss in zip(
                out["translations"].numpy(), out["scores"].numpy()
            )
        ]


def _as_tensor(sentences):
    import tensorflow as tf

    return tf.constant(list(sentences), dtype=tf.string)


def run(args):
    sentences = args.sentences or [
        line.rstrip("\n") for line in sys.stdin if line.strip()
    ]
    if not sentences:
        print("keras-seq translate: no sentence given", file=sys.stderr)
        return 2
    if args.server:
        from keras_seq_serving.client import TranslationClient

        signature = "n_best" if args.n_best else "serving_default"
        client = TranslationClient(args.server, args.model_name, signature)
        if args.n_best:
            outputs = client.predict(sentences)
            for source, ts, ss in zip(
                sentences, outputs["translations"], outputs["scores"]
            ):
                _print_n_best(source, list(zip(ts, ss)))
        else:
            for source, t in zip(sentences, client.translate(sentences)):
                print(f"{source}\t{t}")
        return 0
    translator = LocalTranslator(args.model_dir)
    if args.n_best:
        for source, hyps in zip(sentences, translator.n_best(sentences)):
            _print_n_best(source, hyps)
    else:
        for source, t in zip(sentences, translator.translate(sentences)):
            print(f"{source}\t{t}")
    return 0


def _print_n_best(source, hypotheses):
    print(source)
    for rank, (text, score) in enumerate(hypotheses, 1):
        print(f"  {rank}. {float(score):9.4f}  {text}")
