"""FNet: ``transformers``' ``FNetModel`` keys and config fields to ``FNetBackbone``.

``transformers`` computes FNet's mixing as the real part of ``torch.fft.fftn`` over the
sequence and hidden axes (or, with ``use_tpu_fourier_optimizations``, the same transform
as DFT matrix products): the same unnormalised 2-D DFT as ``FNetEncoder``.
"""

from textbones.models.bert.transformers import EMBEDDINGS, MASKED_LM_HEAD
from textbones.presets.transformers.mapping import (
    TransformersMapping,
    shared_backbone_arguments,
    shared_config_fields,
)
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


def _config_fields(backbone):
    return {**shared_config_fields(backbone), "use_tpu_fourier_optimizations": False}


def _backbone_rules(backbone):
    rules = modules("", "", (*EMBEDDINGS, ("embeddings.projection", "embedding_projection", DENSE)))
    for index in range(backbone.num_layers):
        rules += modules(f"encoder.layer.{index}.", f"f_net_layer_{index}/", _BLOCK)
    return rules


F_NET = TransformersMapping(
    model_type="fnet",
    base_prefix="fnet",
    architectures={
        "backbone": "FNetModel",
        "masked_lm": "FNetForMaskedLM",
        "classifier": "FNetForSequenceClassification",
        "question_answerer": "FNetForQuestionAnswering",
    },
    defaults=_DEFAULTS,
    backbone_arguments=shared_backbone_arguments,
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
