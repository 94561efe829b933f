"""Tests of ``textbones/models/distil_bert/backbone.py``."""

import json

import h5py
import keras
import numpy as np
import pytest

import textbones
from tests.models.distil_bert.numpy_forward import numpy_forward, to_numpy
from tests.models.distil_bert.tiny_models import TINY, make_backbone, make_inputs
from textbones import registry
from textbones.models.distil_bert.backbone import DistilBertBackbone


def test_forward_pass_matches_an_independent_numpy_implementation():
    model = make_backbone()
    inputs = make_inputs()
    outputs = to_numpy(model(inputs))
    assert outputs.shape == (3, 7, 16)
    np.testing.assert_allclose(outputs, numpy_forward(model, inputs), atol=2e-5)


def test_output_is_one_tensor_and_the_hooks_read_it():
    model = make_backbone()
    inputs = make_inputs()
    outputs = model(inputs)
    assert not isinstance(outputs, dict)
    assert model.sequence_features(outputs) is outputs
    np.testing.assert_array_equal(
        to_numpy(model.pooled_features(outputs)), to_numpy(outputs)[:, 0, :]
    )
    assert model.cls_token_index == 0
    assert model.has_segment_ids is False
    assert model.input_names == ("token_ids", "padding_mask")


def test_fixed_values_of_a_seeded_model():
    keras.utils.set_random_seed(7)
    model = DistilBertBackbone(**TINY, dropout=0.0)
    outputs = to_numpy(model({"token_ids": np.array([[2, 5, 6, 3]]),
                              "padding_mask": np.ones((1, 4), "int32")}))  # fmt: skip
    # Layer norm with unit gamma and zero beta leaves every row with mean 0 and variance 1.
    np.testing.assert_allclose(outputs.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(outputs.var(-1), 1.0, atol=1e-4)


def test_extra_padding_leaves_real_token_outputs_unchanged():
    model = make_backbone()
    short = make_inputs(lengths=(4,), total=4)
    long = {name: np.pad(value, ((0, 0), (0, 5))) for name, value in short.items()}
    np.testing.assert_allclose(to_numpy(model(long))[:, :4], to_numpy(model(short)), atol=1e-5)


def test_parameter_count_and_parts():
    model = make_backbone()
    parts = DistilBertBackbone.parameter_parts({**TINY, "dropout": 0.1})
    assert [part.field for part in parts] == [
        "vocabulary_size", "max_sequence_length", "num_layers", "hidden_dim"
    ]  # fmt: skip
    assert [part.parameters for part in parts] == [97 * 16, 24 * 16, 2 * 2224, 32]
    assert model.count_params() == sum(part.parameters for part in parts) == 6416


def test_get_config_holds_exactly_keras_hubs_keys():
    model = make_backbone()
    config = model.get_config()
    assert list(config) == [
        "name", "trainable", "dtype", "vocabulary_size", "num_layers", "num_heads",
        "hidden_dim", "intermediate_dim", "dropout", "max_sequence_length",
    ]  # fmt: skip
    for key, value in TINY.items():
        assert config[key] == value
    rebuilt = DistilBertBackbone.from_config(config)
    assert rebuilt.get_config() == config
    assert rebuilt.count_params() == model.count_params()


def test_layers_are_named_as_keras_hubs():
    model = make_backbone()
    names = [layer.name for layer in model.layers]
    assert names == [
        "token_ids", "token_and_position_embedding", "embeddings_layer_norm",
        "embeddings_dropout", "padding_mask", "transformer_layer_0", "transformer_layer_1",
    ]  # fmt: skip
    assert model.embeddings_layer_norm.epsilon == 1e-12
    for block in model.transformer_layers:
        assert block.layer_norm_epsilon == 1e-12
        assert block.normalize_first is False
        assert keras.activations.serialize(block.activation) == "gelu"
    assert model.token_embedding is model.embeddings.token_embedding
    assert isinstance(model.token_embedding, textbones.layers.ReversibleEmbedding)
    assert tuple(model.token_embedding.embeddings.shape) == (97, 16)


def test_keras_file_round_trip(tmp_path):
    model = make_backbone()
    inputs = make_inputs()
    model.save(tmp_path / "model.keras")
    restored = keras.models.load_model(tmp_path / "model.keras")
    assert type(restored) is DistilBertBackbone
    np.testing.assert_array_equal(to_numpy(restored(inputs)), to_numpy(model(inputs)))


def test_preset_round_trip_through_base_class(tmp_path):
    model = make_backbone()
    inputs = make_inputs()
    model.save_to_preset(tmp_path / "preset")
    config = json.loads((tmp_path / "preset" / "config.json").read_text())
    assert config["registered_name"] == "keras_hub>DistilBertBackbone"
    metadata = json.loads((tmp_path / "preset" / "metadata.json").read_text())
    assert metadata["parameter_count"] == 6416
    restored = textbones.models.Backbone.from_preset(str(tmp_path / "preset"))
    assert type(restored) is DistilBertBackbone
    np.testing.assert_array_equal(to_numpy(restored(inputs)), to_numpy(model(inputs)))
    random = DistilBertBackbone.from_preset(tmp_path / "preset", load_weights=False)
    assert not np.allclose(to_numpy(random(inputs)), to_numpy(model(inputs)))
    with pytest.raises(ValueError, match=r"BertBackbone.from_preset cannot load .* DistilBert"):
        textbones.models.BertBackbone.from_preset(tmp_path / "preset")


def test_weights_file_layout(tmp_path):
    make_backbone().save_to_preset(tmp_path / "p")
    with h5py.File(tmp_path / "p" / "model.weights.h5") as handle:
        names = []
        handle.visititems(lambda name, item: names.append(name) if hasattr(item, "shape") else None)
    assert "layers/token_and_position_embedding/token_embedding/vars/0" in names
    assert "layers/token_and_position_embedding/position_embedding/vars/0" in names
    assert "layers/layer_normalization/vars/0" in names
    assert "layers/transformer_encoder_1/_self_attention_layer/query_dense/vars/0" in names


@pytest.mark.parametrize(
    ("name", "count", "vocabulary"),
    [
        ("distil_bert_base_en_uncased", 66_362_880, 30522),
        ("distil_bert_base_en", 65_190_912, 28996),
        ("distil_bert_base_multi", 134_734_080, 119547),
    ],
)
def test_builtin_presets_build_with_keras_hubs_parameter_counts(name, count, vocabulary):
    entry = DistilBertBackbone.presets[name]
    assert entry["parameter_count"] == count
    assert entry["kaggle_handle"] == f"kaggle://keras/distil_bert/keras/{name}/3"
    assert entry["family"] == "distil_bert"
    assert (
        DistilBertBackbone.estimate_parameter_count(registry.builtin_presets()[name]["config"])
        == count
    )
    model = textbones.models.Backbone.from_preset(name, load_weights=False)
    assert type(model) is DistilBertBackbone
    assert model.count_params() == count
    assert (model.vocabulary_size, model.num_layers, model.hidden_dim) == (vocabulary, 6, 768)


def test_the_family_is_registered():
    family = registry.family("distil_bert")
    assert family.display_name == "DistilBert"
    assert family.backbone is DistilBertBackbone
    assert family.tokenizer is textbones.models.DistilBertTokenizer
    assert family.tasks == {
        "masked_lm": textbones.models.DistilBertMaskedLM,
        "classifier": textbones.models.DistilBertTextClassifier,
        "text_embedder": textbones.models.DistilBertTextEmbedder,
        "token_classifier": textbones.models.DistilBertTokenClassifier,
        "question_answerer": textbones.models.DistilBertQuestionAnswerer,
    }
    assert registry.family_of(make_backbone()) is family
    initializer = family.kernel_initializer()
    assert isinstance(initializer, keras.initializers.TruncatedNormal)
    assert initializer.stddev == 0.02
    tiny = DistilBertBackbone(vocabulary_size=50, **family.tiny_config)
    assert tiny.num_layers == 2
    assert textbones.models.DistilBertClassifier is textbones.models.DistilBertTextClassifier
    assert (
        textbones.models.DistilBertPreprocessor
        is textbones.models.DistilBertTextClassifierPreprocessor
    )


class TestBadInput:
    def test_segment_ids_are_refused_with_the_names_it_takes(self):
        inputs = {**make_inputs(), "segment_ids": np.zeros((3, 7), "int32")}
        with pytest.raises(ValueError, match=r"unexpected 'segment_ids'"):
            make_backbone()(inputs)

    def test_missing_padding_mask(self):
        with pytest.raises(ValueError, match=r"missing 'padding_mask'"):
            make_backbone()({"token_ids": make_inputs()["token_ids"]})

    def test_ids_out_of_range(self):
        inputs = make_inputs()
        inputs["token_ids"][0, 0] = 97
        with pytest.raises(ValueError, match=r"holds the id 97, outside the valid range \[0, 96\]"):
            make_backbone()(inputs)

    def test_sequence_longer_than_max(self):
        with pytest.raises(ValueError, match=r"more than this model's max_sequence_length of 24"):
            make_backbone()(make_inputs(lengths=(25,), total=25))

    def test_heads_must_divide_hidden(self):
        with pytest.raises(
            ValueError, match=r"`hidden_dim` \(16\) must be divisible by `num_heads` \(3\)"
        ):
            DistilBertBackbone(**{**TINY, "num_heads": 3})

    def test_bad_counts_and_unknown_arguments(self):
        with pytest.raises(
            ValueError, match=r"DistilBertBackbone: `num_layers` must be an integer >= 1, got 0"
        ):
            DistilBertBackbone(**{**TINY, "num_layers": 0})
        with pytest.raises(TypeError, match=r"'num_segments'"):
            DistilBertBackbone(**TINY, num_segments=2)
        with pytest.raises(ValueError, match=r"`dropout` must be a number in \[0, 1\)"):
            DistilBertBackbone(**TINY, dropout=1.5)


def test_keras_hub_registered_name_deserializes_to_textbones():
    config = {
        "module": "keras_hub.src.models.distil_bert.distil_bert_backbone",
        "class_name": "DistilBertBackbone",
        "config": {**TINY, "name": "distil_bert_backbone", "trainable": True},
        "registered_name": "keras_hub>DistilBertBackbone",
    }
    model = keras.saving.deserialize_keras_object(config)
    assert type(model) is DistilBertBackbone and model.num_layers == 2
