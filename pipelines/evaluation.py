"""BLEU evaluation and blessing: a custom TFX component.

`BleuEvaluator` translates the raw eval split with the Trainer's exported
SavedModel (its `serving_default` signature: raw text in, text out, exactly
what TF Serving will run), scores the translations with sacrebleu's corpus
BLEU against the raw references, and blesses the model only if

    BLEU >= bleu_threshold  and  BLEU >= BLEU of the last blessed model.

The last blessed model comes from ML Metadata: the pipeline feeds the
component the `ModelBlessing` found by a `LatestBlessedModelStrategy`
resolver, and this component stores its BLEU on every blessing it writes
(custom property `bleu`), so the comparison needs no re-evaluation.

The blessing carries the custom properties the rest of TFX reads: `blessed`
(Pusher, resolver) and `current_model_id` (resolver).
"""

import glob
import hashlib
import json
import os

import sacrebleu
import tensorflow as tf
from absl import logging
from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import base_executor
from tfx.dsl.components.base import executor_spec
from tfx.types import artifact_utils
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter
from tfx.types.component_spec import ExecutionParameter
from tfx.utils import io_utils
from tfx.utils import path_utils

from keras_seq_pipelines import configs

BLESSED_KEY = "blessed"
CURRENT_MODEL_ID_KEY = "current_model_id"
CURRENT_MODEL_KEY = "current_model"
BASELINE_MODEL_ID_KEY = "baseline_model_id"
BLEU_KEY = "bleu"
METRICS_FILENAME = "metrics.json"
BLEU_TOLERANCE = 1e-4
TRANSLATIONS_FILENAME = "translations.tsv"


def corpus_bleu(hypotheses, references, tokenize="13a", lowercase=False):
    """sacrebleu corpus BLEU (0-100) of `hypotheses` against one reference
    each."""
    if len(hypotheses) != len(references):
        raise ValueError(
            "Need one reference per hypothesis. Received: "
            f"len(hypotheses)={len(hypotheses)}, "
            f"len(references)={len(references)}"
        )
    if not hypotheses:
        raise ValueError("No sentence to score. Received: hypotheses=[]")
    return sacrebleu.corpus_bleu(
        hypotheses, [references], tokenize=tokenize, lowercase=lowercase
    ).score


def decide_blessing(bleu, threshold, baseline_bleu=None):
    """Returns `(blessed, reason)`.

    Args:
        bleu: BLEU of the candidate model.
        threshold: minimum BLEU.
        baseline_bleu: BLEU of the last blessed model, or None if there is
            none yet.
    """
    if bleu < threshold:
        return False, f"BLEU {bleu:.2f} is below the threshold {threshold:.2f}"
    # ML Metadata returns the stored BLEU with ~7 significant digits, so an
    # equal score must not count as "below".
    if baseline_bleu is not None and bleu < baseline_bleu - BLEU_TOLERANCE:
        return False, (
            f"BLEU {bleu:.2f} is below the last blessed model's "
            f"{baseline_bleu:.2f}"
        )
    return True, (
        f"BLEU {bleu:.2f} >= threshold {threshold:.2f}"
        + (
            f" and >= last blessed {baseline_bleu:.2f}"
            if baseline_bleu is not None
            else " (no blessed model before)"
        )
    )


# Per task: the serving signature's input and output names and the raw
# tf.Example features of the eval split (input, reference).
SIGNATURES = {
    "translation": (
        "text",
        "translation",
        configs.SOURCE_KEY,
        configs.TARGET_KEY,
    ),
    "caption": ("images", "caption", configs.IMAGE_KEY, configs.CAPTION_KEY),
}


def read_raw_pairs(
    examples_uri_or_files, source_key, target_key, decode_source=True
):
    """Raw `(source, target)` values of ExampleGen's gzipped tf.Examples.

    Args:
        examples_uri_or_files: a split folder or a list of files.
        decode_source: False keeps the source as bytes (encoded images).

    Returns:
        two lists (`str`, or `bytes` sources); a missing field gives "".
    """
    if isinstance(examples_uri_or_files, str):
        files = sorted(glob.glob(os.path.join(examples_uri_or_files, "*")))
    else:
        files = list(examples_uri_or_files)
    sources, targets = [], []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        example = tf.train.Example.FromString(record.numpy())
        fields = []
        for key in (source_key, target_key):
            value = (example.features.feature[key].bytes_list.value or [b""])[0]
            if key != source_key or decode_source:
                value = value.decode("utf-8", errors="replace")
            fields.append(value)
        sources.append(fields[0])
        targets.append(fields[1])
    return sources, targets


def run_saved_model(
    saved_model_dir,
    inputs,
    batch_size=64,
    input_key="text",
    output_key="translation",
):
    """The `output_key` strings a SavedModel's `serving_default` returns
    for `inputs` (sentences, or encoded images for a captioner)."""
    # Registers the TF Text ops the SavedModel runs.
    import keras_seq.text.text_utils  # noqa: F401

    signature = tf.saved_model.load(saved_model_dir).signatures[
        "serving_default"
    ]
    outputs = []
    for start in range(0, len(inputs), batch_size):
        batch = tf.constant(inputs[start : start + batch_size], tf.string)
        result = signature(**{input_key: batch})
        outputs.extend(t.decode("utf-8") for t in result[output_key].numpy())
    return outputs


def translate_with_saved_model(saved_model_dir, sentences, batch_size=64):
    """Translations of `sentences` by a SavedModel's `serving_default`."""
    return run_saved_model(saved_model_dir, sentences, batch_size)


def group_references(sources, references):
    """`(unique sources, [references of each])`, in first-seen order: an
    image with k captions is scored once, against its k references."""
    grouped = {}
    for source, reference in zip(sources, references):
        grouped.setdefault(source, []).append(reference)
    return list(grouped), list(grouped.values())


def reference_streams(reference_lists):
    """sacrebleu's reference streams (one list per reference position).

    Sources with fewer references repeat their first one, which changes
    neither BLEU (n-gram counts are clipped by the maximum over the
    references; the closest reference length is unchanged) nor chrF (the
    best-scoring reference counts).
    """
    width = max(len(refs) for refs in reference_lists)
    return [
        [refs[k] if k < len(refs) else refs[0] for refs in reference_lists]
        for k in range(width)
    ]


def evaluate_saved_model(
    saved_model_dir,
    sources,
    references,
    bleu_tokenize="13a",
    lowercase=False,
    batch_size=64,
    task="translation",
):
    """Translates (or captions) and scores as the field reports it.

    sacreBLEU on the cased, detokenized output (`bleu`, with its signature
    string), chrF (`chrf`), and lower-cased BLEU as an extra column
    (`bleu_lowercase`). With `lowercase=True` the main `bleu` is
    case-insensitive too (for models trained on lower-cased targets).
    For captions, `sources` are encoded images; repeated images are
    captioned once and scored against all their references.

    Returns:
        `(metrics dict, outputs, sources, reference lists)`: one output
        and one list of references per (unique) source.
    """
    if task not in SIGNATURES:
        raise ValueError(
            f"`task` must be one of {sorted(SIGNATURES)}. Received: "
            f"task={task!r}"
        )
    if len(sources) != len(references) or not references:
        raise ValueError(
            "Need one reference per source and at least one. Received: "
            f"{len(sources)} sources, {len(references)} references"
        )
    if task == "caption":
        sources, reference_lists = group_references(sources, references)
    else:
        reference_lists = [[r] for r in references]
    input_key, output_key = SIGNATURES[task][:2]
    outputs = run_saved_model(
        saved_model_dir, sources, batch_size, input_key, output_key
    )
    streams = reference_streams(reference_lists)
    bleu = sacrebleu.metrics.BLEU(tokenize=bleu_tokenize, lowercase=lowercase)
    bleu_score = bleu.corpus_score(outputs, streams)
    bleu_lower = sacrebleu.corpus_bleu(
        outputs, streams, tokenize=bleu_tokenize, lowercase=True
    )
    chrf = sacrebleu.metrics.CHRF()
    chrf_score = chrf.corpus_score(outputs, streams)

    def norm(text):
        text = " ".join(text.split())
        return text.lower() if lowercase else text

    exact = sum(
        any(norm(h) == norm(r) for r in refs)
        for h, refs in zip(outputs, reference_lists)
    )
    metrics = {
        "bleu": bleu_score.score,
        "bleu_signature": str(bleu.get_signature()),
        "chrf": chrf_score.score,
        "chrf_signature": str(chrf.get_signature()),
        "bleu_lowercase": bleu_lower.score,
        "exact_match": exact / len(outputs),
        "num_examples": len(outputs),
        "bleu_tokenize": bleu_tokenize,
        "lowercase": lowercase,
        "task": task,
    }
    return metrics, outputs, sources, reference_lists


def _source_column(source):
    """How translations.tsv names a source: the text, or an image's
    SHA-256 prefix."""
    if isinstance(source, bytes):
        return "image:" + hashlib.sha256(source).hexdigest()[:16]
    return source


class BleuEvaluatorSpec(types.ComponentSpec):
    """Inputs, outputs and parameters of `BleuEvaluator`."""

    PARAMETERS = {
        "bleu_threshold": ExecutionParameter(type=float),
        "bleu_tokenize": ExecutionParameter(type=str),
        "lowercase": ExecutionParameter(type=int),
        "eval_split": ExecutionParameter(type=str),
        "batch_size": ExecutionParameter(type=int),
        "task": ExecutionParameter(type=str),
    }
    INPUTS = {
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "model": ChannelParameter(type=standard_artifacts.Model),
        "baseline_blessing": ChannelParameter(
            type=standard_artifacts.ModelBlessing, optional=True
        ),
    }
    OUTPUTS = {
        "evaluation": ChannelParameter(type=standard_artifacts.ModelEvaluation),
        "blessing": ChannelParameter(type=standard_artifacts.ModelBlessing),
    }


class BleuEvaluatorExecutor(base_executor.BaseExecutor):
    """Runs the evaluation described in the module docstring."""

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        model = artifact_utils.get_single_instance(input_dict["model"])
        evaluation = artifact_utils.get_single_instance(
            output_dict["evaluation"]
        )
        blessing = artifact_utils.get_single_instance(output_dict["blessing"])

        baseline_bleu, baseline_id = None, None
        baselines = input_dict.get("baseline_blessing") or []
        if baselines and baselines[0].has_custom_property(BLEU_KEY):
            baseline_bleu = baselines[0].get_float_custom_property(BLEU_KEY)
            baseline_id = baselines[0].get_int_custom_property(
                CURRENT_MODEL_ID_KEY
            )

        split_uri = artifact_utils.get_split_uri(
            [examples], exec_properties["eval_split"]
        )
        task = exec_properties.get("task") or "translation"
        source_key, target_key = SIGNATURES[task][2:]
        sources, references = read_raw_pairs(
            split_uri,
            source_key,
            target_key,
            decode_source=task != "caption",
        )
        saved_model_dir = path_utils.serving_model_path(model.uri)
        metrics, translations, sources, reference_lists = evaluate_saved_model(
            saved_model_dir,
            sources,
            references,
            bleu_tokenize=exec_properties["bleu_tokenize"],
            lowercase=bool(exec_properties["lowercase"]),
            batch_size=exec_properties["batch_size"],
            task=task,
        )
        blessed, reason = decide_blessing(
            metrics["bleu"], exec_properties["bleu_threshold"], baseline_bleu
        )
        metrics.update(
            blessed=blessed,
            reason=reason,
            bleu_threshold=exec_properties["bleu_threshold"],
            baseline_bleu=baseline_bleu,
            baseline_model_id=baseline_id,
        )
        logging.info("BleuEvaluator: %s", reason)

        io_utils.write_string_file(
            os.path.join(evaluation.uri, METRICS_FILENAME),
            json.dumps(metrics, indent=2),
        )
        io_utils.write_string_file(
            os.path.join(evaluation.uri, TRANSLATIONS_FILENAME),
            "".join(
                f"{_source_column(s)}\t{' | '.join(r)}\t{h}\n"
                for s, r, h in zip(sources, reference_lists, translations)
            ),
        )
        evaluation.set_float_custom_property(BLEU_KEY, metrics["bleu"])

        io_utils.write_string_file(
            os.path.join(blessing.uri, "BLESSED" if blessed else "NOT_BLESSED"),
            reason,
        )
        blessing.set_int_custom_property(BLESSED_KEY, int(blessed))
        blessing.set_int_custom_property(CURRENT_MODEL_ID_KEY, model.id)
        blessing.set_string_custom_property(CURRENT_MODEL_KEY, model.uri)
        blessing.set_float_custom_property(BLEU_KEY, metrics["bleu"])
        if baseline_id is not None:
            blessing.set_int_custom_property(BASELINE_MODEL_ID_KEY, baseline_id)


class BleuEvaluator(base_component.BaseComponent):
    """Scores a translation model with corpus BLEU and blesses it.

    Args:
        examples: raw `Examples` channel (ExampleGen output) with the eval
            split holding `source` and `target` text.
        model: `Model` channel from the Trainer (a SavedModel whose
            `serving_default` maps `text` to `translation`).
        baseline_blessing: optional `ModelBlessing` channel of the last
            blessed model (from a `LatestBlessedModelStrategy` resolver).
        bleu_threshold: minimum BLEU to bless.
        bleu_tokenize: sacrebleu tokenizer (`"13a"`, `"char"`, ...).
        lowercase: compare case-insensitively.
        eval_split: split of `examples` to score.
        batch_size: sentences per call of the SavedModel.
        task: `"translation"` (`text` -> `translation`, features `source`
            and `target`) or `"caption"` (`images` -> `caption`, features
            `image` and `caption`).
    """

    SPEC_CLASS = BleuEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(BleuEvaluatorExecutor)

    def __init__(
        self,
        examples,
        model,
        baseline_blessing=None,
        bleu_threshold=0.0,
        bleu_tokenize="13a",
        lowercase=False,
        eval_split="eval",
        batch_size=64,
        task="translation",
    ):
        if task not in SIGNATURES:
            raise ValueError(
                f"`task` must be one of {sorted(SIGNATURES)}. Received: "
                f"task={task!r}"
            )
        if bleu_tokenize not in sacrebleu.BLEU.TOKENIZERS:
            raise ValueError(
                "`bleu_tokenize` must be a sacrebleu tokenizer, one of "
                f"{sorted(sacrebleu.BLEU.TOKENIZERS)}. "
                f"Received: bleu_tokenize={bleu_tokenize!r}"
            )
        spec = BleuEvaluatorSpec(
            examples=examples,
            model=model,
            baseline_blessing=baseline_blessing,
            bleu_threshold=float(bleu_threshold),
            bleu_tokenize=bleu_tokenize,
            lowercase=int(bool(lowercase)),
            eval_split=eval_split,
            batch_size=int(batch_size),
            task=task,
            evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
            blessing=types.Channel(type=standard_artifacts.ModelBlessing),
        )
        super().__init__(spec=spec)
