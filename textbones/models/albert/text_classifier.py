"""ALBERT's text classifier: the generic ``TextClassifier`` on a ``AlbertBackbone``."""

import keras

from textbones.models.albert.backbone import AlbertBackbone
from textbones.models.albert.text_classifier_preprocessor import AlbertTextClassifierPreprocessor
from textbones.models.text_classifier import TextClassifier


@keras.saving.register_keras_serializable(package="textbones")
class AlbertTextClassifier(TextClassifier):
    """A ``AlbertBackbone`` with a classification head on its pooled output; see ``TextClassifier``.

    Args:
        backbone: a ``AlbertBackbone``.
        num_classes: number of classes.
        preprocessor: a ``AlbertTextClassifierPreprocessor``, or ``None`` to feed preprocessed
            inputs.
        activation: activation of the output layer; ``None`` gives logits.
        dropout: dropout rate on the pooled output during training.
        **kwargs: ``name``, ``compile`` and other ``keras.Model`` arguments.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.AlbertBackbone(
    ...     vocabulary_size=30, num_layers=2, num_heads=2, embedding_dim=4, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> classifier = textbones.models.AlbertTextClassifier(backbone, num_classes=3)
    >>> classifier.num_classes, classifier.output_shape
    (3, (None, 3))
    """

    backbone_cls = AlbertBackbone
    preprocessor_cls = AlbertTextClassifierPreprocessor

    default_learning_rate = 1e-5
