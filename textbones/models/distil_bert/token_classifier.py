"""DistilBert's token classifier: the generic ``TokenClassifier`` on a ``DistilBertBackbone``."""

import keras

from textbones.models.distil_bert.backbone import DistilBertBackbone
from textbones.models.distil_bert.token_classifier_preprocessor import (
    DistilBertTokenClassifierPreprocessor,
)
from textbones.models.token_classifier import TokenClassifier


@keras.saving.register_keras_serializable(package="textbones")
class DistilBertTokenClassifier(TokenClassifier):
    """A ``DistilBertBackbone`` with a per-token classification head; see ``TokenClassifier``.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.DistilBertBackbone(
    ...     vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> tagger = textbones.models.DistilBertTokenClassifier(
    ...     backbone, id2label=["O", "B-PER", "I-PER"])
    >>> tagger.id2label, tagger.output_shape
    ({0: 'O', 1: 'B-PER', 2: 'I-PER'}, (None, None, 3))
    """

    backbone_cls = DistilBertBackbone
    preprocessor_cls = DistilBertTokenClassifierPreprocessor
