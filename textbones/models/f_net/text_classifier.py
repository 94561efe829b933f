"""FNet's text classifier: the generic ``TextClassifier`` on a ``FNetBackbone``."""

import keras

from textbones.models.f_net.backbone import FNetBackbone
from textbones.models.f_net.text_classifier_preprocessor import FNetTextClassifierPreprocessor
from textbones.models.text_classifier import TextClassifier


@keras.saving.register_keras_serializable(package="textbones")
class FNetTextClassifier(TextClassifier):
    """A ``FNetBackbone`` with a classification head on its pooled output; see ``TextClassifier``.

    Args:
        backbone: a ``FNetBackbone``.
        num_classes: number of classes.
        preprocessor: a ``FNetTextClassifierPreprocessor``, or ``None`` to feed preprocessed inputs.
        activation: activation of the output layer; ``None`` gives logits.
        dropout: dropout rate on the pooled output during training.
        **kwargs: ``name``, ``compile`` and other ``keras.Model`` arguments.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.FNetBackbone(
    ...     vocabulary_size=30, num_layers=1, hidden_dim=8, intermediate_dim=16,
    ...     max_sequence_length=16)
    >>> classifier = textbones.models.FNetTextClassifier(backbone, num_classes=3)
    >>> classifier.num_classes, classifier.output_shape
    (3, (None, 3))
    """

    backbone_cls = FNetBackbone
    preprocessor_cls = FNetTextClassifierPreprocessor
