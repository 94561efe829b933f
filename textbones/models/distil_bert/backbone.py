"""DistilBERT: BERT's encoder halved in depth, without segment embeddings or pooler."""

from typing import Any

import keras

from textbones.layers.dropout import Dropout
from textbones.layers.token_and_position_embedding import TokenAndPositionEmbedding
from textbones.layers.transformer_encoder import TransformerEncoder
from textbones.models.backbone import Backbone
from textbones.models.config_checks import ParameterPart, transformer_block_parameters


def distil_bert_kernel_initializer(stddev: float = 0.02) -> keras.initializers.Initializer:
    """DistilBERT's initializer of every kernel and embedding: TruncatedNormal(``stddev``).

    Example:

    >>> initializer = distil_bert_kernel_initializer()
    >>> type(initializer).__name__, initializer.stddev
    ('TruncatedNormal', 0.02)
    """
    return keras.initializers.TruncatedNormal(stddev=stddev)


@keras.saving.register_keras_serializable(package="textbones")
class DistilBertBackbone(Backbone):
    """The DistilBERT encoder ("DistilBERT, a distilled version of BERT: smaller, faster,
    cheaper and lighter", Sanh et al., 2019), without its pretraining heads.

    Inputs are a dict of int arrays ``[batch, T]``: ``token_ids`` and ``padding_mask``
    (1 for real tokens, 0 for padding); there are no segment ids. Token plus learned
    position embeddings are layer-normalised (epsilon 1e-12), dropped out, and passed
    through ``num_layers`` post-norm ``TransformerEncoder`` blocks with exact GELU and
    layer norm epsilon 1e-12. The output is one tensor, the sequence output
    ``[batch, T, hidden_dim]``: DistilBERT has no pooler, so classifiers read the first
    token (``cls_token_index``) through ``pooled_features``. Kernels and embeddings start
    from TruncatedNormal(0.02), biases from zero.

    Args:
        vocabulary_size: number of token ids.
        num_layers: number of transformer blocks.
        num_heads: attention heads per block; must divide ``hidden_dim``.
        hidden_dim: width of the embeddings and the blocks.
        intermediate_dim: width of each block's feed-forward hidden layer.
        dropout: dropout rate after the embeddings, on attention probabilities and on
            both residual branches of every block.
        max_sequence_length: the longest input the position table covers.
        dtype: dtype policy, e.g. ``"float32"``, ``"bfloat16"`` or ``"mixed_bfloat16"``;
            layer norm and softmax always compute in float32.
        **kwargs: ``name`` and other ``keras.Model`` arguments.

    Example:

    >>> import numpy as np
    >>> model = DistilBertBackbone(vocabulary_size=100, num_layers=2, num_heads=2,
    ...                            hidden_dim=16, intermediate_dim=32, max_sequence_length=8)
    >>> outputs = model({
    ...     "token_ids": np.array([[2, 7, 9, 3, 0]]),
    ...     "padding_mask": np.array([[1, 1, 1, 1, 0]]),
    ... })
    >>> tuple(outputs.shape), model.count_params()
    ((1, 5, 16), 6208)
    """

    input_names = ("token_ids", "padding_mask")
    has_segment_ids = False
    # Where the first-token ([CLS]) vector sits, which classifiers read.
    cls_token_index = 0

    @classmethod
    def parameter_parts(cls, config) -> list[ParameterPart]:
        """DistilBERT's parameters by part: the two embedding tables, the blocks, the rest.

        Example:

        >>> parts = DistilBertBackbone.parameter_parts(
        ...     {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16,
        ...      "intermediate_dim": 32, "max_sequence_length": 8})
        >>> [part.field for part in parts]
        ['vocabulary_size', 'max_sequence_length', 'num_layers', 'hidden_dim']
        >>> sum(part.parameters for part in parts)
        6208
        """
        vocabulary, positions = config["vocabulary_size"], config["max_sequence_length"]
        hidden, layers = config["hidden_dim"], config["num_layers"]
        block = transformer_block_parameters(hidden, config["intermediate_dim"])
        return [
            ParameterPart(
                "vocabulary_size",
                vocabulary * hidden,
                f"the token embedding (vocabulary_size {vocabulary:,} x {hidden:,})",
            ),
            ParameterPart(
                "max_sequence_length",
                positions * hidden,
                f"the position embedding (max_sequence_length {positions:,} x {hidden:,})",
            ),
            ParameterPart(
                "num_layers",
                layers * block,
                f"the transformer blocks (num_layers {layers:,} x {block:,} each)",
            ),
            ParameterPart(
                "hidden_dim",
                2 * hidden,
                f"the embedding layer norm (hidden_dim {hidden:,})",
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
        dtype=None,
        **kwargs: Any,
    ):
        embeddings = TokenAndPositionEmbedding(
            vocabulary_size=vocabulary_size,
            sequence_length=max_sequence_length,
            embedding_dim=hidden_dim,
            embeddings_initializer=distil_bert_kernel_initializer(),
            dtype=dtype,
            name="token_and_position_embedding",
        )
        embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=1e-12, dtype=dtype, name="embeddings_layer_norm"
        )
        embeddings_dropout = Dropout(dropout, dtype=dtype, name="embeddings_dropout")
        transformer_layers = [
            TransformerEncoder(
                intermediate_dim=intermediate_dim,
                num_heads=num_heads,
                dropout=dropout,
                activation="gelu",
                layer_norm_epsilon=1e-12,
                kernel_initializer=distil_bert_kernel_initializer(),
                dtype=dtype,
                name=f"transformer_layer_{index}",
            )
            for index in range(num_layers)
        ]

        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        x = embeddings_dropout(embeddings_layer_norm(embeddings(token_ids)))
        for layer in transformer_layers:
            x = layer(x, padding_mask=padding_mask)
        super().__init__(
            inputs={"token_ids": token_ids, "padding_mask": padding_mask},
            outputs=x,
            dtype=dtype,
            **kwargs,
        )
        self._keep_layers(
            {
                "embeddings": embeddings,
                "token_embedding": embeddings.token_embedding,
                "embeddings_layer_norm": embeddings_layer_norm,
                "embeddings_dropout": embeddings_dropout,
                "transformer_layers": transformer_layers,
            }
        )
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length

    def sequence_features(self, outputs):
        """The per-token features ``[batch, T, hidden_dim]``: the backbone's one output."""
        return outputs

    def pooled_features(self, outputs):
        """The first token's vector ``[batch, hidden_dim]`` (DistilBERT has no pooler)."""
        return outputs[:, self.cls_token_index, :]
