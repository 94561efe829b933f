"""Multi-head self-attention with BERT's weight layout."""

import math

import keras
from keras import ops

from textbones.layers.dropout import Dropout


@keras.saving.register_keras_serializable(package="textbones")
class SelfAttention(keras.layers.Layer):
    """Multi-head scaled dot-product self-attention over a ``[batch, T, hidden]`` input.

    The projections are ``EinsumDense`` layers named ``query_dense``, ``key_dense``,
    ``value_dense`` (kernels ``[hidden, heads, head_dim]``) and ``output_dense``
    (kernel ``[heads, head_dim, hidden]``): the layout of Keras' ``MultiHeadAttention``,
    so weight files written for that layer load into this one. At inference the
    attention runs through the backend's fused ``dot_product_attention``; only training
    with attention dropout takes the explicit path, since dropout must act on the
    probabilities. Softmax is computed in float32 under every dtype policy.

    Args:
        num_heads: number of attention heads; ``hidden`` must be divisible by it.
        dropout: dropout rate on the attention probabilities during training.
        kernel_initializer: initializer of the four projection kernels.
        bias_initializer: initializer of their biases.
        **kwargs: standard ``keras.layers.Layer`` arguments.

    Example:

    >>> import numpy as np
    >>> layer = SelfAttention(num_heads=2)
    >>> x = np.random.rand(1, 3, 8).astype("float32")
    >>> tuple(layer(x, padding_mask=np.array([[1, 1, 0]])).shape)
    (1, 3, 8)
    """

    def __init__(
        self,
        num_heads: int,
        dropout: float = 0.0,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _projection(self, equation, output_shape, bias_axes, name):
        return keras.layers.EinsumDense(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes,
            kernel_initializer=self.kernel_initializer.clone(),
            bias_initializer=self.bias_initializer.clone(),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, inputs_shape):
        hidden_dim = inputs_shape[-1]
        if hidden_dim % self.num_heads != 0:
            raise ValueError(
                f"The hidden size ({hidden_dim}) must be divisible by `num_heads` "
                f"({self.num_heads}). Choose a `num_heads` that divides {hidden_dim}."
            )
        self.head_dim = hidden_dim // self.num_heads
        heads = (None, self.num_heads, self.head_dim)
        self.query_dense = self._projection("abc,cde->abde", heads, "de", "query")
        self.key_dense = self._projection("abc,cde->abde", heads, "de", "key")
        self.value_dense = self._projection("abc,cde->abde", heads, "de", "value")
        self.output_dense = self._projection(
            "abcd,cde->abe", (None, hidden_dim), "e", "attention_output"
        )
        for projection in (self.query_dense, self.key_dense, self.value_dense):
            projection.build(inputs_shape)
        self.output_dense.build(tuple(inputs_shape[:-1]) + (self.num_heads, self.head_dim))
        self._probability_dropout = Dropout(
            self.dropout, dtype=self.dtype_policy, name="attention_dropout"
        )

    def call(self, inputs, padding_mask=None, training=None):
        query = self.query_dense(inputs)
        key = self.key_dense(inputs)
        value = self.value_dense(inputs)
        # [batch, T] -> [batch, heads=1, queries=1, keys]: every query sees the real keys.
        mask = None
        if padding_mask is not None:
            mask = ops.cast(padding_mask, "bool")[:, None, None, :]
        scale = 1.0 / math.sqrt(self.head_dim)
        if training and self.dropout > 0:
            context = self._attend_with_dropout(query, key, value, mask, scale, training)
        else:
            context = ops.dot_product_attention(query, key, value, mask=mask, scale=scale)
        return self.output_dense(context)

    def _attend_with_dropout(self, query, key, value, mask, scale, training):
        scores = ops.einsum("btnh,bsnh->bnts", query, key)
        scores = ops.cast(scores, "float32") * scale
        if mask is not None:
            scores = ops.where(mask, scores, ops.cast(-1e9, "float32"))
        probabilities = ops.cast(ops.softmax(scores, axis=-1), self.compute_dtype)
        probabilities = self._probability_dropout(probabilities, training=training)
        return ops.einsum("bnts,bsnh->btnh", probabilities, value)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "dropout": self.dropout,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
