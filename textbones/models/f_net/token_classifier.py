"""FNet's token classifier: the generic ``TokenClassifier`` on a ``FNetBackbone``."""

import keras

from textbones.models.f_net.backbone import FNetBackbone
from textbones.models.f_net.token_classifier_preprocessor import (
    FNetTokenClassifierPreprocessor,
)
from textbones.models.token_classifier import TokenClassifier


@keras.saving.register_keras_serializable(package="textbones")
class FNetTokenClassifier(TokenClassifier):
    """A ``FNetBackbone`` with a per-token classification head; see ``TokenClassifier``.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.FNetBackbone(
    ...     vocabulary_size=30, num_layers=1, hidden_dim=8, intermediate_dim=16,
    ...     max_sequence_length=16)
    >>> tagger = textbones.models.FNetTokenClassifier(backbone, id2label=["O", "B-PER", "I-PER"])
    >>> tagger.id2label, tagger.output_shape
    ({0: 'O', 1: 'B-PER', 2: 'I-PER'}, (None, None, 3))
    """

    backbone_cls = FNetBackbone
    preprocessor_cls = FNetTokenClassifierPreprocessor
