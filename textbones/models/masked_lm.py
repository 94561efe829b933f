"""The ``MaskedLM`` base class: a backbone with a masked-language-model head."""

from __future__ import annotations

from typing import Any, ClassVar

import keras
import numpy as np

from textbones import registry
from textbones.layers.activations import get_activation, serialize_activation
from textbones.layers.masked_lm_head import MaskedLMHead
from textbones.models.backbone import Backbone
from textbones.models.task import Task
from textbones.preprocessing.masked_lm_preprocessor import MaskedLMPreprocessor
from textbones.preprocessing.preprocessor import Preprocessor
from textbones.serialization import qualified_name


class MaskedLM(Task):
    """Predicts the original tokens at chosen positions of a sequence (BERT-style pretraining).

    The inputs are the backbone's plus ``mask_positions [batch, M]``; the output is
    logits ``[batch, M, vocabulary_size]`` from a ``MaskedLMHead`` tied to the
    backbone's token embedding. With a ``MaskedLMPreprocessor``, ``fit`` takes raw text
    and masks it afresh every epoch; labels and weights come from the text.

    Default ``compile()``: ``Adam(5e-5)``, ``SparseCategoricalCrossentropy(from_logits=True)``
    and a weighted ``SparseCategoricalAccuracy``. The loss is averaged over the masked
    tokens (``reduction="mean_with_sample_weight"``), so its value does not depend on how
    many unused mask slots a batch carries. (KerasHub divides by every slot, used or not;
    compile with a plain ``SparseCategoricalCrossentropy(from_logits=True)`` and set
    ``dynamic_padding = False`` to get its numbers.)

    Use a family's class (``BertMaskedLM``, ``AlbertMaskedLM``, ``FNetMaskedLM``), or
    ``MaskedLM.from_preset`` to pick it from a preset.

    Args:
        backbone: the family's backbone.
        preprocessor: a ``MaskedLMPreprocessor`` of the family, or ``None``.
        head_activation: activation of the head's intermediate layer; ``None`` takes the
            family's (exact GELU for BERT and FNet, tanh GELU for ALBERT, as KerasHub's
            weights were trained). Hugging Face checkpoints set it from ``hidden_act``.
        head_layer_norm_epsilon: epsilon of the head's layer norm (1e-5 as in KerasHub;
            Hugging Face checkpoints set it from ``layer_norm_eps``).
        **kwargs: ``name``, ``compile`` and other ``keras.Model`` arguments.

    ``head_activation`` and ``head_layer_norm_epsilon`` are written to the task's config
    only when they differ from the family's defaults: KerasHub's classes have no such
    arguments, so a ``task.json`` holding them can be read by textbones only.

    Example:

    >>> import numpy as np, textbones
    >>> backbone = textbones.models.BertBackbone(
    ...     vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> masked_lm = textbones.models.BertMaskedLM(backbone)
    >>> logits = masked_lm.predict({
    ...     "token_ids": np.array([[2, 4, 6, 3]]), "segment_ids": np.zeros((1, 4), "int32"),
    ...     "padding_mask": np.ones((1, 4), "int32"), "mask_positions": np.array([[1]])},
    ...     verbose=0)
    >>> logits.shape
    (1, 1, 30)
    """

    reads_token_features_only: ClassVar[bool] = True

    #: The default activation of the head's intermediate layer (each family's
    #: pretraining used its own).
    head_activation: ClassVar[str] = "gelu"
    #: The default epsilon of the head's layer norm.
    head_layer_norm_epsilon: ClassVar[float] = 1e-5
    _labels_from_caller = False

    def __init__(
        self,
        backbone: Backbone,
        preprocessor: Preprocessor | None = None,
        head_activation=None,
        head_layer_norm_epsilon: float | None = None,
        **kwargs,
    ):
        if self.backbone_cls is not None and not isinstance(backbone, self.backbone_cls):
            raise ValueError(
                f"{type(self).__name__} needs a {qualified_name(self.backbone_cls)}, got a "
                f"{qualified_name(type(backbone))}. Use the masked LM class of the backbone's "
                "family."
            )
        self._backbone = backbone
        inputs = dict(backbone.input)
        inputs["mask_positions"] = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
        sequence_features = backbone.sequence_features(
            backbone({name: inputs[name] for name in backbone.input_names})
        )
        if head_activation is None:
            head_activation = type(self).head_activation
        if head_layer_norm_epsilon is None:
            head_layer_norm_epsilon = type(self).head_layer_norm_epsilon
        head = MaskedLMHead(
            vocabulary_size=backbone.vocabulary_size,
            token_embedding=backbone.token_embedding,
            intermediate_activation=head_activation,
            layer_norm_epsilon=float(head_layer_norm_epsilon),
            kernel_initializer=self._kernel_initializer(),
            dtype=backbone.head_dtype_policy,
            name="mlm_head",
        )
        outputs = head(sequence_features, inputs["mask_positions"])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.masked_lm_head = head
        self.head_activation = serialize_activation(head.intermediate_activation)
        self.head_layer_norm_epsilon = float(head_layer_norm_epsilon)
        self._attach(backbone, preprocessor)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.head_activation != serialize_activation(get_activation(type(self).head_activation)):
            config["head_activation"] = self.head_activation
        if self.head_layer_norm_epsilon != type(self).head_layer_norm_epsilon:
            config["head_layer_norm_epsilon"] = self.head_layer_norm_epsilon
        return config

    def _default_compile_arguments(self) -> dict[str, Any]:
        return {
            "optimizer": keras.optimizers.Adam(5e-5),
            "loss": keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, reduction="mean_with_sample_weight"
            ),
            "weighted_metrics": [keras.metrics.SparseCategoricalAccuracy()],
        }

    def _preprocess_options(self, purpose: str) -> dict[str, Any]:
        # `predict` concatenates the logits of all batches, so their mask slots must
        # have one width; training and evaluation may trim unused slots.
        return {"trim_mask_slots": purpose != "predict" and self._batch_widths_may_vary}

    def _check_labels(self, y: np.ndarray) -> None:
        if y.dtype.kind not in "iu":
            raise ValueError(
                f"The labels of {type(self).__name__} are token ids and must be integers, got "
                f"dtype {y.dtype}. Pass the original ids at `mask_positions`."
            )
        bad = (y < 0) | (y >= self.backbone.vocabulary_size)
        if bad.any():
            raise ValueError(
                f"Label id {int(y[bad].flat[0])} is outside the vocabulary [0, "
                f"{self.backbone.vocabulary_size}). Labels are the original token ids at "
                "`mask_positions`."
            )


registry.register_task_kind(
    registry.TaskKind(
        name="masked_lm",
        task_base=MaskedLM,
        preprocessor_base=MaskedLMPreprocessor,
        transformers_suffix="ForMaskedLM",
    )
)
