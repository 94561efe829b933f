"""Writing ``transformers`` checkpoints: file layout, key names, configs, and ``convert``.

``tests/parity/test_transformers_parity.py`` loads these files with ``transformers`` itself.
"""

import json

import numpy as np
import pytest

import textbones
from tests.conftest import TINY_CONFIGS, make_inputs, make_tiny_backbone, to_numpy
from tests.helpers.sentence_piece import tiny_proto
from tests.helpers.transformers_checkpoints import read_all
from textbones.models import Backbone, MaskedLM

BERT_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [
    f"w{index}" for index in range(92)
]


def test_backbone_export_writes_transformers_names_and_layouts(tmp_path):
    backbone = make_tiny_backbone("bert", activation="gelu", layer_norm_epsilon=1e-7)
    backbone.save_to_preset(tmp_path / "hf", format="transformers")
    assert sorted(path.name for path in (tmp_path / "hf").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["architectures"] == ["BertModel"] and config["model_type"] == "bert"
    assert (config["hidden_act"], config["layer_norm_eps"], config["num_hidden_layers"]) == (
        "gelu",
        1e-7,
        2,
    )
    assert (config["max_position_embeddings"], config["type_vocab_size"], config["dtype"]) == (
        24,
        2,
        "float32",
    )
    tensors = read_all(tmp_path / "hf" / "model.safetensors")
    assert len(tensors) == 5 + 2 * 16 + 2
    assert tensors["encoder.layer.0.attention.self.query.weight"].shape == (16, 16)
    assert tensors["encoder.layer.0.attention.self.query.bias"].shape == (16,)
    assert tensors["encoder.layer.1.intermediate.dense.weight"].shape == (32, 16)  # [out, in]
    kernel = to_numpy(
        backbone.transformer_layers[0]._self_attention_layer.output_dense.kernel
    )  # [heads, head_dim, out]
    np.testing.assert_array_equal(
        tensors["encoder.layer.0.attention.output.dense.weight"], kernel.reshape(16, 16).T
    )


@pytest.mark.parametrize(
    "family, keys",
    [
        (
            "albert",
            [
                "encoder.embedding_hidden_mapping_in.weight",
                "encoder.albert_layer_groups.1.albert_layers.1.ffn_output.bias",
                "pooler.weight",
            ],
        ),
        (
            "f_net",
            [
                "embeddings.projection.weight",
                "encoder.layer.1.fourier.output.LayerNorm.weight",
                "pooler.dense.bias",
            ],
        ),
    ],
)
def test_albert_and_fnet_keys(tmp_path, family, keys):
    make_tiny_backbone(family).save_to_preset(tmp_path / "hf", format="transformers")
    assert set(keys) <= set(read_all(tmp_path / "hf" / "model.safetensors"))


def test_masked_lm_export_carries_tokenizer_files_and_loads_back_whole(tmp_path, family):
    fam = textbones.registry.family(family)
    word_piece = issubclass(fam.tokenizer, textbones.tokenizers.WordPieceTokenizer)
    if word_piece:
        tokenizer = fam.tokenizer(BERT_VOCABULARY, lowercase=True)
    else:
        tokenizer = fam.tokenizer(tiny_proto("albert"))
    # An embedding row for every id the tokenizer gives (a larger vocabulary is refused).
    rows = max(TINY_CONFIGS[family]["vocabulary_size"], tokenizer.vocabulary_size())
    backbone = make_tiny_backbone(family, vocabulary_size=rows)
    preprocessor_class = fam.preprocessors["masked_lm"]
    masked_lm_class = fam.tasks["masked_lm"]
    task = masked_lm_class(backbone, preprocessor_class(tokenizer, sequence_length=12))
    with pytest.warns(UserWarning, match="masked-LM head"):
        task.save_to_preset(tmp_path / "hf", format="transformers")
    names = sorted(path.name for path in (tmp_path / "hf").iterdir())
    vocabulary_file = "vocab.txt" if word_piece else "spiece.model"
    assert names == sorted(
        ["config.json", "model.safetensors", "tokenizer_config.json", vocabulary_file]
    )
    tokenizer_config = json.loads((tmp_path / "hf" / "tokenizer_config.json").read_text())
    assert tokenizer_config["model_max_length"] == 12

    loaded = MaskedLM.from_preset(tmp_path / "hf")
    assert type(loaded) is type(task)
    text = ["The quick brown fox."]
    assert loaded.preprocessor.tokenizer(text) == task.preprocessor.tokenizer(text)
    inputs = dict(make_inputs(family), mask_positions=np.array([[1, 2]] * 3, "int32"))
    # transformers has one activation and epsilon for encoder and head: the head now uses the
    # encoder's.
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    head = fam.transformers.masked_lm_head_arguments(config, "the exported config")
    assert loaded.head_activation == head["head_activation"]
    np.testing.assert_allclose(to_numpy(loaded(inputs)), to_numpy(task(inputs)), atol=0.05)


def test_configs_stay_readable_by_keras_hub_unless_settings_differ():
    assert "activation" not in make_tiny_backbone("bert").get_config()
    assert "layer_norm_epsilon" not in make_tiny_backbone("albert").get_config()
    assert make_tiny_backbone("f_net", activation="gelu").get_config()["activation"] == "gelu"
    task = textbones.models.AlbertMaskedLM(make_tiny_backbone("albert"))
    assert not {"head_activation", "head_layer_norm_epsilon"} & set(task.get_config())
    tokenizer = textbones.models.AlbertTokenizer(tiny_proto("albert"))
    assert not {
        "lowercase",
        "strip_accents",
        "normalize_quotes",
        "special_tokens_in_strings",
    } & set(tokenizer.get_config())


def test_keras_format_round_trip_keeps_the_transformers_settings(tmp_path):
    backbone = make_tiny_backbone("bert", activation="gelu", layer_norm_epsilon=1e-7)
    task = textbones.models.BertMaskedLM(
        backbone, head_activation="relu", head_layer_norm_epsilon=1e-3
    )
    task.save_to_preset(tmp_path / "keras")
    loaded = MaskedLM.from_preset(tmp_path / "keras", preprocessor=None)
    assert (loaded.backbone.activation, loaded.backbone.layer_norm_epsilon) == ("gelu", 1e-7)
    assert (loaded.head_activation, loaded.head_layer_norm_epsilon) == ("relu", 1e-3)


def test_convert_between_formats_keeps_outputs(tmp_path, family):
    classifier_class = textbones.registry.family(family).tasks["classifier"]
    classifier = classifier_class(make_tiny_backbone(family), num_classes=3)
    classifier.save_to_preset(tmp_path / "keras")
    assert (
        textbones.presets.convert(tmp_path / "keras", tmp_path / "hf") == classifier_class.__name__
    )
    assert (
        textbones.presets.convert(tmp_path / "hf", tmp_path / "back", format="keras")
        == classifier_class.__name__
    )
    loaded = textbones.models.Task.from_preset(tmp_path / "back", preprocessor=None)
    inputs = make_inputs(family)
    np.testing.assert_allclose(to_numpy(loaded(inputs)), to_numpy(classifier(inputs)), atol=1e-5)


def test_export_replaces_a_keras_preset_in_the_same_directory(tmp_path):
    backbone = make_tiny_backbone("f_net")
    backbone.save_to_preset(tmp_path / "model")
    textbones.models.FNetTokenizer(tiny_proto("albert")).save_to_preset(tmp_path / "model")
    backbone.save_to_preset(tmp_path / "model", format="transformers")
    assert sorted(path.name for path in (tmp_path / "model").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    assert type(Backbone.from_preset(tmp_path / "model")).__name__ == "FNetBackbone"


def test_unknown_formats_and_activations_are_refused(tmp_path):
    with pytest.raises(ValueError, match="Unknown preset format 'onnx'"):
        make_tiny_backbone("bert").save_to_preset(tmp_path / "x", format="onnx")
    with pytest.raises(ValueError, match="activation 'selu'"):
        make_tiny_backbone("bert", activation="selu").save_to_preset(
            tmp_path / "y", format="transformers"
        )
    assert not (tmp_path / "y").exists()


def test_a_lora_model_is_written_with_its_adapters_merged(tmp_path):
    """The frozen kernels alone would lose the fine-tune: the checkpoint holds what the
    LoRA-enabled layers compute with, and loads back with the same outputs."""
    backbone = make_tiny_backbone("bert")
    backbone.enable_lora(2)
    rng = np.random.default_rng(0)
    for weight in backbone.trainable_weights:
        if "lora_kernel" in weight.path:
            weight.assign(rng.normal(0.0, 0.3, tuple(weight.shape)).astype("float32"))
    inputs = make_inputs("bert")
    adapted = to_numpy(backbone(inputs)["sequence_output"])
    backbone.save_to_preset(tmp_path / "hf", format="transformers")
    loaded = Backbone.from_preset(tmp_path / "hf")
    assert not any(getattr(layer, "lora_enabled", False) for layer in loaded._flatten_layers())
    np.testing.assert_allclose(
        to_numpy(loaded(inputs)["sequence_output"]), adapted, atol=1e-5, rtol=0
    )
    frozen = make_tiny_backbone("bert")
    frozen.set_weights([w for w in backbone.weights if "lora_kernel" not in w.path])
    assert np.abs(to_numpy(frozen(inputs)["sequence_output"]) - adapted).max() > 1e-2


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_a_quantized_model_is_refused_and_nothing_is_written(tmp_path, mode):
    backbone = make_tiny_backbone("bert")
    backbone.quantize(mode)
    with pytest.raises(
        ValueError, match=r"is quantized .*Nothing was written.*before calling quantize"
    ):
        backbone.save_to_preset(tmp_path / "hf", format="transformers")
    assert not (tmp_path / "hf").exists()
    classifier = textbones.models.BertTextClassifier(backbone, 2, preprocessor=None)
    with pytest.raises(ValueError, match=r"BertTextClassifier is quantized"):
        classifier.save_to_preset(tmp_path / "hf", format="transformers")
    assert not (tmp_path / "hf").exists()
