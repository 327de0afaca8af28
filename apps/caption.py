"""`keras-seq caption`: caption images with a saved Captioner or SavedModel.

    keras-seq caption --model outputs/demo-caption/captioner.keras \\
        image.png more.jpg
    keras-seq caption --model-dir outputs/caption/serving/captioner image.png

`--model` takes a `.keras` file written by `Captioner.save` (`keras-seq demo
--task caption` writes one). `--model-dir` takes an exported captioner
(`Captioner.export`, or the `<model_name>/` folder of versions the caption
pipeline pushes: the newest complete version, as TF Serving does), run
through the TF1 session API the model server uses. The images are JPEG,
PNG, GIF or BMP files; grey-scale images are read as RGB and transparent
ones composited over white, and every image is resized to the model's
input size. Output:
`path<TAB>caption` per image, in the order given. An empty, unreadable or
too large image stops with a one-line error naming it.
"""


def add_arguments(parser):
    parser.add_argument("images", nargs="+", help="image files to caption")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--model", help="a saved Captioner (.keras file, Captioner.save)"
    )
    where.add_argument(
        "--model-dir",
        help="an exported captioner SavedModel or <model_name>/ of versions",
    )
    parser.add_argument(
        "--strategy",
        choices=("greedy", "beam"),
        help="search (default: the one saved with the captioner; --model only)",
    )
    parser.add_argument(
        "--beam-width", type=int, help="beams of beam search (with --strategy)"
    )
    parser.add_argument(
        "--scores", action="store_true", help="print the score as a 3rd column"
    )


def read_images(paths):
    """The bytes of each image file, every one checked first (the
    conversions and checks of `keras_seq.datasets.decode_image`), so a bad
    file is named instead of failing inside the SavedModel."""
    from keras_seq.datasets import decode_image
    from keras_seq.datasets import read_image_file

    images = []
    for path in paths:
        images.append(read_image_file(path))
        # Raises a ValueError naming the file (the size is irrelevant).
        decode_image(images[-1], (8, 8), name=repr(path))
    return images


def caption_saved_model(model_dir, paths, batch_size=32):
    """`[{"caption", "score"}]` of the image files by an exported
    captioner, through the session API."""
    from keras_seq_apps.saved_model_session import SessionModel

    model = SessionModel(model_dir)
    images = read_images(paths)
    results = []
    for start in range(0, len(images), batch_size):
        out = model.run(
            "serving_default", "images", images[start : start + batch_size]
        )
        results.extend(
            {"caption": c.decode("utf-8"), "score": float(s)}
            for c, s in zip(out["caption"], out["score"])
        )
    return results


def run(args):
    if args.beam_width is not None and args.beam_width < 1:
        raise ValueError(
            "`--beam-width` must be a positive int. Received: "
            f"--beam-width={args.beam_width}"
        )
    if args.model_dir:
        if args.strategy or args.beam_width:
            raise ValueError(
                "An exported captioner decodes with the search it was "
                "exported with; --strategy/--beam-width need --model. "
                f"Received: --model-dir {args.model_dir}"
            )
        _print(args, caption_saved_model(args.model_dir, args.images))
        return 0
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
    _print(args, captioner.caption(list(args.images), return_scores=True))
    return 0


def _print(args, results):
    for path, result in zip(args.images, results):
        line = f"{path}\t{result['caption']}"
        if args.scores:
            line += f"\t{result['score']:.4f}"
        print(line)
