"""Loading backbone presets: class dispatch, built-in configs, and every broken-preset error."""

import json
import re
import time

import numpy as np
import pytest

import textbones
from tests.conftest import make_inputs, make_tiny_backbone, to_numpy
from textbones import registry
from textbones.presets.handles import PresetDownloadError


@pytest.fixture
def bert_preset(tmp_path):
    model = make_tiny_backbone("bert")
    model.save_to_preset(tmp_path / "bert")
    return tmp_path / "bert", model


def test_presets_listing():
    every = textbones.models.Backbone.presets
    assert set(every) == set(textbones.registry.builtin_presets())
    assert len(every) == sum(len(family.presets) for family in textbones.registry.families())
    assert sorted(textbones.models.AlbertBackbone.presets) == [
        "albert_base_en_uncased",
        "albert_extra_extra_large_en_uncased",
        "albert_extra_large_en_uncased",
        "albert_large_en_uncased",
    ]
    assert len(textbones.models.BertBackbone.presets) == 36  # 10 BERT, 26 embedders
    entry = textbones.models.BertBackbone.presets["bert_base_en_uncased"]
    assert entry["parameter_count"] == 109482240
    assert entry["kaggle_handle"] == "kaggle://keras/bert/keras/bert_base_en_uncased/3"
    assert "12-layer BERT" in entry["description"]


def test_builtin_configs_have_the_documented_parameter_counts():
    """Every built-in preset, built for real from its shipped config, offline."""
    documented = {  # PRESETS.md, in millions to two decimals
        "bert_tiny_en_uncased": 4.39,
        "bert_small_en_uncased": 28.76,
        "bert_medium_en_uncased": 41.37,
        "bert_base_en_uncased": 109.48,
        "bert_base_en": 108.31,
        "bert_base_zh": 102.27,
        "bert_base_multi": 177.85,
        "bert_large_en_uncased": 335.14,
        "bert_large_en": 333.58,
        "bert_tiny_en_uncased_sst2": 4.39,
        "f_net_base_en": 82.86,
        "f_net_large_en": 236.95,
        "albert_base_en_uncased": 11.68,
        "albert_large_en_uncased": 17.68,
        "albert_extra_large_en_uncased": 58.72,
        "albert_extra_extra_large_en_uncased": 222.60,
    }
    presets = textbones.models.Backbone.presets
    assert set(documented) <= set(presets)
    # Every built-in preset of every family, documented here or in its family's tests, builds
    # to the parameter count its entry declares. Presets of one architecture (the embedding
    # presets share a few) are built once: the count is a function of the class and config.
    builtin = registry.builtin_presets()
    counts: dict[str, int] = {}
    for name in presets:
        architecture = json.dumps(
            [builtin[name]["class_name"], builtin[name]["config"]], sort_keys=True
        )
        if architecture not in counts:
            model = textbones.models.Backbone.from_preset(name, load_weights=False)
            counts[architecture] = model.count_params()
            del model
        count = counts[architecture]
        if name in documented:
            assert round(count / 1e6, 2) == documented[name], name
        assert count == presets[name]["parameter_count"], name
    assert len(counts) < len(presets)


def test_builtin_name_without_weights_needs_no_network():
    model = textbones.models.BertBackbone.from_preset("bert_tiny_en_uncased", load_weights=False)
    assert (model.num_layers, model.hidden_dim, model.vocabulary_size) == (2, 128, 30522)


def test_builtin_name_offline_is_one_clear_error():
    start = time.perf_counter()
    with pytest.raises(PresetDownloadError) as caught:
        textbones.models.BertBackbone.from_preset("bert_base_en_uncased")
    assert time.perf_counter() - start < 15
    message = str(caught.value)
    assert "'bert_base_en_uncased'" in message
    assert "kaggle://keras/bert/keras/bert_base_en_uncased/3" in message
    assert "Cause: could not connect" in message
    assert "load_weights=False" in message and "local preset directory" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_base_class_dispatch_and_wrong_family(bert_preset):
    path, _ = bert_preset
    assert type(textbones.models.Backbone.from_preset(path)) is textbones.models.BertBackbone
    with pytest.raises(
        ValueError,
        match=r"AlbertBackbone.from_preset cannot load .* holds a BertBackbone"
        r".*Call BertBackbone.from_preset",
    ):
        textbones.models.AlbertBackbone.from_preset(path)
    with pytest.raises(ValueError, match="FNetBackbone.from_preset cannot load"):
        textbones.models.FNetBackbone.from_preset("bert_tiny_en_uncased", load_weights=False)


def test_unknown_handle():
    with pytest.raises(
        ValueError,
        match=r"Unknown preset 'bert_base_en_uncsed'.*Did you mean 'bert_base_en_uncased'\?",
    ):
        textbones.models.Backbone.from_preset("bert_base_en_uncsed")


def test_directory_without_config(tmp_path):
    (tmp_path / "model.weights.h5").write_bytes(b"")
    with pytest.raises(
        FileNotFoundError, match=r"has no config.json \(it holds: model.weights.h5\)"
    ):
        textbones.models.Backbone.from_preset(tmp_path)


def test_config_that_is_not_json(bert_preset):
    path, _ = bert_preset
    (path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        textbones.models.Backbone.from_preset(path)


def test_config_of_an_unknown_class(bert_preset):
    path, _ = bert_preset
    config = json.loads((path / "config.json").read_text())
    config["registered_name"] = "keras_hub>GemmaBackbone"
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ValueError,
        match=r"holds a GemmaBackbone, which textbones does not implement "
        rf"\(it implements {re.escape(', '.join(sorted(registry.classes('backbone'))))}\)",
    ):
        textbones.models.Backbone.from_preset(path)


def test_config_with_a_bad_argument(bert_preset):
    path, _ = bert_preset
    config = json.loads((path / "config.json").read_text())
    config["config"]["num_layer"] = 3
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ValueError, match=r"does not fit BertBackbone.*'num_layer' \(did you mean 'num_layers'\?\)"
    ):
        textbones.models.Backbone.from_preset(path)


def test_transformers_config_is_recognised(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps({"model_type": "bert", "num_hidden_layers": 1})
    )
    with pytest.raises(FileNotFoundError, match="holds a transformers config but no weights"):
        textbones.models.Backbone.from_preset(tmp_path)
    backbone = textbones.models.Backbone.from_preset(tmp_path, load_weights=False)
    assert (type(backbone).__name__, backbone.num_layers, backbone.hidden_dim) == (
        "BertBackbone",
        1,
        768,
    )


def test_missing_weights(bert_preset):
    path, _ = bert_preset
    (path / "model.weights.h5").unlink()
    with pytest.raises(FileNotFoundError, match="has no model.weights.h5.*load_weights=False"):
        textbones.models.Backbone.from_preset(path)
    assert textbones.models.Backbone.from_preset(path, load_weights=False).num_layers == 2


def test_truncated_weights(bert_preset):
    path, _ = bert_preset
    weights = path / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(
        ValueError,
        match="model.weights.h5 is corrupt or incomplete .*download or save the preset again",
    ):
        textbones.models.Backbone.from_preset(path)


def test_weights_that_do_not_fit_the_config(bert_preset):
    path, _ = bert_preset
    config = json.loads((path / "config.json").read_text())
    config["config"]["intermediate_dim"] = 24
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="do not fit the BertBackbone described by config.json"):
        textbones.models.Backbone.from_preset(path)


def test_weights_missing_layers(bert_preset):
    path, _ = bert_preset
    config = json.loads((path / "config.json").read_text())
    config["config"]["num_layers"] = 3
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="BertBackbone described by config.json"):
        textbones.models.Backbone.from_preset(path)


def test_sharded_weights(tmp_path):
    model = make_tiny_backbone("albert")
    model.save_to_preset(tmp_path / "p")
    (tmp_path / "p" / "model.weights.h5").unlink()
    model.save_weights(tmp_path / "p" / "model.weights.json", max_shard_size=0.00002)
    assert len(list((tmp_path / "p").glob("model_*.weights.h5"))) > 1
    restored = textbones.models.Backbone.from_preset(tmp_path / "p")
    inputs = make_inputs("albert")
    np.testing.assert_array_equal(
        to_numpy(restored(inputs)["sequence_output"]), to_numpy(model(inputs)["sequence_output"])
    )
    # Saving again writes one file and clears the shards away.
    restored.save_to_preset(tmp_path / "p")
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
