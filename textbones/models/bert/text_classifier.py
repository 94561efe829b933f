"""BERT's text classifier: the generic ``TextClassifier`` on a ``BertBackbone``."""

import keras

from textbones.models.bert.backbone import BertBackbone
from textbones.models.bert.text_classifier_preprocessor import BertTextClassifierPreprocessor
from textbones.models.text_classifier import TextClassifier


@keras.saving.register_keras_serializable(package="textbones")
class BertTextClassifier(TextClassifier):
    """A ``BertBackbone`` with a classification head on its pooled output; see ``TextClassifier``.

    Args:
        backbone: a ``BertBackbone``.
        num_classes: number of classes.
        preprocessor: a ``BertTextClassifierPreprocessor``, or ``None`` to feed preprocessed inputs.
        activation: activation of the output layer; ``None`` gives logits.
        dropout: dropout rate on the pooled output during training.
        **kwargs: ``name``, ``compile`` and other ``keras.Model`` arguments.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.BertBackbone(
    ...     vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> classifier = textbones.models.BertTextClassifier(backbone, num_classes=3)
    >>> classifier.num_classes, classifier.output_shape
    (3, (None, 3))
    """

    backbone_cls = BertBackbone
    preprocessor_cls = BertTextClassifierPreprocessor
