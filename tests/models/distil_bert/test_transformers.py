"""Tests of ``textbones/models/distil_bert/transformers.py`` (no reference environment needed)."""

import json

import keras
import numpy as np
import pytest

import textbones
from tests.models.distil_bert.tiny_models import TINY, make_backbone, make_inputs
from textbones.models.distil_bert.transformers import (
    DEFAULTS,
    DISTIL_BERT,
    backbone_arguments,
    backbone_rules,
    config_fields,
)
from textbones.presets.transformers.mapping import UnsupportedCheckpointError

CONFIG = {
    **DEFAULTS,
    "vocab_size": 97,
    "n_layers": 2,
    "n_heads": 2,
    "dim": 16,
    "hidden_dim": 32,
    "max_position_embeddings": 24,
}


def test_config_fields_and_backbone_arguments_are_inverse():
    backbone = make_backbone()
    fields = config_fields(backbone)
    assert {key: fields[key] for key in ("vocab_size", "dim", "n_layers", "n_heads")} == {
        "vocab_size": 97,
        "dim": 16,
        "n_layers": 2,
        "n_heads": 2,
    }
    arguments = backbone_arguments({**DEFAULTS, **fields}, "config.json")
    assert arguments == {**TINY, "dropout": 0.1}


def test_the_rules_cover_every_variable_of_the_backbone_once():
    backbone = make_backbone()
    targets = [rule.target for rule in backbone_rules(backbone)]
    assert sorted(targets) == sorted(variable.path for variable in backbone.weights)
    sources = [rule.source for rule in backbone_rules(backbone)]
    assert "transformer.layer.1.attention.q_lin.weight" in sources
    assert "transformer.layer.0.output_layer_norm.bias" in sources
    assert DISTIL_BERT.pooler_rules == []
    assert DISTIL_BERT.classifier_dropout_field == "seq_classif_dropout"
    assert DISTIL_BERT.architectures["classifier"] == "DistilBertForSequenceClassification"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sinusoidal_pos_embds": True}, r"sets sinusoidal_pos_embds=true: transformers keeps"),
        ({"activation": "relu"}, r"sets activation='relu', but DistilBertBackbone computes exact"),
        (
            {"tie_word_embeddings": False, "architectures": ["DistilBertForMaskedLM"]},
            r"sets tie_word_embeddings=false: its masked-LM decoder has its own weights",
        ),
        ({"quantization_config": {"bits": 4}}, r"holds quantized weights"),
    ],
)
def test_settings_textbones_cannot_compute_are_refused(change, message):
    with pytest.raises(UnsupportedCheckpointError, match=message):
        backbone_arguments({**CONFIG, **change}, "config.json")


def test_an_untied_bare_encoder_is_fine():
    arguments = backbone_arguments({**CONFIG, "tie_word_embeddings": False}, "config.json")
    assert arguments["hidden_dim"] == 16


def test_export_then_load_gives_the_same_outputs(tmp_path):
    backbone = make_backbone()
    backbone.save_to_preset(tmp_path / "hf", format="transformers")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["model_type"] == "distilbert"
    assert config["architectures"] == ["DistilBertModel"]
    assert (config["dim"], config["n_layers"], config["hidden_dim"]) == (16, 2, 32)
    restored = textbones.models.Backbone.from_preset(str(tmp_path / "hf"))
    assert type(restored) is textbones.models.DistilBertBackbone
    inputs = make_inputs()
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(restored(inputs)), keras.ops.convert_to_numpy(backbone(inputs))
    )
