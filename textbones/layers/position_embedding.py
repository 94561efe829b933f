"""Learned absolute position embeddings."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="textbones")
class PositionEmbedding(keras.layers.Layer):
    """One learned vector per position, for sequences up to ``sequence_length`` long.

    The layer takes the embedded tokens ``[batch, T, dim]`` (only their shape is used)
    and returns the position vectors for positions ``0 … T-1`` broadcast to that shape,
    ready to be added to the tokens. Shorter sequences use the first ``T`` rows of the
    table; longer ones are refused.

    Args:
        sequence_length: the largest sequence length the table covers.
        initializer: initializer of the ``[sequence_length, dim]`` table.
        **kwargs: standard ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Example:

    >>> import numpy as np
    >>> layer = PositionEmbedding(sequence_length=16)
    >>> tuple(layer(np.zeros((2, 5, 8), "float32")).shape)
    (2, 5, 8)
    """

    def __init__(self, sequence_length: int, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if sequence_length is None or int(sequence_length) <= 0:
            raise ValueError(
                f"`sequence_length` must be a positive integer, got {sequence_length!r}."
            )
        self.sequence_length = int(sequence_length)
        self.initializer = keras.initializers.get(initializer)

    def build(self, inputs_shape):
        self.position_embeddings = self.add_weight(
            name="embeddings",
            shape=(self.sequence_length, inputs_shape[-1]),
            initializer=self.initializer,
            trainable=True,
        )

    def call(self, inputs, start_index: int = 0):
        length = inputs.shape[-2]
        if length is None:
            length = ops.shape(inputs)[-2]
        elif isinstance(length, int) and length + start_index > self.sequence_length:
            raise ValueError(
                f"The input has {length} positions (starting at {start_index}) but this "
                f"{self.name} only has {self.sequence_length}. Truncate the input to at "
                f"most {self.sequence_length} tokens, or build the model with a larger "
                "`max_sequence_length`."
            )
        table = ops.convert_to_tensor(self.position_embeddings)
        positions = ops.slice(table, (start_index, 0), (length, ops.shape(table)[-1]))
        return ops.broadcast_to(ops.cast(positions, self.compute_dtype), ops.shape(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config
