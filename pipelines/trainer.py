"""Trainer module file: trains a keras-seq Translator and exports it.

(For a caption corpus, `run_fn` hands over to
`keras_seq_pipelines.caption_trainer`.)

TFX's Trainer calls `run_fn(fn_args)`; `fn_args.custom_config` holds
`{"dataset": DatasetConfig dict, "model": ModelConfig dict, "model_name",
"distribution_strategy", "backup_root"}` (see pipelines/pipeline.py).

1. Tokenizers (`keras_seq.text`): `WordTokenizer`/`CharTokenizer` over the
   vocabularies Transform learned, or a `SentencePieceTokenizer` trained on
   the training split's text.
2. Batches: the transformed text, tokenized in `tf.data` by those
   tokenizers (the batch format of docs/design.md), shuffled, grouped in
   length buckets.
3. The model (`"rnn"`: `RNNSeq2Seq`, Luong attention by default;
   `"transformer"`: `TransformerSeq2Seq`) trained with the library's recipe
   under a distribution strategy chosen from the hardware: Adam with the
   warm-up schedule (and gradient clipping), label smoothing, TensorBoard
   logs, the weights of the epoch with the best validation BLEU (or the
   average of the last epochs' weights when that scores higher), an
   optional training-time budget, and `keras.callbacks.BackupAndRestore`
   so a killed Trainer resumes at the epoch it reached.
4. `Translator(...).export(serving_model_dir)`: the string -> string
   SavedModel the Pusher pushes; `translator.keras` beside the TensorBoard
   logs.

`train_and_export` does the same outside TFX (tests, benchmarks).
"""

import glob
import hashlib
import json
import os
import time

import keras
import tensorflow as tf

from keras_seq_pipelines import configs
from keras_seq_pipelines import distribution

TRANSLATOR_FILENAME = "translator.keras"
BEST_WEIGHTS_FILENAME = "best.weights.h5"
BEST_BLEU_FILENAME = "best_bleu.json"


def _expand(patterns):
    files = []
    for pattern in patterns if isinstance(patterns, list) else [patterns]:
        if os.path.isdir(pattern):
            pattern = os.path.join(pattern, "*")
        files.extend(sorted(glob.glob(pattern)))
    if not files:
        raise ValueError(
            "No transformed examples found. Received: "
            f"file_patterns={patterns!r}"
        )
    return files


def read_string_features(file_patterns, keys):
    """`{key: [bytes, ...]}` of scalar string features of transformed
    (gzipped) examples, in file order."""
    spec = {key: tf.io.FixedLenFeature([], tf.string) for key in keys}
    dataset = tf.data.TFRecordDataset(
        _expand(file_patterns), compression_type="GZIP"
    )
    values = {key: [] for key in keys}
    parse = lambda records: tf.io.parse_example(records, spec)  # noqa: E731
    for batch in dataset.batch(4096).map(parse):
        for key in keys:
            values[key].extend(batch[key].numpy())
    return values


def read_texts(file_patterns):
    """`(sources, targets)` lists of `str` of transformed examples."""
    keys = (configs.SOURCE_TEXT_KEY, configs.TARGET_TEXT_KEY)
    values = read_string_features(file_patterns, keys)
    return tuple([t.decode("utf-8") for t in values[k]] for k in keys)


def write_texts(path, pairs):
    """Writes `(source, target)` str pairs as the gzipped tf.Examples
    `read_texts` and `make_dataset` read (the raw-text features of
    Transform's output), for training outside TFX."""

    def feature(text):
        return tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[text.encode("utf-8")])
        )

    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for source, target in pairs:
            example = tf.train.Example(
                features=tf.train.Features(
                    feature={
                        configs.SOURCE_TEXT_KEY: feature(source),
                        configs.TARGET_TEXT_KEY: feature(target),
                    }
                )
            )
            writer.write(example.SerializeToString())


def build_tokenizers(dataset_config, tf_transform_output, train_files):
    """`(source, target)` keras_seq.text tokenizers of the configuration."""
    from keras_seq import text

    if dataset_config.tokenization == "sentencepiece":
        sources, targets = read_texts(train_files)
        pairs = [(s, t) for s, t in zip(sources, targets) if s.strip()]
        pairs = [(s, t) for s, t in pairs if t.strip()]
        if not pairs:
            raise ValueError(
                "The training split has no pair with both sides non-empty. "
                f"Received: {len(sources)} rows"
            )
        if dataset_config.joint_vocabulary:
            joint = text.SentencePieceTokenizer.from_corpus(
                [s for s, _ in pairs] + [t for _, t in pairs],
                vocabulary_size=dataset_config.vocabulary_size,
                exact_size=False,
            )
            return joint, joint
        source = text.SentencePieceTokenizer.from_corpus(
            [s for s, _ in pairs],
            vocabulary_size=dataset_config.vocabulary_size,
            lowercase=dataset_config.source_lowercase,
            exact_size=False,
        )
        target = text.SentencePieceTokenizer.from_corpus(
            [t for _, t in pairs],
            vocabulary_size=dataset_config.vocabulary_size,
            exact_size=False,
        )
        return source, target

    def vocabulary(name):
        tokens = [
            t.decode("utf-8")
            for t in tf_transform_output.vocabulary_by_name(name)
        ]
        reserved = set(text.RESERVED_TOKENS)
        return list(text.RESERVED_TOKENS) + [
            t for t in tokens if t not in reserved
        ]

    cls = (
        text.WordTokenizer
        if dataset_config.tokenization == "word"
        else text.CharTokenizer
    )
    source = cls(
        vocabulary(configs.SOURCE_VOCAB_NAME),
        lowercase=dataset_config.source_lowercase,
    )
    target = cls(vocabulary(configs.TARGET_VOCAB_NAME), lowercase=False)
    return source, target


def batch_sizes_per_bucket(dataset_config, model_config):
    """Pairs per batch of each of `make_dataset`'s length buckets, whose
    key is the source + target length (at most `max_source_length +
    max_target_length`); raises ValueError if `batch_tokens` cannot hold
    one pair of that length (the command line checks it before a run)."""
    from keras_seq.datasets.seq2seq_dataset import bucket_batch_sizes

    return bucket_batch_sizes(
        list(model_config.bucket_boundaries),
        dataset_config.max_source_length + dataset_config.max_target_length,
        model_config.batch_size,
        model_config.batch_tokens,
    )


def make_dataset(
    file_patterns,
    tokenizers,
    dataset_config,
    model_config,
    shuffle=False,
    seed=0,
):
    """Batches in the seq2seq format of docs/design.md.

    Source rows longer than `max_source_length` and targets longer than
    `max_target_length - 1` are cut (BOS/EOS take one position); rows with
    an empty side are dropped. With `bucket_boundaries`, batches hold
    examples of similar length (and, with `batch_tokens`, about the same
    number of tokens).

    Returns:
        `tf.data.Dataset` of `({"source_ids", "target_in"}, target_out)`,
        int32 tensors `(batch_size, length)`.
    """
    source_tokenizer, target_tokenizer = tokenizers
    spec = {
        configs.SOURCE_TEXT_KEY: tf.io.FixedLenFeature([], tf.string),
        configs.TARGET_TEXT_KEY: tf.io.FixedLenFeature([], tf.string),
    }
    dataset = tf.data.TFRecordDataset(
        _expand(file_patterns), compression_type="GZIP"
    )
    if shuffle:
        dataset = dataset.shuffle(20000, seed=seed)
    max_source = dataset_config.max_source_length
    max_target = dataset_config.max_target_length

    def encode(records):
        features = tf.io.parse_example(records, spec)
        source = source_tokenizer.tokenize(features[configs.SOURCE_TEXT_KEY])
        target = target_tokenizer.tokenize(features[configs.TARGET_TEXT_KEY])
        source = source[:, :max_source]
        target = target[:, : max_target - 1]
        keep = (source.row_lengths() > 0) & (target.row_lengths() > 0)
        return tf.data.Dataset.from_tensor_slices(
            {
                "source": tf.ragged.boolean_mask(source, keep),
                "target": tf.ragged.boolean_mask(target, keep),
            }
        )

    dataset = dataset.batch(1024).flat_map(encode)
    bos = tf.constant([target_tokenizer.bos_id], tf.int32)
    eos = tf.constant([target_tokenizer.eos_id], tf.int32)

    def to_example(row):
        source = row["source"]
        target = row["target"]
        return {
            "source_ids": source,
            "target_in": tf.concat([bos, target], 0),
        }, tf.concat([target, eos], 0)

    dataset = dataset.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
    shapes = ({"source_ids": [None], "target_in": [None]}, [None])
    if model_config.bucket_boundaries:
        boundaries = list(model_config.bucket_boundaries)
        dataset = dataset.bucket_by_sequence_length(
            lambda x, y: tf.shape(x["source_ids"])[0] + tf.shape(y)[0],
            bucket_boundaries=boundaries,
            bucket_batch_sizes=batch_sizes_per_bucket(
                dataset_config, model_config
            ),
            padded_shapes=shapes,
        )
    else:
        dataset = dataset.padded_batch(
            model_config.batch_size, padded_shapes=shapes
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


def build_model(model_config, dataset_config, tokenizers):
    """The keras-seq model named by `model_config.architecture`."""
    from keras_seq import models

    source_tokenizer, target_tokenizer = tokenizers
    kwargs = dict(model_config.model_kwargs)
    kwargs.setdefault("max_source_length", dataset_config.max_source_length)
    kwargs.setdefault("max_target_length", dataset_config.max_target_length)
    if model_config.architecture == "rnn":
        kwargs.setdefault("attention", "luong")
        cls = models.RNNSeq2Seq
    else:
        cls = models.TransformerSeq2Seq
    return cls(
        source_vocabulary_size=source_tokenizer.vocabulary_size,
        target_vocabulary_size=target_tokenizer.vocabulary_size,
        **kwargs,
    )


def learning_rate(model_config, hidden_dim):
    """A constant rate, or the warm-up schedule peaking at the rate."""
    if not model_config.warmup_steps:
        return model_config.learning_rate
    from keras_seq.optimizers import TransformerSchedule

    warmup = model_config.warmup_steps
    # TransformerSchedule peaks at scale * (d * warmup)^-0.5 at `warmup`.
    scale = model_config.learning_rate * (hidden_dim * warmup) ** 0.5
    return TransformerSchedule(hidden_dim, warmup_steps=warmup, scale=scale)


def compile_model(model, model_config):
    """Adam, masked label-smoothed cross-entropy and masked accuracy."""
    from keras_seq import metrics

    hidden_dim = int(model_config.model_kwargs.get("hidden_dim", 256))
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate(model_config, hidden_dim),
            beta_2=0.98 if model_config.warmup_steps else 0.999,
            global_clipnorm=model_config.gradient_clip_norm,
        ),
        loss=metrics.MaskedSparseCategoricalCrossentropy(
            from_logits=True, label_smoothing=model_config.label_smoothing
        ),
        metrics=[metrics.MaskedAccuracy()],
        jit_compile=model_config.jit_compile,
    )
    return model


class TrainingTimeBudget(keras.callbacks.Callback):
    """Stops training before an epoch that would end after `minutes` of
    training, each epoch expected to last the mean of the finished ones
    (wall time of this `fit` call, validation included)."""

    def __init__(self, minutes, clock=time.monotonic):
        super().__init__()
        self.seconds = 60.0 * minutes
        self.clock = clock
        self.stopped_after_epoch = None

    def on_train_begin(self, logs=None):
        self.start = self.clock()
        self.epochs_done = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_done += 1
        elapsed = self.clock() - self.start
        if elapsed + elapsed / self.epochs_done > self.seconds:
            self.model.stop_training = True
            self.stopped_after_epoch = epoch + 1
            print(
                f"Training time budget: stopping after epoch {epoch + 1} "
                f"({elapsed / 60:.1f} of {self.seconds / 60:g} minutes used; "
                "another epoch would not fit)",
                flush=True,
            )


def average_weight_files(model, weight_files):
    """Sets `model`'s weights to the element-wise mean of the weights saved
    in `weight_files` (`.weights.h5` of this model); non-float weights
    (counters, seeds) come from the last file."""
    total = None
    for path in weight_files:
        model.load_weights(path)
        values = model.get_weights()
        if total is None:
            total = [v.astype("float64") for v in values]
        else:
            for t, v in zip(total, values):
                t += v
    averaged = [
        (t / len(weight_files)).astype(v.dtype) if v.dtype.kind == "f" else v
        for t, v in zip(total, values)
    ]
    model.set_weights(averaged)


class BestBleuCheckpoint(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the best validation BLEU.

    After every epoch the model translates `sources` greedily (the
    Translator's graph) and sacrebleu scores them against `references`;
    the best epoch's weights are saved in `directory` (with its BLEU, so a
    resumed run keeps comparing against it) and restored when training
    ends. With `average_last` >= 2 the weights of the last `average_last`
    epochs are kept too, and when training ends their average (checkpoint
    averaging) replaces the best epoch's weights if it scores higher.
    """

    def __init__(
        self,
        translator,
        sources,
        references,
        tokenize,
        directory,
        average_last=0,
    ):
        super().__init__()
        self.translator = translator
        self.sources = sources
        self.references = references
        self.tokenize = tokenize
        self.directory = directory
        self.average_last = average_last
        self.weights_path = os.path.join(directory, BEST_WEIGHTS_FILENAME)
        self.bleu_path = os.path.join(directory, BEST_BLEU_FILENAME)
        self.history = []

    def _best(self):
        if not os.path.exists(self.bleu_path):
            return None
        with open(self.bleu_path) as f:
            return json.load(f)

    def _save_best(self, bleu, epoch):
        self.model.save_weights(self.weights_path)
        with open(self.bleu_path, "w") as f:
            json.dump({"bleu": bleu, "epoch": epoch}, f)

    def _bleu(self):
        import sacrebleu

        hypotheses = self.translator.translate(self.sources, batch_size=128)
        return sacrebleu.corpus_bleu(
            hypotheses, [self.references], tokenize=self.tokenize
        ).score

    def _epoch_files(self):
        return sorted(
            glob.glob(os.path.join(self.directory, "epoch_*.weights.h5"))
        )

    def _keep_epoch_weights(self, epoch):
        """Saves this epoch's weights; deletes all but the last N."""
        self.model.save_weights(
            os.path.join(self.directory, f"epoch_{epoch:04d}.weights.h5")
        )
        for old in self._epoch_files()[: -self.average_last]:
            os.remove(old)

    def on_epoch_end(self, epoch, logs=None):
        bleu = self._bleu()
        self.history.append(bleu)
        if logs is not None:
            logs["val_bleu"] = bleu
        os.makedirs(self.directory, exist_ok=True)
        best = self._best()
        if best is None or bleu > best["bleu"]:
            self._save_best(bleu, epoch + 1)
        if self.average_last >= 2:
            self._keep_epoch_weights(epoch + 1)
        print(
            f"epoch {epoch + 1}: validation BLEU {bleu:.2f} (greedy, "
            f"{len(self.sources)} sentences)",
            flush=True,
        )

    def on_train_end(self, logs=None):
        files = self._epoch_files()
        if self.average_last >= 2 and len(files) >= 2:
            average_weight_files(self.model, files)
            bleu = self._bleu()
            best = self._best()
            print(
                f"average of the last {len(files)} epochs: validation BLEU "
                f"{bleu:.2f} (best single epoch {best['epoch']}: "
                f"{best['bleu']:.2f})",
                flush=True,
            )
            if bleu > best["bleu"]:
                self._save_best(bleu, f"average of {len(files)}")
        if os.path.exists(self.weights_path):
            self.model.load_weights(self.weights_path)


def backup_directory(backup_root, fingerprint):
    """A folder that outlives one Trainer execution, named after what is
    trained, so only an identical rerun resumes from it."""
    digest = hashlib.sha256(
        json.dumps(fingerprint, sort_keys=True).encode("utf-8")
    ).hexdigest()[:16]
    return os.path.join(backup_root, digest)


def setup_training(model_config, distribution_strategy, mixed_precision=True):
    """Seeds, distribution strategy, XLA check and (optionally) mixed
    precision: the start of every Trainer run. Returns the strategy."""
    if model_config.seed is not None:
        # Same seed, same weights, dropout masks and example order: a
        # pipeline run can be repeated (on one device).
        keras.utils.set_random_seed(model_config.seed)
    strategy = distribution.select_strategy(distribution_strategy)
    distribution.check_jit_compile(strategy, model_config.jit_compile)
    if mixed_precision:
        distribution.configure_mixed_precision(model_config.mixed_precision)
    return strategy


def log_and_backup_callbacks(log_dir, backup_dir):
    """TensorBoard logs in `log_dir` and `BackupAndRestore` in `backup_dir`
    (a killed Trainer, rerun, resumes at the epoch it reached)."""
    callbacks = []
    if log_dir:
        callbacks.append(keras.callbacks.TensorBoard(log_dir))
    if backup_dir:
        callbacks.append(
            keras.callbacks.BackupAndRestore(os.path.join(backup_dir, "backup"))
        )
    return callbacks


def train_and_export(
    train_files,
    eval_files,
    tf_transform_output,
    dataset_config,
    model_config,
    serving_model_dir,
    log_dir=None,
    model_name="translator",
    distribution_strategy="auto",
    train_steps=None,
    backup_dir=None,
    extra_callbacks=(),
    verbose=2,
):
    """Trains the configured Translator and exports it for TF Serving.

    Args:
        backup_dir: folder of `keras.callbacks.BackupAndRestore` and of the
            best-BLEU weights; a rerun with the same folder resumes at the
            last finished epoch. None: no resume.
        extra_callbacks: more Keras callbacks (tests).

    Returns:
        `(translator, history dict)`.
    """
    from keras_seq.models import Translator

    strategy = setup_training(model_config, distribution_strategy)
    tokenizers = build_tokenizers(
        dataset_config, tf_transform_output, train_files
    )
    train_ds = make_dataset(
        train_files,
        tokenizers,
        dataset_config,
        model_config,
        shuffle=True,
        seed=model_config.seed or 0,
    )
    eval_ds = make_dataset(eval_files, tokenizers, dataset_config, model_config)
    with strategy.scope():
        model = build_model(model_config, dataset_config, tokenizers)
        compile_model(model, model_config)
    callbacks = log_and_backup_callbacks(log_dir, backup_dir)
    if model_config.best_checkpoint_examples:
        sources, references = read_texts(eval_files)
        n = model_config.best_checkpoint_examples
        greedy = Translator(
            model, tokenizers[0], tokenizers[1], strategy="greedy"
        )
        callbacks.append(
            BestBleuCheckpoint(
                greedy,
                sources[:n],
                references[:n],
                dataset_config.bleu_tokenize,
                os.path.join(
                    backup_dir or log_dir or serving_model_dir, "best"
                ),
                average_last=model_config.average_last_epochs,
            )
        )
    if model_config.max_training_minutes:
        callbacks.append(TrainingTimeBudget(model_config.max_training_minutes))
    callbacks.extend(extra_callbacks)
    history = model.fit(
        train_ds,
        validation_data=eval_ds,
        epochs=model_config.epochs,
        steps_per_epoch=train_steps,
        callbacks=callbacks,
        verbose=verbose,
    )
    # Export in float32 so the SavedModel runs the same on any server.
    keras.config.set_dtype_policy("float32")
    translator = Translator(
        model,
        *tokenizers,
        strategy=model_config.decode_strategy,
        beam_width=model_config.beam_width,
        length_penalty=model_config.length_penalty,
    )
    translator.export(serving_model_dir, model_name=model_name)
    if log_dir:
        translator.save(os.path.join(log_dir, TRANSLATOR_FILENAME))
    if backup_dir:
        # Finished: a later identical run starts afresh.
        tf.io.gfile.rmtree(backup_dir)
    return translator, history.history


def run_fn(fn_args):
    """TFX Trainer entry point."""
    import tensorflow_transform as tft

    custom = fn_args.custom_config or {}
    dataset_config = configs.DatasetConfig(**custom.get("dataset", {}))
    model_config = configs.ModelConfig(**custom.get("model", {}))
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    backup_dir = None
    if custom.get("backup_root"):
        backup_dir = backup_directory(
            custom["backup_root"],
            {
                "dataset": dataset_config.to_dict(),
                "model": model_config.to_dict(),
                "transform_output": fn_args.transform_output,
                "train_steps": fn_args.train_steps,
            },
        )
    if dataset_config.task == "caption":
        from keras_seq_pipelines import caption_trainer

        train = caption_trainer.train_and_export
    else:
        train = train_and_export
    _, history = train(
        fn_args.train_files,
        fn_args.eval_files,
        tf_transform_output,
        dataset_config,
        model_config,
        fn_args.serving_model_dir,
        log_dir=fn_args.model_run_dir,
        model_name=custom.get("model_name", "translator"),
        distribution_strategy=custom.get("distribution_strategy", "auto"),
        train_steps=fn_args.train_steps or None,
        backup_dir=backup_dir,
    )
    with tf.io.gfile.GFile(
        os.path.join(fn_args.model_run_dir, "history.json"), "w"
    ) as f:
        history = {k: [float(x) for x in v] for k, v in history.items()}
        f.write(json.dumps(history))
