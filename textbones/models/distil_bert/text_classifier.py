"""DistilBERT's text classifier: a ReLU dense layer on the first token, then the logits."""

from typing import Any

import keras

from textbones.layers.dropout import Dropout
from textbones.models.distil_bert.backbone import DistilBertBackbone
from textbones.models.distil_bert.text_classifier_preprocessor import (
    DistilBertTextClassifierPreprocessor,
)
from textbones.models.text_classifier import TextClassifier
from textbones.preprocessing.preprocessor import Preprocessor


@keras.saving.register_keras_serializable(package="textbones")
class DistilBertTextClassifier(TextClassifier):
    """A ``DistilBertBackbone`` with KerasHub's DistilBERT classification head; see
    ``TextClassifier``.

    DistilBERT has no pooler, so the head makes its own: the first token's vector goes
    through ``pooled_dense`` (``Dense(hidden_dim, "relu")``), ``output_dropout`` and
    ``logits`` (``Dense(num_classes, activation)``), as transformers'
    ``DistilBertForSequenceClassification`` (``pre_classifier``, ReLU, dropout,
    ``classifier``).

    Args:
        backbone: a ``DistilBertBackbone``.
        num_classes: number of classes.
        preprocessor: a ``DistilBertTextClassifierPreprocessor``, or ``None`` to feed
            preprocessed inputs.
        activation: activation of the output layer; ``None`` gives logits.
        hidden_dim: width of ``pooled_dense``; ``None`` takes the backbone's ``hidden_dim``.
        dropout: dropout rate before the output layer during training.
        **kwargs: ``name``, ``compile`` and other ``keras.Model`` arguments.

    Example:

    >>> import numpy as np, textbones
    >>> backbone = textbones.models.DistilBertBackbone(
    ...     vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> classifier = textbones.models.DistilBertTextClassifier(
    ...     backbone, num_classes=3, hidden_dim=4)
    >>> classifier.pooled_dense.units, classifier.dropout, classifier.output_shape
    (4, 0.2, (None, 3))
    >>> classifier.predict({"token_ids": np.array([[2, 4, 6, 3]]),
    ...                     "padding_mask": np.ones((1, 4), "int32")}, verbose=0).shape
    (1, 3)
    """

    backbone_cls = DistilBertBackbone
    preprocessor_cls = DistilBertTextClassifierPreprocessor

    def __init__(
        self,
        backbone: DistilBertBackbone,
        num_classes: int,
        preprocessor: Preprocessor | None = None,
        activation=None,
        hidden_dim: int | None = None,
        dropout: float = 0.2,
        **kwargs: Any,
    ):
        if hidden_dim is None and isinstance(backbone, DistilBertBackbone):
            hidden_dim = backbone.hidden_dim
        if hidden_dim is not None and (
            isinstance(hidden_dim, bool) or not isinstance(hidden_dim, int) or hidden_dim < 1
        ):
            raise ValueError(
                f"`hidden_dim` (the width of the head's pooled_dense layer) must be a positive "
                f"integer or None for the backbone's hidden_dim, got {hidden_dim!r}."
            )
        # Read by `_head`, which the base constructor calls.
        self.hidden_dim = hidden_dim
        super().__init__(
            backbone,
            num_classes,
            preprocessor=preprocessor,
            activation=activation,
            dropout=dropout,
            **kwargs,
        )

    def _head(self, features):
        # Kernels start from the family's initializer, as KerasHub's head does.
        self.pooled_dense = keras.layers.Dense(
            self.hidden_dim,
            activation="relu",
            kernel_initializer=self._kernel_initializer(),
            dtype=self.backbone.head_dtype_policy,
            name="pooled_dense",
        )
        self.output_dropout = Dropout(
            self.dropout, dtype=self.backbone.head_dtype_policy, name="output_dropout"
        )
        self.output_dense = keras.layers.Dense(
            self.num_classes,
            activation=self.activation,
            kernel_initializer=self._kernel_initializer(),
            dtype=self.backbone.head_dtype_policy,
            name="logits",
        )
        return self.output_dense(self.output_dropout(self.pooled_dense(features)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "hidden_dim": self.hidden_dim}
