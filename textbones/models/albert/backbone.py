"""ALBERT: factorised embeddings and transformer blocks shared across depth."""

import keras

from textbones.layers.position_embedding import PositionEmbedding
from textbones.layers.reversible_embedding import ReversibleEmbedding
from textbones.layers.transformer_encoder import TransformerEncoder
from textbones.models.backbone import Backbone


def albert_kernel_initializer():
    """ALBERT's initializer for kernels and embeddings: TruncatedNormal(stddev 0.02)."""
    return keras.initializers.TruncatedNormal(stddev=0.02)


@keras.saving.register_keras_serializable(package="textbones")
class AlbertBackbone(Backbone):
    """The ALBERT encoder ("ALBERT: A Lite BERT for Self-supervised Learning of Language
    Representations", Lan et al., 2019).

    Two ideas make ALBERT small. Its embeddings are only ``embedding_dim`` wide and a
    dense layer projects them up to ``hidden_dim``. And its transformer blocks are
    shared: there are ``num_groups`` groups of ``num_inner_repetitions`` blocks, and the
    ``num_layers`` layers of depth run through the groups in order, each group used for
    ``num_layers // num_groups`` consecutive layers (so ``num_layers`` must be a multiple
    of ``num_groups``). Otherwise it computes as BERT does: same inputs, post-norm blocks
    with tanh-approximate GELU, layer norm epsilon 1e-12, a tanh pooler on the first token.

    Args:
        vocabulary_size: number of token ids.
        num_layers: depth, counted in applications of a group.
        num_heads: attention heads per block; must divide ``hidden_dim``.
        embedding_dim: width of the token, position and segment embeddings.
        hidden_dim: width of the blocks and the pooler.
        intermediate_dim: width of each block's feed-forward hidden layer.
        num_groups: number of distinct groups of blocks.
        num_inner_repetitions: blocks per group.
        dropout: dropout rate after the embeddings and inside the blocks.
        max_sequence_length: the longest input the position table covers.
        num_segments: number of distinct ``segment_ids``.
        dtype: dtype policy; layer norm and softmax always compute in float32.
        **kwargs: ``name`` and other ``keras.Model`` arguments.

    Example:

    >>> import numpy as np
    >>> model = AlbertBackbone(vocabulary_size=100, num_layers=4, num_heads=2,
    ...                        embedding_dim=8, hidden_dim=16, intermediate_dim=32,
    ...                        num_groups=2, num_inner_repetitions=1)
    >>> outputs = model({
    ...     "token_ids": np.array([[2, 7, 9, 3]]),
    ...     "segment_ids": np.zeros((1, 4), "int32"),
    ...     "padding_mask": np.ones((1, 4), "int32"),
    ... })
    >>> tuple(outputs["pooled_output"].shape)
    (1, 16)
    """

    input_names = ("token_ids", "segment_ids", "padding_mask")

    def __init__(
        self,
        vocabulary_size: int,
        num_layers: int,
        num_heads: int,
        embedding_dim: int,
        hidden_dim: int,
        intermediate_dim: int,
        num_groups: int = 1,
        num_inner_repetitions: int = 1,
        dropout: float = 0.0,
        max_sequence_length: int = 512,
        num_segments: int = 2,
        dtype=None,
        **kwargs,
    ):
        if num_groups <= 0 or num_layers % num_groups != 0:
            raise ValueError(
                f"`num_layers` ({num_layers}) must be a multiple of `num_groups` "
                f"({num_groups}): each group of shared blocks covers "
                "num_layers / num_groups consecutive layers. Change one of them."
            )
        if hidden_dim % num_heads != 0:
            raise ValueError(
                f"`hidden_dim` ({hidden_dim}) must be divisible by `num_heads` "
                f"({num_heads}) so that every head gets hidden_dim / num_heads features. "
                "Change one of them."
            )
        token_embedding = ReversibleEmbedding(
            input_dim=vocabulary_size,
            output_dim=embedding_dim,
            embeddings_initializer=albert_kernel_initializer(),
            dtype=dtype,
            name="token_embedding",
        )
        position_embedding = PositionEmbedding(
            sequence_length=max_sequence_length,
            initializer=albert_kernel_initializer(),
            dtype=dtype,
            name="position_embedding",
        )
        segment_embedding = keras.layers.Embedding(
            input_dim=num_segments,
            output_dim=embedding_dim,
            embeddings_initializer=albert_kernel_initializer(),
            dtype=dtype,
            name="segment_embedding",
        )
        embeddings_add = keras.layers.Add(dtype=dtype, name="embeddings_add")
        embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=1e-12, dtype=dtype, name="embeddings_layer_norm"
        )
        embeddings_dropout = keras.layers.Dropout(
            dropout, dtype=dtype, name="embeddings_dropout"
        )
        embedding_projection = keras.layers.Dense(
            hidden_dim,
            kernel_initializer=albert_kernel_initializer(),
            dtype=dtype,
            name="embedding_projection",
        )
        groups = [
            [
                TransformerEncoder(
                    intermediate_dim=intermediate_dim,
                    num_heads=num_heads,
                    dropout=dropout,
                    activation="gelu_approximate",
                    layer_norm_epsilon=1e-12,
                    kernel_initializer=albert_kernel_initializer(),
                    dtype=dtype,
                    name=f"group_{group}_inner_layer_{inner}",
                )
                for inner in range(num_inner_repetitions)
            ]
            for group in range(num_groups)
        ]
        pooled_dense = keras.layers.Dense(
            hidden_dim,
            activation="tanh",
            kernel_initializer=albert_kernel_initializer(),
            dtype=dtype,
            name="pooled_dense",
        )

        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        tokens = token_embedding(token_ids)
        segment_ids = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
        x = embeddings_add(
            (tokens, position_embedding(tokens), segment_embedding(segment_ids))
        )
        x = embeddings_dropout(embeddings_layer_norm(x))
        x = embedding_projection(x)
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        layers_per_group = num_layers // num_groups
        for depth in range(num_layers):
            for layer in groups[depth // layers_per_group]:
                x = layer(x, padding_mask=padding_mask)
        super().__init__(
            inputs={
                "token_ids": token_ids,
                "segment_ids": segment_ids,
                "padding_mask": padding_mask,
            },
            outputs={"sequence_output": x, "pooled_output": pooled_dense(x[:, 0, :])},
            dtype=dtype,
            **kwargs,
        )
        # Layers are kept as attributes only once keras.Model is initialised: the
        # torch backend cannot track modules assigned before that.
        self._token_embedding = token_embedding
        self.position_embedding = position_embedding
        self.segment_embedding = segment_embedding
        self.embeddings_add = embeddings_add
        self.embeddings_layer_norm = embeddings_layer_norm
        self.embeddings_dropout = embeddings_dropout
        self.embedding_projection = embedding_projection
        self.groups = groups
        self.pooled_dense = pooled_dense
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.num_groups = num_groups
        self.num_inner_repetitions = num_inner_repetitions
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "embedding_dim": self.embedding_dim,
            "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim,
            "num_groups": self.num_groups,
            "num_inner_repetitions": self.num_inner_repetitions,
            "dropout": self.dropout,
            "max_sequence_length": self.max_sequence_length,
            "num_segments": self.num_segments,
        }
