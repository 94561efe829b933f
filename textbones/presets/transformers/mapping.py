"""What a converter says about one family, and the config handling all three share."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from textbones.presets.transformers.weight_rules import DENSE, Rule, module

#: ``hidden_act`` values textbones can compute exactly, and the Keras activation of each.
#: ``gelu_new``, ``gelu_fast`` and ``gelu_pytorch_tanh`` are three codings of one formula.
_ACTIVATIONS_FROM_HF = {
    "gelu": "gelu",
    "gelu_python": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_fast": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "gelu_python_tanh": "gelu_approximate",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "linear": "linear",
}
_ACTIVATIONS_TO_HF = {
    "gelu": "gelu",
    "gelu_approximate": "gelu_new",
    "relu": "relu",
    "silu": "silu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "linear": "linear",
}


class UnsupportedCheckpointError(ValueError):
    """A ``transformers`` checkpoint that textbones cannot compute exactly."""


@dataclasses.dataclass(frozen=True)
class TransformersMapping:
    """The conversion table of one family.

    Attributes:
        model_type: ``config.json``'s ``model_type``.
        base_prefix: the attribute holding the encoder in ``*For...`` models
            (``"bert"``), which prefixes its keys there.
        architectures: the ``transformers`` class names of the bare encoder, the masked LM
            and the sequence classifier.
        defaults: the ``transformers`` config defaults of the fields read.
        backbone_arguments: ``(config, source) -> constructor arguments`` (config with
            defaults; ``source`` names the file in errors).
        config_fields: ``(backbone) -> config.json fields`` for export.
        backbone_rules: ``(backbone) -> rules`` of the encoder without its pooler.
        pooler_rules: the pooler's rules (absent from BERT's and ALBERT's masked LMs).
        masked_lm_rules: the masked-LM head's rules (keys without base prefix).
        classifier_dropout_field: the config field of the classifier's dropout rate
            (``None``: ``hidden_dropout_prob``).
        word_piece: the tokenizer is WordPiece (``vocab.txt``) rather than
            SentencePiece (``spiece.model``).
        tokenizer_class: the ``transformers`` tokenizer class name.
        tokenizer_defaults: ``tokenizer_config.json`` values assumed when absent.
        classifier_rules: the sequence classifier's head rules (keys without base prefix).
        token_classifier_rules: the token classifier's head rules (``classifier`` on every
            token's features, for every family).
        question_answerer_rules: the ``*ForQuestionAnswering`` head's rules (``qa_outputs``,
            ``[2, hidden]``, the same in every family).
        encoder_modules: the top-level modules of the encoder's keys (after the prefix):
            a tensor under one of them that no rule reads makes the checkpoint unloadable.
        masked_lm_head_arguments: ``(config, source) -> MaskedLM arguments`` of the head
            ``transformers`` computes (its activation and layer norm epsilon); export
            compares a task's head with what it gives for the written config.
    """

    model_type: str
    base_prefix: str
    architectures: dict[str, str]
    defaults: dict[str, Any]
    backbone_arguments: Callable[[dict[str, Any], str], dict[str, Any]]
    config_fields: Callable[[Any], dict[str, Any]]
    backbone_rules: Callable[[Any], list[Rule]]
    pooler_rules: list[Rule]
    masked_lm_rules: list[Rule]
    classifier_dropout_field: str | None
    word_piece: bool
    tokenizer_class: str
    tokenizer_defaults: dict[str, Any]
    classifier_rules: list[Rule] = dataclasses.field(
        default_factory=lambda: module("classifier", "logits", DENSE)
    )
    token_classifier_rules: list[Rule] = dataclasses.field(
        default_factory=lambda: module("classifier", "logits", DENSE)
    )
    question_answerer_rules: list[Rule] = dataclasses.field(
        default_factory=lambda: module("qa_outputs", "qa_outputs", DENSE)
    )
    encoder_modules: tuple[str, ...] = ("embeddings", "encoder", "pooler")
    masked_lm_head_arguments: Callable[[dict[str, Any], str], dict[str, Any]] = (
        lambda config, source: shared_masked_lm_head_arguments(config, source)
    )

    @property
    def head_rules(self) -> dict[str, list[Rule]]:
        """The head's rules of each task kind, by ``TaskKind.name`` (keys without base prefix).

        Example:

        >>> from textbones.models.bert.transformers import BERT
        >>> sorted(BERT.head_rules)
        ['classifier', 'masked_lm', 'question_answerer', 'token_classifier']
        """
        return {
            "masked_lm": self.masked_lm_rules,
            "classifier": self.classifier_rules,
            "token_classifier": self.token_classifier_rules,
            "question_answerer": self.question_answerer_rules,
        }

    def architecture(self, kind_name: str, suffix: str | None = None) -> str:
        """The ``transformers`` class of the bare encoder (``"backbone"``) or of a task kind's
        model: the ``architectures`` entry, else the encoder's class with ``suffix``
        (the kind's ``transformers_suffix``) in place of ``Model``.

        Example:

        >>> from textbones.models.bert.transformers import BERT
        >>> BERT.architecture("masked_lm"), BERT.architecture("tokens", "ForTokenClassification")
        ('BertForMaskedLM', 'BertForTokenClassification')
        """
        if kind_name in self.architectures:
            return self.architectures[kind_name]
        if suffix is None:
            raise ValueError(
                f"transformers has no {self.model_type} model for {kind_name!r} tasks: "
                f"textbones converts {', '.join(self.architectures.values())}."
            )
        return self.architectures["backbone"].removesuffix("Model") + suffix

    def config_with_defaults(self, config: dict[str, Any], source: str) -> dict[str, Any]:
        """``config`` completed with ``transformers``' defaults, after refusing what cannot
        be computed here."""
        check_representable(config, source)
        return {**self.defaults, **config}


def shared_backbone_arguments(config: dict[str, Any], source: str) -> dict[str, Any]:
    """The backbone arguments every family reads the same way from a ``transformers`` config.

    Each family adds its own (heads, groups, embedding width) to these.

    Example:

    >>> config = {"vocab_size": 100, "num_hidden_layers": 2, "hidden_size": 8,
    ...           "intermediate_size": 16, "hidden_dropout_prob": 0.1,
    ...           "max_position_embeddings": 64, "type_vocab_size": 2,
    ...           "hidden_act": "gelu", "layer_norm_eps": 1e-12}
    >>> shared_backbone_arguments(config, "a config")["num_layers"]
    2
    """
    return {
        "vocabulary_size": config["vocab_size"],
        "num_layers": config["num_hidden_layers"],
        "hidden_dim": config["hidden_size"],
        "intermediate_dim": config["intermediate_size"],
        "dropout": config["hidden_dropout_prob"],
        "max_sequence_length": config["max_position_embeddings"],
        "num_segments": config["type_vocab_size"],
        "activation": activation_from_hf(config["hidden_act"], source),
        "layer_norm_epsilon": config["layer_norm_eps"],
    }


def shared_masked_lm_head_arguments(config: dict[str, Any], source: str) -> dict[str, Any]:
    """The masked-LM head ``transformers`` computes: the encoder's ``hidden_act`` and
    ``layer_norm_eps`` (BERT, ALBERT and FNet read them so).

    Example:

    >>> shared_masked_lm_head_arguments({"hidden_act": "gelu_new", "layer_norm_eps": 1e-12}, "")
    {'head_activation': 'gelu_approximate', 'head_layer_norm_epsilon': 1e-12}
    """
    return {
        "head_activation": activation_from_hf(config["hidden_act"], source),
        "head_layer_norm_epsilon": config["layer_norm_eps"],
    }


def shared_config_fields(backbone) -> dict[str, Any]:
    """The ``transformers`` config fields every family writes the same way from a backbone.

    The inverse of ``shared_backbone_arguments``; each family adds its own fields.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.FNetBackbone(50, 1, 8, 16)
    >>> shared_config_fields(backbone)["hidden_act"]
    'gelu_new'
    """
    return {
        "vocab_size": backbone.vocabulary_size,
        "hidden_size": backbone.hidden_dim,
        "num_hidden_layers": backbone.num_layers,
        "intermediate_size": backbone.intermediate_dim,
        "hidden_act": activation_to_hf(backbone.activation, f"This {type(backbone).__name__}"),
        "hidden_dropout_prob": backbone.dropout,
        "max_position_embeddings": backbone.max_sequence_length,
        "type_vocab_size": backbone.num_segments,
        "layer_norm_eps": backbone.layer_norm_epsilon,
    }


def activation_from_hf(name: Any, source: str) -> str:
    """The Keras activation computing ``hidden_act=name`` exactly.

    Example:

    >>> activation_from_hf("gelu", "a config"), activation_from_hf("gelu_new", "a config")
    ('gelu', 'gelu_approximate')
    """
    if name not in _ACTIVATIONS_FROM_HF:
        raise UnsupportedCheckpointError(
            f"{source} sets hidden_act={name!r}, which textbones cannot compute. It supports "
            f"{', '.join(sorted(_ACTIVATIONS_FROM_HF))}."
        )
    return _ACTIVATIONS_FROM_HF[name]


def activation_to_hf(name: Any, what: str) -> str:
    """The ``hidden_act`` value of a Keras activation name (a ``ValueError`` if none).

    Example:

    >>> activation_to_hf("gelu_approximate", "the backbone")
    'gelu_new'
    """
    if not isinstance(name, str) or name not in _ACTIVATIONS_TO_HF:
        raise ValueError(
            f"{what} uses the activation {name!r}, which has no transformers `hidden_act` "
            f"name. Exportable activations: {', '.join(sorted(_ACTIVATIONS_TO_HF))}."
        )
    return _ACTIVATIONS_TO_HF[name]


def check_representable(config: dict[str, Any], source: str) -> None:
    """Refuse the config fields that change the computation in ways textbones cannot follow."""
    position_type = config.get("position_embedding_type", "absolute")
    if position_type != "absolute":
        raise UnsupportedCheckpointError(
            f"{source} sets position_embedding_type={position_type!r}; textbones computes "
            "absolute position embeddings only, so this checkpoint cannot be loaded exactly."
        )
    for flag in ("is_decoder", "add_cross_attention"):
        if config.get(flag):
            raise UnsupportedCheckpointError(
                f"{source} sets {flag}=true (a causal decoder / cross-attention); textbones "
                "implements the bidirectional encoder only."
            )
    if config.get("quantization_config"):
        raise UnsupportedCheckpointError(
            f"{source} holds quantized weights (quantization_config); textbones reads "
            "float weights only. Load the unquantized checkpoint."
        )
