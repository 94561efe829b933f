"""Behaviour every backbone family shares: math, serialization, presets, dtypes, bad input."""

import json

import h5py
import keras
import numpy as np
import pytest

import textbones
from tests.conftest import TINY_CONFIGS, backbone_class, make_inputs, make_tiny_backbone, to_numpy
from tests.helpers.numpy_reference import FORWARD


def features(model, outputs) -> dict:
    """The backbone's sequence and pooled features, read through its hooks (a BERT-like
    backbone's two outputs; a one-tensor backbone's output and its first token)."""
    return {
        "sequence_output": model.sequence_features(outputs),
        "pooled_output": model.pooled_features(outputs),
    }


def outputs_of(model, inputs) -> dict:
    return {name: to_numpy(value) for name, value in features(model, model(inputs)).items()}


def test_forward_pass_matches_an_independent_numpy_implementation(family):
    model = make_tiny_backbone(family)
    inputs = make_inputs(family)
    ours = outputs_of(model, inputs)
    reference = FORWARD[family](model, inputs)
    for name in ("sequence_output", "pooled_output"):
        assert ours[name].shape == reference[name].shape
        np.testing.assert_allclose(ours[name], reference[name], atol=2e-5, rtol=0)


def test_variable_sequence_lengths_up_to_max(family):
    model = make_tiny_backbone(family)
    for length in (1, 9, TINY_CONFIGS[family]["max_sequence_length"]):
        inputs = make_inputs(family, lengths=(length,), total=length)
        outputs = outputs_of(model, inputs)
        assert outputs["sequence_output"].shape == (1, length, 16)
        np.testing.assert_allclose(
            outputs["sequence_output"],
            FORWARD[family](model, inputs)["sequence_output"],
            atol=2e-5,
        )


@pytest.mark.parametrize("family", ["bert", "albert"])
def test_extra_padding_leaves_real_token_outputs_unchanged(family):
    model = make_tiny_backbone(family)
    short = make_inputs(family, lengths=(5, 3), total=5)
    padded = {name: np.pad(value, ((0, 0), (0, 6))) for name, value in short.items()}
    a, b = outputs_of(model, short), outputs_of(model, padded)
    np.testing.assert_allclose(b["sequence_output"][0, :5], a["sequence_output"][0], atol=1e-5)
    np.testing.assert_allclose(b["sequence_output"][1, :3], a["sequence_output"][1, :3], atol=1e-5)
    np.testing.assert_allclose(b["pooled_output"], a["pooled_output"], atol=1e-5)


def test_f_net_has_no_padding_mask_and_mixes_padding():
    model = make_tiny_backbone("f_net")
    assert sorted(model.input_names) == ["segment_ids", "token_ids"]
    short = make_inputs("f_net", lengths=(5,), total=5)
    padded = {name: np.pad(value, ((0, 0), (0, 3))) for name, value in short.items()}
    difference = np.abs(
        outputs_of(model, padded)["sequence_output"][0, :5]
        - outputs_of(model, short)["sequence_output"][0]
    ).max()
    assert difference > 1e-3


def test_get_config_holds_exactly_the_constructor_arguments(family):
    model = make_tiny_backbone(family)
    config = model.get_config()
    assert set(config) == set(TINY_CONFIGS[family]) | {
        "name",
        "trainable",
        "dtype",
        "dropout",
    } | ({"num_segments"} if backbone_class(family).has_segment_ids else set()) | (
        {"num_groups", "num_inner_repetitions"} if family == "albert" else set()
    )
    for key, value in TINY_CONFIGS[family].items():
        assert config[key] == value
    rebuilt = type(model).from_config(config)
    assert rebuilt.get_config() == config
    assert rebuilt.count_params() == model.count_params()


def test_keras_file_round_trip(family, tmp_path):
    model = make_tiny_backbone(family)
    inputs = make_inputs(family)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored) is type(model)
    for name, value in outputs_of(model, inputs).items():
        np.testing.assert_array_equal(outputs_of(restored, inputs)[name], value)


def test_preset_round_trip_through_base_class(family, tmp_path):
    model = make_tiny_backbone(family)
    inputs = make_inputs(family)
    model.save_to_preset(tmp_path / "preset")
    assert sorted(p.name for p in (tmp_path / "preset").iterdir()) == [
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    config = json.loads((tmp_path / "preset" / "config.json").read_text())
    assert config["registered_name"] == f"keras_hub>{type(model).__name__}"
    assert config["config"]["dtype"]["config"]["name"] == "float32"
    metadata = json.loads((tmp_path / "preset" / "metadata.json").read_text())
    assert metadata["parameter_count"] == model.count_params()
    assert metadata["textbones_version"] == textbones.__version__

    restored = textbones.models.Backbone.from_preset(str(tmp_path / "preset"))
    assert type(restored) is type(model)
    for name, value in outputs_of(model, inputs).items():
        np.testing.assert_array_equal(outputs_of(restored, inputs)[name], value)

    random = type(model).from_preset(tmp_path / "preset", load_weights=False)
    assert not np.allclose(
        outputs_of(random, inputs)["pooled_output"], outputs_of(model, inputs)["pooled_output"]
    )


def test_from_preset_kwargs_override_the_config(tmp_path):
    make_tiny_backbone("bert").save_to_preset(tmp_path / "p")
    model = textbones.models.BertBackbone.from_preset(tmp_path / "p", dropout=0.0, dtype="bfloat16")
    assert model.dropout == 0.0
    assert model.dtype_policy.name == "bfloat16"


def test_a_family_refuses_another_familys_preset(tmp_path):
    make_tiny_backbone("f_net").save_to_preset(tmp_path / "fnet")
    with pytest.raises(ValueError, match=r"BertBackbone.from_preset cannot load .* FNetBackbone"):
        textbones.models.BertBackbone.from_preset(tmp_path / "fnet")


@pytest.mark.parametrize(
    "policy, compute, variable",
    [
        ("float32", "float32", "float32"),
        ("bfloat16", "bfloat16", "bfloat16"),
        ("mixed_bfloat16", "bfloat16", "float32"),
        ("mixed_float16", "float16", "float32"),
    ],
)
def test_dtype_policies(family, policy, compute, variable):
    reference = make_tiny_backbone(family)
    model = backbone_class(family)(**TINY_CONFIGS[family], dtype=policy)
    for target, source in zip(model.weights, reference.weights, strict=True):
        target.assign(source.numpy())
    assert model.dtype_policy.name == policy
    assert {w.dtype for w in model.weights} == {variable}
    inputs = make_inputs(family)
    outputs = features(model, model(inputs))
    assert keras.backend.standardize_dtype(outputs["sequence_output"].dtype) == compute
    expected = outputs_of(reference, inputs)["sequence_output"]
    got = to_numpy(keras.ops.cast(outputs["sequence_output"], "float32"))
    assert np.isfinite(got).all()
    # Half precision keeps a couple of significant digits of layer-normalised outputs.
    assert np.abs(got - expected).max() < 0.15


def test_layer_norms_and_mixing_run_in_float32_under_mixed_precision(family):
    model = backbone_class(family)(**TINY_CONFIGS[family], dtype="mixed_bfloat16")
    norms = [
        layer
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.LayerNormalization)
    ]
    assert norms and all(layer.variable_dtype == "float32" for layer in norms)


def test_token_embedding_property(family):
    model = make_tiny_backbone(family)
    embedding = model.token_embedding
    assert isinstance(embedding, keras.layers.Embedding)
    assert isinstance(embedding, textbones.layers.ReversibleEmbedding)
    width = TINY_CONFIGS[family].get("embedding_dim", TINY_CONFIGS[family]["hidden_dim"])
    assert tuple(embedding.embeddings.shape) == (97, width)


def test_weights_file_layout_is_keras_hubs(tmp_path):
    make_tiny_backbone("albert").save_to_preset(tmp_path / "p")
    with h5py.File(tmp_path / "p" / "model.weights.h5") as handle:
        names = []
        handle.visititems(lambda name, item: names.append(name) if hasattr(item, "shape") else None)
    assert "layers/reversible_embedding/vars/0" in names
    assert "layers/transformer_encoder_3/_self_attention_layer/query_dense/vars/0" in names
    assert "layers/dense_1/vars/1" in names  # the pooler, after the embedding projection


class TestBadInput:
    def test_missing_and_misspelled_keys(self):
        model = make_tiny_backbone("bert")
        inputs = make_inputs("bert")
        inputs["padding_masks"] = inputs.pop("padding_mask")
        with pytest.raises(
            ValueError,
            match=r"missing 'padding_mask'; unexpected 'padding_masks' "
            r"\(did you mean 'padding_mask'\?\)",
        ):
            model(inputs)

    def test_not_a_dict(self):
        with pytest.raises(ValueError, match="takes a dict of integer arrays"):
            make_tiny_backbone("f_net")(np.zeros((1, 4), "int32"))

    def test_float_token_ids(self, family):
        model = make_tiny_backbone(family)
        inputs = make_inputs(family)
        inputs["token_ids"] = inputs["token_ids"].astype("float32")
        with pytest.raises(ValueError, match=r"'token_ids' must hold integers, got dtype float32"):
            model(inputs)

    def test_sequence_longer_than_max(self, family):
        model = make_tiny_backbone(family)
        inputs = make_inputs(family, lengths=(25,), total=25)
        with pytest.raises(
            ValueError, match=r"25 positions, more than this model's max_sequence_length of 24"
        ):
            model(inputs)
        with pytest.raises(ValueError, match="max_sequence_length of 24"):
            model.predict(inputs, verbose=0)

    def test_ids_out_of_range(self, family):
        model = make_tiny_backbone(family)
        inputs = make_inputs(family)
        inputs["token_ids"][0, 0] = 97
        with pytest.raises(ValueError, match=r"holds the id 97, outside the valid range \[0, 96\]"):
            model(inputs)
        inputs = make_inputs(family)
        inputs["token_ids"][0, 0] = -1
        with pytest.raises(ValueError, match="holds the id -1"):
            model(inputs)
        if backbone_class(family).has_segment_ids:
            inputs = make_inputs(family)
            inputs["segment_ids"][0, 0] = -1
            with pytest.raises(ValueError, match="holds the id -1"):
                model(inputs)

    def test_mismatched_shapes(self):
        inputs = make_inputs("bert")
        inputs["segment_ids"] = inputs["segment_ids"][:, :3]
        with pytest.raises(ValueError, match="must all have the same shape"):
            make_tiny_backbone("bert")(inputs)

    def test_heads_must_divide_hidden(self):
        with pytest.raises(
            ValueError, match=r"`hidden_dim` \(16\) must be divisible by `num_heads` \(3\)"
        ):
            textbones.models.BertBackbone(**{**TINY_CONFIGS["bert"], "num_heads": 3})
        with pytest.raises(ValueError, match="must be divisible by `num_heads`"):
            textbones.models.AlbertBackbone(**{**TINY_CONFIGS["albert"], "num_heads": 3})

    def test_unknown_constructor_argument(self):
        with pytest.raises(
            TypeError, match=r"unexpected argument\(s\) 'dropot' \(did you mean 'dropout'\?\)"
        ):
            textbones.models.FNetBackbone(**TINY_CONFIGS["f_net"], dropot=0.0)

    def test_layers_must_be_a_multiple_of_groups(self):
        with pytest.raises(
            ValueError, match=r"`num_layers` \(4\) must be a multiple of `num_groups` \(3\)"
        ):
            textbones.models.AlbertBackbone(**{**TINY_CONFIGS["albert"], "num_groups": 3})


def test_symbolic_call_inside_a_bigger_model(family):
    backbone = make_tiny_backbone(family)
    inputs = {name: keras.Input((None,), dtype="int32", name=name) for name in backbone.input_names}
    head = keras.layers.Dense(3)(backbone.pooled_features(backbone(inputs)))
    model = keras.Model(inputs, head)
    assert tuple(model(make_inputs(family)).shape) == (3, 3)


def test_training_mode_uses_dropout_and_inference_does_not(family):
    model = make_tiny_backbone(family, dropout=0.5)
    inputs = make_inputs(family)
    a = to_numpy(model.sequence_features(model(inputs, training=False)))
    b = to_numpy(model.sequence_features(model(inputs, training=False)))
    c = to_numpy(model.sequence_features(model(inputs, training=True)))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_predict_matches_call(family):
    model = make_tiny_backbone(family)
    inputs = make_inputs(family)
    predicted = features(model, model.predict(inputs, verbose=0))
    for name, value in outputs_of(model, inputs).items():
        # Compiled and eager float32 may round differently; 1e-5 is the project's float32 bar.
        np.testing.assert_allclose(predicted[name], value, atol=1e-5, rtol=0)


def test_reproducible_under_set_random_seed(family):
    first = make_tiny_backbone(family, seed=3)
    second = make_tiny_backbone(family, seed=3)
    for a, b in zip(first.weights, second.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("package", ["keras_hub", "keras_nlp"])
def test_keras_hub_registered_names_deserialize_to_textbones(package):
    config = {
        "module": f"{package}.src.models.f_net.f_net_backbone",
        "class_name": "FNetBackbone",
        "config": {
            **TINY_CONFIGS["f_net"],
            "name": "f_net_backbone",
            "trainable": True,
            "dtype": {
                "module": "keras",
                "class_name": "DTypePolicy",
                "config": {"name": "float32"},
                "registered_name": None,
            },
        },
        "registered_name": f"{package}>FNetBackbone",
    }
    model = keras.saving.deserialize_keras_object(config)
    assert type(model) is textbones.models.FNetBackbone
    assert model.num_layers == 2 and model.dtype_policy.name == "float32"
