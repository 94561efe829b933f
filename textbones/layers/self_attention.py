"""Multi-head self-attention with BERT's weight layout."""

import functools
import math

import keras
from keras import ops

from textbones.layers.dropout import Dropout


@functools.cache
def _jax_runs_on_cpu() -> bool:
    devices = keras.distribution.list_devices()
    return bool(devices) and devices[0].lower().startswith("cpu")


def attention_core_dtype(compute_dtype: str) -> str:
    """The dtype the attention core (scores, softmax, weighted sum) runs in for a policy.

    It is the layer's compute dtype, except for ``float16`` on JAX's CPU backend, where
    the core runs in ``float32``: JAX's fused kernel asks XLA for a float16 product with
    float32 accumulation, which XLA:CPU refuses once compiled ("precision 'F16_F16_F32'
    is not supported by dot_general"). Products of float16 numbers are exact in float32,
    so the float32 core gives the scores that kernel means to compute; CPUs have no
    float16 arithmetic to lose.

    Example:

    >>> attention_core_dtype("float32"), attention_core_dtype("bfloat16")
    ('float32', 'bfloat16')
    """
    if compute_dtype == "float16" and keras.backend.backend() == "jax" and _jax_runs_on_cpu():
        return "float32"
    return compute_dtype


def _check_mask_rank(mask, rank: int, name: str, shape: str):
    if mask is not None and len(mask.shape) != rank:
        raise ValueError(
            f"`{name}` must have shape {shape}, got shape {tuple(mask.shape)}. "
            f"Pass a rank-{rank} mask of ones (attend) and zeros (ignore)."
        )


@keras.saving.register_keras_serializable(package="textbones")
class SelfAttention(keras.layers.Layer):
    """Multi-head scaled dot-product self-attention over a ``[batch, T, hidden]`` input.

    The projections are ``EinsumDense`` layers named ``query_dense``, ``key_dense``,
    ``value_dense`` (kernels ``[hidden, heads, head_dim]``) and ``output_dense``
    (kernel ``[heads, head_dim, hidden]``): the layout of Keras' ``MultiHeadAttention``,
    so weight files written for that layer load into this one. The attention runs
    through the backend's fused ``dot_product_attention``; only training with attention
    dropout and ``return_attention_scores=True`` take the explicit path, which
    materialises the probabilities. Softmax is computed in float32 under every dtype
    policy (see ``attention_core_dtype`` for float16 on CPU).

    Args:
        num_heads: number of attention heads; ``hidden`` must be divisible by it.
        dropout: dropout rate on the attention probabilities during training.
        kernel_initializer: initializer of the four projection kernels.
        bias_initializer: initializer of their biases.
        **kwargs: standard ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: ``[batch, T, hidden]``.
        padding_mask: ``[batch, T]``, 1 for real tokens; padded keys are ignored.
        attention_mask: ``[batch, T, T]``, 1 where query ``t`` may attend to key ``s``;
            combined with ``padding_mask`` when both are given.
        training: dropout on the probabilities when true.
        return_attention_scores: also return the attention probabilities
            ``[batch, heads, T, T]`` (before dropout), in the compute dtype.

    Example:

    >>> import numpy as np
    >>> layer = SelfAttention(num_heads=2)
    >>> x = np.random.rand(1, 3, 8).astype("float32")
    >>> outputs, scores = layer(x, padding_mask=np.array([[1, 1, 0]]), return_attention_scores=True)
    >>> tuple(outputs.shape), tuple(scores.shape)
    ((1, 3, 8), (1, 2, 3, 3))
    >>> [round(float(p), 6) for p in keras.ops.convert_to_numpy(scores)[0, 0, 0]][2]
    0.0
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
        # A Keras padding mask on the input holds, token by token, for the output.
        self.supports_masking = True

    def _projection(self, equation, output_shape, bias_axes, name):
        projection = keras.layers.EinsumDense(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes,
            kernel_initializer=self.kernel_initializer.clone(),
            bias_initializer=self.bias_initializer.clone(),
            dtype=self.dtype_policy,
            name=name,
        )
        # Token-wise, so a Keras padding mask on the tokens holds for the projections.
        projection.supports_masking = True
        return projection

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

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        training=None,
        return_attention_scores: bool = False,
    ):
        _check_mask_rank(padding_mask, 2, "padding_mask", "[batch, sequence_length]")
        _check_mask_rank(
            attention_mask, 3, "attention_mask", "[batch, sequence_length, sequence_length]"
        )
        core_dtype = attention_core_dtype(self.compute_dtype)
        query = ops.cast(self.query_dense(inputs), core_dtype)
        key = ops.cast(self.key_dense(inputs), core_dtype)
        value = ops.cast(self.value_dense(inputs), core_dtype)
        # Masks broadcast to [batch, heads=1, queries, keys].
        mask = None
        if padding_mask is not None:
            mask = ops.cast(padding_mask, "bool")[:, None, None, :]
        if attention_mask is not None:
            pairs = ops.cast(attention_mask, "bool")[:, None, :, :]
            mask = pairs if mask is None else ops.logical_and(mask, pairs)
        scale = 1.0 / math.sqrt(self.head_dim)
        probabilities = None
        if return_attention_scores or (training and self.dropout > 0):
            context, probabilities = self._attend_explicitly(
                query, key, value, mask, scale, training
            )
        else:
            context = ops.dot_product_attention(query, key, value, mask=mask, scale=scale)
        outputs = self.output_dense(ops.cast(context, self.compute_dtype))
        if return_attention_scores:
            return outputs, ops.cast(probabilities, self.compute_dtype)
        return outputs

    def _attend_explicitly(self, query, key, value, mask, scale, training):
        """The attention's context ``[b, T, heads, head_dim]`` and probabilities, spelled out."""
        scores = ops.einsum("btnh,bsnh->bnts", query, key)
        scores = ops.cast(scores, "float32") * scale
        if mask is not None:
            scores = ops.where(mask, scores, ops.cast(-1e9, "float32"))
        probabilities = ops.softmax(scores, axis=-1)
        if mask is not None:
            # A query that may see no key attends to nothing (zeros), as Keras' masked
            # softmax has it, rather than uniformly to every key.
            probabilities = ops.where(mask, probabilities, ops.cast(0.0, "float32"))
        probabilities = ops.cast(probabilities, query.dtype)
        dropped = self._probability_dropout(probabilities, training=training)
        return ops.einsum("bnts,bsnh->btnh", dropped, value), probabilities

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def compute_output_spec(self, inputs, return_attention_scores: bool = False, **kwargs):
        outputs = keras.KerasTensor(inputs.shape, dtype=self.compute_dtype)
        if not return_attention_scores:
            return outputs
        batch, length = inputs.shape[0], inputs.shape[1]
        scores = keras.KerasTensor(
            (batch, self.num_heads, length, length), dtype=self.compute_dtype
        )
        return outputs, scores

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
