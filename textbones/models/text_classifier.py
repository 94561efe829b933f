"""The ``TextClassifier`` base class: a backbone with a classification head on its pooled
features."""

from __future__ import annotations

from typing import Any, ClassVar

import keras
import numpy as np

from textbones import registry
from textbones.layers.dropout import Dropout
from textbones.models.backbone import Backbone
from textbones.models.task import Task
from textbones.preprocessing.preprocessor import Preprocessor
from textbones.preprocessing.text_classifier_preprocessor import TextClassifierPreprocessor
from textbones.serialization import qualified_name


class TextClassifier(Task):
    """Classifies a text (or a pair of texts) into one of ``num_classes`` classes.

    The head is ``Dropout(dropout)`` then ``Dense(num_classes, activation)`` on the
    features the backbone's ``pooled_features`` picks out of its outputs (for BERT,
    ALBERT and FNet, the pooled first token); a family with another head overrides
    ``_head``. With a ``TextClassifierPreprocessor``, ``fit`` takes raw strings (or a
    tuple of two lists for sentence pairs) with integer labels.

    Default ``compile()``: ``Adam`` (learning rate 5e-5; 1e-5 for ALBERT),
    ``SparseCategoricalCrossentropy`` (on logits unless ``activation`` is softmax) and
    ``SparseCategoricalAccuracy``. Labels are then one integer class id per example;
    one-hot labels of shape ``(n, num_classes)`` are refused with a hint, and train after
    ``compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))`` (whose
    default metric is ``CategoricalAccuracy``).

    Use a family's class (``BertTextClassifier``, ...), or ``TextClassifier.from_preset``
    to pick it from a preset.

    Args:
        backbone: the family's backbone.
        num_classes: number of classes.
        preprocessor: a ``TextClassifierPreprocessor`` of the family, or ``None``.
        activation: activation of the output layer; ``None`` gives logits.
        dropout: dropout rate on the pooled features during training.
        **kwargs: ``name``, ``compile`` and other ``keras.Model`` arguments.

    Example:

    >>> import numpy as np, textbones
    >>> backbone = textbones.models.FNetBackbone(
    ...     vocabulary_size=30, num_layers=1, hidden_dim=8, intermediate_dim=16)
    >>> classifier = textbones.models.FNetTextClassifier(backbone, num_classes=2)
    >>> inputs = {"token_ids": np.array([[2, 4, 6, 3]]), "segment_ids": np.zeros((1, 4), "int32")}
    >>> classifier.predict(inputs, verbose=0).shape
    (1, 2)
    """

    #: Learning rate of the default optimizer.
    default_learning_rate: ClassVar[float] = 5e-5

    def __init__(
        self,
        backbone: Backbone,
        num_classes: int,
        preprocessor: Preprocessor | None = None,
        activation=None,
        dropout: float = 0.1,
        **kwargs,
    ):
        if self.backbone_cls is not None and not isinstance(backbone, self.backbone_cls):
            raise ValueError(
                f"{type(self).__name__} needs a {qualified_name(self.backbone_cls)}, got a "
                f"{qualified_name(type(backbone))}. Use the classifier class of the backbone's "
                "family."
            )
        if (
            isinstance(num_classes, bool)
            or not isinstance(num_classes, (int, np.integer))
            or num_classes < 1
        ):
            raise ValueError(f"`num_classes` must be a positive integer, got {num_classes!r}.")
        self._backbone = backbone
        self.num_classes = int(num_classes)
        self.activation = keras.activations.get(activation)
        self.dropout = dropout
        inputs = dict(backbone.input)
        features = backbone.pooled_features(backbone(inputs))
        outputs = self._head(features)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self._attach(backbone, preprocessor)

    def _head(self, features):
        """Build the head on the backbone's pooled ``features`` and return its outputs.

        The head is ``Dropout(dropout)`` then ``Dense(num_classes, activation)``, kept as
        ``self.output_dropout`` and ``self.output_dense`` (named ``"output_dropout"`` and
        ``"logits"``, as KerasHub names them). A family with another head overrides this
        method, reading ``self.num_classes``, ``self.activation``, ``self.dropout`` and
        ``self.backbone`` (its ``dtype_policy``) and taking kernels from
        ``self._kernel_initializer()``; the layers it assigns to ``self`` are tracked once
        the model is built.

        Example:

        >>> import textbones
        >>> backbone = textbones.models.FNetBackbone(50, 1, 8, 16)
        >>> classifier = textbones.models.FNetTextClassifier(backbone, num_classes=3)
        >>> classifier.output_dropout.name, classifier.output_dense.name
        ('output_dropout', 'logits')
        """
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
        return self.output_dense(self.output_dropout(features))

    def _default_compile_arguments(self) -> dict[str, Any]:
        return {
            "optimizer": keras.optimizers.Adam(self.default_learning_rate),
            "loss": keras.losses.SparseCategoricalCrossentropy(
                from_logits=self.activation is not keras.activations.softmax
            ),
            "metrics": [keras.metrics.SparseCategoricalAccuracy()],
        }

    def compile(
        self, optimizer="auto", loss="auto", *, metrics="auto", weighted_metrics="auto", **kwargs
    ) -> None:
        """As ``Task.compile``; with a categorical loss the default metric is categorical accuracy.

        Example:

        >>> import keras, textbones
        >>> backbone = textbones.models.FNetBackbone(50, 1, 8, 16)
        >>> model = textbones.models.FNetTextClassifier(backbone, num_classes=3)
        >>> model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))
        >>> [type(metric).__name__ for metric in model._compile_metrics._user_metrics]
        ['CategoricalAccuracy']
        """
        if isinstance(metrics, str) and metrics == "auto" and label_kind(loss) == "categorical":
            metrics = [keras.metrics.CategoricalAccuracy()]
        super().compile(
            optimizer, loss, metrics=metrics, weighted_metrics=weighted_metrics, **kwargs
        )

    def _check_labels(self, y: np.ndarray) -> None:
        loss = getattr(self, "loss", None)
        kind = label_kind(loss)
        loss_name = (
            "SparseCategoricalCrossentropy"
            if loss is None
            else repr(loss)
            if isinstance(loss, str)
            else getattr(loss, "__name__", type(loss).__name__)
        )
        if kind == "categorical":
            if y.ndim != 2 or y.shape[1] != self.num_classes:
                raise ValueError(
                    f"{type(self).__name__} is compiled with {loss_name}, which takes one row "
                    f"of {self.num_classes} class probabilities (one-hot) per example, but the "
                    f"labels have shape {y.shape}. Pass labels of shape (n, {self.num_classes}) "
                    "or compile with SparseCategoricalCrossentropy for integer class ids."
                )
            return
        if kind is None:
            return
        if y.ndim >= 2 and y.shape[-1] > 1:
            logits = self.activation is not keras.activations.softmax
            raise ValueError(
                f"{type(self).__name__} got labels of shape {y.shape}, one row of "
                f"{y.shape[-1]} values per example: one-hot (or multi-hot) labels, but its "
                f"loss ({loss_name}) "
                "takes one integer class id per example. Pass the class ids (e.g. "
                "`np.argmax(y, axis=-1)`), or compile with "
                f"`loss=keras.losses.CategoricalCrossentropy(from_logits={logits})` to train "
                "on one-hot labels."
            )
        if y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        if y.dtype.kind not in "iu":
            raise ValueError(
                f"{type(self).__name__} takes integer class labels in [0, {self.num_classes}), "
                f"got dtype {y.dtype}. Map your labels to class indices first."
            )
        bad = (y < 0) | (y >= self.num_classes)
        if bad.any():
            raise ValueError(
                f"Label {int(y[bad].flat[0])} is out of range for num_classes={self.num_classes}: "
                f"labels must lie in [0, {self.num_classes}). Build the classifier with more "
                "classes or fix the labels."
            )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "activation": keras.activations.serialize(self.activation),
            "dropout": self.dropout,
        }


def label_kind(loss) -> str | None:
    """The labels a classifier's ``loss`` takes: ``"sparse"`` (one class id per example),
    ``"categorical"`` (one row of class probabilities, e.g. one-hot) or ``None`` (a loss
    this function does not know, whose labels are left unchecked).

    ``None`` and ``"auto"`` mean the default loss, ``SparseCategoricalCrossentropy``.

    Example:

    >>> import keras
    >>> label_kind(None), label_kind("categorical_crossentropy")
    ('sparse', 'categorical')
    >>> label_kind(keras.losses.MeanSquaredError()) is None
    True
    """
    if loss is None or (isinstance(loss, str) and loss == "auto"):
        return "sparse"
    if isinstance(loss, keras.losses.SparseCategoricalCrossentropy):
        return "sparse"
    if isinstance(loss, keras.losses.CategoricalCrossentropy):
        return "categorical"
    name = loss if isinstance(loss, str) else getattr(loss, "name", None)
    name = name or getattr(loss, "__name__", "")
    if not isinstance(name, str):
        return None
    if name.startswith("sparse_categorical"):
        return "sparse"
    if name.startswith("categorical_crossentropy"):
        return "categorical"
    return None


registry.register_task_kind(
    registry.TaskKind(
        name="classifier",
        task_base=TextClassifier,
        preprocessor_base=TextClassifierPreprocessor,
        transformers_suffix="ForSequenceClassification",
    )
)
