"""Configuration of the keras-seq TFX pipeline: one place for every constant.

`DatasetConfig` says how raw text becomes tokens (the `keras_seq.text`
tokenizers: Transform learns their vocabularies, the Trainer builds them) and
how the translations are scored (evaluation); `ModelConfig` says which
keras-seq model the Trainer builds, how it trains (the library's recipe:
warm-up schedule, label smoothing, length-bucketed batches, best checkpoint
by validation BLEU, resume after a kill) and how the exported Translator
decodes. `PRESETS` holds the corpora the pipeline ships with: the
built-in date corpus (words with their spacing kept, an attentional RNN;
minutes on CPU), Multi30k En-De (cased SentencePiece, a Transformer) and,
for the captioning task, the generated shapes corpus (a Show, Attend and
Tell captioner).

Both dataclasses are turned into plain dicts (`to_dict`) because TFX passes
them to the module files as JSON `custom_config`.
"""

import dataclasses

# Raw CSV columns written by `keras_seq_pipelines.data` and read by ExampleGen.
SOURCE_KEY = "source"
TARGET_KEY = "target"
# Transformed feature names (what the Trainer reads).
SOURCE_TEXT_KEY = "source_text"
TARGET_TEXT_KEY = "target_text"
SOURCE_LENGTH_KEY = "source_length"
TARGET_LENGTH_KEY = "target_length"
# Vocabulary names given to `tft.vocabulary`.
SOURCE_VOCAB_NAME = "source_vocab"
TARGET_VOCAB_NAME = "target_vocab"

# Caption corpora (task "caption"): the tf.Example features ExampleGen
# reads and the transformed features the Trainer reads.
IMAGE_KEY = "image"
CAPTION_KEY = "caption"
CAPTION_TEXT_KEY = "caption_text"
CAPTION_LENGTH_KEY = "caption_length"
CAPTION_VOCAB_NAME = "caption_vocab"

TASKS = ("translation", "caption")
TOKENIZATIONS = ("char", "word", "sentencepiece")
# Translation models, then captioning models.
ARCHITECTURES = ("rnn", "transformer")
CAPTION_ARCHITECTURES = ("show_attend_tell",)
DECODE_STRATEGIES = ("beam", "greedy")


def _check_positive(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )


@dataclasses.dataclass(frozen=True)
class DatasetConfig:
    """How a corpus is tokenized, truncated and scored.

    Args:
        name: corpus name (`"dates"`, `"multi30k"`, `"shapes"` or a
            user's own).
        task: `"translation"` (text -> text, `train/` and `eval/` CSV or
            TSV files) or `"caption"` (image -> text, Flickr8k-style
            `captions.txt` files and images; see
            `keras_seq_pipelines.caption_data`).
        tokenization: `"char"` (`keras_seq.text.CharTokenizer`), `"word"`
            (`WordTokenizer`: words and punctuation with their spacing
            kept) or `"sentencepiece"` (`SentencePieceTokenizer`, cased,
            lossless), the same on both sides.
        source_lowercase: lower-case the source before tokenizing (the
            target is never lower-cased: the output is cased text).
        max_source_length: source tokens the model reads; longer sentences
            are cut (the served model reports it) and counted in
            `source_length`.
        max_target_length: target positions including BOS/EOS; longer
            training targets are cut.
        vocabulary_size: word/char: at most this many tokens per vocabulary,
            reserved ids not included (`top_k` of `tft.vocabulary`);
            sentencepiece: at most this many pieces per model, reserved
            ones included (fewer when the corpus is small).
        frequency_threshold: word/char tokens seen fewer times map to [UNK].
        bleu_tokenize: sacrebleu tokenizer used to score translations
            (`"13a"` for words, `"char"` for character-level outputs).
        bleu_threshold: the evaluation blesses a model only if its corpus BLEU
            on the eval split reaches this value (0-100).
        image_size: caption task: images are resized to this many pixels
            square before the image encoder.
        joint_vocabulary: sentencepiece only: one model trained on both
            sides (`vocabulary_size` pieces in all) tokenizes source and
            target, so a Transformer can share one embedding matrix
            (`model_kwargs={"share_embeddings": True}`, Press & Wolf 2017;
            Vaswani et al. 2017 sec. 3.4). Needs `source_lowercase=False`.

    For captions, `tokenization` must be `"word"` (the captioner's
    vocabulary is whitespace-separated words, so its space-joined output
    is the caption text) and `max_target_length` counts BOS/EOS.
    """

    name: str = "dates"
    task: str = "translation"
    tokenization: str = "word"
    source_lowercase: bool = True
    max_source_length: int = 16
    max_target_length: int = 8
    vocabulary_size: int = 10000
    frequency_threshold: int = 1
    bleu_tokenize: str = "char"
    bleu_threshold: float = 50.0
    image_size: int = 48
    joint_vocabulary: bool = False

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(
                f"`task` must be one of {TASKS}. Received: task={self.task!r}"
            )
        if self.task == "caption" and self.tokenization != "word":
            raise ValueError(
                "Captions are tokenized into words (`tokenization='word'`). "
                f"Received: tokenization={self.tokenization!r}"
            )
        if self.tokenization not in TOKENIZATIONS:
            raise ValueError(
                f"`tokenization` must be one of {TOKENIZATIONS}. "
                f"Received: tokenization={self.tokenization!r}"
            )
        for name in (
            "max_source_length",
            "max_target_length",
            "vocabulary_size",
            "frequency_threshold",
            "image_size",
        ):
            _check_positive(name, getattr(self, name))
        if self.max_target_length < 2:
            raise ValueError(
                "`max_target_length` counts BOS/EOS and must be at least 2. "
                f"Received: max_target_length={self.max_target_length}"
            )
        if self.joint_vocabulary and (
            self.tokenization != "sentencepiece" or self.source_lowercase
        ):
            raise ValueError(
                "`joint_vocabulary=True` needs tokenization='sentencepiece' "
                "and source_lowercase=False (one tokenizer for both sides). "
                f"Received: tokenization={self.tokenization!r}, "
                f"source_lowercase={self.source_lowercase!r}"
            )
        if not 0.0 <= float(self.bleu_threshold) <= 100.0:
            raise ValueError(
                "`bleu_threshold` is a BLEU score in [0, 100]. "
                f"Received: bleu_threshold={self.bleu_threshold}"
            )

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Which keras-seq model the Trainer builds and how it trains.

    Args:
        architecture: translation: `"rnn"` (`keras_seq.models.RNNSeq2Seq`
            with Luong attention) or `"transformer"`
            (`keras_seq.models.TransformerSeq2Seq`); captioning:
            `"show_attend_tell"` (`keras_seq.models.ShowAttendTellCaptioner`
            over `keras_seq.layers.ImageFeatureEncoder`).
        model_kwargs: extra constructor arguments of the model class (sizes,
            attention score, dropout...), passed through unchanged.
        epochs: passes over the training split.
        batch_size: global batch size (split across replicas).
        learning_rate: Adam learning rate; with `warmup_steps` the peak of
            the warm-up schedule.
        warmup_steps: 0 for a constant rate; else the rate grows linearly
            for this many steps and then decays as 1/sqrt(step) (Vaswani et
            al. 2017 eq. 3, `keras_seq.optimizers.TransformerSchedule`
            scaled to peak at `learning_rate`).
        label_smoothing: epsilon of label smoothing (Szegedy et al. 2016).
        bucket_boundaries: source+target lengths at which batches are
            split into length buckets (less padding), or None.
        batch_tokens: None, or with `bucket_boundaries` the batch size in
            tokens: a batch of bucket i holds `min(batch_size,
            batch_tokens // width_i)` pairs, `width_i` being the bucket's
            longest source+target length (`boundaries[i] - 1`, the last
            bucket `max_source_length + max_target_length`), so batches
            of short sentences hold more of them (fairseq's
            `--max-tokens`). `batch_size` stays the most pairs per batch.
        best_checkpoint_examples: eval pairs translated (greedy) after
            every epoch to keep the weights of the epoch with the best
            BLEU; 0 keeps the last epoch's weights.
        average_last_epochs: with `best_checkpoint_examples`, also average
            the weights of the last this-many epochs (checkpoint averaging,
            Vaswani et al. 2017 sec. 6.1) and keep the average if its
            validation BLEU beats the best single epoch's; 0 or 1: off.
        decode_strategy: "beam" or "greedy", how the exported Translator
            decodes (`serving_default`).
        beam_width: beams of beam search and size of the `n_best` list.
        length_penalty: GNMT length penalty alpha of beam search.
        gradient_clip_norm: None, or rescale the gradients whenever their
            global norm exceeds this value (Luong et al. 2015 sec. 4.1
            use 5 for their LSTMs; Adam's `global_clipnorm`).
        max_training_minutes: None, or a budget of training time: no
            epoch is started that would not end within this many minutes
            of the start of training (each epoch expected to take as long
            as the mean of those before it), so `epochs` is then a
            maximum. Made for "the best model in two hours" recipes.
        jit_compile: compile the training step with XLA.
        mixed_precision: `"auto"` (mixed_float16 on GPU only, float32
            elsewhere), `"on"` or `"off"`.
        seed: int seed of the weight initialization, dropout and shuffling
            (`keras.utils.set_random_seed`), so a run can be repeated;
            `None` leaves them unseeded.
    """

    architecture: str = "rnn"
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    warmup_steps: int = 0
    label_smoothing: float = 0.0
    bucket_boundaries: tuple | None = None
    batch_tokens: int | None = None
    best_checkpoint_examples: int = 500
    average_last_epochs: int = 0
    decode_strategy: str = "beam"
    beam_width: int = 4
    length_penalty: float = 0.6
    gradient_clip_norm: float | None = None
    max_training_minutes: float | None = None
    jit_compile: bool = False
    mixed_precision: str = "auto"
    seed: int | None = 0

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES + CAPTION_ARCHITECTURES:
            raise ValueError(
                "`architecture` must be one of "
                f"{ARCHITECTURES + CAPTION_ARCHITECTURES}. "
                f"Received: architecture={self.architecture!r}"
            )
        for name in ("epochs", "batch_size", "beam_width"):
            _check_positive(name, getattr(self, name))
        for name in (
            "warmup_steps",
            "best_checkpoint_examples",
            "average_last_epochs",
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or (value < 0)
            ):
                raise ValueError(
                    f"`{name}` must be an int >= 0. Received: {name}={value!r}"
                )
        if not 0.0 <= float(self.label_smoothing) < 1.0:
            raise ValueError(
                "`label_smoothing` must be in [0, 1). Received: "
                f"label_smoothing={self.label_smoothing!r}"
            )
        if self.decode_strategy not in DECODE_STRATEGIES:
            raise ValueError(
                f"`decode_strategy` must be one of {DECODE_STRATEGIES}. "
                f"Received: decode_strategy={self.decode_strategy!r}"
            )
        if not float(self.length_penalty) >= 0.0:
            raise ValueError(
                "`length_penalty` must be >= 0. Received: "
                f"length_penalty={self.length_penalty!r}"
            )
        if self.bucket_boundaries is not None:
            boundaries = list(self.bucket_boundaries)
            if (
                not boundaries
                or any(
                    isinstance(b, bool) or not isinstance(b, int) or b < 1
                    for b in boundaries
                )
                or boundaries != sorted(set(boundaries))
            ):
                raise ValueError(
                    "`bucket_boundaries` must be None or strictly increasing "
                    "positive ints. Received: "
                    f"bucket_boundaries={self.bucket_boundaries!r}"
                )
        if self.batch_tokens is not None:
            _check_positive("batch_tokens", self.batch_tokens)
            if self.bucket_boundaries is None:
                raise ValueError(
                    "`batch_tokens` sizes the batches of length buckets: "
                    "set `bucket_boundaries` too. Received: "
                    f"batch_tokens={self.batch_tokens!r}, "
                    "bucket_boundaries=None"
                )
        if self.mixed_precision not in ("auto", "on", "off"):
            raise ValueError(
                "`mixed_precision` must be 'auto', 'on' or 'off'. "
                f"Received: mixed_precision={self.mixed_precision!r}"
            )
        if self.seed is not None and (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or self.seed < 0
        ):
            raise ValueError(
                "`seed` must be a non-negative int or None. "
                f"Received: seed={self.seed!r}"
            )
        for name in ("gradient_clip_norm", "max_training_minutes"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not value > 0
            ):
                raise ValueError(
                    f"`{name}` must be None or a positive number. "
                    f"Received: {name}={value!r}"
                )
        if not self.learning_rate > 0:
            raise ValueError(
                "`learning_rate` must be positive. "
                f"Received: learning_rate={self.learning_rate}"
            )

    def to_dict(self):
        return dataclasses.asdict(self)


PRESETS = {
    # The demo's recipe (`keras-seq demo`: 99.6-100% exact match): words
    # with their spacing kept, lower-cased source, an LSTM with Luong
    # "general" attention and input feeding.
    "dates": (
        DatasetConfig(
            name="dates",
            tokenization="word",
            source_lowercase=True,
            max_source_length=16,
            max_target_length=8,
            vocabulary_size=2000,
            frequency_threshold=1,
            bleu_tokenize="char",
            bleu_threshold=50.0,
        ),
        ModelConfig(
            architecture="rnn",
            model_kwargs={
                "embedding_dim": 64,
                "hidden_dim": 128,
                "attention": "luong",
                "score": "general",
            },
            epochs=4,
            batch_size=64,
            learning_rate=3e-3,
            best_checkpoint_examples=500,
            decode_strategy="beam",
            beam_width=4,
        ),
    ),
    # Cased SentencePiece and a small Transformer with the warm-up
    # schedule, label smoothing and length buckets.
    "multi30k": (
        DatasetConfig(
            name="multi30k",
            tokenization="sentencepiece",
            source_lowercase=False,
            max_source_length=64,
            max_target_length=72,
            vocabulary_size=8000,
            frequency_threshold=1,
            bleu_tokenize="13a",
            bleu_threshold=10.0,
        ),
        ModelConfig(
            architecture="transformer",
            model_kwargs={
                "hidden_dim": 256,
                "num_layers": 3,
                "num_heads": 4,
                "intermediate_dim": 512,
                "dropout": 0.1,
            },
            # 12 epochs gave 37.69 (65 min) with the curve still rising.
            epochs=18,
            batch_size=64,
            learning_rate=1e-3,
            warmup_steps=2000,
            label_smoothing=0.1,
            bucket_boundaries=(16, 24, 32, 40, 56),
            best_checkpoint_examples=400,
            average_last_epochs=5,
            decode_strategy="beam",
            beam_width=4,
            # Chosen on validation (benchmarks/translator_search.py).
            length_penalty=1.0,
        ),
    ),
    # Image captioning on the generated shapes corpus (Xu et al. 2015):
    # the settings of `keras-seq demo --task caption`.
    "shapes": (
        DatasetConfig(
            name="shapes",
            task="caption",
            tokenization="word",
            source_lowercase=False,
            max_source_length=1,
            max_target_length=16,
            vocabulary_size=1000,
            frequency_threshold=1,
            bleu_tokenize="13a",
            bleu_threshold=50.0,
            image_size=48,
        ),
        ModelConfig(
            architecture="show_attend_tell",
            model_kwargs={
                "filters": [16, 32, 64],
                "embedding_dim": 32,
                "hidden_dim": 128,
                "attention_units": 64,
            },
            epochs=5,
            batch_size=32,
            learning_rate=3e-3,
            decode_strategy="greedy",
        ),
    ),
}


# A corpus' recipe for an architecture other than its preset's
# (`keras-seq pipeline run --dataset multi30k --architecture rnn`).
ARCHITECTURE_RECIPES = {
    # An attentional LSTM (Luong et al. 2015: bidirectional encoder, global
    # attention with the "general" score, input feeding, gradient norm
    # clipped at 5) with the Transformer preset's data side and training
    # tools (warm-up, label smoothing, buckets, averaging), in a two-hour
    # training budget.
    ("multi30k", "rnn"): dataclasses.replace(
        PRESETS["multi30k"][1],
        architecture="rnn",
        model_kwargs={
            "embedding_dim": 256,
            "hidden_dim": 512,
            "bidirectional": True,
            "attention": "luong",
            "score": "general",
            "input_feeding": True,
            "dropout": 0.3,
        },
        epochs=40,
        max_training_minutes=105.0,
        warmup_steps=1000,
        gradient_clip_norm=5.0,
    ),
}


def check_task(dataset_config, model_config):
    """Raises a `ValueError` if the model cannot do the corpus' task."""
    expected = (
        CAPTION_ARCHITECTURES
        if dataset_config.task == "caption"
        else ARCHITECTURES
    )
    if model_config.architecture not in expected:
        raise ValueError(
            f"The {dataset_config.task} task of corpus "
            f"{dataset_config.name!r} needs an architecture in {expected}. "
            f"Received: architecture={model_config.architecture!r}"
        )


def preset(name, architecture=None):
    """Returns `(DatasetConfig, ModelConfig)` for a corpus shipped with the
    pipeline.

    Args:
        name: the corpus, a key of `PRESETS`.
        architecture: None for the preset's own model; another
            architecture gets the corpus' recipe for it
            (`ARCHITECTURE_RECIPES`) when there is one, else the preset's
            training settings with that model's default sizes (the
            preset's sizes belong to its own architecture).
    """
    if name not in PRESETS:
        raise ValueError(
            f"`dataset` must be one of {sorted(PRESETS)}. Received: "
            f"dataset={name!r}"
        )
    dataset_config, model_config = PRESETS[name]
    if architecture is None or architecture == model_config.architecture:
        return dataset_config, model_config
    if (name, architecture) in ARCHITECTURE_RECIPES:
        return dataset_config, ARCHITECTURE_RECIPES[(name, architecture)]
    changed = dataclasses.replace(
        model_config, architecture=architecture, model_kwargs={}
    )
    check_task(dataset_config, changed)
    return dataset_config, changed
