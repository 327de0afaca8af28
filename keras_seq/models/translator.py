"""A translator: a seq2seq model with its tokenizers and search settings.

The task object of keras-seq (keras-hub's task + preprocessor pattern):
text in, text out, one artifact on disk.
"""

import keras

from keras_seq.text.special_tokens import PAD_ID

STRATEGIES = ("greedy", "beam")
# `Translator.export` and `translate` share these output names.
TRANSLATION = "translation"
TRANSLATIONS = "translations"
SCORE = "score"
SCORES = "scores"
TRUNCATED = "truncated"


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"`{name}` must be a positive int. Received: {name}={value!r}"
        )
    return value


def _text_rows(texts):
    """Python/NumPy texts -> list of `str`; empty rows are allowed here (they
    translate to ""), everything else is checked like the tokenizers do."""
    import numpy as np

    single = isinstance(texts, (str, bytes))
    if single:
        texts = [texts]
    elif isinstance(texts, np.ndarray):
        if texts.ndim > 1:
            raise ValueError(
                "`texts` must be a string or a 1-D sequence of strings. "
                f"Received: texts with shape {texts.shape}"
            )
        texts = texts.reshape(-1).tolist()
    if not isinstance(texts, (list, tuple)):
        raise ValueError(
            "`texts` must be a string or a list/tuple/array of strings. "
            f"Received: texts={texts!r}"
        )
    rows = []
    for i, row in enumerate(texts):
        if isinstance(row, np.generic):
            row = row.item()
        if isinstance(row, bytes):
            try:
                row = row.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"`texts` row {i} is not valid UTF-8 ({error}). "
                    f"Received: texts[{i}]={row!r}"
                ) from None
        if not isinstance(row, str):
            raise ValueError(
                f"`texts` must hold strings, but row {i} is of type "
                f"{type(row).__name__}. Received: texts[{i}]={row!r}"
            )
        try:
            rows.append(row.encode("utf-8"))
        except UnicodeEncodeError as error:
            raise ValueError(
                f"`texts` row {i} cannot be encoded as UTF-8 ({error}). "
                f"Received: texts[{i}]={row!r}"
            ) from None
    return rows, single


@keras.saving.register_keras_serializable(package="keras_seq")
class Translator(keras.Model):
    """Raw text in, translated text out: model + tokenizers + search.

    Holds a keras-seq seq2seq model (`RNNSeq2Seq`, `TransformerSeq2Seq` or
    any model with `generate()` and `max_source_length`), the source and
    target tokenizers of `keras_seq.text` and the generation settings. The
    same TensorFlow function serves `translate()` and the exported
    SavedModel, so both give identical strings.

    - `translate(texts)` returns Python strings; `n_best=k` returns the k
      best translations with their scores; `return_details=True` adds the
      score and whether the source was cut to `max_source_length`.
    - An empty or whitespace-only text translates to "" (score 0); it is
      never decoded into a made-up sentence.
    - `save("x.keras")` writes one file with the weights, the tokenizers
      (vocabulary or SentencePiece model and their options) and the
      settings; `Translator.load` (or `keras.saving.load_model`) restores
      it, in Keras' safe mode (no code is executed from the file).
    - `export(path)` writes the string -> string SavedModel for TF Serving
      (`serving_default`, `n_best`, warm-up records).
    - Calling the translator runs the seq2seq model, so
      `translator.compile(...)`/`fit(...)` train it on the batches of
      docs/design.md.

    Args:
        seq2seq: the seq2seq model.
        source_tokenizer: `keras_seq.text` tokenizer of the source side.
        target_tokenizer: tokenizer of the target side (its ids are the
            model's output ids).
        strategy: "beam" or "greedy".
        beam_width: beams of beam search (and the n-best list size).
        length_penalty: GNMT length penalty alpha of beam search.
        max_length: most target tokens generated (EOS included); defaults
            to `seq2seq.max_target_length`.
        **kwargs: base `keras.Model` arguments (e.g. `name`).

    Example:

    >>> translator = Translator(model, source_tokenizer, target_tokenizer)
    >>> translator.translate(["25 November 2026"])
    ['2026-11-25']
    >>> translator.save("dates.keras")
    >>> Translator.load("dates.keras").translate("1 Jan 2000")
    '2000-01-01'
    """

    def __init__(
        self,
        seq2seq,
        source_tokenizer,
        target_tokenizer,
        strategy="beam",
        beam_width=4,
        length_penalty=0.6,
        max_length=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if strategy not in STRATEGIES:
            raise ValueError(
                f"`strategy` must be one of {STRATEGIES}. Received: "
                f"strategy={strategy!r}"
            )
        _positive_int("beam_width", beam_width)
        if not float(length_penalty) >= 0.0:
            raise ValueError(
                "`length_penalty` must be >= 0. Received: "
                f"length_penalty={length_penalty!r}"
            )
        for name, model_attribute in (
            ("seq2seq", "generate"),
            ("seq2seq", "max_source_length"),
            ("source_tokenizer", "tokenize"),
            ("target_tokenizer", "detokenize"),
        ):
            if not hasattr(locals()[name], model_attribute):
                raise ValueError(
                    f"`{name}` must have `{model_attribute}`. Received: "
                    f"{name} of type {type(locals()[name]).__name__}"
                )
        target_size = getattr(seq2seq, "target_vocabulary_size", None)
        if target_size is not None and (
            target_size != target_tokenizer.vocabulary_size
        ):
            raise ValueError(
                "The model's target vocabulary and the target tokenizer "
                "differ in size. Received: seq2seq.target_vocabulary_size="
                f"{target_size}, target_tokenizer.vocabulary_size="
                f"{target_tokenizer.vocabulary_size}"
            )
        source_size = getattr(seq2seq, "source_vocabulary_size", None)
        if source_size is not None and (
            source_size != source_tokenizer.vocabulary_size
        ):
            raise ValueError(
                "The model's source vocabulary and the source tokenizer "
                "differ in size. Received: seq2seq.source_vocabulary_size="
                f"{source_size}, source_tokenizer.vocabulary_size="
                f"{source_tokenizer.vocabulary_size}"
            )
        if max_length is None:
            max_length = seq2seq.max_target_length
        self.seq2seq = seq2seq
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.strategy = strategy
        self.beam_width = beam_width
        self.length_penalty = float(length_penalty)
        self.max_length = _positive_int("max_length", max_length)
        # A plain object: Keras would track a dict attribute, and the
        # SavedModel export cannot save tf.functions keyed by ints.
        self._function_cache = _FunctionCache()
        if getattr(seq2seq, "built", False):
            self.built = True

    @property
    def max_source_length(self):
        """Source tokens read; longer texts are cut (and reported)."""
        return self.seq2seq.max_source_length

    def build(self, input_shape=None):
        if not self.seq2seq.built and input_shape is not None:
            self.seq2seq.build(input_shape)
        self.built = True

    def call(self, inputs, training=False):
        return self.seq2seq(inputs, training=training)

    # ------------------------------------------------------------------
    # The graph shared by `translate` and the SavedModel.
    def encode_source(self, texts):
        """`(batch,)` tf.string -> padded source ids and per-row facts.

        Returns:
            dict with `source_ids` `(batch, max_source_length)` int32,
            `source_lengths` `(batch,)` int64 (tokens before cutting),
            `truncated` and `empty` `(batch,)` bool.
        """
        import tensorflow as tf

        ids = self.source_tokenizer.tokenize(texts)
        lengths = ids.row_lengths()
        width = self.max_source_length
        source_ids = ids[:, :width].to_tensor(
            default_value=PAD_ID, shape=[None, width]
        )
        return {
            "source_ids": tf.cast(source_ids, tf.int32),
            "source_lengths": lengths,
            "truncated": lengths > width,
            "empty": tf.equal(lengths, 0),
        }

    def translate_tensor(self, texts, num_return_sequences=1):
        """Translates a `(batch,)` tf.string tensor, in TensorFlow ops.

        Args:
            texts: `(batch,)` tf.string (an empty batch is allowed).
            num_return_sequences: 1, or `n` for an n-best list (beam search
                with at least `n` beams).

        Returns:
            dict of tensors: for `n = 1`, `translation` `(batch,)` string
            and `score` `(batch,)` float32; for `n > 1`, `translations`
            `(batch, n)` and `scores` `(batch, n)`, best first; and
            `truncated` `(batch,)` bool. Empty sources give "" and 0.
        """
        import tensorflow as tf

        texts = tf.reshape(texts, [-1])
        source = self.encode_source(texts)
        batch = tf.shape(texts)[0]
        # The searches need at least one row: an empty batch decodes one
        # padding row, which is then dropped.
        source_ids = tf.cond(
            batch > 0,
            lambda: source["source_ids"],
            lambda: tf.fill([1, self.max_source_length], PAD_ID),
        )
        n = num_return_sequences
        if self.strategy == "beam" or n > 1:
            outputs = self.seq2seq.generate(
                source_ids,
                strategy="beam",
                max_length=self.max_length,
                beam_width=max(self.beam_width, n),
                length_penalty=self.length_penalty,
                num_return_sequences=n,
                record_aux=False,
            )
        else:
            outputs = self.seq2seq.generate(
                source_ids,
                strategy="greedy",
                max_length=self.max_length,
                record_aux=False,
            )
        token_ids = tf.cast(outputs["token_ids"], tf.int32)[:batch]
        scores = tf.cast(outputs["scores"], tf.float32)[:batch]
        empty = source["empty"]
        if n == 1:
            strings = self.target_tokenizer.detokenize(token_ids)
            strings = tf.reshape(strings, [-1])
            return {
                TRANSLATION: tf.where(empty, "", strings),
                SCORE: tf.where(empty, 0.0, scores),
                TRUNCATED: source["truncated"],
            }
        shape = tf.shape(token_ids)
        flat = tf.reshape(token_ids, [-1, shape[2]])
        strings = tf.reshape(self.target_tokenizer.detokenize(flat), shape[:2])
        empty = empty[:, tf.newaxis]
        return {
            TRANSLATIONS: tf.where(empty, "", strings),
            SCORES: tf.where(empty, 0.0, scores),
            TRUNCATED: source["truncated"],
        }

    def _function(self, n):
        import tensorflow as tf

        functions = self._function_cache.functions
        if n not in functions:

            def translate(texts):
                return self.translate_tensor(texts, n)

            # No autograph: translate_tensor branches with tf.cond itself.
            functions[n] = tf.function(
                translate,
                input_signature=[tf.TensorSpec([None], tf.string)],
                autograph=False,
            )
        return functions[n]

    # ------------------------------------------------------------------
    # Python API.
    def translate(
        self, texts, n_best=None, return_details=False, batch_size=64
    ):
        """Translates text.

        Args:
            texts: a string or a list/tuple/1-D array of strings (bytes must
                be UTF-8).
            n_best: None for one translation per text, or `k` for the `k`
                best (beam search with at least `k` beams).
            return_details: also return the score and whether the source
                was cut to `max_source_length`.
            batch_size: texts decoded together.

        Returns:
            For a list: a list with, per text, the translation (`str`); with
            `n_best=k` a list of `k` `(translation, score)` pairs, best
            first; with `return_details` a dict `{"translation", "score",
            "truncated"}` (`"translations"`, `"scores"` with `n_best`).
            For a single string, the element instead of a list.
        """
        import tensorflow as tf

        rows, single = _text_rows(texts)
        n = 1 if n_best is None else _positive_int("n_best", n_best)
        _positive_int("batch_size", batch_size)
        function = self._function(n)
        results = []
        for start in range(0, len(rows), batch_size):
            chunk = tf.constant(rows[start : start + batch_size], tf.string)
            outputs = {k: v.numpy() for k, v in function(chunk).items()}
            results.extend(_rows_of(outputs, n, return_details))
        return results[0] if single else results

    # ------------------------------------------------------------------
    # Saving and serving.
    @classmethod
    def load(cls, path):
        """Loads a translator saved with `save()` (Keras safe mode)."""
        from keras_seq.models.task_loading import load_task

        return load_task(path, cls, "translator", _register_tokenizers)

    def export(self, path, model_name="translator", warmup_texts=None):
        """Writes the SavedModel for TF Serving (string -> string).

        See `keras_seq.export.translator_export.export_translator`.
        """
        from keras_seq.export.translator_export import export_translator

        return export_translator(
            self, path, model_name=model_name, warmup_texts=warmup_texts
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "seq2seq": keras.saving.serialize_keras_object(self.seq2seq),
                "source_tokenizer": keras.saving.serialize_keras_object(
                    self.source_tokenizer
                ),
                "target_tokenizer": keras.saving.serialize_keras_object(
                    self.target_tokenizer
                ),
                "strategy": self.strategy,
                "beam_width": self.beam_width,
                "length_penalty": self.length_penalty,
                "max_length": self.max_length,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        _register_tokenizers()

        config = dict(config)
        for key in ("seq2seq", "source_tokenizer", "target_tokenizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def _register_tokenizers():
    """Imports the tokenizer modules, which registers their classes for
    deserialization (`keras_seq.text` itself resolves them lazily)."""
    from keras_seq.text import char_tokenizer  # noqa: F401
    from keras_seq.text import sentence_piece_tokenizer  # noqa: F401
    from keras_seq.text import word_piece_tokenizer  # noqa: F401
    from keras_seq.text import word_tokenizer  # noqa: F401


class _FunctionCache:
    """The traced `translate_tensor` functions, by n-best size."""

    def __init__(self):
        self.functions = {}


def _rows_of(outputs, n, return_details):
    """Per-text Python results from a batch of NumPy outputs."""
    rows = []
    for i in range(len(outputs[TRUNCATED])):
        truncated = bool(outputs[TRUNCATED][i])
        if n == 1:
            text = outputs[TRANSLATION][i].decode("utf-8")
            score = float(outputs[SCORE][i])
            if return_details:
                rows.append(
                    {TRANSLATION: text, SCORE: score, TRUNCATED: truncated}
                )
            else:
                rows.append(text)
            continue
        pairs = [
            (t.decode("utf-8"), float(s))
            for t, s in zip(outputs[TRANSLATIONS][i], outputs[SCORES][i])
        ]
        if return_details:
            rows.append(
                {
                    TRANSLATIONS: [p[0] for p in pairs],
                    SCORES: [p[1] for p in pairs],
                    TRUNCATED: truncated,
                }
            )
        else:
            rows.append(pairs)
    return rows
