"""A token embedding that can also project hidden states back onto the vocabulary."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="textbones")
class ReversibleEmbedding(keras.layers.Embedding):
    """An ``Embedding`` whose matrix doubles as the output projection of a language model head.

    Called normally it maps ids ``[..., T]`` to vectors ``[..., T, output_dim]``. Called
    with ``reverse=True`` it maps vectors ``[..., output_dim]`` to logits
    ``[..., input_dim]`` by multiplying with the transposed embedding matrix, which is
    how a masked-LM head ties its output weights to the input embedding.

    Args:
        input_dim: vocabulary size.
        output_dim: size of each embedding vector.
        **kwargs: any other ``keras.layers.Embedding`` argument.

    Example:

    >>> import numpy as np
    >>> layer = ReversibleEmbedding(input_dim=10, output_dim=4)
    >>> vectors = layer(np.array([[1, 2, 3]]))
    >>> tuple(vectors.shape), tuple(layer(vectors, reverse=True).shape)
    ((1, 3, 4), (1, 3, 10))
    """

    def call(self, inputs, reverse: bool = False):
        if not reverse:
            return super().call(inputs)
        kernel = ops.cast(ops.transpose(self.embeddings), self.compute_dtype)
        return ops.matmul(ops.cast(inputs, self.compute_dtype), kernel)

    def compute_output_shape(self, input_shape, reverse: bool = False):
        if reverse:
            return tuple(input_shape[:-1]) + (self.input_dim,)
        return super().compute_output_shape(input_shape)

    def compute_output_spec(self, inputs, reverse: bool = False):
        shape = self.compute_output_shape(inputs.shape, reverse=reverse)
        return keras.KerasTensor(shape, dtype=self.compute_dtype)
