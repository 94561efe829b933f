"""BERT's masked language model: the generic ``MaskedLM`` on a ``BertBackbone``."""

import keras

from textbones.models.bert.backbone import BertBackbone
from textbones.models.bert.masked_lm_preprocessor import BertMaskedLMPreprocessor
from textbones.models.masked_lm import MaskedLM


@keras.saving.register_keras_serializable(package="textbones")
class BertMaskedLM(MaskedLM):
    """A ``BertBackbone`` with a masked-LM head (exact GELU in the head); see ``MaskedLM``.

    Args:
        backbone: a ``BertBackbone``.
        preprocessor: a ``BertMaskedLMPreprocessor``, or ``None`` to feed preprocessed inputs.
        **kwargs: ``name``, ``compile`` and other ``keras.Model`` arguments.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.BertBackbone(
    ...     vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> masked_lm = textbones.models.BertMaskedLM(backbone)
    >>> sorted(masked_lm.input)[:2], masked_lm.backbone is backbone
    (['mask_positions', 'padding_mask'], True)
    """

    backbone_cls = BertBackbone
    preprocessor_cls = BertMaskedLMPreprocessor
