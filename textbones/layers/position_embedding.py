"""Learned absolute position embeddings."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="textbones")
class PositionEmbedding(keras.layers.Layer):
    """One learned vector per position, for sequences up to ``sequence_length`` long.

    The layer takes the embedded tokens ``[batch, T, dim]`` (only their shape is used)
    and returns position vectors broadcast to that shape, ready to be added to the
    tokens: by default those of positions ``start_index … start_index + T - 1``, or,
    given ``positions`` (``[T]`` or ``[batch, T]`` integer indices), those rows of the
    table. Sequences longer than the table are refused.

    Args:
        sequence_length: the largest sequence length the table covers.
        initializer: initializer of the ``[sequence_length, dim]`` table.
        **kwargs: standard ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: the embedded tokens, ``[batch, T, dim]`` (or ``[T, dim]``).
        start_index: first position, when ``positions`` is not given (e.g. while
            decoding with a cache).
        positions: explicit position of every token, ``[T]`` (shared by the batch)
            or ``[batch, T]``.

    Example:

    >>> import numpy as np
    >>> layer = PositionEmbedding(sequence_length=16)
    >>> tuple(layer(np.zeros((2, 5, 8), "float32")).shape)
    (2, 5, 8)
    >>> out = layer(np.zeros((1, 2, 8), "float32"), positions=np.array([[7, 3]]))
    >>> bool(np.allclose(out[0], keras.ops.take(layer.position_embeddings, [7, 3], axis=0)))
    True
    """

    def __init__(self, sequence_length: int, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if (
            sequence_length is None
            or isinstance(sequence_length, bool)
            or int(sequence_length) <= 0
        ):
            raise ValueError(
                f"`sequence_length` must be a positive integer, got {sequence_length!r}."
            )
        self.sequence_length = int(sequence_length)
        self.initializer = keras.initializers.get(initializer)
        # The vectors belong to the input's tokens, so the input's padding mask holds for them.
        self.supports_masking = True

    def build(self, inputs_shape):
        self.position_embeddings = self.add_weight(
            name="embeddings",
            shape=(self.sequence_length, inputs_shape[-1]),
            initializer=self.initializer,
            trainable=True,
        )

    def call(self, inputs, start_index: int = 0, positions=None):
        table = ops.cast(ops.convert_to_tensor(self.position_embeddings), self.compute_dtype)
        if positions is not None:
            return ops.broadcast_to(self._rows_at(table, positions), ops.shape(inputs))
        length = inputs.shape[-2]
        if length is None:
            length = ops.shape(inputs)[-2]
        elif (
            isinstance(length, int)
            and isinstance(start_index, int)
            and length + start_index > self.sequence_length
        ):
            raise ValueError(
                f"The input has {length} positions (starting at {start_index}) but this "
                f"{self.name} only has {self.sequence_length}. Truncate the input to at "
                f"most {self.sequence_length} tokens, or build the model with a larger "
                "`max_sequence_length`."
            )
        rows = ops.slice(table, (start_index, 0), (length, ops.shape(table)[-1]))
        return ops.broadcast_to(rows, ops.shape(inputs))

    def _rows_at(self, table, positions):
        positions = ops.convert_to_tensor(positions)
        dtype = keras.backend.standardize_dtype(positions.dtype)
        if not keras.backend.is_int_dtype(dtype):
            raise ValueError(f"`positions` must hold integer indices, got dtype {dtype}.")
        if len(positions.shape) not in (1, 2):
            raise ValueError(
                "`positions` must have shape [sequence_length] or [batch, sequence_length], "
                f"got shape {tuple(positions.shape)}."
            )
        if len(positions.shape) == 1:
            positions = positions[None, :]
        return ops.take(table, positions, axis=0)

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
