"""ALBERT: factorised embeddings and transformer blocks shared across depth."""

import keras

from textbones.layers.activations import get_activation, serialize_activation
from textbones.layers.dropout import Dropout
from textbones.layers.transformer_encoder import TransformerEncoder
from textbones.models.backbone import Backbone
from textbones.models.config_checks import (
    ParameterPart,
    embedding_parts,
    transformer_block_parameters,
)
from textbones.models.text_embeddings import TextEmbeddings


def _albert_kernel_initializer():
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
    with tanh-approximate GELU and layer norm epsilon 1e-12 by default, a tanh pooler on
    the first token.

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
        activation: the feed-forward activation of every block: ``"gelu_approximate"``
            (tanh GELU, the default, which KerasHub's weights use), ``"gelu"`` (exact, as
            Hugging Face's ``hidden_act="gelu"``), ``"relu"``, ... Written to the config
            only when not the default (KerasHub's class has no such argument).
        layer_norm_epsilon: epsilon of every layer norm (likewise written only when not 1e-12).
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

    _keras_hub_unknown_arguments = ("activation", "layer_norm_epsilon")
    input_names = ("token_ids", "segment_ids", "padding_mask")
    # Where the first-token ([CLS]) vector sits, which `pooled_output` and classifiers read.
    cls_token_index = 0

    @classmethod
    def _check_consistency(cls, config) -> None:
        num_layers, num_groups = config["num_layers"], config["num_groups"]
        if num_layers % num_groups != 0:
            raise ValueError(
                f"`num_layers` ({num_layers}) must be a multiple of `num_groups` "
                f"({num_groups}): each group of shared blocks covers "
                "num_layers / num_groups consecutive layers. Change one of them."
            )

    @classmethod
    def _depth(cls, config) -> tuple[int, str]:
        layers, inner = config["num_layers"], config["num_inner_repetitions"]
        return layers * inner, f"`num_layers`={layers} x `num_inner_repetitions`={inner}"

    @classmethod
    def parameter_parts(cls, config) -> list[ParameterPart]:
        """ALBERT's parameters by part: the embedding tables, the shared blocks, the rest.

        The blocks count once per group and inner repetition, whatever ``num_layers``.

        Example:

        >>> parts = AlbertBackbone.parameter_parts(
        ...     {"vocabulary_size": 100, "num_layers": 4, "num_heads": 2, "embedding_dim": 8,
        ...      "hidden_dim": 16, "intermediate_dim": 32, "num_groups": 2,
        ...      "num_inner_repetitions": 1, "max_sequence_length": 512, "num_segments": 2})
        >>> sum(part.parameters for part in parts)
        9792
        """
        embedding, hidden = config["embedding_dim"], config["hidden_dim"]
        blocks = config["num_groups"] * config["num_inner_repetitions"]
        block = transformer_block_parameters(hidden, config["intermediate_dim"])
        return [
            *embedding_parts(config, embedding),
            ParameterPart(
                "num_groups",
                blocks * block,
                f"the shared transformer blocks (num_groups {config['num_groups']:,} x "
                f"num_inner_repetitions {config['num_inner_repetitions']:,} x {block:,} each)",
            ),
            ParameterPart(
                "hidden_dim",
                2 * embedding + embedding * hidden + hidden + hidden * hidden + hidden,
                f"the embedding layer norm and projection and the pooler (hidden_dim {hidden:,})",
            ),
        ]

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
        activation="gelu_approximate",
        layer_norm_epsilon: float = 1e-12,
        dtype=None,
        **kwargs,
    ):
        embeddings = TextEmbeddings.create(
            vocabulary_size=vocabulary_size,
            width=embedding_dim,
            max_sequence_length=max_sequence_length,
            num_segments=num_segments,
            initializer=_albert_kernel_initializer,
            dtype=dtype,
            layer_norm_epsilon=layer_norm_epsilon,
        )
        embeddings_dropout = Dropout(dropout, dtype=dtype, name="embeddings_dropout")
        embedding_projection = keras.layers.Dense(
            hidden_dim,
            kernel_initializer=_albert_kernel_initializer(),
            dtype=dtype,
            name="embedding_projection",
        )
        groups = [
            [
                TransformerEncoder(
                    intermediate_dim=intermediate_dim,
                    num_heads=num_heads,
                    dropout=dropout,
                    activation=activation,
                    layer_norm_epsilon=layer_norm_epsilon,
                    kernel_initializer=_albert_kernel_initializer(),
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
            kernel_initializer=_albert_kernel_initializer(),
            dtype=dtype,
            name="pooled_dense",
        )

        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        segment_ids = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
        x = embeddings(token_ids, segment_ids)
        x = embeddings_dropout(x)
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
            outputs={
                "sequence_output": x,
                "pooled_output": pooled_dense(x[:, self.cls_token_index, :]),
            },
            dtype=dtype,
            **kwargs,
        )
        self._keep_layers(
            {
                **embeddings._asdict(),
                "embeddings_dropout": embeddings_dropout,
                "embedding_projection": embedding_projection,
                "groups": groups,
                "pooled_dense": pooled_dense,
            }
        )
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
        self.activation = serialize_activation(get_activation(activation))
        self.layer_norm_epsilon = float(layer_norm_epsilon)
