"""FNet's masked language model: the generic ``MaskedLM`` on a ``FNetBackbone``."""

import keras

from textbones.models.f_net.backbone import FNetBackbone
from textbones.models.f_net.masked_lm_preprocessor import FNetMaskedLMPreprocessor
from textbones.models.masked_lm import MaskedLM


@keras.saving.register_keras_serializable(package="textbones")
class FNetMaskedLM(MaskedLM):
    """A ``FNetBackbone`` with a masked-LM head (exact GELU in the head); see ``MaskedLM``.

    Args:
        backbone: a ``FNetBackbone``.
        preprocessor: a ``FNetMaskedLMPreprocessor``, or ``None`` to feed preprocessed inputs.
        **kwargs: ``name``, ``compile`` and other ``keras.Model`` arguments.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.FNetBackbone(
    ...     vocabulary_size=30, num_layers=1, hidden_dim=8, intermediate_dim=16,
    ...     max_sequence_length=16)
    >>> masked_lm = textbones.models.FNetMaskedLM(backbone)
    >>> sorted(masked_lm.input)[:2], masked_lm.backbone is backbone
    (['mask_positions', 'segment_ids'], True)
    """

    backbone_cls = FNetBackbone
    preprocessor_cls = FNetMaskedLMPreprocessor
