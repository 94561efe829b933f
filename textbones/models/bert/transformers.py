"""BERT: ``transformers``' ``BertModel`` keys and config fields to ``BertBackbone``."""

from textbones.presets.transformers.mapping import (
    TransformersMapping,
    shared_backbone_arguments,
    shared_config_fields,
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

#: The embedding stack BERT and FNet share (ALBERT too, at its own width).
EMBEDDINGS = (
    ("embeddings.word_embeddings", "token_embedding", EMBEDDING),
    ("embeddings.position_embeddings", "position_embedding", EMBEDDING),
    ("embeddings.token_type_embeddings", "segment_embedding", EMBEDDING),
    ("embeddings.LayerNorm", "embeddings_layer_norm", LAYER_NORM),
)

#: One ``encoder.layer.{i}`` against one ``TransformerEncoder``.
_BLOCK = (
    ("attention.self.query", "self_attention_layer/query", HEADS_IN),
    ("attention.self.key", "self_attention_layer/key", HEADS_IN),
    ("attention.self.value", "self_attention_layer/value", HEADS_IN),
    ("attention.output.dense", "self_attention_layer/attention_output", HEADS_OUT),
    ("attention.output.LayerNorm", "self_attention_layer_norm", LAYER_NORM),
    ("intermediate.dense", "feedforward_intermediate_dense", DENSE),
    ("output.dense", "feedforward_output_dense", DENSE),
    ("output.LayerNorm", "feedforward_layer_norm", LAYER_NORM),
)

#: ``cls.predictions`` (BERT's and FNet's masked-LM head; the decoder is the tied embedding).
MASKED_LM_HEAD = modules(
    "cls.predictions.",
    "mlm_head/",
    (
        ("transform.dense", "intermediate_dense", DENSE),
        ("transform.LayerNorm", "intermediate_layer_norm", LAYER_NORM),
        ("bias", "output_bias", BIAS),
    ),
)

#: ``transformers.BertConfig`` defaults of the fields read.
_DEFAULTS = {
    "vocab_size": 30522,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
}


def _backbone_arguments(config, source):
    return {**shared_backbone_arguments(config, source), "num_heads": config["num_attention_heads"]}


def _config_fields(backbone):
    return {
        **shared_config_fields(backbone),
        "num_attention_heads": backbone.num_heads,
        "attention_probs_dropout_prob": backbone.dropout,
        "position_embedding_type": "absolute",
    }


def _backbone_rules(backbone):
    rules = modules("", "", EMBEDDINGS)
    for index in range(backbone.num_layers):
        rules += modules(f"encoder.layer.{index}.", f"transformer_layer_{index}/", _BLOCK)
    return rules


BERT = TransformersMapping(
    model_type="bert",
    base_prefix="bert",
    architectures={
        "backbone": "BertModel",
        "masked_lm": "BertForMaskedLM",
        "classifier": "BertForSequenceClassification",
        "question_answerer": "BertForQuestionAnswering",
    },
    defaults=_DEFAULTS,
    backbone_arguments=_backbone_arguments,
    config_fields=_config_fields,
    backbone_rules=_backbone_rules,
    pooler_rules=modules("", "", (("pooler.dense", "pooled_dense", DENSE),)),
    masked_lm_rules=MASKED_LM_HEAD,
    classifier_dropout_field="classifier_dropout",
    word_piece=True,
    tokenizer_class="BertTokenizer",
    tokenizer_defaults={"do_lower_case": True},
)
