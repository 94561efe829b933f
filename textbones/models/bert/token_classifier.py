"""Bert's token classifier: the generic ``TokenClassifier`` on a ``BertBackbone``."""

import keras

from textbones.models.bert.backbone import BertBackbone
from textbones.models.bert.token_classifier_preprocessor import (
    BertTokenClassifierPreprocessor,
)
from textbones.models.token_classifier import TokenClassifier


@keras.saving.register_keras_serializable(package="textbones")
class BertTokenClassifier(TokenClassifier):
    """A ``BertBackbone`` with a per-token classification head; see ``TokenClassifier``.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.BertBackbone(
    ...     vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> tagger = textbones.models.BertTokenClassifier(backbone, id2label=["O", "B-PER", "I-PER"])
    >>> tagger.id2label, tagger.output_shape
    ({0: 'O', 1: 'B-PER', 2: 'I-PER'}, (None, None, 3))
    """

    backbone_cls = BertBackbone
    preprocessor_cls = BertTokenClassifierPreprocessor
