"""The post-norm transformer encoder block used by BERT and ALBERT."""

import keras
from keras import ops

from textbones.layers.activations import get_activation, serialize_activation
from textbones.layers.dropout import Dropout
from textbones.layers.self_attention import SelfAttention


@keras.saving.register_keras_serializable(package="textbones")
class TransformerEncoder(keras.layers.Layer):
    """Self-attention followed by a two-layer feed-forward network, each with a residual.

    With ``normalize_first=False`` (BERT, ALBERT) the block computes::

        x = LayerNorm(x + Dropout(SelfAttention(x, padding_mask)))
        x = LayerNorm(x + Dropout(W2 · activation(W1 · x)))

    and with ``normalize_first=True`` the layer norms move in front of each sub-block.
    Layer norms run in float32 whatever the dtype policy.

    Args:
        intermediate_dim: width of the feed-forward network's hidden layer.
        num_heads: number of attention heads.
        dropout: dropout rate on the attention probabilities and on both residual branches.
        activation: feed-forward activation (a name such as ``"gelu_approximate"``,
            ``"gelu"`` or ``"relu"``, or a callable).
        layer_norm_epsilon: epsilon of both layer norms.
        kernel_initializer: initializer of every kernel.
        bias_initializer: initializer of every bias.
        normalize_first: pre-norm instead of post-norm.
        **kwargs: standard ``keras.layers.Layer`` arguments.

    Example:

    >>> import numpy as np
    >>> encoder = TransformerEncoder(intermediate_dim=16, num_heads=2)
    >>> x = np.random.rand(2, 5, 8).astype("float32")
    >>> tuple(encoder(x, padding_mask=np.ones((2, 5), "int32")).shape)
    (2, 5, 8)
    """

    def __init__(
        self,
        intermediate_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        activation="relu",
        layer_norm_epsilon: float = 1e-5,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        normalize_first: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.intermediate_dim = int(intermediate_dim)
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        self.activation = get_activation(activation)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.normalize_first = bool(normalize_first)
        self.supports_masking = True

    def _dense(self, units, name, activation=None):
        return keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=self.kernel_initializer.clone(),
            bias_initializer=self.bias_initializer.clone(),
            dtype=self.dtype_policy,
            name=name,
        )

    def _layer_norm(self, name):
        return keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )

    def build(self, inputs_shape):
        hidden_dim = inputs_shape[-1]
        self._self_attention_layer = SelfAttention(
            num_heads=self.num_heads,
            dropout=self.dropout,
            kernel_initializer=self.kernel_initializer.clone(),
            bias_initializer=self.bias_initializer.clone(),
            dtype=self.dtype_policy,
            name="self_attention_layer",
        )
        self._self_attention_layer.build(inputs_shape)
        self._self_attention_layer_norm = self._layer_norm("self_attention_layer_norm")
        self._self_attention_layer_norm.build(inputs_shape)
        self._self_attention_dropout = Dropout(
            self.dropout, dtype=self.dtype_policy, name="self_attention_dropout"
        )
        self._feedforward_layer_norm = self._layer_norm("feedforward_layer_norm")
        self._feedforward_layer_norm.build(inputs_shape)
        self._feedforward_intermediate_dense = self._dense(
            self.intermediate_dim, "feedforward_intermediate_dense", self.activation
        )
        self._feedforward_intermediate_dense.build(inputs_shape)
        self._feedforward_output_dense = self._dense(hidden_dim, "feedforward_output_dense")
        self._feedforward_output_dense.build(tuple(inputs_shape[:-1]) + (self.intermediate_dim,))
        self._feedforward_dropout = Dropout(
            self.dropout, dtype=self.dtype_policy, name="feedforward_dropout"
        )

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        training=None,
        return_attention_scores: bool = False,
        mask=None,
    ):
        attention_mask = self._merge_keras_mask(padding_mask, attention_mask, mask)
        if padding_mask is None:
            padding_mask = mask
        attention_norm = self._self_attention_layer_norm
        feedforward_norm = self._feedforward_layer_norm

        x = attention_norm(inputs) if self.normalize_first else inputs
        attended = self._self_attention_layer(
            x,
            padding_mask=padding_mask,
            attention_mask=attention_mask,
            training=training,
            return_attention_scores=return_attention_scores,
        )
        x, scores = attended if return_attention_scores else (attended, None)
        x = inputs + self._self_attention_dropout(x, training=training)
        if not self.normalize_first:
            x = attention_norm(x)

        residual = x
        if self.normalize_first:
            x = feedforward_norm(x)
        x = self._feedforward_output_dense(self._feedforward_intermediate_dense(x))
        x = residual + self._feedforward_dropout(x, training=training)
        if not self.normalize_first:
            x = feedforward_norm(x)
        if return_attention_scores:
            return x, scores
        return x

    @staticmethod
    def _merge_keras_mask(padding_mask, attention_mask, keras_mask):
        """``attention_mask`` restricted, as in KerasHub, by the inputs' Keras mask if any.

        A Keras mask (from ``mask_zero=True`` embeddings) masks padded keys and padded
        queries alike; an explicit ``padding_mask`` only masks keys.
        """
        if keras_mask is None:
            return attention_mask
        if padding_mask is not None and len(padding_mask.shape) != 2:
            return attention_mask  # SelfAttention reports the bad shape.
        real = ops.cast(keras_mask, "bool")
        pairs = ops.logical_and(real[:, :, None], real[:, None, :])
        if attention_mask is None:
            return pairs
        return ops.logical_and(ops.cast(attention_mask, "bool"), pairs)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def compute_output_spec(self, inputs, return_attention_scores: bool = False, **kwargs):
        # The block's output has the attention's shape, and the scores are the attention's.
        return self._self_attention_layer.compute_output_spec(
            inputs, return_attention_scores=return_attention_scores
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "num_heads": self.num_heads,
                "dropout": self.dropout,
                "activation": serialize_activation(self.activation),
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "normalize_first": self.normalize_first,
            }
        )
        return config
