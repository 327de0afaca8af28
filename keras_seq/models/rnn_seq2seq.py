"""RNN encoder-decoder: Sutskever, Cho, Luong (global/local) and Bahdanau."""

import keras
from keras import ops

# Registers the masked loss/metrics, so that a model compiled with them and
# saved to .keras loads after a plain `import keras_seq.models`.
from keras_seq import metrics as _metrics  # noqa: F401
from keras_seq.layers.attentional_hidden_state import AttentionalHiddenState
from keras_seq.layers.luong_attention import SCORES
from keras_seq.layers.luong_attention import LuongAttention
from keras_seq.layers.rnn_encoder import CELLS
from keras_seq.layers.rnn_encoder import RNNEncoder
from keras_seq.validation import check_fraction
from keras_seq.validation import check_int
from keras_seq.validation import check_one_of
from keras_seq.validation import check_token_ids

# Reserved ids of every keras_seq vocabulary (docs/design.md); repeated here
# because keras_seq.text imports TensorFlow and models must not.
PAD_ID = 0
BOS_ID = 2
EOS_ID = 3

ATTENTIONS = (None, "luong", "bahdanau", "local")
CONTEXTS = ("init", "every_step")
LOCAL_MODES = ("local-m", "local-p")


@keras.saving.register_keras_serializable(package="keras_seq")
class RNNSeq2Seq(keras.Model):
    """Attentional (or fixed-context) RNN encoder-decoder.

    One class for the RNN sequence-to-sequence family:

    - `attention=None, context="init"` (Sutskever et al. 2014 sec. 2, eq.
      1): the encoder's final states initialise the decoder,
      `q_j = f(q_{j-1}, y_{j-1})`, `p(y_j) = softmax(W_s q_j)`.
    - `attention=None, context="every_step"` (Cho et al. 2014 sec. 2.2):
      the same initialisation, and the fixed context
      `c = h_Tx` (top-layer final encoder state) is also concatenated to
      every decoder input: `q_j = f(q_{j-1}, [y_{j-1}; c])`.
    - `attention="luong"` (Luong et al. 2015 global attention, eqs. 5-7):
      `q_t = f(q_{t-1}, [y_{t-1}; q~_{t-1}])` (input feeding, the
      `q~_{t-1}` part only when `input_feeding=True`), then
      `c_t = sum_s a_t(s) h_s` with `a_t = softmax(score(q_t, h_s))`,
      `q~_t = tanh(W_c [c_t; q_t])`, `p(y_t) = softmax(W_s q~_t)`.
    - `attention="local"` (Luong et al. 2015 sec. 3.2, eq. 9): as "luong"
      with `LocalAttention(window, mode=local_mode)`.
    - `attention="bahdanau"` (Bahdanau et al. 2015, eq. 8): the alignment
      is scored from the previous decoder state `q_{t-1}` (the top layer;
      at t=1 the encoder's final state), `a_t(s) = softmax(v^T tanh(W_1
      q_{t-1} + W_2 h_s))`, and `c_t` enters the recurrent step,
      `q_t = f(q_{t-1}, [y_{t-1}; c_t])`. The output layer combines `q_t`
      and `c_t` as `tanh(W_c [c_t; q_t])` before `W_s` (a one-layer
      version of the paper's deep output; no maxout).

    In every variant decoder layer `i` starts from the final state of
    encoder layer `i` (`[forward; backward]` when bidirectional, see
    `RNNEncoder`), and the decoder has `num_layers` layers of `hidden_dim`
    units.

    Teacher forcing and step-by-step decoding run the same function,
    `_decoder_step`: `call()` loops it over the target (`keras.ops.scan`;
    a `keras.ops.while_loop` on TensorFlow, see `_teacher_forcing_loop`),
    `decode_step()` runs it once. Only the output
    projection `W_s` (position-wise) is applied after the scan.

    Dropout (`dropout`) applies to the encoder (embeddings, between
    layers), to the target embeddings and to the vector fed to `W_s`; none
    inside the recurrence.

    Args:
        source_vocabulary_size: int, size of the source vocabulary.
        target_vocabulary_size: int, size of the target vocabulary.
        embedding_dim: int, size of the source and target embeddings.
        hidden_dim: int, size of the encoder outputs, of the decoder states
            and of `q~_t`.
        cell: `"lstm"` or `"gru"`, for the encoder and the decoder.
        num_layers: int, stacked layers in the encoder and in the decoder.
        bidirectional: bool, bidirectional encoder (`hidden_dim` even).
        attention: `None`, `"luong"`, `"bahdanau"` or `"local"`.
        score: `"dot"`, `"general"` or `"concat"`, the alignment score of
            `"luong"` and `"local"` attention (Luong et al. 2015 eq. 8).
        window: int, the half-width D of the local attention window.
        local_mode: `"local-m"` or `"local-p"` (Luong et al. 2015 sec.
            3.2, eqs. 9-10).
        context: `"init"` (Sutskever) or `"every_step"` (Cho); only for
            `attention=None` (attentional models take `"init"`).
        input_feeding: bool, feed `q~_{t-1}` to step t (Luong et al. 2015
            sec. 3.3); used by `"luong"` and `"local"` only.
        dropout: float in [0, 1).
        max_source_length: int, the longest source accepted: a longer
            (statically known) source raises a `ValueError`.
        max_target_length: int, the default `max_length` of `generate()`.
        **kwargs: base `keras.Model` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: dict with `"source_ids"` `(batch_size, source_length)` and
            `"target_in"` `(batch_size, target_length)` int tensors (`[BOS]
            y_1 .. y_n`, padded with 0), the batch format of docs/design.md.
        training: bool, whether dropout is active.
        return_alignments: bool; if True also return the teacher-forced
            alignments `(batch_size, target_length, source_length)`.

    Returns:
        logits `(batch_size, target_length, target_vocabulary_size)`
        float32, or `(logits, alignments)` with `return_alignments=True`
        (zeros for `attention=None`).

    Example:
    >>> model = RNNSeq2Seq(1000, 1000, 64, 128, attention="luong")
    >>> model.compile("adam", MaskedSparseCategoricalCrossentropy())
    >>> model.fit(dataset)  # ({"source_ids", "target_in"}, target_out)
    >>> out = model.generate(source_ids)  # token_ids, lengths, alignment

    References:
        Sutskever, Vinyals, Le (2014). https://arxiv.org/abs/1409.3215
        Cho et al. (2014). https://arxiv.org/abs/1406.1078
        Bahdanau, Cho, Bengio (2015). https://arxiv.org/abs/1409.0473
        Luong, Pham, Manning (2015). https://arxiv.org/abs/1508.04025
    """

    def __init__(
        self,
        source_vocabulary_size,
        target_vocabulary_size,
        embedding_dim,
        hidden_dim,
        cell="lstm",
        num_layers=1,
        bidirectional=False,
        attention=None,
        score="general",
        window=10,
        local_mode="local-p",
        context="init",
        input_feeding=True,
        dropout=0.0,
        max_source_length=128,
        max_target_length=128,
        **kwargs,
    ):
        super().__init__(**kwargs)
        source_vocabulary_size = check_int(
            "source_vocabulary_size", source_vocabulary_size
        )
        target_vocabulary_size = check_int(
            "target_vocabulary_size", target_vocabulary_size
        )
        embedding_dim = check_int("embedding_dim", embedding_dim)
        hidden_dim = check_int("hidden_dim", hidden_dim)
        num_layers = check_int("num_layers", num_layers)
        window = check_int("window", window)
        max_source_length = check_int("max_source_length", max_source_length)
        max_target_length = check_int("max_target_length", max_target_length)
        check_one_of("cell", cell, CELLS)
        check_fraction("dropout", dropout)
        check_one_of("attention", attention, ATTENTIONS)
        check_one_of("score", score, SCORES)
        check_one_of("local_mode", local_mode, LOCAL_MODES)
        check_one_of("context", context, CONTEXTS)
        if attention is not None and context != "init":
            raise ValueError(
                "`context='every_step'` (Cho et al. 2014) is the fixed-"
                "context variant; attentional models compute a context per "
                "step. Use attention=None or context='init'. "
                f"Received: context={context!r}, attention={attention!r}"
            )
        for name, value in (
            ("bidirectional", bidirectional),
            ("input_feeding", input_feeding),
        ):
            if not isinstance(value, bool):
                raise ValueError(
                    f"`{name}` must be a bool. Received: {name}={value!r}"
                )
        if bidirectional and hidden_dim % 2:
            raise ValueError(
                "A bidirectional encoder splits `hidden_dim` between its two "
                "directions, so it must be even. "
                f"Received: hidden_dim={hidden_dim}"
            )
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.cell = cell
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.attention = attention
        self.score = score
        self.window = window
        self.local_mode = local_mode
        self.context = context
        self.input_feeding = input_feeding
        self.dropout = dropout
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self._create_layers()

    # ------------------------------------------------------------------
    # Layers.

    @property
    def uses_input_feeding(self):
        """Whether `q~_{t-1}` is concatenated to the input of step t."""
        return self.input_feeding and self.attention in ("luong", "local")

    @property
    def decoder_input_dim(self):
        """Size of the input of the first decoder layer at each step.

        `embedding_dim`, plus `hidden_dim` for Cho's fixed context, for
        Bahdanau's `c_t` and for Luong's input feeding `q~_{t-1}`.
        """
        extra = (
            (self.attention is None and self.context == "every_step")
            or self.attention == "bahdanau"
            or self.uses_input_feeding
        )
        return self.embedding_dim + (self.hidden_dim if extra else 0)

    @property
    def _num_states(self):
        return 2 if self.cell == "lstm" else 1

    def _create_layers(self):
        policy = self.dtype_policy
        self.encoder = RNNEncoder(
            self.source_vocabulary_size,
            self.embedding_dim,
            self.hidden_dim,
            cell=self.cell,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            dtype=policy,
            name="encoder",
        )
        self.target_embedding = keras.layers.Embedding(
            self.target_vocabulary_size,
            self.embedding_dim,
            dtype=policy,
            name="target_embedding",
        )
        cell_class = (
            keras.layers.LSTMCell
            if self.cell == "lstm"
            else keras.layers.GRUCell
        )
        self.decoder_cells = [
            cell_class(self.hidden_dim, dtype=policy, name=f"decoder_cell_{i}")
            for i in range(self.num_layers)
        ]
        self.attention_layer = None
        if self.attention == "luong":
            self.attention_layer = LuongAttention(
                score=self.score, dtype=policy, name="attention"
            )
        elif self.attention == "local":
            from keras_seq.layers.local_attention import LocalAttention

            self.attention_layer = LocalAttention(
                window=self.window,
                mode=self.local_mode,
                score=self.score,
                dtype=policy,
                name="attention",
            )
        elif self.attention == "bahdanau":
            from keras_seq.layers.bahdanau_attention import BahdanauAttention

            self.attention_layer = BahdanauAttention(
                self.hidden_dim, dtype=policy, name="attention"
            )
        self.attentional_hidden_state = None
        if self.attention is not None:
            self.attentional_hidden_state = AttentionalHiddenState(
                self.hidden_dim, dtype=policy, name="attentional_hidden_state"
            )
        self.embedding_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="embedding_dropout"
        )
        self.output_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="output_dropout"
        )
        # W_s of p(y_t) = softmax(W_s q~_t) (Luong et al. 2015 eq. 6).
        self.output_projection = keras.layers.Dense(
            self.target_vocabulary_size,
            dtype=policy,
            name="output_projection",
        )

    def build(self, input_shape=None):
        # Every size is known from the constructor, so the model builds the
        # same way whatever shape is given (also when loaded from .keras).
        if self.built:
            return
        hidden = self.hidden_dim
        input_dim = self.decoder_input_dim
        shapes = [
            (self.encoder, [(None, None)]),
            (self.target_embedding, [(None, None)]),
            (self.output_projection, [(None, None, hidden)]),
        ]
        for cell in self.decoder_cells:
            shapes.append((cell, [(None, input_dim)]))
            input_dim = hidden
        if self.attention_layer is not None:
            shapes.append(
                (self.attention_layer, [(None, hidden), (None, None, hidden)])
            )
            shapes.append(
                (
                    self.attentional_hidden_state,
                    [(None, hidden), (None, hidden)],
                )
            )
        for layer, layer_shapes in shapes:
            if not layer.built:
                layer.build(*layer_shapes)
        self.built = True

    def build_from_config(self, config):
        self.build()

    # ------------------------------------------------------------------
    # Encoder and the decoder step shared by teacher forcing and decoding.

    def _check_source(self, source_ids, integer_dtype=True):
        # `call()` passes integer_dtype=False: Keras may have converted its
        # inputs to floats (e.g. under a distribution strategy); the values
        # are still checked when they are known.
        check_token_ids(
            "source_ids",
            source_ids,
            self.source_vocabulary_size,
            max_length=self.max_source_length,
            max_length_name="max_source_length",
            integer_dtype=integer_dtype,
        )

    def _encode(self, source_ids, training=None):
        """Runs the encoder; returns `(memory, carry)` dicts.

        `memory` holds what stays fixed while decoding: `values` (encoder
        outputs `(B, S, H)`), `source_mask` `(B, S)` bool and, for Cho's
        variant, `context` `(B, H)`. `carry` is the initial decoder state:
        `h_i` (and `c_i` for LSTM) per layer, `(B, H)` each, and `feed`
        (`q~_0 = 0`) for input feeding.
        """
        self._check_source(source_ids, integer_dtype=False)
        source_ids = ops.cast(source_ids, "int32")
        source_mask = ops.not_equal(source_ids, PAD_ID)
        values, states = self.encoder(
            source_ids, padding_mask=source_mask, training=training
        )
        memory = {"values": values, "source_mask": source_mask}
        if self.attention is not None:
            # The source side of the score (W_a h_s, W_2 h_s...) does not
            # change while decoding: compute it once, not at every step.
            keys = self.attention_layer.precompute_values(values)
            if keys is not values:  # "dot" uses h_s itself: no second copy
                memory["keys"] = keys
        if self.attention is None and self.context == "every_step":
            # c = h_Tx: the top layer's final hidden state (Cho et al. 2014
            # sec. 2.2).
            memory["context"] = states[-1][0]
        carry = {}
        for i, layer_states in enumerate(states):
            carry[f"h_{i}"] = layer_states[0]
            if self.cell == "lstm":
                carry[f"c_{i}"] = layer_states[1]
        if self.uses_input_feeding:
            carry["feed"] = ops.zeros_like(states[-1][0])
        return memory, carry

    def _attend(self, query, memory, step):
        kwargs = {"step": step} if self.attention == "local" else {}
        return self.attention_layer(
            query,
            memory["values"],
            mask=memory["source_mask"],
            keys=memory.get("keys"),
            **kwargs,
        )

    def _decoder_step(self, embedded, carry, memory, step, training=None):
        """One decoder step (the single code path of training and decoding).

        Args:
            embedded: `(B, E)` embedding of the previous token `y_{t-1}`.
            carry: dict of recurrent state (see `_encode`).
            memory: dict of encoder outputs (see `_encode`).
            step: int32 scalar, 0-based index of the token produced.
            training: bool.

        Returns:
            `(output, new_carry, alignment)`: `output` `(B, H)` is the vector
            `W_s` reads (`q~_t`, or `q_t` without attention); `alignment`
            `(B, S)` is `a_t` (`None` without attention).
        """
        alignment = None
        inputs = [embedded]
        if self.attention == "bahdanau":
            # Bahdanau et al. 2015 eq. 6: a_t scored from q_{t-1}; c_t is an
            # input of the recurrence.
            previous = carry[f"h_{self.num_layers - 1}"]
            context, alignment = self._attend(previous, memory, step)
            inputs.append(context)
        elif self.attention is None and self.context == "every_step":
            inputs.append(memory["context"])  # Cho et al. 2014: [y; c].
        elif self.uses_input_feeding:
            inputs.append(carry["feed"])  # Luong et al. 2015 sec. 3.3.
        x = inputs[0] if len(inputs) == 1 else ops.concatenate(inputs, -1)
        new_carry = {}
        for i, cell in enumerate(self.decoder_cells):
            if self.cell == "lstm":
                states = [carry[f"h_{i}"], carry[f"c_{i}"]]
            else:
                states = [carry[f"h_{i}"]]
            x, new_states = cell(x, states, training=training)
            if not isinstance(new_states, (list, tuple)):
                new_states = [new_states]
            new_carry[f"h_{i}"] = new_states[0]
            if self.cell == "lstm":
                new_carry[f"c_{i}"] = new_states[1]
        query = x  # q_t, the top layer's state.
        if self.attention is None:
            return query, new_carry, alignment
        if self.attention in ("luong", "local"):
            # Luong et al. 2015: attention reads the current state q_t.
            context, alignment = self._attend(query, memory, step)
        # q~_t = tanh(W_c [c_t; q_t]) (Luong et al. 2015 eq. 5).
        output = self.attentional_hidden_state(context, query)
        if self.uses_input_feeding:
            new_carry["feed"] = output
        return output, new_carry, alignment

    # ------------------------------------------------------------------
    # Teacher forcing.

    def _teacher_forcing_loop(self, embedded, carry, memory, training):
        """Runs `_decoder_step` over every target position.

        The loop must be differentiable on every backend, and the two
        differentiable loops Keras offers each fail on one backend:

        - JAX: `keras.ops.while_loop` is `lax.while_loop`, which has no
          reverse-mode gradient. `keras.ops.scan` is `lax.scan` over the
          (static under `jit`) target length: differentiable, and it
          stacks the step outputs with no extra work.
        - TensorFlow: Keras's `scan` there stores its per-step outputs in
          arrays shaped like the carry (so outputs of another shape fail),
          and a scan's gradient accumulators have no fixed size under XLA.
          `_teacher_forcing_while_loop` uses `while_loop` with
          `maximum_iterations`, whose gradient compiles with XLA also for
          a target length unknown when tracing.
        - torch runs eagerly: `scan` is a Python loop that stacks the
          outputs once at the end.

        Args:
            embedded: `(B, T, E)` embeddings of `target_in`.
            carry: initial recurrent state (see `_encode`).
            memory: encoder outputs (see `_encode`).
            training: bool.

        Returns:
            `(outputs (B, T, H), alignments (B, T, S))`, alignments zero
            without attention.
        """
        if keras.backend.backend() == "tensorflow":
            return self._teacher_forcing_while_loop(
                embedded, carry, memory, training
            )
        return self._teacher_forcing_scan(embedded, carry, memory, training)

    def _teacher_forcing_scan(self, embedded, carry, memory, training):
        """`_teacher_forcing_loop` with `keras.ops.scan` (JAX, torch)."""
        dtype = self.compute_dtype
        # Static here: JAX traces with concrete shapes, torch runs eagerly.
        target_length = ops.shape(embedded)[1]
        embedded = ops.transpose(embedded, (1, 0, 2))  # (T, B, E)
        times = ops.arange(target_length, dtype="int32")  # (T,)

        def step_fn(carry, inputs):
            embedded_t, step = inputs  # (B, E), ()
            output, carry, alignment = self._decoder_step(
                embedded_t, carry, memory, step, training
            )
            if alignment is None:
                return carry, ops.cast(output, dtype)
            return carry, (ops.cast(output, dtype), ops.cast(alignment, dtype))

        _, stacked = ops.scan(step_fn, carry, (embedded, times))
        if self.attention is None:
            outputs = stacked  # (T, B, H)
            batch = ops.shape(outputs)[1]
            source_length = ops.shape(memory["values"])[1]
            alignments = ops.zeros((batch, target_length, source_length), dtype)
        else:
            outputs, alignments = stacked  # (T, B, H), (T, B, S)
            alignments = ops.transpose(alignments, (1, 0, 2))  # (B, T, S)
        outputs = ops.transpose(outputs, (1, 0, 2))  # (B, T, H)
        return outputs, alignments

    def _teacher_forcing_while_loop(self, embedded, carry, memory, training):
        """`_teacher_forcing_loop` with `keras.ops.while_loop` (TensorFlow).

        A `while_loop` with `maximum_iterations` (so that its gradient
        compiles with XLA). Step t's output is added into a `(T, B, H)`
        buffer through a one-hot mask over time: TensorFlow has no gradient
        for `slice_update`, and the mask costs little next to the step's
        matrix products.
        """
        dtype = self.compute_dtype
        batch = ops.shape(embedded)[0]
        target_length = ops.shape(embedded)[1]
        source_length = ops.shape(memory["values"])[1]
        embedded = ops.transpose(embedded, (1, 0, 2))  # (T, B, E)
        outputs = ops.zeros((target_length, batch, self.hidden_dim), dtype)
        alignments = ops.zeros((target_length, batch, source_length), dtype)
        times = ops.arange(target_length, dtype="int32")

        def cond(step, carry, outputs, alignments):
            return step < target_length

        def body(step, carry, outputs, alignments):
            embedded_t = ops.take(embedded, step, axis=0)  # (B, E)
            output, carry, alignment = self._decoder_step(
                embedded_t, carry, memory, step, training
            )
            # (T, 1, 1): 1 at position `step`.
            at_step = ops.cast(ops.equal(times, step), dtype)[:, None, None]
            outputs = outputs + at_step * ops.cast(output, dtype)[None]
            if alignment is not None:
                alignments = alignments + (
                    at_step * ops.cast(alignment, dtype)[None]
                )
            return step + 1, carry, outputs, alignments

        _, _, outputs, alignments = ops.while_loop(
            cond,
            body,
            (ops.zeros((), "int32"), carry, outputs, alignments),
            maximum_iterations=target_length,
        )
        outputs = ops.transpose(outputs, (1, 0, 2))  # (B, T, H)
        alignments = ops.transpose(alignments, (1, 0, 2))  # (B, T, S)
        return outputs, alignments

    def call(self, inputs, training=None, return_alignments=False):
        if not isinstance(inputs, dict) or not {
            "source_ids",
            "target_in",
        } <= set(inputs):
            raise ValueError(
                "`inputs` must be a dict with keys 'source_ids' and "
                "'target_in'. Received: inputs="
                f"{type(inputs).__name__}"
                + (
                    f" with keys {sorted(inputs)}"
                    if isinstance(inputs, dict)
                    else ""
                )
            )
        source_ids = inputs["source_ids"]
        check_token_ids(
            "target_in",
            inputs["target_in"],
            self.target_vocabulary_size,
            integer_dtype=False,
        )
        target_in = ops.cast(inputs["target_in"], "int32")
        memory, carry = self._encode(source_ids, training=training)
        embedded = self.target_embedding(target_in)  # (B, T, E)
        embedded = self.embedding_dropout(embedded, training=training)
        outputs, alignments = self._teacher_forcing_loop(
            embedded, carry, memory, training
        )
        outputs = self.output_dropout(outputs, training=training)
        logits = ops.cast(self.output_projection(outputs), "float32")
        if not return_alignments:
            return logits
        return logits, alignments  # (B, T, V), (B, T, S)

    def compute_output_shape(self, input_shape):
        batch, target_length = input_shape["target_in"]
        return (batch, target_length, self.target_vocabulary_size)

    # ------------------------------------------------------------------
    # Decoding contract (docs/design.md).

    def initial_decoding_state(self, source_ids):
        """Encodes the source; returns the flat dict the decoder carries.

        Keys: `values` `(B, S, H)`, `source_mask` `(B, S)` bool, `context`
        `(B, H)` (Cho's variant only), `keys` `(B, S, K)` (attention
        scores with a source projection, e.g. `W_a h_s`, computed once),
        `h_i`/`c_i` `(B, H)` per decoder layer and `feed` `(B, H)` (input
        feeding only).
        """
        self.build()
        memory, carry = self._encode(source_ids, training=False)
        return {**memory, **carry}

    def decode_step(self, token_ids, state, step):
        """One decoding step: `(logits (B, V) float32, new_state, aux)`.

        `aux` is `{"alignment": (B, S)}` for attentional models, `{}`
        otherwise.
        """
        self.build()
        token_ids = ops.cast(token_ids, "int32")
        embedded = self.target_embedding(token_ids)  # (B, E)
        carry_keys = [k for k in state if k[:2] in ("h_", "c_")]
        if "feed" in state:
            carry_keys.append("feed")
        carry = {k: state[k] for k in carry_keys}
        output, new_carry, alignment = self._decoder_step(
            embedded, carry, state, step, training=False
        )
        logits = ops.cast(self.output_projection(output), "float32")
        new_state = dict(state)
        new_state.update(new_carry)
        aux = {} if alignment is None else {"alignment": alignment}
        return logits, new_state, aux

    def generate(self, source_ids, strategy="greedy", max_length=None, **kw):
        """Translates `source_ids` `(B, S)`.

        Args:
            source_ids: int `(batch_size, source_length)`, padded with 0.
            strategy: `"greedy"`, `"beam"` or `"sample"` (see
                `keras_seq.decoding.search`).
            max_length: int, the most tokens produced per sentence (EOS
                included); defaults to `max_target_length`.
            **kw: passed to the search function (e.g. `beam_width`).

        Returns:
            dict with `token_ids` `(B, L)` int32 (0 after EOS), `lengths`,
            `scores` and, for attentional models, `alignment` `(B, L, S)`.
        """
        from keras_seq import decoding

        if max_length is None:
            max_length = self.max_target_length
        self._check_source(source_ids)
        source_ids = ops.convert_to_tensor(source_ids, "int32")
        state = self.initial_decoding_state(source_ids)
        start_ids = ops.full((ops.shape(source_ids)[0],), BOS_ID, "int32")
        return decoding.search(
            strategy,
            self.decode_step,
            state,
            start_ids,
            end_id=EOS_ID,
            max_length=max_length,
            source_mask=state["source_mask"],
            **kw,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "source_vocabulary_size": self.source_vocabulary_size,
                "target_vocabulary_size": self.target_vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim,
                "cell": self.cell,
                "num_layers": self.num_layers,
                "bidirectional": self.bidirectional,
                "attention": self.attention,
                "score": self.score,
                "window": self.window,
                "local_mode": self.local_mode,
                "context": self.context,
                "input_feeding": self.input_feeding,
                "dropout": self.dropout,
                "max_source_length": self.max_source_length,
                "max_target_length": self.max_target_length,
            }
        )
        return config
