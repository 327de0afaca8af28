"""`keras-seq caption`: caption images with a saved Captioner.

    keras-seq caption --model outputs/demo-caption/captioner.keras \\
        image.png more.jpg

`--model` takes a `.keras` file written by `Captioner.save` (`keras-seq demo
--task caption` writes one). The images are JPEG, PNG, GIF or BMP files;
grey-scale images are read as RGB and transparent ones composited over
white, and every image is resized to the model's input size. Output:
`path<TAB>caption` per image, in the order given. An empty, unreadable or
too large image stops with a one-line error naming it.
"""


def add_arguments(parser):
    parser.add_argument("images", nargs="+", help="image files to caption")
    parser.add_argument(
        "--model",
        required=True,
        help="a saved Captioner (.keras file, Captioner.save)",
    )
    parser.add_argument(
        "--strategy",
        choices=("greedy", "beam"),
        help="search (default: the one saved with the captioner)",
    )
    parser.add_argument(
        "--beam-width", type=int, help="beams of beam search (with --strategy)"
    )
    parser.add_argument(
        "--scores", action="store_true", help="print the score as a 3rd column"
    )


def run(args):
    if args.beam_width is not None and args.beam_width < 1:
        raise ValueError(
            "`--beam-width` must be a positive int. Received: "
            f"--beam-width={args.beam_width}"
        )
    from keras_seq.models import Captioner

    captioner = Captioner.load(args.model)
    if args.strategy or args.beam_width:
        captioner = Captioner(
            captioner.captioner,
            captioner.vocabulary,
            strategy=args.strategy or captioner.strategy,
            beam_width=args.beam_width or captioner.beam_width,
            length_penalty=captioner.length_penalty,
            max_length=captioner.max_length,
            max_pixels=captioner.max_pixels,
        )
    # Every file is checked (and a bad one named) before any is captioned.
    results = captioner.caption(list(args.images), return_scores=True)
    for path, result in zip(args.images, results):
        line = f"{path}\t{result['caption']}"
        if args.scores:
            line += f"\t{result['score']:.4f}"
        print(line)
    return 0
