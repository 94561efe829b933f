"""The embedding stack BERT, ALBERT and FNet share: token + position + segment, then layer norm."""

from collections.abc import Callable
from typing import NamedTuple

import keras

from textbones.layers.position_embedding import PositionEmbedding
from textbones.layers.reversible_embedding import ReversibleEmbedding


class TextEmbeddings(NamedTuple):
    """The five layers that embed ``token_ids`` and ``segment_ids``, named as in the presets.

    Calling the tuple on the two id tensors returns
    ``LayerNorm(token + position + segment)``, by default with layer norm epsilon 1e-12.

    Example:

    >>> import numpy as np
    >>> embed = TextEmbeddings.create(
    ...     vocabulary_size=10, width=4, max_sequence_length=8, num_segments=2,
    ...     initializer=lambda: "glorot_uniform", dtype=None)
    >>> tuple(embed(np.array([[1, 2, 3]]), np.array([[0, 0, 1]])).shape)
    (1, 3, 4)
    """

    token_embedding: ReversibleEmbedding
    position_embedding: PositionEmbedding
    segment_embedding: keras.layers.Embedding
    embeddings_add: keras.layers.Add
    embeddings_layer_norm: keras.layers.LayerNormalization

    @classmethod
    def create(
        cls,
        *,
        vocabulary_size: int,
        width: int,
        max_sequence_length: int,
        num_segments: int,
        initializer: Callable[[], object],
        dtype,
        layer_norm_epsilon: float = 1e-12,
    ) -> "TextEmbeddings":
        """Build the layers; ``initializer()`` gives a fresh initializer for each table."""
        return cls(
            token_embedding=ReversibleEmbedding(
                input_dim=vocabulary_size,
                output_dim=width,
                embeddings_initializer=initializer(),
                dtype=dtype,
                name="token_embedding",
            ),
            position_embedding=PositionEmbedding(
                sequence_length=max_sequence_length,
                initializer=initializer(),
                dtype=dtype,
                name="position_embedding",
            ),
            segment_embedding=keras.layers.Embedding(
                input_dim=num_segments,
                output_dim=width,
                embeddings_initializer=initializer(),
                dtype=dtype,
                name="segment_embedding",
            ),
            embeddings_add=keras.layers.Add(dtype=dtype, name="embeddings_add"),
            embeddings_layer_norm=keras.layers.LayerNormalization(
                epsilon=layer_norm_epsilon, dtype=dtype, name="embeddings_layer_norm"
            ),
        )

    def __call__(self, token_ids, segment_ids):
        tokens = self.token_embedding(token_ids)
        summed = self.embeddings_add(
            (tokens, self.position_embedding(tokens), self.segment_embedding(segment_ids))
        )
        return self.embeddings_layer_norm(summed)
