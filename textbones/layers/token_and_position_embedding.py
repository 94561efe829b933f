"""Token embedding plus learned position embedding, in one layer."""

import keras

from textbones.layers.position_embedding import PositionEmbedding
from textbones.layers.reversible_embedding import ReversibleEmbedding


def _positive_int(value, name: str) -> int:
    if value is None or isinstance(value, bool) or int(value) != value or int(value) <= 0:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
    return int(value)


@keras.saving.register_keras_serializable(package="textbones")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Maps token ids ``[batch, T]`` to ``token_embedding(ids) + position_embedding``.

    ``token_embedding`` is a ``ReversibleEmbedding`` (so a ``MaskedLMHead`` can reuse it
    as its output projection) and ``position_embedding`` a ``PositionEmbedding``; both
    start from ``embeddings_initializer``. With ``mask_zero=True`` id 0 is padding and
    the output carries a Keras mask that downstream layers (``TransformerEncoder``,
    pooling) honour. Weights and config match KerasHub's layer of the same name.

    Args:
        vocabulary_size: number of token ids.
        sequence_length: the longest sequence the position table covers.
        embedding_dim: size of each embedding vector.
        tie_weights: whether ``token_embedding``'s reverse projection reuses its matrix.
        embeddings_initializer: initializer of both tables.
        mask_zero: treat id 0 as padding and emit a mask.
        **kwargs: standard ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: integer ids ``[batch, T]``.
        start_index: first position (ignored when ``positions`` is given).
        positions: explicit positions ``[T]`` or ``[batch, T]``.

    Example:

    >>> import numpy as np
    >>> layer = TokenAndPositionEmbedding(vocabulary_size=10, sequence_length=6, embedding_dim=4,
    ...                                   mask_zero=True)
    >>> ids = np.array([[3, 1, 0, 0]])
    >>> tuple(layer(ids).shape), keras.ops.convert_to_numpy(layer.compute_mask(ids)).tolist()
    ((1, 4, 4), [[True, True, False, False]])
    """

    def __init__(
        self,
        vocabulary_size: int,
        sequence_length: int,
        embedding_dim: int,
        tie_weights: bool = True,
        embeddings_initializer="uniform",
        mask_zero: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = _positive_int(vocabulary_size, "vocabulary_size")
        self.sequence_length = _positive_int(sequence_length, "sequence_length")
        self.embedding_dim = _positive_int(embedding_dim, "embedding_dim")
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.token_embedding = ReversibleEmbedding(
            self.vocabulary_size,
            self.embedding_dim,
            tie_weights=tie_weights,
            embeddings_initializer=self.embeddings_initializer.clone(),
            mask_zero=mask_zero,
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.position_embedding = PositionEmbedding(
            sequence_length=self.sequence_length,
            initializer=self.embeddings_initializer.clone(),
            dtype=self.dtype_policy,
            name="position_embedding",
        )
        self.supports_masking = self.token_embedding.supports_masking

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        self.token_embedding.build(input_shape)
        self.position_embedding.build(input_shape + (self.embedding_dim,))

    def call(self, inputs, start_index: int = 0, positions=None):
        tokens = self.token_embedding(inputs)
        return tokens + self.position_embedding(
            tokens, start_index=start_index, positions=positions
        )

    def compute_mask(self, inputs, mask=None):
        return self.token_embedding.compute_mask(inputs, mask)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.embedding_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length,
                "embedding_dim": self.embedding_dim,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
                "tie_weights": self.token_embedding.tie_weights,
                "mask_zero": self.token_embedding.mask_zero,
            }
        )
        return config
