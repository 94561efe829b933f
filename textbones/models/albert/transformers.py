"""ALBERT: ``transformers``' ``AlbertModel`` keys and config fields to ``AlbertBackbone``.

``albert_layer_groups.{g}.albert_layers.{j}`` is the ``j``-th block of group ``g``, which
textbones names ``group_{g}_inner_layer_{j}``; both run the ``num_hidden_layers`` layers
of depth through the groups in order, ``num_hidden_layers / num_hidden_groups`` each.
"""

from textbones.models.bert.transformers import EMBEDDINGS
from textbones.presets.transformers.mapping import (
    TransformersMapping,
    UnsupportedCheckpointError,
    shared_backbone_arguments,
    shared_config_fields,
)
from textbones.presets.transformers.weight_rules import (
    BIAS,
    DENSE,
    HEADS_IN,
    HEADS_OUT,
    LAYER_NORM,
    modules,
)

#: One ``albert_layers.{j}`` against one ``TransformerEncoder``.
_BLOCK = (
    ("attention.query", "self_attention_layer/query", HEADS_IN),
    ("attention.key", "self_attention_layer/key", HEADS_IN),
    ("attention.value", "self_attention_layer/value", HEADS_IN),
    ("attention.dense", "self_attention_layer/attention_output", HEADS_OUT),
    ("attention.LayerNorm", "self_attention_layer_norm", LAYER_NORM),
    ("ffn", "feedforward_intermediate_dense", DENSE),
    ("ffn_output", "feedforward_output_dense", DENSE),
    ("full_layer_layer_norm", "feedforward_layer_norm", LAYER_NORM),
)

#: ``transformers.AlbertConfig`` defaults of the fields read.
_DEFAULTS = {
    "vocab_size": 30000,
    "embedding_size": 128,
    "hidden_size": 4096,
    "num_hidden_layers": 12,
    "num_hidden_groups": 1,
    "num_attention_heads": 64,
    "intermediate_size": 16384,
    "inner_group_num": 1,
    "hidden_act": "gelu_new",
    "hidden_dropout_prob": 0.0,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
}


def _backbone_arguments(config, source):
    layers, groups = config["num_hidden_layers"], config["num_hidden_groups"]
    if groups <= 0 or layers % groups:
        raise UnsupportedCheckpointError(
            f"{source} has num_hidden_layers={layers} and num_hidden_groups={groups}; "
            "textbones shares each group over an equal number of consecutive layers, so "
            "num_hidden_layers must be a multiple of num_hidden_groups."
        )
    return {
        **shared_backbone_arguments(config, source),
        "num_heads": config["num_attention_heads"],
        "embedding_dim": config["embedding_size"],
        "num_groups": groups,
        "num_inner_repetitions": config["inner_group_num"],
    }


def _config_fields(backbone):
    return {
        **shared_config_fields(backbone),
        "embedding_size": backbone.embedding_dim,
        "num_hidden_groups": backbone.num_groups,
        "num_attention_heads": backbone.num_heads,
        "inner_group_num": backbone.num_inner_repetitions,
        "attention_probs_dropout_prob": backbone.dropout,
        "position_embedding_type": "absolute",
    }


def _backbone_rules(backbone):
    rules = modules(
        "",
        "",
        (*EMBEDDINGS, ("encoder.embedding_hidden_mapping_in", "embedding_projection", DENSE)),
    )
    for group in range(backbone.num_groups):
        for inner in range(backbone.num_inner_repetitions):
            rules += modules(
                f"encoder.albert_layer_groups.{group}.albert_layers.{inner}.",
                f"group_{group}_inner_layer_{inner}/",
                _BLOCK,
            )
    return rules


ALBERT = TransformersMapping(
    model_type="albert",
    base_prefix="albert",
    architectures={
        "backbone": "AlbertModel",
        "masked_lm": "AlbertForMaskedLM",
        "classifier": "AlbertForSequenceClassification",
        "question_answerer": "AlbertForQuestionAnswering",
    },
    defaults=_DEFAULTS,
    backbone_arguments=_backbone_arguments,
    config_fields=_config_fields,
    backbone_rules=_backbone_rules,
    pooler_rules=modules("", "", (("pooler", "pooled_dense", DENSE),)),
    masked_lm_rules=modules(
        "predictions.",
        "mlm_head/",
        (
            ("dense", "intermediate_dense", DENSE),
            ("LayerNorm", "intermediate_layer_norm", LAYER_NORM),
            ("bias", "output_bias", BIAS),
        ),
    ),
    classifier_dropout_field="classifier_dropout_prob",
    word_piece=False,
    tokenizer_class="AlbertTokenizer",
    tokenizer_defaults={"do_lower_case": True, "keep_accents": False},
)
