"""FNet: BERT-style embeddings with Fourier-transform token mixing instead of attention."""

import keras

from textbones.layers.activations import get_activation, serialize_activation
from textbones.layers.dropout import Dropout
from textbones.layers.f_net_encoder import FNetEncoder
from textbones.models import distribution
from textbones.models.backbone import Backbone
from textbones.models.config_checks import ParameterPart, embedding_parts, f_net_block_parameters
from textbones.models.text_embeddings import TextEmbeddings


def _f_net_initializer():
    """FNet's initializer for kernels, biases and embeddings: RandomNormal(stddev 0.02)."""
    return keras.initializers.RandomNormal(stddev=0.02)


@keras.saving.register_keras_serializable(package="textbones")
class FNetBackbone(Backbone):
    """The FNet encoder ("FNet: Mixing Tokens with Fourier Transforms", Lee-Thorp et al.,
    2021).

    Inputs are a dict of int arrays ``[batch, T]``: ``token_ids`` and ``segment_ids``.
    There is **no** ``padding_mask``: padding tokens are mixed like every other token,
    so outputs depend on how far a batch is padded. Token, position and segment
    embeddings are summed, layer-normalised (epsilon 1e-12), projected by a dense layer
    and passed through ``num_layers`` ``FNetEncoder`` blocks, whose Fourier transform
    runs in float32 under every dtype policy. Outputs are ``sequence_output`` and a
    tanh-pooled first token, ``pooled_output``. Everything starts from RandomNormal(0.02).

    Args:
        vocabulary_size: number of token ids.
        num_layers: number of FNet blocks.
        hidden_dim: width of the embeddings, the blocks and the pooler.
        intermediate_dim: width of each block's feed-forward hidden layer.
        dropout: dropout rate after the embedding projection and in the blocks.
        max_sequence_length: the longest input the position table covers.
        num_segments: number of distinct ``segment_ids``.
        activation: the feed-forward activation of every block: ``"gelu_approximate"``
            (tanh GELU, the default, which KerasHub's weights use), ``"gelu"`` (exact, as
            Hugging Face's ``hidden_act="gelu"``), ``"relu"``, ... Written to the config
            only when not the default (KerasHub's class has no such argument).
        layer_norm_epsilon: epsilon of every layer norm (likewise written only when not 1e-12).
        dtype: dtype policy; layer norm and the Fourier transform compute in float32.
        **kwargs: ``name`` and other ``keras.Model`` arguments.

    Example:

    >>> import numpy as np
    >>> model = FNetBackbone(vocabulary_size=100, num_layers=2, hidden_dim=16,
    ...                      intermediate_dim=32, max_sequence_length=8)
    >>> outputs = model({"token_ids": np.array([[2, 7, 9, 3]]),
    ...                  "segment_ids": np.zeros((1, 4), "int32")})
    >>> tuple(outputs["sequence_output"].shape)
    (1, 4, 16)
    """

    _keras_hub_unknown_arguments = ("activation", "layer_norm_epsilon")
    input_names = ("token_ids", "segment_ids")
    # The Fourier mixing sees every position, padding included: there is no mask to take.
    has_padding_mask = False
    # No attention: only the feed-forward kernels of its blocks are split.
    layout_rules = distribution.FNET_RULES
    # Where the first-token ([CLS]) vector sits, which `pooled_output` and classifiers read.
    cls_token_index = 0

    @classmethod
    def parameter_parts(cls, config) -> list[ParameterPart]:
        """FNet's parameters by part: the embedding tables, the blocks, the rest.

        Example:

        >>> parts = FNetBackbone.parameter_parts(
        ...     {"vocabulary_size": 100, "num_layers": 2, "hidden_dim": 16,
        ...      "intermediate_dim": 32, "max_sequence_length": 8, "num_segments": 4})
        >>> sum(part.parameters for part in parts)
        4640
        """
        hidden, layers = config["hidden_dim"], config["num_layers"]
        block = f_net_block_parameters(hidden, config["intermediate_dim"])
        return [
            *embedding_parts(config, hidden),
            ParameterPart(
                "num_layers",
                layers * block,
                f"the FNet blocks (num_layers {layers:,} x {block:,} each)",
            ),
            ParameterPart(
                "hidden_dim",
                2 * hidden + 2 * (hidden * hidden + hidden),
                f"the embedding layer norm, projection and pooler (hidden_dim {hidden:,})",
            ),
        ]

    def __init__(
        self,
        vocabulary_size: int,
        num_layers: int,
        hidden_dim: int,
        intermediate_dim: int,
        dropout: float = 0.1,
        max_sequence_length: int = 512,
        num_segments: int = 4,
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
            initializer=_f_net_initializer,
            dtype=dtype,
            layer_norm_epsilon=layer_norm_epsilon,
        )
        embedding_projection = keras.layers.Dense(
            hidden_dim,
            kernel_initializer=_f_net_initializer(),
            bias_initializer=_f_net_initializer(),
            dtype=dtype,
            name="embedding_projection",
        )
        embeddings_dropout = Dropout(dropout, dtype=dtype, name="embeddings_dropout")
        transformer_layers = [
            FNetEncoder(
                intermediate_dim=intermediate_dim,
                dropout=dropout,
                activation=activation,
                layer_norm_epsilon=layer_norm_epsilon,
                kernel_initializer=_f_net_initializer(),
                bias_initializer=_f_net_initializer(),
                dtype=dtype,
                name=f"f_net_layer_{index}",
            )
            for index in range(num_layers)
        ]
        pooled_dense = keras.layers.Dense(
            hidden_dim,
            activation="tanh",
            kernel_initializer=_f_net_initializer(),
            bias_initializer=_f_net_initializer(),
            dtype=dtype,
            name="pooled_dense",
        )

        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        segment_ids = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
        x = embeddings(token_ids, segment_ids)
        x = embeddings_dropout(embedding_projection(x))
        for layer in transformer_layers:
            x = layer(x)
        super().__init__(
            inputs={"token_ids": token_ids, "segment_ids": segment_ids},
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
                "embedding_projection": embedding_projection,
                "embeddings_dropout": embeddings_dropout,
                "transformer_layers": transformer_layers,
                "pooled_dense": pooled_dense,
            }
        )
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.activation = serialize_activation(get_activation(activation))
        self.layer_norm_epsilon = float(layer_norm_epsilon)

    def default_lora_layer_names(self) -> list[str]:
        """FNet has no attention to adapt (KerasHub's default finds nothing in it): LoRA
        adapts each block's feed-forward kernels, ``intermediate_dense`` and
        ``output_dense``.

        Example:

        >>> FNetBackbone(100, 1, 8, 16).default_lora_layer_names()
        ['intermediate_dense', 'output_dense']
        """
        return ["intermediate_dense", "output_dense"]
