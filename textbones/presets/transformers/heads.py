"""How the head of each task kind goes between textbones and ``transformers``.

A task kind (``registry.TaskKind``) names its ``transformers`` models by a suffix
(``ForMaskedLM``) and each family's mapping holds the head's weight rules
(``TransformersMapping.head_rules``); what is left is the config fields each head reads
and writes, one :class:`HeadConversion` per kind, found by the kind's name. The loaders
and the exporter loop over the registered kinds and call these: a kind without an entry
here is refused by name, never written without its head.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import keras

from textbones import registry
from textbones.presets.transformers.mapping import (
    TransformersMapping,
    UnsupportedCheckpointError,
    activation_to_hf,
)


@dataclasses.dataclass(frozen=True)
class HeadConversion:
    """The config side of one task kind's ``transformers`` head.

    Attributes:
        task_arguments: ``(source, kwargs, has_head, prefix) -> load_head``: completes the
            task's constructor arguments ``kwargs`` from the checkpoint (``source``, the
            loader's open checkpoint) and says whether the trained head is restored.
        asks_for_a_fresh_head: ``(config, kwargs) -> bool``: whether the caller's
            arguments ask for a head of another shape than the config's.
        export_config: ``(task, config, mapping) -> None``: adds the head's fields to the
            ``config.json`` being written, or raises if the head cannot be written.
        warn_without_pooler: whether a checkpoint without pooler weights is worth a
            warning (the head reads the pooled output).
    """

    task_arguments: Callable[[Any, dict[str, Any], bool, str], bool]
    asks_for_a_fresh_head: Callable[[dict[str, Any], dict[str, Any]], bool]
    export_config: Callable[[Any, dict[str, Any], TransformersMapping], None]
    warn_without_pooler: bool


def _masked_lm_arguments(source, kwargs: dict[str, Any], has_head: bool, prefix: str) -> bool:
    # transformers computes the head with what the family's config says (the encoder's
    # activation and epsilon).
    for name, value in source.mapping.masked_lm_head_arguments(
        source.config, str(source.config_path)
    ).items():
        kwargs.setdefault(name, value)
    if has_head and source.config.get("tie_word_embeddings", True) is False:
        raise UnsupportedCheckpointError(
            f"{source.config_path} sets tie_word_embeddings=false: its masked-LM decoder "
            "has its own weights, while textbones' MaskedLM ties the decoder to the "
            "token embedding. Load the backbone (Backbone.from_preset) instead."
        )
    return has_head


def _export_masked_lm(task, config: dict[str, Any], mapping: TransformersMapping) -> None:
    """Warn when transformers will compute the head otherwise than the task does."""
    expected = mapping.masked_lm_head_arguments(config, "the exported config")
    differences = []
    if activation_to_hf(task.head_activation, "The masked-LM head") != activation_to_hf(
        expected["head_activation"], "The encoder"
    ):
        differences.append(
            f"activation {task.head_activation!r} (transformers: {expected['head_activation']!r})"
        )
    if task.head_layer_norm_epsilon != expected["head_layer_norm_epsilon"]:
        differences.append(
            f"layer norm epsilon {task.head_layer_norm_epsilon:g} "
            f"(encoder: {expected['head_layer_norm_epsilon']:g})"
        )
    if differences:
        warnings.warn(
            f"The masked-LM head of this {type(task).__name__} uses {' and '.join(differences)}; "
            "a transformers config has one hidden_act and layer_norm_eps for both, so "
            "transformers will compute the head with the encoder's and its logits will "
            "differ slightly from textbones'.",
            stacklevel=5,
        )


def _num_labels(config: dict[str, Any]) -> int:
    labels = config.get("id2label")
    return len(labels) if isinstance(labels, dict) else config.get("num_labels", 2)


def _classifier_arguments(source, kwargs: dict[str, Any], has_head: bool, prefix: str) -> bool:
    rules = source.mapping.head_rules["classifier"]
    trained_classes = source.head_size(prefix, rules) if has_head else None
    kwargs.setdefault("num_classes", trained_classes)
    if kwargs["num_classes"] is None:
        raise ValueError(
            f"the checkpoint at {source.directory} holds no classification head, so "
            "TextClassifier.from_preset needs `num_classes` for a fresh one."
        )
    if "dropout" not in kwargs:
        field = source.mapping.classifier_dropout_field
        dropout = source.config.get(field) if field else None
        kwargs["dropout"] = source.backbone_arguments()["dropout"] if dropout is None else dropout
    return trained_classes is not None and kwargs["num_classes"] == trained_classes


def _export_classifier(task, config: dict[str, Any], mapping: TransformersMapping) -> None:
    activation = keras.activations.serialize(task.activation)
    if activation not in ("linear", "softmax"):
        raise ValueError(
            f"This {type(task).__name__} applies {activation!r} to its outputs; transformers' "
            "sequence classifiers output logits, so only a linear (or softmax) output "
            "layer can be exported."
        )
    labels = {str(index): f"LABEL_{index}" for index in range(task.num_classes)}
    config.update(id2label=labels, label2id={name: int(index) for index, name in labels.items()})
    if mapping.classifier_dropout_field:
        config[mapping.classifier_dropout_field] = task.dropout


def _embedder_arguments(source, kwargs: dict[str, Any], has_head: bool, prefix: str) -> bool:
    return False  # the pooling has no weights: the encoder is all a checkpoint holds


def _export_embedder(task, config: dict[str, Any], mapping: TransformersMapping) -> None:
    raise ValueError(
        f"A transformers checkpoint holds the encoder of this {type(task).__name__} but not "
        "its pooling, normalization or prompts, which would be lost. Save it with "
        '`save_to_preset(folder, format="sentence-transformers")`, or save its backbone '
        '(`task.backbone.save_to_preset(folder, format="transformers")`) for the encoder '
        "alone."
    )


def _config_labels(config: dict[str, Any]) -> list[str] | None:
    """The label names of a config's ``id2label`` in class order, or ``None``.

    Example:

    >>> _config_labels({"id2label": {"1": "B-PER", "0": "O"}})
    ['O', 'B-PER']
    """
    labels = config.get("id2label")
    if not isinstance(labels, dict) or not labels:
        return None
    try:
        named = {int(index): str(name) for index, name in labels.items()}
    except (TypeError, ValueError):
        return None
    if sorted(named) != list(range(len(named))):
        return None
    return [named[index] for index in range(len(named))]


def _token_count(kwargs: dict[str, Any]) -> int | None:
    if kwargs.get("num_classes") is not None:
        return kwargs["num_classes"]
    labels = kwargs.get("id2label")
    return None if labels is None else len(labels)


def _token_classifier_arguments(
    source, kwargs: dict[str, Any], has_head: bool, prefix: str
) -> bool:
    kind = registry.task_kind("token_classifier")
    named = source.config.get("architectures") or []
    if named and source.mapping.architecture(kind.name, kind.transformers_suffix) not in named:
        has_head = False  # another model's head under the same keys (a sequence classifier)
    rules = source.mapping.head_rules[kind.name]
    trained = source.head_size(prefix, rules) if has_head else None
    labels = _config_labels(source.config)
    if _token_count(kwargs) is None:
        if trained is None:
            raise ValueError(
                f"the checkpoint at {source.directory} holds no token-classification head, so "
                "TokenClassifier.from_preset needs `num_classes` or `id2label` for a fresh one."
            )
        kwargs["num_classes"] = trained
    if "id2label" not in kwargs and labels is not None and len(labels) == _token_count(kwargs):
        kwargs["id2label"] = labels
    # transformers' token classifiers drop out at the encoder's rate (BERT's and ALBERT's
    # optional classifier dropout aside): it only matters when training.
    kwargs.setdefault("dropout", source.backbone_arguments()["dropout"])
    return trained is not None and _token_count(kwargs) == trained


def _export_token_classifier(task, config: dict[str, Any], mapping: TransformersMapping) -> None:
    labels = {str(index): name for index, name in task.id2label.items()}
    config.update(id2label=labels, label2id={name: int(index) for index, name in labels.items()})


def _question_answerer_arguments(source, kwargs: dict[str, Any], has_head: bool, prefix: str):
    return has_head  # ``qa_outputs`` has one shape, [2, hidden]: a trained one is always kept


def _export_question_answerer(task, config: dict[str, Any], mapping: TransformersMapping) -> None:
    pass  # the head has no config fields: ``qa_outputs`` is all there is


#: The head conversion of each task kind, by ``TaskKind.name``.
HEADS = {
    "masked_lm": HeadConversion(
        task_arguments=_masked_lm_arguments,
        asks_for_a_fresh_head=lambda config, kwargs: False,
        export_config=_export_masked_lm,
        warn_without_pooler=False,
    ),
    "classifier": HeadConversion(
        task_arguments=_classifier_arguments,
        asks_for_a_fresh_head=lambda config, kwargs: (
            kwargs.get("num_classes", _num_labels(config)) != _num_labels(config)
        ),
        export_config=_export_classifier,
        warn_without_pooler=True,
    ),
    "token_classifier": HeadConversion(
        task_arguments=_token_classifier_arguments,
        asks_for_a_fresh_head=lambda config, kwargs: (
            _token_count(kwargs) not in (None, _num_labels(config))
        ),
        export_config=_export_token_classifier,
        # BERT's and ALBERT's token classifiers have no pooler, and the head reads none.
        warn_without_pooler=False,
    ),
    # The span head reads the per-token features: transformers' BERT and ALBERT question
    # answerers have no pooler, so its absence is expected.
    "question_answerer": HeadConversion(
        task_arguments=_question_answerer_arguments,
        asks_for_a_fresh_head=lambda config, kwargs: False,
        export_config=_export_question_answerer,
        warn_without_pooler=False,
    ),
    # A text embedder loads from the bare encoder (``*Model``): its head has no weights.
    "text_embedder": HeadConversion(
        task_arguments=_embedder_arguments,
        asks_for_a_fresh_head=lambda config, kwargs: False,
        export_config=_export_embedder,
        warn_without_pooler=False,
    ),
}


def head_conversion(kind: registry.TaskKind) -> HeadConversion:
    """The conversion of ``kind``'s head (a ``ValueError`` naming the kinds that have one).

    Example:

    >>> import textbones
    >>> head_conversion(registry.task_kind("classifier")).warn_without_pooler
    True
    """
    if kind.name not in HEADS:
        raise ValueError(
            f"textbones cannot convert the head of {kind.task_base.__name__} tasks to or from "
            f"transformers; it converts {', '.join(sorted(HEADS))} heads."
        )
    return HEADS[kind.name]
