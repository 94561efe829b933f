"""DistilBERT's masked language model: the generic ``MaskedLM`` on a ``DistilBertBackbone``."""

import keras

from textbones.models.distil_bert.backbone import DistilBertBackbone
from textbones.models.distil_bert.masked_lm_preprocessor import DistilBertMaskedLMPreprocessor
from textbones.models.masked_lm import MaskedLM


@keras.saving.register_keras_serializable(package="textbones")
class DistilBertMaskedLM(MaskedLM):
    """A ``DistilBertBackbone`` with a masked-LM head (exact GELU, decoder tied to the token
    embedding); see ``MaskedLM``.

    Args:
        backbone: a ``DistilBertBackbone``.
        preprocessor: a ``DistilBertMaskedLMPreprocessor``, or ``None`` to feed
            preprocessed inputs.
        **kwargs: ``name``, ``compile`` and other ``keras.Model`` arguments.

    Example:

    >>> import numpy as np, textbones
    >>> backbone = textbones.models.DistilBertBackbone(
    ...     vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> masked_lm = textbones.models.DistilBertMaskedLM(backbone)
    >>> sorted(masked_lm.input)
    ['mask_positions', 'padding_mask', 'token_ids']
    >>> masked_lm.predict({"token_ids": np.array([[2, 4, 6, 3]]),
    ...                    "padding_mask": np.ones((1, 4), "int32"),
    ...                    "mask_positions": np.array([[1, 2]])}, verbose=0).shape
    (1, 2, 30)
    """

    backbone_cls = DistilBertBackbone
    preprocessor_cls = DistilBertMaskedLMPreprocessor
