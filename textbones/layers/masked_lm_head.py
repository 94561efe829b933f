"""The output head of a masked language model: hidden states at chosen positions to logits."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from textbones.layers.activations import get_activation, serialize_activation
from textbones.layers.reversible_embedding import ReversibleEmbedding


@keras.saving.register_keras_serializable(package="textbones")
class MaskedLMHead(keras.layers.Layer):
    """Predicts the vocabulary distribution at the masked positions of a sequence.

    For every row of ``mask_positions`` the head picks the hidden vectors at those
    positions, passes them through a ``Dense`` layer with ``intermediate_activation``
    and a layer normalization, and projects the result onto the vocabulary. The
    projection is normally tied to the model's input embedding (the transposed
    embedding matrix of ``token_embedding``); without a ``token_embedding`` the head
    owns an ``output_kernel`` of shape ``[width, vocabulary_size]`` instead. A bias of
    shape ``[vocabulary_size]`` is added in both cases, then ``activation`` is applied.

    The width of the intermediate ``Dense`` layer is the embedding size of
    ``token_embedding`` when one is given (which may differ from the hidden size, as
    in ALBERT), else the width of ``inputs``.

    Under a mixed precision policy the layer normalization computes in float32 (as
    every Keras ``LayerNormalization`` does) and the logits come out in the compute
    dtype.

    The weights and attribute names are laid out like KerasHub's ``MaskedLMHead``, so
    weight files written by one library load into the other.

    ``get_config()`` does not include ``token_embedding``: a layer cannot serialize a
    weight it shares with another layer. It includes ``vocabulary_size``, so
    ``from_config`` builds an untied head of the right size; a model that ties its head
    to its embedding passes ``token_embedding`` again when it rebuilds the head.

    Args:
        vocabulary_size: number of logits per position. May be omitted when
            ``token_embedding`` is given; it must equal ``token_embedding.input_dim``
            when both are given.
        token_embedding: a ``ReversibleEmbedding`` whose matrix is reused (transposed)
            as the output projection.
        intermediate_activation: activation of the intermediate ``Dense`` layer: a name
            (``"gelu"`` is the exact GELU, ``"gelu_approximate"`` the tanh form) or a
            callable.
        activation: activation applied to the logits; ``None`` leaves them linear.
        layer_norm_epsilon: epsilon of the layer normalization.
        kernel_initializer: initializer of the ``Dense`` and (untied) output kernels.
        bias_initializer: initializer of the ``Dense`` and output biases.
        **kwargs: any other ``keras.layers.Layer`` argument (``name``, ``dtype``, ...).

    Call arguments:
        inputs: hidden states, ``[batch, sequence_length, hidden_dim]``.
        mask_positions: integer positions to predict, ``[batch, num_masked]``.

    Returns:
        Logits ``[batch, num_masked, vocabulary_size]``.

    Example:

    >>> import numpy as np
    >>> embedding = ReversibleEmbedding(input_dim=20, output_dim=8)
    >>> hidden = embedding(np.array([[3, 4, 5, 6]]))
    >>> head = MaskedLMHead(token_embedding=embedding, intermediate_activation="gelu")
    >>> logits = head(hidden, np.array([[1, 3]]))
    >>> tuple(logits.shape)
    (1, 2, 20)
    """

    def __init__(
        self,
        vocabulary_size: int | None = None,
        token_embedding: ReversibleEmbedding | None = None,
        intermediate_activation: str | Any = "relu",
        activation: str | Any | None = None,
        layer_norm_epsilon: float = 1e-05,
        kernel_initializer: str | Any = "glorot_uniform",
        bias_initializer: str | Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if vocabulary_size is None and token_embedding is None:
            raise ValueError(
                "MaskedLMHead needs `vocabulary_size` or `token_embedding` (or both); got neither."
            )
        if token_embedding is not None:
            if vocabulary_size is None:
                vocabulary_size = token_embedding.input_dim
            elif vocabulary_size != token_embedding.input_dim:
                raise ValueError(
                    f"`vocabulary_size` ({vocabulary_size}) must equal the input_dim of "
                    f"`token_embedding` ({token_embedding.input_dim}): the tied output "
                    "projection has one row per embedding entry."
                )
        self.vocabulary_size = int(vocabulary_size)
        self.token_embedding = token_embedding
        self.intermediate_activation = get_activation(intermediate_activation)
        self.activation = get_activation(activation)
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, inputs_shape, mask_positions_shape=None) -> None:
        if self.token_embedding is not None:
            width = self.token_embedding.output_dim
        else:
            width = inputs_shape[-1]
        if width is None:
            raise ValueError(
                "MaskedLMHead needs the last dimension of `inputs` to be known when no "
                f"`token_embedding` is tied; got inputs of shape {tuple(inputs_shape)}."
            )
        self._intermediate_dense = keras.layers.Dense(
            width,
            activation=self.intermediate_activation,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="intermediate_dense",
        )
        self._intermediate_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="intermediate_layer_norm",
        )
        # Gathered positions have the shape [batch, num_masked, hidden_dim].
        gathered_shape = (inputs_shape[0], None, inputs_shape[-1])
        self._intermediate_dense.build(gathered_shape)
        self._intermediate_layer_norm.build(gathered_shape[:-1] + (width,))
        if self.token_embedding is None:
            self.output_kernel = self.add_weight(
                name="output_kernel",
                shape=(width, self.vocabulary_size),
                initializer=self.kernel_initializer,
                dtype=self.variable_dtype,
            )
        self.output_bias = self.add_weight(
            name="output_bias",
            shape=(self.vocabulary_size,),
            initializer=self.bias_initializer,
            dtype=self.variable_dtype,
        )
        self.built = True

    def call(self, inputs, mask_positions):
        mask_positions = ops.convert_to_tensor(mask_positions)
        self._check_inputs(inputs.shape, mask_positions)
        positions = ops.expand_dims(mask_positions, axis=-1)
        x = ops.take_along_axis(inputs, positions, axis=1)
        x = self._intermediate_dense(x)
        x = self._intermediate_layer_norm(x)
        if self.token_embedding is not None:
            logits = self.token_embedding(x, reverse=True)
        else:
            logits = ops.matmul(x, ops.cast(self.output_kernel, self.compute_dtype))
        logits = ops.add(
            ops.cast(logits, self.compute_dtype), ops.cast(self.output_bias, self.compute_dtype)
        )
        return self.activation(logits)

    def compute_output_shape(self, inputs_shape, mask_positions_shape) -> tuple:
        if len(mask_positions_shape) != 2:
            raise ValueError(
                "`mask_positions` must be 2-D, [batch, num_masked]; got shape "
                f"{tuple(mask_positions_shape)}."
            )
        return tuple(mask_positions_shape) + (self.vocabulary_size,)

    def compute_output_spec(self, inputs, mask_positions):
        self._check_inputs(inputs.shape, mask_positions)
        shape = self.compute_output_shape(inputs.shape, mask_positions.shape)
        return keras.KerasTensor(shape, dtype=self.compute_dtype)

    @staticmethod
    def _check_inputs(inputs_shape, mask_positions) -> None:
        if len(inputs_shape) != 3:
            raise ValueError(
                "`inputs` must be 3-D hidden states, [batch, sequence_length, hidden_dim]; "
                f"got shape {tuple(inputs_shape)}."
            )
        dtype = keras.backend.standardize_dtype(mask_positions.dtype)
        if "int" not in dtype:
            raise TypeError(f"`mask_positions` must hold integer positions; got dtype {dtype}.")
        if len(mask_positions.shape) != 2:
            raise ValueError(
                "`mask_positions` must be 2-D, [batch, num_masked]; got shape "
                f"{tuple(mask_positions.shape)}."
            )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "intermediate_activation": serialize_activation(self.intermediate_activation),
                "activation": serialize_activation(self.activation),
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
