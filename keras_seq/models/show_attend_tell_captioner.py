"""Show, Attend and Tell: an LSTM captioner with soft attention (Xu et al.)."""

import keras
from keras import ops

# Registers the masked loss/metrics, so that a model compiled with them and
# saved to .keras loads after a plain `import keras_seq.models`.
from keras_seq import metrics as _metrics  # noqa: F401
from keras_seq.layers.gated_soft_attention import SCORES
from keras_seq.layers.gated_soft_attention import GatedSoftAttention
from keras_seq.layers.gated_soft_attention import doubly_stochastic_penalty
from keras_seq.layers.image_feature_encoder import ImageFeatureEncoder

# Reserved ids of every keras_seq vocabulary (docs/design.md); repeated here
# because keras_seq.text imports TensorFlow and models must not.
PAD_ID = 0
BOS_ID = 2
EOS_ID = 3


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )


def check_encoder(encoder):
    """An `ImageFeatureEncoder` (or its serialized config) -> the layer."""
    if isinstance(encoder, dict):
        encoder = keras.saving.deserialize_keras_object(encoder)
    if not isinstance(encoder, ImageFeatureEncoder):
        raise ValueError(
            "`encoder` must be a keras_seq.layers.ImageFeatureEncoder. "
            f"Received: encoder={encoder!r}"
        )
    return encoder


def check_images_and_captions(inputs):
    """`inputs` must be `{"images", "target_in"}`; returns both."""
    if not isinstance(inputs, dict) or not {"images", "target_in"} <= set(
        inputs
    ):
        keys = (
            f" with keys {sorted(inputs)}" if isinstance(inputs, dict) else ""
        )
        raise ValueError(
            "`inputs` must be a dict with keys 'images' and 'target_in'. "
            f"Received: inputs={type(inputs).__name__}{keys}"
        )
    target_in = ops.cast(inputs["target_in"], "int32")
    if len(target_in.shape) != 2:
        raise ValueError(
            "`target_in` must have shape (batch_size, caption_length). "
            f"Received: target_in.shape={tuple(target_in.shape)}"
        )
    return inputs["images"], target_in


@keras.saving.register_keras_serializable(package="keras_seq")
class ShowAttendTellCaptioner(keras.Model):
    """Soft-attention LSTM image captioner (Xu et al. 2015).

    The encoder (`ImageFeatureEncoder`) gives `L` annotation vectors
    `a_i` `(D,)` per image. The decoder is one LSTM (sublayer `lstm_cell`,
    `hidden_dim` units) that at caption step t:

    1. attends: `alpha_t = softmax_i(f_att(a_i, h_{t-1}))`, `beta_t =
       sigmoid(f_beta(h_{t-1}))`, `z_t = beta_t sum_i alpha_ti a_i`
       (eqs. 4-5, 13 and sec. 4.2.1; sublayer `attention`, a
       `GatedSoftAttention`);
    2. updates `(h_t, c_t) = LSTM([E y_{t-1}; z_t], h_{t-1}, c_{t-1})`
       (eqs. 1-3; `E` is the sublayer `embedding`, `embedding_dim` = m);
    3. predicts with the deep output layer (eq. 7):
       `p(y_t) = softmax(L_o(E y_{t-1} + L_h h_t + L_z z_t))`, `L_h`, `L_z`
       the sublayers `deep_output_h` and `deep_output_z` (`Dense(m)`, with
       `L_h` holding the one bias) and `L_o` the sublayer
       `output_projection` (`Dense(vocabulary_size)`); `dropout` applies
       to the sum before `L_o`.

    The LSTM starts from `c_0 = f_init,c(mean_i a_i)` and `h_0 =
    f_init,h(mean_i a_i)`, "predicted by an average of the annotation
    vectors fed through two separate MLPs" (sec. 3.1.2, eq. 5 of the
    paper's appendix; sublayers `init_c` and `init_h`, `Dense` with tanh).

    Training minimises the doubly stochastic loss (eq. 14)
    `-log P(y | a) + lambda sum_i (1 - sum_t alpha_ti)^2`: the first term
    is the loss `fit()` is compiled with (e.g.
    `keras_seq.metrics.MaskedSparseCategoricalCrossentropy`, which
    averages over the real caption tokens of a batch), and `call()` adds
    the second with `add_loss` (when `attention_regularization > 0`),
    summed over the images of the batch and divided by the same count of
    real caption tokens, so that both terms keep the relative weight
    `lambda` they have in eq. 14. Only real caption steps (`target_in
    != 0`) count in `sum_t`.

    Teacher forcing and decoding run the same `_decoder_step`. `call()`
    unrolls it over the caption in a Python loop when the caption length
    is static (always on JAX and PyTorch, and in `fit` with fixed-size
    batches): every backend can differentiate that. A length unknown when
    tracing (a TensorFlow graph) uses `keras.ops.while_loop` with
    `maximum_iterations` instead, which TensorFlow differentiates.

    Args:
        encoder: an `ImageFeatureEncoder` (its sublayer name becomes
            `encoder`).
        vocabulary_size: int, V (ids 0-3 are [PAD], [UNK], [BOS], [EOS]).
        embedding_dim: int, m.
        hidden_dim: int, n, the LSTM size.
        attention_units: int, hidden size of the additive score; `None` for
            `score="dot"` / `"general"`.
        score: `"bahdanau"` (the paper's MLP), `"dot"`, `"general"` or
            `"concat"`, see `GatedSoftAttention`.
        use_gate: bool, the gating scalar `beta_t` (sec. 4.2.1).
        attention_regularization: float >= 0, lambda of eq. 14 (the paper
            uses 1; 0 disables the term).
        dropout: float in [0, 1), before `L_o`.
        max_caption_length: int, the most tokens `generate()` produces
            (EOS included) and the longest `target_in` accepted.
        **kwargs: `keras.Model` arguments (`name`, `dtype`).

    Call arguments:
        inputs: dict with `"images"` float `(batch_size, height, width, 3)`
            in `[0, 1]` and `"target_in"` int `(batch_size, T)`
            (`[BOS] y_1 .. y_n`, padded with 0).
        training: bool.
        return_alignments: bool, also return `alpha` `(batch_size, T, L)`.

    Returns:
        logits `(batch_size, T, vocabulary_size)` float32, or
        `(logits, alignments)`.

    Example:
    >>> encoder = ImageFeatureEncoder((64, 64, 3), filters=[16, 32, 64])
    >>> model = ShowAttendTellCaptioner(encoder, vocabulary_size=30)
    >>> model.compile("adam", MaskedSparseCategoricalCrossentropy())
    >>> model.fit(dataset)  # ({"images", "target_in"}, target_out)
    >>> out = model.generate(images)  # token_ids, scores, alignment

    References:
        Xu et al. (2015). Show, Attend and Tell: Neural Image Caption
        Generation with Visual Attention. ICML.
        https://arxiv.org/abs/1502.03044
    """

    def __init__(
        self,
        encoder,
        vocabulary_size,
        embedding_dim=64,
        hidden_dim=256,
        attention_units=128,
        score="bahdanau",
        use_gate=True,
        attention_regularization=1.0,
        dropout=0.0,
        max_caption_length=32,
        **kwargs,
    ):
        super().__init__(**kwargs)
        encoder = check_encoder(encoder)
        for name, value in (
            ("vocabulary_size", vocabulary_size),
            ("embedding_dim", embedding_dim),
            ("hidden_dim", hidden_dim),
            ("max_caption_length", max_caption_length),
        ):
            check_positive_int(name, value)
        if score not in SCORES:
            raise ValueError(
                f"`score` must be one of {SCORES}. Received: score={score!r}"
            )
        if isinstance(attention_regularization, bool) or not isinstance(
            attention_regularization, (int, float)
        ):
            raise ValueError(
                "`attention_regularization` must be a number >= 0. "
                f"Received: attention_regularization="
                f"{attention_regularization!r}"
            )
        if attention_regularization < 0:
            raise ValueError(
                "`attention_regularization` must be >= 0. Received: "
                f"attention_regularization={attention_regularization!r}"
            )
        if isinstance(dropout, bool) or not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"`dropout` must be in [0, 1). Received: dropout={dropout!r}"
            )
        self.encoder = encoder
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.attention_units = attention_units
        self.score = score
        self.use_gate = use_gate
        self.attention_regularization = float(attention_regularization)
        self.dropout = dropout
        self.max_caption_length = max_caption_length
        policy = self.dtype_policy
        # Argument errors of the attention (units vs score, use_gate) are
        # raised here, in the constructor.
        self.attention = GatedSoftAttention(
            score=score,
            units=attention_units,
            use_gate=use_gate,
            dtype=policy,
            name="attention",
        )
        self.embedding = keras.layers.Embedding(
            vocabulary_size, embedding_dim, dtype=policy, name="embedding"
        )
        self.init_h = keras.layers.Dense(
            hidden_dim, activation="tanh", dtype=policy, name="init_h"
        )
        self.init_c = keras.layers.Dense(
            hidden_dim, activation="tanh", dtype=policy, name="init_c"
        )
        self.lstm_cell = keras.layers.LSTMCell(
            hidden_dim, dtype=policy, name="lstm_cell"
        )
        self.deep_output_h = keras.layers.Dense(
            embedding_dim, dtype=policy, name="deep_output_h"
        )
        self.deep_output_z = keras.layers.Dense(
            embedding_dim, use_bias=False, dtype=policy, name="deep_output_z"
        )
        self.output_dropout = keras.layers.Dropout(
            dropout, dtype=policy, name="output_dropout"
        )
        self.output_projection = keras.layers.Dense(
            vocabulary_size, dtype=policy, name="output_projection"
        )

    # ------------------------------------------------------------------

    def build(self, input_shape=None):
        # Every size is known from the constructor and the encoder, so the
        # model builds the same way whatever shape is given.
        if self.built:
            return
        if not self.encoder.built:
            self.encoder.build((None,) + tuple(self.encoder.image_shape))
        num_regions = self.encoder.num_regions
        feature_dim = self.encoder.feature_dim
        hidden, m = self.hidden_dim, self.embedding_dim
        self.attention.build((None, hidden), (None, num_regions, feature_dim))
        self.embedding.build((None,))
        self.init_h.build((None, feature_dim))
        self.init_c.build((None, feature_dim))
        self.lstm_cell.build((None, m + feature_dim))
        self.deep_output_h.build((None, hidden))
        self.deep_output_z.build((None, feature_dim))
        self.output_projection.build((None, m))
        self.built = True

    def build_from_config(self, config):
        self.build()

    @property
    def num_regions(self):
        return self.encoder.num_regions

    # ------------------------------------------------------------------
    # Encoder and the decoder step shared by teacher forcing and decoding.

    def encode(self, images, training=None):
        """Annotation vectors and the initial decoder state.

        Returns:
            dict with `features` `(B, L, D)`, `keys` (the region side of
            the score, when it has one), `h` and `c` `(B, n)`.
        """
        self.build()
        features = self.encoder(images, training=training)  # (B, L, D)
        mean = ops.mean(features, axis=1)  # (B, D)
        state = {
            "features": features,
            "h": self.init_h(mean),  # eq. 5: h_0 = f_init,h(mean_i a_i)
            "c": self.init_c(mean),  # c_0 = f_init,c(mean_i a_i)
        }
        keys = self.attention.precompute_values(features)
        if keys is not features:  # "dot" scores a_i itself: no second copy
            state["keys"] = keys
        return state

    def _decoder_step(self, embedded, state, training=None):
        """One step: `(logits (B, V) float32, h, c, alpha (B, L), beta)`.

        Args:
            embedded: `(B, m)`, `E y_{t-1}`.
            state: dict with `features`, optional `keys`, `h`, `c`.
            training: bool.
        """
        context, alpha, beta = self.attention(
            state["h"], state["features"], keys=state.get("keys")
        )  # z_t (B, D), alpha_t (B, L), beta_t (B, 1)
        x = ops.concatenate([embedded, ops.cast(context, embedded.dtype)], -1)
        h, (h, c) = self.lstm_cell(x, [state["h"], state["c"]])
        # Deep output (eq. 7): L_o(E y_{t-1} + L_h h_t + L_z z_t).
        out = embedded + self.deep_output_h(h) + self.deep_output_z(context)
        out = self.output_dropout(out, training=training)
        logits = ops.cast(self.output_projection(out), "float32")
        return logits, h, c, alpha, beta

    def _check_target_in(self, target_in):
        length = target_in.shape[1]
        if length is not None and length > self.max_caption_length:
            raise ValueError(
                "`target_in` is longer than max_caption_length="
                f"{self.max_caption_length}. "
                f"Received: target_in.shape={tuple(target_in.shape)}"
            )
        if length == 0:
            raise ValueError(
                "`target_in` must hold at least one step ([BOS]). "
                f"Received: target_in.shape={tuple(target_in.shape)}"
            )

    def teacher_forcing(self, images, target_in, training=None):
        """Runs the decoder on `target_in` `(B, T)`.

        Returns:
            `(logits (B, T, V), alignments (B, T, L), gates (B, T))`.
        """
        self._check_target_in(target_in)
        state = self.encode(images, training=training)
        embedded = self.embedding(target_in)  # (B, T, m)
        length = target_in.shape[1]
        if length is not None:
            # Static length: a Python loop, differentiable on every backend.
            logits, alphas, betas = [], [], []
            for t in range(length):
                step_logits, h, c, alpha, beta = self._decoder_step(
                    embedded[:, t], state, training
                )
                state = {**state, "h": h, "c": c}
                logits.append(step_logits)
                alphas.append(ops.cast(alpha, "float32"))
                betas.append(ops.cast(beta[:, 0], "float32"))
            return (
                ops.stack(logits, axis=1),
                ops.stack(alphas, axis=1),
                ops.stack(betas, axis=1),
            )
        return self._teacher_forcing_while_loop(embedded, state, training)

    def _teacher_forcing_while_loop(self, embedded, state, training):
        # Only reached when the caption length is unknown while tracing a
        # TensorFlow graph: a `while_loop` with `maximum_iterations`, which
        # TensorFlow differentiates (XLA included). Step t's outputs are
        # added into `(T, B, ...)` buffers through a one-hot mask over time
        # (TensorFlow has no gradient for `slice_update`).
        batch = ops.shape(embedded)[0]
        length = ops.shape(embedded)[1]
        num_regions = self.num_regions
        times = ops.arange(length, dtype="int32")
        steps = ops.transpose(embedded, (1, 0, 2))  # (T, B, m)
        carry = {"h": state["h"], "c": state["c"]}
        buffers = (
            ops.zeros((length, batch, self.vocabulary_size), "float32"),
            ops.zeros((length, batch, num_regions), "float32"),
            ops.zeros((length, batch), "float32"),
        )

        def body(t, carry, buffers):
            step_logits, h, c, alpha, beta = self._decoder_step(
                ops.take(steps, t, axis=0), {**state, **carry}, training
            )
            at_t = ops.cast(ops.equal(times, t), "float32")  # (T,)
            values = (step_logits, alpha, beta[:, 0])
            buffers = tuple(
                b
                + ops.reshape(at_t, (-1,) + (1,) * (len(b.shape) - 1))
                * ops.cast(v, "float32")[None]
                for b, v in zip(buffers, values)
            )
            return t + 1, {"h": h, "c": c}, buffers

        _, _, buffers = ops.while_loop(
            lambda t, carry, buffers: t < length,
            body,
            (ops.zeros((), "int32"), carry, buffers),
            maximum_iterations=length,
        )
        logits, alphas, betas = buffers
        return (
            ops.transpose(logits, (1, 0, 2)),
            ops.transpose(alphas, (1, 0, 2)),
            ops.transpose(betas, (1, 0)),
        )

    def call(self, inputs, training=None, return_alignments=False):
        images, target_in = check_images_and_captions(inputs)
        logits, alignments, _ = self.teacher_forcing(
            images, target_in, training=training
        )
        if self.attention_regularization > 0:
            target_mask = ops.not_equal(target_in, PAD_ID)
            penalty = doubly_stochastic_penalty(alignments, target_mask)
            num_tokens = ops.maximum(
                ops.sum(ops.cast(target_mask, "float32")), 1.0
            )
            # lambda * sum_b sum_i (1 - sum_t alpha_ti)^2 / #tokens (eq. 14
            # normalized like the token-averaged cross-entropy).
            self.add_loss(
                self.attention_regularization * ops.sum(penalty) / num_tokens
            )
        if return_alignments:
            return logits, alignments
        return logits

    def compute_output_shape(self, input_shape):
        batch, length = input_shape["target_in"]
        return (batch, length, self.vocabulary_size)

    # ------------------------------------------------------------------
    # Decoding contract (docs/design.md).

    def initial_decoding_state(self, images):
        """Encodes the images; returns the dict `decode_step` carries.

        Keys: `features` `(B, L, D)`, `keys` (region side of the score,
        absent for `score="dot"`), `h`, `c` `(B, n)`.
        """
        return self.encode(images, training=False)

    def decode_step(self, token_ids, state, step):
        """`(logits (B, V) float32, new_state, {"alignment", "gate"})`.

        `alignment` is `alpha_t` `(B, L)`, `gate` is `beta_t` `(B,)`.
        """
        del step  # The LSTM's state carries the position.
        self.build()
        embedded = self.embedding(ops.cast(token_ids, "int32"))  # (B, m)
        logits, h, c, alpha, beta = self._decoder_step(
            embedded, state, training=False
        )
        new_state = {**state, "h": h, "c": c}
        aux = {
            "alignment": ops.cast(alpha, "float32"),
            "gate": ops.cast(beta[:, 0], "float32"),
        }
        return logits, new_state, aux

    def generate(self, images, strategy="greedy", max_length=None, **kw):
        """Captions `images` `(B, height, width, 3)` with `keras_seq.decoding`.

        Args:
            images: float `(batch_size, height, width, 3)` in `[0, 1]`.
            strategy: `"greedy"`, `"beam"` or `"sample"`.
            max_length: int, most tokens per caption (EOS included);
                defaults to `max_caption_length`.
            **kw: passed to the search (`beam_width`, `temperature`, ...).

        Returns:
            dict with `token_ids` `(B, max_length)` int32 (0 after EOS),
            `lengths`, `scores`, `alignment` `(B, max_length, L)` (the
            `alpha_t` of every produced token) and `gate` `(B, max_length)`.
        """
        return _generate(self, images, strategy, max_length, kw)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim,
                "attention_units": self.attention_units,
                "score": self.score,
                "use_gate": self.use_gate,
                "attention_regularization": self.attention_regularization,
                "dropout": self.dropout,
                "max_caption_length": self.max_caption_length,
            }
        )
        return config


def _generate(model, images, strategy, max_length, kw):
    """`generate()` of both captioners (they differ only in the state)."""
    from keras_seq import decoding

    if max_length is None:
        max_length = model.max_caption_length
    if (
        not isinstance(max_length, int)
        or isinstance(max_length, bool)
        or not 1 <= max_length <= model.max_caption_length
    ):
        raise ValueError(
            "`max_length` must be an int in [1, max_caption_length="
            f"{model.max_caption_length}]. Received: max_length={max_length!r}"
        )
    images = ops.convert_to_tensor(images)
    if "float" not in str(images.dtype):
        images = ops.cast(images, "float32")
    state = model.initial_decoding_state(
        images, **_length_kwarg(model, max_length)
    )
    batch = ops.shape(images)[0]
    start_ids = ops.full((batch,), BOS_ID, "int32")
    # Every region is real (no padding): the coverage penalty of beam search
    # sums over all of them.
    region_mask = ops.ones((batch, model.num_regions), "bool")
    return decoding.search(
        strategy,
        model.decode_step,
        state,
        start_ids,
        end_id=EOS_ID,
        max_length=max_length,
        source_mask=region_mask,
        **kw,
    )


def _length_kwarg(model, max_length):
    # The Transformer preallocates its self-attention cache to max_length.
    if getattr(model, "needs_max_length", False):
        return {"max_length": max_length}
    return {}
