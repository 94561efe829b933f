"""FNet: ``transformers``' ``FNetModel`` keys and config fields to ``FNetBackbone``.

``transformers`` computes FNet's mixing as the real part of ``torch.fft.fftn`` over the
sequence and hidden axes (or, with ``use_tpu_fourier_optimizations``, the same transform
as DFT matrix products): the same unnormalised 2-D DFT as ``FNetEncoder``.
"""

from textbones.presets.transformers.bert import EMBEDDINGS, MASKED_LM_HEAD
from textbones.presets.transformers.family import Family, activation_from_hf, activation_to_hf
from textbones.presets.transformers.weight_rules import DENSE, LAYER_NORM, modules

#: One ``encoder.layer.{i}`` against one ``FNetEncoder``.
_BLOCK = (
    ("fourier.output.LayerNorm", "mixing_layer_norm", LAYER_NORM),
    ("intermediate.dense", "intermediate_dense", DENSE),
    ("output.dense", "output_dense", DENSE),
    ("output.LayerNorm", "output_layer_norm", LAYER_NORM),
)

#: ``transformers.FNetConfig`` defaults of the fields read.
_DEFAULTS = {
    "vocab_size": 32000,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu_new",
    "hidden_dropout_prob": 0.1,
    "max_position_embeddings": 512,
    "type_vocab_size": 4,
    "layer_norm_eps": 1e-12,
}


def _backbone_arguments(config, source):
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


def _config_fields(backbone):
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
        "use_tpu_fourier_optimizations": False,
    }


def _backbone_rules(backbone):
    rules = modules("", "", (*EMBEDDINGS, ("embeddings.projection", "embedding_projection", DENSE)))
    for index in range(backbone.num_layers):
        rules += modules(f"encoder.layer.{index}.", f"f_net_layer_{index}/", _BLOCK)
    return rules


F_NET = Family(
    model_type="fnet",
    backbone_class="FNetBackbone",
    base_prefix="fnet",
    architectures={
        "backbone": "FNetModel",
        "masked_lm": "FNetForMaskedLM",
        "classifier": "FNetForSequenceClassification",
    },
    defaults=_DEFAULTS,
    backbone_arguments=_backbone_arguments,
    config_fields=_config_fields,
    backbone_rules=_backbone_rules,
    pooler_rules=modules("", "", (("pooler.dense", "pooled_dense", DENSE),)),
    masked_lm_rules=MASKED_LM_HEAD,
    classifier_dropout_field=None,
    word_piece=False,
    tokenizer_class="FNetTokenizer",
    # FNetTokenizer's defaults (its parent AlbertTokenizer's).
    tokenizer_defaults={"do_lower_case": True, "keep_accents": False},
)
