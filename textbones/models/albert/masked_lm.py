"""ALBERT's masked language model: the generic ``MaskedLM`` on a ``AlbertBackbone``."""

import keras

from textbones.models.albert.backbone import AlbertBackbone
from textbones.models.albert.masked_lm_preprocessor import AlbertMaskedLMPreprocessor
from textbones.models.masked_lm import MaskedLM


@keras.saving.register_keras_serializable(package="textbones")
class AlbertMaskedLM(MaskedLM):
    """A ``AlbertBackbone`` with a masked-LM head (tanh-approximate GELU in the head); see
    ``MaskedLM``.

    Args:
        backbone: a ``AlbertBackbone``.
        preprocessor: a ``AlbertMaskedLMPreprocessor``, or ``None`` to feed preprocessed inputs.
        **kwargs: ``name``, ``compile`` and other ``keras.Model`` arguments.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.AlbertBackbone(
    ...     vocabulary_size=30, num_layers=2, num_heads=2, embedding_dim=4, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> masked_lm = textbones.models.AlbertMaskedLM(backbone)
    >>> sorted(masked_lm.input)[:2], masked_lm.backbone is backbone
    (['mask_positions', 'padding_mask'], True)
    """

    backbone_cls = AlbertBackbone
    preprocessor_cls = AlbertMaskedLMPreprocessor
    head_activation = "gelu_approximate"
