"""DistilBERT: the ``transformers`` keys and config fields of ``DistilBertModel``.

``transformers`` names the encoder's modules differently from BERT's (``transformer.layer.{i}``
with ``attention.{q,k,v,out}_lin``, ``sa_layer_norm``, ``ffn.lin{1,2}``,
``output_layer_norm``) and its config fields too (``dim``, ``n_layers``, ``n_heads``,
``hidden_dim``, ``activation``, ``dropout``); every layer norm has epsilon 1e-12, fixed in
the code rather than configured. The masked-LM head is ``vocab_transform`` (dense), the
activation, ``vocab_layer_norm`` and ``vocab_projector`` (tied to the word embeddings, with
its own bias); the classifier is ``pre_classifier`` (dense + ReLU), dropout
(``seq_classif_dropout``) and ``classifier``, on the first token.
"""

from __future__ import annotations

from typing import Any

from textbones.presets.transformers.mapping import (
    TransformersMapping,
    UnsupportedCheckpointError,
    activation_from_hf,
    activation_to_hf,
    check_representable,
)
from textbones.presets.transformers.weight_rules import (
    BIAS,
    DENSE,
    EMBEDDING,
    HEADS_IN,
    HEADS_OUT,
    LAYER_NORM,
    modules,
)

_EMBEDDINGS = (
    ("embeddings.word_embeddings", "token_and_position_embedding/token_embedding", EMBEDDING),
    (
        "embeddings.position_embeddings",
        "token_and_position_embedding/position_embedding",
        EMBEDDING,
    ),
    ("embeddings.LayerNorm", "embeddings_layer_norm", LAYER_NORM),
)

#: One ``transformer.layer.{i}`` against one ``TransformerEncoder``.
_BLOCK = (
    ("attention.q_lin", "self_attention_layer/query", HEADS_IN),
    ("attention.k_lin", "self_attention_layer/key", HEADS_IN),
    ("attention.v_lin", "self_attention_layer/value", HEADS_IN),
    ("attention.out_lin", "self_attention_layer/attention_output", HEADS_OUT),
    ("sa_layer_norm", "self_attention_layer_norm", LAYER_NORM),
    ("ffn.lin1", "feedforward_intermediate_dense", DENSE),
    ("ffn.lin2", "feedforward_output_dense", DENSE),
    ("output_layer_norm", "feedforward_layer_norm", LAYER_NORM),
)

#: The masked-LM head; ``vocab_projector.weight`` is the tied word embedding.
MASKED_LM_RULES = modules(
    "",
    "mlm_head/",
    (
        ("vocab_transform", "intermediate_dense", DENSE),
        ("vocab_layer_norm", "intermediate_layer_norm", LAYER_NORM),
        ("vocab_projector.bias", "output_bias", BIAS),
    ),
)

#: The classification head: ``pre_classifier`` is the task's ``pooled_dense``. The output
#: layer comes first: the loader reads the number of classes off the first rule's tensor.
CLASSIFIER_RULES = modules(
    "",
    "",
    (("classifier", "logits", DENSE), ("pre_classifier", "pooled_dense", DENSE)),
)

#: ``transformers.DistilBertConfig`` defaults of the fields read.
DEFAULTS = {
    "vocab_size": 30522,
    "max_position_embeddings": 512,
    "sinusoidal_pos_embds": False,
    "n_layers": 6,
    "n_heads": 12,
    "dim": 768,
    "hidden_dim": 3072,
    "dropout": 0.1,
    "attention_dropout": 0.1,
    "activation": "gelu",
    "seq_classif_dropout": 0.2,
    "tie_word_embeddings": True,
}

#: The epsilon of every layer norm of transformers' DistilBERT (the encoder's and the
#: masked-LM head's ``vocab_layer_norm``).
LAYER_NORM_EPSILON = 1e-12


def backbone_arguments(config: dict[str, Any], source: str) -> dict[str, Any]:
    """``DistilBertBackbone`` arguments of a ``transformers`` DistilBERT config.

    ``config`` has the defaults filled in; ``source`` names it in errors. Settings that
    textbones does not compute are refused with ``UnsupportedCheckpointError``.

    Example:

    >>> config = {**DEFAULTS, "vocab_size": 100, "n_layers": 2, "n_heads": 2, "dim": 16,
    ...           "hidden_dim": 32, "max_position_embeddings": 64}
    >>> backbone_arguments(config, "config.json")  # doctest: +NORMALIZE_WHITESPACE
    {'vocabulary_size': 100, 'num_layers': 2, 'num_heads': 2, 'hidden_dim': 16,
     'intermediate_dim': 32, 'dropout': 0.1, 'max_sequence_length': 64}
    >>> backbone_arguments({**config, "activation": "relu"}, "config.json")
    Traceback (most recent call last):
    ...
    textbones.presets.transformers.mapping.UnsupportedCheckpointError: config.json sets \
activation='relu', but DistilBertBackbone computes exact GELU (activation='gelu') only, \
as KerasHub's DistilBERT does.
    """
    check_representable(config, source)
    if config["sinusoidal_pos_embds"]:
        raise UnsupportedCheckpointError(
            f"{source} sets sinusoidal_pos_embds=true: transformers keeps its position "
            "embeddings fixed at sinusoids, while DistilBertBackbone learns them. Convert a "
            "checkpoint with learned position embeddings (sinusoidal_pos_embds=false)."
        )
    if config["activation"] != "gelu":
        raise UnsupportedCheckpointError(
            f"{source} sets activation={config['activation']!r}, but DistilBertBackbone "
            "computes exact GELU (activation='gelu') only, as KerasHub's DistilBERT does."
        )
    if config["tie_word_embeddings"] is False and any(
        name.endswith("ForMaskedLM") for name in config.get("architectures") or []
    ):
        raise UnsupportedCheckpointError(
            f"{source} sets tie_word_embeddings=false: its masked-LM decoder has its own "
            "weights, while textbones' MaskedLM ties the decoder to the token embedding. "
            "Load the backbone (Backbone.from_preset) instead."
        )
    return {
        "vocabulary_size": config["vocab_size"],
        "num_layers": config["n_layers"],
        "num_heads": config["n_heads"],
        "hidden_dim": config["dim"],
        "intermediate_dim": config["hidden_dim"],
        "dropout": config["dropout"],
        "max_sequence_length": config["max_position_embeddings"],
    }


def masked_lm_head_arguments(config: dict[str, Any], source: str) -> dict[str, Any]:
    """The masked-LM head ``transformers`` computes: the config's ``activation`` and the
    fixed epsilon 1e-12 of ``vocab_layer_norm``.

    Example:

    >>> masked_lm_head_arguments(DEFAULTS, "config.json")
    {'head_activation': 'gelu', 'head_layer_norm_epsilon': 1e-12}
    """
    return {
        "head_activation": activation_from_hf(config["activation"], source),
        "head_layer_norm_epsilon": LAYER_NORM_EPSILON,
    }


def config_fields(backbone) -> dict[str, Any]:
    """The ``transformers`` config fields of ``backbone`` (the inverse of
    ``backbone_arguments``).

    Example:

    >>> import textbones
    >>> backbone = textbones.models.DistilBertBackbone(50, 1, 2, 8, 16, max_sequence_length=32)
    >>> fields = config_fields(backbone)
    >>> fields["dim"], fields["n_layers"], fields["hidden_dim"], fields["activation"]
    (8, 1, 16, 'gelu')
    """
    return {
        "vocab_size": backbone.vocabulary_size,
        "dim": backbone.hidden_dim,
        "n_layers": backbone.num_layers,
        "n_heads": backbone.num_heads,
        "hidden_dim": backbone.intermediate_dim,
        "activation": activation_to_hf("gelu", f"This {type(backbone).__name__}"),
        "dropout": backbone.dropout,
        "attention_dropout": backbone.dropout,
        "max_position_embeddings": backbone.max_sequence_length,
        "sinusoidal_pos_embds": False,
        "tie_word_embeddings": True,
    }


def backbone_rules(backbone) -> list:
    """The rules of ``backbone``'s encoder: embeddings, then each block.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.DistilBertBackbone(50, 1, 2, 8, 16, max_sequence_length=32)
    >>> rules = backbone_rules(backbone)
    >>> len(rules) == len(backbone.weights), rules[0].source
    (True, 'embeddings.word_embeddings.weight')
    >>> rules[0].target
    'token_and_position_embedding/token_embedding/embeddings'
    """
    rules = modules("", "", _EMBEDDINGS)
    for index in range(backbone.num_layers):
        rules += modules(f"transformer.layer.{index}.", f"transformer_layer_{index}/", _BLOCK)
    return rules


DISTIL_BERT = TransformersMapping(
    model_type="distilbert",
    base_prefix="distilbert",
    architectures={
        "backbone": "DistilBertModel",
        "masked_lm": "DistilBertForMaskedLM",
        "classifier": "DistilBertForSequenceClassification",
        "question_answerer": "DistilBertForQuestionAnswering",
    },
    defaults=DEFAULTS,
    backbone_arguments=backbone_arguments,
    config_fields=config_fields,
    backbone_rules=backbone_rules,
    pooler_rules=[],
    masked_lm_rules=MASKED_LM_RULES,
    classifier_dropout_field="seq_classif_dropout",
    word_piece=True,
    tokenizer_class="DistilBertTokenizer",
    tokenizer_defaults={"do_lower_case": True},
    classifier_rules=CLASSIFIER_RULES,
    encoder_modules=("embeddings", "transformer"),
    masked_lm_head_arguments=masked_lm_head_arguments,
)
