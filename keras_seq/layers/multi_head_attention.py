"""Multi-head attention with an optional key/value cache."""

import functools

import keras
from keras import ops

from keras_seq.layers.attention_ops import causal_mask
from keras_seq.layers.attention_ops import fused_dot_product_attention
from keras_seq.layers.attention_ops import merge_masks
from keras_seq.layers.attention_ops import scaled_dot_product_attention
from keras_seq.validation import check_fraction
from keras_seq.validation import check_int
from keras_seq.validation import check_one_of


def fused_is_faster(use_fused="auto"):
    """Whether `MultiHeadAttention` takes `keras.ops.dot_product_attention`.

    `use_fused="auto"`: yes, except on the TensorFlow backend when only CPU
    devices are visible; there the fused op was slower than the explicit
    formula under XLA (the path of compiled decoding) in every measurement
    (benchmarks/RESULTS.md).
    """
    if use_fused != "auto":
        return bool(use_fused)
    return keras.backend.backend() != "tensorflow" or _has_accelerator()


@functools.cache
def _has_accelerator():
    devices = keras.distribution.list_devices()
    return any(not d.lower().startswith("cpu") for d in devices)


@keras.saving.register_keras_serializable(package="keras_seq")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention (Vaswani et al. 2017 sec. 3.2.2).

    MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O with
    head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V) and
    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V (eq. 1).

    The projections are `keras.layers.EinsumDense` sublayers whose kernels
    hold every head at once (the layout of `keras.layers.MultiHeadAttention`):

    - `query_dense`: kernel `(query_dim, num_heads, key_dim)`, bias
      `(num_heads, key_dim)`; W_i^Q is `kernel[:, i, :]`.
    - `key_dense`: kernel `(key_input_dim, num_heads, key_dim)`, bias
      `(num_heads, key_dim)`.
    - `value_dense`: kernel `(value_input_dim, num_heads, value_dim)`, bias
      `(num_heads, value_dim)`.
    - `output_dense`: kernel `(num_heads, value_dim, output_dim)`, bias
      `(output_dim,)`; W^O reshaped so the concatenation of the heads is
      implicit.

    A Hugging Face / PyTorch `Linear` weight `W` of shape `(out, in)` maps to
    `W.T.reshape(in, num_heads, head_dim)` for the query/key/value kernels
    (bias `b.reshape(num_heads, head_dim)`) and the output `Linear` to
    `W.T.reshape(num_heads, head_dim, out)`.

    When no attention weights are requested and dropout is inactive,
    `keras.ops.dot_product_attention` computes the attention (`use_fused`);
    otherwise the explicit formula of
    `keras_seq.layers.attention_ops.scaled_dot_product_attention` runs. Both
    give padded keys exactly zero weight and a fully masked query row a zero
    output, and agree to float32 rounding (tested). The fused op is the
    path that can use flash/cuDNN kernels on accelerators; on the TensorFlow
    CPU backend it was slower than the explicit formula under XLA in every
    measurement (by 27% or more); without XLA the results were mixed (11%
    and 19% faster in two runs, 2.3x slower in one on a loaded machine;
    benchmarks/RESULTS.md), so the default `use_fused="auto"` takes the
    fused op except on the TensorFlow backend with only CPU devices.

    Incremental decoding: pass `cache={"key": (B, max_len, num_heads,
    key_dim), "value": (B, max_len, num_heads, value_dim)}` (preallocated,
    e.g. by `initial_cache`). With `cache_update_index=i` the projected
    key/value of the new positions are written at `i` (`ops.slice_update`)
    and attention runs over the whole cache; with `cache_update_index=None`
    the cache is used as the projected keys/values as they are (e.g. the
    encoder keys/values of cross-attention, computed once by
    `compute_key_value`). The updated cache is returned.

    Args:
        num_heads: int, number of heads h.
        key_dim: int, size of each query/key head d_k.
        value_dim: int, size of each value head d_v. Defaults to `key_dim`.
        dropout: float in [0, 1), dropout rate on the attention weights.
        use_bias: bool, whether the projections have biases.
        output_dim: int, size of the output. Defaults to the last dimension
            of the query.
        use_fused: `True`, `False` or `"auto"` (default): use
            `keras.ops.dot_product_attention` when the weights are not
            requested and no dropout applies. `"auto"` uses it unless the
            backend is TensorFlow and no GPU/TPU is visible (where the
            explicit formula is the faster path).
        kernel_initializer: initializer of the projection kernels.
        bias_initializer: initializer of the projection biases.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        query: `(batch_size, T, query_dim)`.
        value: `(batch_size, S, value_input_dim)`.
        key: `(batch_size, S, key_input_dim)`, defaults to `value`.
        query_mask: optional bool `(batch_size, T)`, padding of the queries.
            Padded query rows attend to nothing (their
            output is the output bias).
        value_mask: optional bool `(batch_size, S)`, padding of the keys and
            values; padded keys get zero weight.
        attention_mask: optional bool `(batch_size, T, S)`.
        use_causal_mask: bool, add the decoder's causal mask (sec. 3.2.3);
            with a cache, query i is position `cache_update_index + i`.
        return_attention_scores: bool, also return the attention weights
            `(batch_size, num_heads, T, S)`.
        training: bool, dropout is active when True.
        cache: optional dict with "key" and "value" as described above.
        cache_update_index: optional int scalar, where to write the new
            keys/values into `cache`.

    Returns:
        `output` `(batch_size, T, output_dim)`, followed by the attention
        weights if `return_attention_scores` and by the cache if one was
        given: `output`, `(output, weights)`, `(output, cache)` or
        `(output, weights, cache)`.

    Example:
    >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = np.random.rand(3, 5, 8).astype("float32")
    >>> mha(x, x).shape
    (3, 5, 8)

    References:
        Vaswani et al. 2017, "Attention Is All You Need", sec. 3.2.
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_dim=None,
        use_fused="auto",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        num_heads = check_int("num_heads", num_heads)
        key_dim = check_int("key_dim", key_dim)
        value_dim = check_int("value_dim", value_dim, allow_none=True)
        output_dim = check_int("output_dim", output_dim, allow_none=True)
        check_fraction("dropout", dropout)
        check_one_of("use_fused", use_fused, (True, False, "auto"))
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim if value_dim is not None else key_dim
        self.dropout = dropout
        self.use_bias = use_bias
        self.output_dim = output_dim
        self.use_fused = use_fused
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _dense(self, equation, output_shape, bias_axes, name):
        return keras.layers.EinsumDense(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes if self.use_bias else None,
            kernel_initializer=keras.initializers.get(
                keras.saving.serialize_keras_object(self.kernel_initializer)
            ),
            bias_initializer=keras.initializers.get(
                keras.saving.serialize_keras_object(self.bias_initializer)
            ),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is None:
            value_shape = query_shape
        if key_shape is None:
            key_shape = value_shape
        self._output_dim = self.output_dim or query_shape[-1]
        self.query_dense = self._dense(
            "btd,dnh->btnh",
            (None, self.num_heads, self.key_dim),
            "nh",
            "query_dense",
        )
        self.query_dense.build(query_shape)
        self.key_dense = self._dense(
            "bsd,dnh->bsnh",
            (None, self.num_heads, self.key_dim),
            "nh",
            "key_dense",
        )
        self.key_dense.build(key_shape)
        self.value_dense = self._dense(
            "bsd,dnh->bsnh",
            (None, self.num_heads, self.value_dim),
            "nh",
            "value_dense",
        )
        self.value_dense.build(value_shape)
        self.output_dense = self._dense(
            "btnh,nhd->btd", (None, self._output_dim), "d", "output_dense"
        )
        self.output_dense.build(
            (query_shape[0], query_shape[1], self.num_heads, self.value_dim)
        )
        self.dropout_layer = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="attention_dropout"
        )
        self.built = True

    def compute_key_value(self, value, key=None):
        """Projects keys and values once, e.g. the encoder output.

        Args:
            value: `(batch_size, S, value_input_dim)`.
            key: `(batch_size, S, key_input_dim)`, defaults to `value`.

        Returns:
            Dict `{"key": (batch_size, S, num_heads, key_dim), "value":
            (batch_size, S, num_heads, value_dim)}`, usable as `cache` with
            `cache_update_index=None`.
        """
        if key is None:
            key = value
        return {"key": self.key_dense(key), "value": self.value_dense(value)}

    def initial_cache(self, batch_size, max_length):
        """Zero key/value cache for `max_length` positions."""
        dtype = self.compute_dtype
        return {
            "key": ops.zeros(
                (batch_size, max_length, self.num_heads, self.key_dim), dtype
            ),
            "value": ops.zeros(
                (batch_size, max_length, self.num_heads, self.value_dim), dtype
            ),
        }

    def _compute_attention(
        self, query, key, value, mask, return_attention_scores, training
    ):
        """Attention of projected (B, T|S, heads, head_dim) tensors.

        Returns `(output (B, T, heads, value_dim), weights or None)`.
        """
        dropout_active = training and self.dropout > 0.0
        if (
            fused_is_faster(self.use_fused)
            and not return_attention_scores
            and not dropout_active
            and self.key_dim == self.value_dim
        ):
            return fused_dot_product_attention(query, key, value, mask), None
        dropout_fn = None
        if dropout_active:

            def dropout_fn(weights):
                return self.dropout_layer(weights, training=training)

        return scaled_dot_product_attention(
            query, key, value, mask=mask, dropout_fn=dropout_fn
        )

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
        cache=None,
        cache_update_index=None,
    ):
        if key is None:
            key = value
        if cache is None and cache_update_index is not None:
            raise ValueError(
                "`cache_update_index` needs a `cache`. Received: "
                f"cache=None, cache_update_index={cache_update_index}"
            )
        query_heads = self.query_dense(query)  # (B, T, N, Hk)
        if cache is None:
            key_heads = self.key_dense(key)  # (B, S, N, Hk)
            value_heads = self.value_dense(value)  # (B, S, N, Hv)
        elif cache_update_index is None:
            key_heads, value_heads = cache["key"], cache["value"]
        else:
            start = [0, cache_update_index, 0, 0]
            key_heads = ops.slice_update(
                cache["key"], start, self.key_dense(key)
            )
            value_heads = ops.slice_update(
                cache["value"], start, self.value_dense(value)
            )
            cache = {"key": key_heads, "value": value_heads}

        query_length = ops.shape(query_heads)[1]
        key_length = ops.shape(key_heads)[1]
        masks = [attention_mask]
        if value_mask is not None:
            masks.append(ops.expand_dims(ops.cast(value_mask, "bool"), 1))
        if query_mask is not None:
            masks.append(ops.expand_dims(ops.cast(query_mask, "bool"), 2))
        if use_causal_mask:
            start_index = (
                0 if cache_update_index is None else (cache_update_index)
            )
            masks.append(causal_mask(query_length, key_length, start_index))
        mask = merge_masks(*masks)  # (B|1, T|1, S) or None
        if mask is not None:
            mask = ops.expand_dims(mask, 1)  # (B|1, 1, T|1, S), heads axis

        attention, weights = self._compute_attention(
            query_heads,
            key_heads,
            value_heads,
            mask,
            return_attention_scores,
            training,
        )
        output = self.output_dense(attention)  # (B, T, output_dim)

        results = (output,)
        if return_attention_scores:
            results += (weights,)
        if cache is not None:
            results += (cache,)
        return results[0] if len(results) == 1 else results

    def compute_output_shape(
        self, query_shape, value_shape=None, key_shape=None
    ):
        output_dim = self.output_dim or query_shape[-1]
        return (query_shape[0], query_shape[1], output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "output_dim": self.output_dim,
                "use_fused": self.use_fused,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
            }
        )
        return config
