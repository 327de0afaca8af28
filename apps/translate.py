"""`keras-seq translate`: translate with a saved Translator, a SavedModel or
a TF Serving server.

    keras-seq translate --model outputs/demo/translator.keras \\
        "25 November 2026" "tuesday, 13 december 1994"
    keras-seq translate --model-dir outputs/pipeline/serving/translator \\
        "25 November 2026"
    keras-seq translate --server grpc://localhost:8500 "25 November 2026"
    echo "25 November 2026" | keras-seq translate --model-dir DIR

`--model` takes a `.keras` file written by `Translator.save` (the demo
writes one). `--model-dir` takes a SavedModel folder or a `<model_name>/`
folder of numbered versions: the newest complete version is used, as TF
Serving does. Without sentences on the command line, stdin is read, one
sentence per line (a blank line gives a blank translation, so the output
lines match the input lines). Output: `source<TAB>translation` per line; a
sentence longer than the model reads is cut, and a warning on stderr says
so.
"""

import os
import sys

from keras_seq_apps.saved_model_session import SessionModel


def add_arguments(parser):
    parser.add_argument(
        "sentences",
        nargs="*",
        help="sentences to translate (default: one per line on stdin)",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--model", help="a saved Translator (.keras file, Translator.save)"
    )
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
    parser.add_argument(
        "--evaluate",
        metavar="CSV",
        help="instead of translating sentences, translate the `source` "
        "column of a `source,target` CSV file (as the pipeline writes, e.g. "
        "outputs/pipeline/data/test/data.csv) and print exact match, "
        "sacreBLEU (cased, with its signature) and chrF against `target`",
    )


class SavedModelTranslator(SessionModel):
    """A translator SavedModel run through the TF1 session API, the loader
    TF Serving itself uses (so what this prints is what the server would
    answer)."""

    def _run(self, name, sentences):
        return self.run(name, "text", [s.encode("utf-8") for s in sentences])

    def translate(self, sentences, batch_size=64):
        texts, truncated = [], []
        for start in range(0, len(sentences), batch_size):
            out = self._run(
                "serving_default", sentences[start : start + batch_size]
            )
            texts.extend(t.decode("utf-8") for t in out["translation"])
            truncated.extend(
                out["truncated"].tolist()
                if "truncated" in out
                else [False] * len(out["translation"])
            )
        return texts, truncated

    def n_best(self, sentences):
        if "n_best" not in self.signatures:
            raise ValueError(
                "This model has no n_best signature. Received: "
                f"model_dir={self.path!r}"
            )
        out = self._run("n_best", sentences)
        return [
            [(t.decode("utf-8"), float(s)) for t, s in zip(ts, ss)]
            for ts, ss in zip(out["translations"], out["scores"])
        ]


class KerasTranslator:
    """A `Translator` loaded from its `.keras` file."""

    def __init__(self, path):
        from keras_seq.models import Translator

        self.translator = Translator.load(path)

    def translate(self, sentences):
        details = self.translator.translate(
            sentences, return_details=True, batch_size=256
        )
        return (
            [d["translation"] for d in details],
            [d["truncated"] for d in details],
        )

    def n_best(self, sentences):
        return self.translator.translate(
            sentences, n_best=self.translator.beam_width
        )


def read_sentences(args, stdin=None):
    """The sentences of the command line, else the lines of stdin.

    Raises:
        ValueError: a command-line argument or a stdin line that is not
            valid UTF-8 (its position is named).
    """
    if args.sentences:
        for i, sentence in enumerate(args.sentences, 1):
            try:
                sentence.encode("utf-8")
            except UnicodeEncodeError:
                # Python decodes argv with surrogateescape: undecodable
                # bytes come back as lone surrogates.
                raw = sentence.encode("utf-8", "surrogateescape")
                raise ValueError(
                    f"sentence {i} on the command line is not valid UTF-8. "
                    f"Received: {raw!r}"
                ) from None
        return list(args.sentences)
    stdin = sys.stdin.buffer if stdin is None else stdin
    sentences = []
    for number, line in enumerate(stdin, 1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"stdin line {number} is not valid UTF-8 ({error.reason} "
                f"at byte {error.start}). Received: {line[:80]!r}"
            ) from None
        sentences.append(text.rstrip("\r\n"))
    return sentences


def read_pairs(path):
    """`(sources, references)` of a `source,target` CSV file."""
    import csv

    if not os.path.isfile(path):
        raise ValueError(f"--evaluate: no such file. Received: {path!r}")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != ["source", "target"]:
        raise ValueError(
            "--evaluate needs a CSV file with the header `source,target`. "
            f"Received: first row {rows[0] if rows else None!r} in {path!r}"
        )
    bad = [i for i, row in enumerate(rows[1:], 2) if len(row) != 2]
    if bad:
        raise ValueError(
            f"--evaluate: rows with other than 2 fields at lines {bad[:5]}. "
            f"Received: {path!r}"
        )
    if len(rows) < 2:
        raise ValueError(f"--evaluate: no rows. Received: {path!r}")
    return [r[0] for r in rows[1:]], [r[1] for r in rows[1:]]


def evaluate(translator, path):
    """Prints exact match, cased sacreBLEU and chrF of `translator` on the
    pairs of `path`; returns the figures."""
    import sacrebleu

    sources, references = read_pairs(path)
    hypotheses, _ = translator.translate(sources)
    exact = sum(h == r for h, r in zip(hypotheses, references))
    bleu = sacrebleu.metrics.BLEU()
    bleu_score = bleu.corpus_score(hypotheses, [references])
    chrf = sacrebleu.metrics.CHRF()
    chrf_score = chrf.corpus_score(hypotheses, [references])
    print(
        f"{len(sources)} sentences of {path}: exact match "
        f"{exact / len(sources):.2%} ({exact}/{len(sources)}), BLEU "
        f"{bleu_score.score:.2f} ({bleu.get_signature()}), chrF "
        f"{chrf_score.score:.2f}"
    )
    for s, h, r in list(zip(sources, hypotheses, references)):
        if h != r:
            print(f"  wrong: {s!r} -> {h!r} (expected {r!r})")
            break
    return {
        "exact_match": exact / len(sources),
        "bleu": bleu_score.score,
        "chrf": chrf_score.score,
    }


def run(args):
    if args.evaluate:
        if args.server:
            raise ValueError(
                "--evaluate runs a local model: use --model or --model-dir. "
                f"Received: --server {args.server}"
            )
        translator = (
            KerasTranslator(args.model)
            if args.model
            else SavedModelTranslator(args.model_dir)
        )
        evaluate(translator, args.evaluate)
        return 0
    sentences = read_sentences(args)
    if not sentences:
        raise ValueError(
            "no sentence to translate: give sentences as arguments or one "
            "per line on stdin. Received: nothing"
        )
    if args.server:
        return _run_server(args, sentences)
    if args.model:
        translator = KerasTranslator(args.model)
    else:
        translator = SavedModelTranslator(args.model_dir)
    if args.n_best:
        for source, hyps in zip(sentences, translator.n_best(sentences)):
            _print_n_best(source, hyps)
        return 0
    texts, truncated = translator.translate(sentences)
    for number, (source, text, cut) in enumerate(
        zip(sentences, texts, truncated), 1
    ):
        if cut:
            print(
                f"keras-seq: warning: sentence {number} is longer than the "
                "model reads and was cut before translating",
                file=sys.stderr,
            )
        print(f"{source}\t{text}")
    return 0


def _run_server(args, sentences):
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


def _print_n_best(source, hypotheses):
    print(source)
    for rank, (text, score) in enumerate(hypotheses, 1):
        print(f"  {rank}. {float(score):9.4f}  {text}")
