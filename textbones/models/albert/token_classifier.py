"""Albert's token classifier: the generic ``TokenClassifier`` on a ``AlbertBackbone``."""

import keras

from textbones.models.albert.backbone import AlbertBackbone
from textbones.models.albert.token_classifier_preprocessor import (
    AlbertTokenClassifierPreprocessor,
)
from textbones.models.token_classifier import TokenClassifier


@keras.saving.register_keras_serializable(package="textbones")
class AlbertTokenClassifier(TokenClassifier):
    """A ``AlbertBackbone`` with a per-token classification head; see ``TokenClassifier``.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.AlbertBackbone(
    ...     vocabulary_size=30, num_layers=2, num_heads=2, embedding_dim=4, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> tagger = textbones.models.AlbertTokenClassifier(backbone, id2label=["O", "B-PER", "I-PER"])
    >>> tagger.id2label, tagger.output_shape
    ({0: 'O', 1: 'B-PER', 2: 'I-PER'}, (None, None, 3))
    """

    backbone_cls = AlbertBackbone
    preprocessor_cls = AlbertTokenClassifierPreprocessor
