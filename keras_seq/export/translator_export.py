"""SavedModel export of a `keras_seq.models.Translator` for TF Serving.

The exported graph holds the whole path from raw text to raw text, with the
translator's own tokenizers (no TF Transform graph):

    UTF-8 strings -> source tokenizer (tensorflow-text) -> ids, cut to
    `max_source_length` -> model.generate (one while loop) -> target ids
    -> target tokenizer's detokenize -> strings

Signatures (the batch dimension is free, an empty batch is allowed):

- `serving_default`: `text` `(batch,)` string -> `translation` `(batch,)`
  string, `score` `(batch,)` float32 (beam: the length-penalised score;
  greedy: the sum of token log-probabilities), `truncated` `(batch,)` bool
  (the source had more than `max_source_length` tokens and was cut).
  An empty or whitespace-only text gives "" with score 0.
- `n_best`: `text` -> `translations` `(batch, beam_width)`, `scores`
  `(batch, beam_width)`, best first, and `truncated`.

Layout: the folder given (TF Serving wants `<base>/<model_name>/<version>`)
with `saved_model.pb`, `variables/` and
`assets.extra/tf_serving_warmup_requests`.

Written with `keras.export.ExportArchive`, which restores through the TF1
session API TF Serving uses (a Keras 3 model saved by `tf.saved_model.save`
from a `tf.Module` does not).
"""

from keras_seq.export.warmup import check_export_target
from keras_seq.export.warmup import write_warmup_requests

TEXT_INPUT = "text"
DEFAULT_WARMUP_TEXTS = ("25 November 2026", "A man rides a bike.", "")


def export_translator(
    translator, path, model_name="translator", warmup_texts=None
):
    """Writes the SavedModel described in the module docstring.

    Args:
        translator: a `keras_seq.models.Translator`.
        path: the SavedModel folder to write (created; must not hold a
            SavedModel already).
        model_name: TF Serving model name written in the warm-up request.
        warmup_texts: texts of the warm-up request; None for a default
            set, `()` for no warm-up records.

    Returns:
        `path`.
    """

    import keras
    import tensorflow as tf

    path = check_export_target(path, model_name)
    signature = [tf.TensorSpec([None], tf.string, name=TEXT_INPUT)]
    archive = keras.export.ExportArchive()
    archive.track(translator)
    archive.add_endpoint(
        "serving_default",
        lambda text: translator.translate_tensor(text, 1),
        input_signature=signature,
    )
    archive.add_endpoint(
        "n_best",
        lambda text: translator.translate_tensor(text, translator.beam_width),
        input_signature=signature,
    )
    archive.write_out(path, verbose=False)
    if warmup_texts is None:
        warmup_texts = DEFAULT_WARMUP_TEXTS
    if warmup_texts:
        write_warmup_requests(
            path,
            model_name,
            {TEXT_INPUT: [t.encode("utf-8") for t in warmup_texts]},
        )
    return path
