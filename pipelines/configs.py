"""Configuration of the keras-seq TFX pipeline: one place for every constant.

`DatasetConfig` says how raw text becomes token ids (Transform) and how the
translations are scored (evaluation); `ModelConfig` says which keras-seq model
the Trainer builds and how it trains. `PRESETS` holds the two corpora the
pipeline ships with: the built-in date corpus (character level, trains in a
minute on CPU) and Multi30k En-De (word level).

Both dataclasses are turned into plain dicts (`to_dict`) because TFX passes
them to the module files as JSON `custom_config`.
"""

import dataclasses

# Raw CSV columns written by `keras_seq_pipelines.data` and read by ExampleGen.
SOURCE_KEY = "source"
TARGET_KEY = "target"
# Transformed feature names (what the Trainer reads).
SOURCE_IDS_KEY = "source_ids"
TARGET_IN_KEY = "target_in"
TARGET_OUT_KEY = "target_out"
SOURCE_LENGTH_KEY = "source_length"
TARGET_LENGTH_KEY = "target_length"
# Vocabulary names given to `tft.compute_and_apply_vocabulary`.
SOURCE_VOCAB_NAME = "source_vocab"
TARGET_VOCAB_NAME = "target_vocab"

TOKENIZATIONS = ("char", "word")
ARCHITECTURES = ("rnn", "transformer")


def _check_positive(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )


@dataclasses.dataclass(frozen=True)
class DatasetConfig:
    """How a corpus is tokenized, truncated and scored.

    Args:
        name: corpus name (`"dates"`, `"multi30k"` or a user's own).
        tokenization: `"char"` (Unicode characters) or `"word"` (words and
            punctuation marks, split with tensorflow-text).
        lowercase: case-fold the text (tensorflow-text `case_fold_utf8`).
        max_source_length: source tokens kept per sentence; longer sentences
            are truncated by Transform (and counted in `source_length`).
        max_target_length: target positions including BOS/EOS.
        vocabulary_size: at most this many tokens per vocabulary, reserved ids
            not included (`top_k` of `tft.compute_and_apply_vocabulary`).
        frequency_threshold: tokens seen fewer times map to [UNK].
        bleu_tokenize: sacrebleu tokenizer used to score translations
            (`"13a"` for words, `"char"` for character-level outputs).
        bleu_threshold: the evaluation blesses a model only if its corpus BLEU
            on the eval split reaches this value (0-100).
    """

    name: str = "dates"
    tokenization: str = "char"
    lowercase: bool = True
    max_source_length: int = 32
    max_target_length: int = 12
    vocabulary_size: int = 10000
    frequency_threshold: int = 1
    bleu_tokenize: str = "char"
    bleu_threshold: float = 50.0

    def __post_init__(self):
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
        ):
            _check_positive(name, getattr(self, name))
        if self.max_target_length < 2:
            raise ValueError(
                "`max_target_length` counts BOS/EOS and must be at least 2. "
                f"Received: max_target_length={self.max_target_length}"
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
        architecture: `"rnn"` (`keras_seq.models.RNNSeq2Seq` with Luong
            attention) or `"transformer"`
            (`keras_seq.models.TransformerSeq2Seq`).
        model_kwargs: extra constructor arguments of the model class (sizes,
            attention score, dropout...), passed through unchanged.
        epochs: passes over the training split.
        batch_size: global batch size (split across replicas).
        learning_rate: Adam learning rate.
        beam_width: beam width of the exported n-best signature (1 = no
            n-best signature).
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
    beam_width: int = 4
    jit_compile: bool = False
    mixed_precision: str = "auto"
    seed: int | None = 0

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"`architecture` must be one of {ARCHITECTURES}. "
                f"Received: architecture={self.architecture!r}"
            )
        for name in ("epochs", "batch_size", "beam_width"):
            _check_positive(name, getattr(self, name))
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
        if not self.learning_rate > 0:
            raise ValueError(
                "`learning_rate` must be positive. "
                f"Received: learning_rate={self.learning_rate}"
            )

    def to_dict(self):
        return dataclasses.asdict(self)


PRESETS = {
    "dates": (
        DatasetConfig(
            name="dates",
            tokenization="char",
            lowercase=True,
            max_source_length=32,
            max_target_length=12,
            vocabulary_size=200,
            frequency_threshold=1,
            bleu_tokenize="char",
            bleu_threshold=50.0,
        ),
        ModelConfig(
            architecture="rnn",
            model_kwargs={
                "embedding_dim": 32,
                "hidden_dim": 128,
                "attention": "luong",
                "score": "general",
            },
            epochs=5,
            batch_size=32,
            learning_rate=3e-3,
            beam_width=4,
        ),
    ),
    "multi30k": (
        DatasetConfig(
            name="multi30k",
            tokenization="word",
            lowercase=True,
            max_source_length=40,
            max_target_length=42,
            vocabulary_size=8000,
            frequency_threshold=2,
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
            epochs=10,
            batch_size=64,
            learning_rate=5e-4,
            beam_width=4,
        ),
    ),
}


def preset(name):
    """Returns `(DatasetConfig, ModelConfig)` for a corpus shipped with the
    pipeline."""
    if name not in PRESETS:
        raise ValueError(
            f"`dataset` must be one of {sorted(PRESETS)}. Received: "
            f"dataset={name!r}"
        )
    return PRESETS[name]
