"""BLEU of one saved Translator under different searches, on Multi30k val.

Loads a `translator.keras` (e.g. the one the pipeline's Trainer saves in
`<output-dir>/tfx/Trainer/model_run/<id>/`), translates the 1,014 raw
validation sentences with greedy search and with beam search for each
width and GNMT length penalty alpha asked, and prints cased sacreBLEU
(with its signature), chrF, the mean output length and the decoding time
of each. The model is the same in every row: only the search changes.

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python benchmarks/translator_search.py \\
        --model outputs/bench_m30k/tfx/Trainer/model_run/8/translator.keras \\
        --widths 4,6 --alphas 0.6,1.0
"""

import argparse
import gzip
import os
import time

SHARED = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"
)


def read_lines(path):
    with gzip.open(path, "rt", encoding="utf-8") as file:
        return [line.rstrip("\n") for line in file]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument(
        "--data-dir", default=os.path.join(SHARED, "data", "multi30k")
    )
    parser.add_argument("--widths", default="4")
    parser.add_argument("--alphas", default="0.6")
    args = parser.parse_args()

    import sacrebleu

    from keras_seq.models import Translator

    sources = read_lines(os.path.join(args.data_dir, "val.en.gz"))
    references = read_lines(os.path.join(args.data_dir, "val.de.gz"))
    saved = Translator.load(args.model)
    searches = [("greedy", 1, 0.0)] + [
        ("beam", int(w), float(a))
        for w in args.widths.split(",")
        for a in args.alphas.split(",")
    ]
    print(f"model: {args.model}; {len(sources)} validation sentences")
    print("| search | width | alpha | BLEU | chrF | mean words | seconds |")
    print("|---|---|---|---|---|---|---|")
    signature = None
    for strategy, width, alpha in searches:
        translator = Translator(
            saved.seq2seq,
            saved.source_tokenizer,
            saved.target_tokenizer,
            strategy=strategy,
            beam_width=width,
            length_penalty=alpha,
            max_length=saved.max_length,
        )
        start = time.time()
        hypotheses = translator.translate(sources, batch_size=128)
        seconds = time.time() - start
        bleu = sacrebleu.metrics.BLEU()
        score = bleu.corpus_score(hypotheses, [references])
        chrf = sacrebleu.corpus_chrf(hypotheses, [references]).score
        words = sum(len(h.split()) for h in hypotheses) / len(hypotheses)
        signature = bleu.get_signature()
        print(
            f"| {strategy} | {width} | {alpha:g} | {score.score:.2f} | "
            f"{chrf:.2f} | {words:.2f} | {seconds:.0f} |",
            flush=True,
        )
    print(f"BLEU signature: {signature}")


if __name__ == "__main__":
    main()
