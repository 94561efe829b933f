"""BERT: token, position and segment embeddings feeding post-norm transformer encoders."""

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


def _bert_kernel_initializer():
    """BERT's initializer for every kernel and embedding: TruncatedNormal(stddev 0.02)."""
    return keras.initializers.TruncatedNormal(stddev=0.02)


@keras.saving.register_keras_serializable(package="textbones")
class BertBackbone(Backbone):
    """The BERT encoder ("BERT: Pre-training of Deep Bidirectional Transformers for
    Language Understanding", Devlin et al., 2018), without its pretraining heads.

    Inputs are a dict of int arrays ``[batch, T]``: ``token_ids``, ``segment_ids`` and
    ``padding_mask`` (1 for real tokens, 0 for padding). The sum of token, position and
    segment embeddings is layer-normalised (epsilon 1e-12) and passed through
    ``num_layers`` post-norm ``TransformerEncoder`` blocks with tanh-approximate GELU
    (both the defaults; see ``activation`` and ``layer_norm_epsilon``).
    Outputs are ``sequence_output [batch, T, hidden_dim]`` and ``pooled_output
    [batch, hidden_dim]``, a tanh dense layer applied to the first token. Kernels and
    embeddings start from TruncatedNormal(0.02), biases from zero.

    Args:
        vocabulary_size: number of token ids.
        num_layers: number of transformer blocks.
        num_heads: attention heads per block; must divide ``hidden_dim``.
        hidden_dim: width of the embeddings, the blocks and the pooler.
        intermediate_dim: width of each block's feed-forward hidden layer.
        dropout: dropout rate after the embeddings, on attention probabilities and on
            both residual branches of every block.
        max_sequence_length: the longest input the position table covers.
        num_segments: number of distinct ``segment_ids``.
        activation: the feed-forward activation of every block: ``"gelu_approximate"``
            (tanh GELU, the default, which KerasHub's weights use), ``"gelu"`` (exact, as
            Hugging Face's ``hidden_act="gelu"``), ``"relu"``, ... Written to the config
            only when not the default (KerasHub's class has no such argument).
        layer_norm_epsilon: epsilon of every layer norm (likewise written only when not 1e-12).
        dtype: dtype policy, e.g. ``"float32"``, ``"bfloat16"`` or ``"mixed_bfloat16"``;
            layer norm and softmax always compute in float32.
        **kwargs: ``name`` and other ``keras.Model`` arguments.

    Example:

    >>> import numpy as np
    >>> model = BertBackbone(vocabulary_size=100, num_layers=2, num_heads=2,
    ...                      hidden_dim=16, intermediate_dim=32, max_sequence_length=8)
    >>> outputs = model({
    ...     "token_ids": np.array([[2, 7, 9, 3, 0]]),
    ...     "segment_ids": np.zeros((1, 5), "int32"),
    ...     "padding_mask": np.array([[1, 1, 1, 1, 0]]),
    ... })
    >>> tuple(outputs["sequence_output"].shape), tuple(outputs["pooled_output"].shape)
    ((1, 5, 16), (1, 16))
    """

    _keras_hub_unknown_arguments = ("activation", "layer_norm_epsilon")
    input_names = ("token_ids", "segment_ids", "padding_mask")
    # Where the first-token ([CLS]) vector sits, which `pooled_output` and classifiers read.
    cls_token_index = 0

    @classmethod
    def parameter_parts(cls, config) -> list[ParameterPart]:
        """BERT's parameters by part: the three embedding tables, the blocks, the rest.

        Example:

        >>> parts = BertBackbone.parameter_parts(
        ...     {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16,
        ...      "intermediate_dim": 32, "max_sequence_length": 8, "num_segments": 2})
        >>> [part.field for part in parts]
        ['vocabulary_size', 'max_sequence_length', 'num_segments', 'num_layers', 'hidden_dim']
        >>> sum(part.parameters for part in parts)
        6512
        """
        hidden, layers = config["hidden_dim"], config["num_layers"]
        block = transformer_block_parameters(hidden, config["intermediate_dim"])
        return [
            *embedding_parts(config, hidden),
            ParameterPart(
                "num_layers",
                layers * block,
                f"the transformer blocks (num_layers {layers:,} x {block:,} each)",
            ),
            ParameterPart(
                "hidden_dim",
                2 * hidden + hidden * hidden + hidden,
                f"the embedding layer norm and the pooler (hidden_dim {hidden:,})",
            ),
        ]

    def __init__(
        self,
        vocabulary_size: int,
        num_layers: int,
        num_heads: int,
        hidden_dim: int,
        intermediate_dim: int,
        dropout: float = 0.1,
        max_sequence_length: int = 512,
        num_segments: int = 2,
        activation="gelu_approximate",
        layer_norm_epsilon: float = 1e-12,
        dtype=None,
        **kwargs,
    ):
        embeddings = TextEmbeddings.create(
            vocabulary_size=vocabulary_size,
            width=hidden_dim,
            max_sequence_length=max_sequence_length,
            num_segments=num_segments,
            initializer=_bert_kernel_initializer,
            dtype=dtype,
            layer_norm_epsilon=layer_norm_epsilon,
        )
        embeddings_dropout = Dropout(dropout, dtype=dtype, name="embeddings_dropout")
        transformer_layers = [
            TransformerEncoder(
                intermediate_dim=intermediate_dim,
                num_heads=num_heads,
                dropout=dropout,
                activation=activation,
                layer_norm_epsilon=layer_norm_epsilon,
                kernel_initializer=_bert_kernel_initializer(),
                dtype=dtype,
                name=f"transformer_layer_{index}",
            )
            for index in range(num_layers)
        ]
        pooled_dense = keras.layers.Dense(
            hidden_dim,
            activation="tanh",
            kernel_initializer=_bert_kernel_initializer(),
            dtype=dtype,
            name="pooled_dense",
        )

        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        segment_ids = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
        x = embeddings(token_ids, segment_ids)
        x = embeddings_dropout(x)
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        for layer in transformer_layers:
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
                "transformer_layers": transformer_layers,
                "pooled_dense": pooled_dense,
            }
        )
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.activation = serialize_activation(get_activation(activation))
        self.layer_norm_epsilon = float(layer_norm_epsilon)
