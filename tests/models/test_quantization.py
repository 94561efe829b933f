"""Keras quantization on every backbone and task: ``quantize("int8")`` and ``quantize("int4")``
without warning spam, ``filters`` respected, quantized presets and ``.keras`` files that load
back bit for bit (the backbone's ``DTypePolicyMap`` config, a task's ``quantized_layers``),
and the drift quantization causes, measured against float32.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

import textbones
from tests.conftest import to_numpy
from tests.helpers import families

FAMILIES = families.family_params()
MODES = ["int8", "int4"]


def sequence_output(backbone, inputs) -> np.ndarray:
    result = backbone(inputs)
    return to_numpy(result["sequence_output"] if isinstance(result, dict) else result)


def reverse_logits(backbone) -> np.ndarray:
    """The token embedding's reverse projection (a masked-LM head's logits) of fixed vectors."""
    width = backbone.token_embedding.output_dim
    vectors = np.sin(np.arange(4 * width, dtype="float32")).reshape(4, width)
    return to_numpy(backbone.token_embedding(vectors, reverse=True))


def quantized_paths(model) -> dict[str, str]:
    return {
        layer.path: layer.quantization_mode
        for layer in model._flatten_layers(include_self=False)
        if layer.quantization_mode is not None
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("family", FAMILIES)
def test_quantized_backbone_saves_and_loads_bit_for_bit(family, mode, tmp_path):
    backbone = families.tiny_backbone(family)
    inputs = families.backbone_inputs(family)
    before = sequence_output(backbone, inputs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backbone.quantize(mode)
    # What a user sees: Python hides DeprecationWarnings outside __main__ (NumPy 2 has one
    # about JAX arrays' __array__ inside Keras' quantizers).
    shown = [w for w in caught if not issubclass(w.category, DeprecationWarning)]
    assert [str(warning.message) for warning in shown] == []
    paths = quantized_paths(backbone)
    kinds = {
        type(layer).__name__
        for layer in backbone._flatten_layers()
        if layer.quantization_mode is not None
    }
    assert {"Dense"} <= kinds and set(paths.values()) == {mode}
    quantized = sequence_output(backbone, inputs)
    assert 0 < float(np.abs(quantized - before).max()) < 1.0
    assert backbone.token_embedding.quantization_mode == mode  # the tied output matrix too
    logits = reverse_logits(backbone)
    config = backbone.get_config()
    assert config["dtype"]["class_name"] == "DTypePolicyMap"
    backbone.save_to_preset(tmp_path / "preset")
    backbone.save(tmp_path / "model.keras")
    for loaded in (
        textbones.models.Backbone.from_preset(tmp_path / "preset"),
        keras.saving.load_model(tmp_path / "model.keras"),
    ):
        assert quantized_paths(loaded) == paths
        np.testing.assert_array_equal(sequence_output(loaded, inputs), quantized)
        # A rebuilt int4 embedding stays weight-only, as quantized (keras_internals).
        np.testing.assert_array_equal(reverse_logits(loaded), logits)


def test_quantize_respects_filters():
    backbone = families.tiny_backbone(families.family("bert"))
    backbone.quantize("int8", filters=r"query")
    assert sorted(quantized_paths(backbone)) == [
        "transformer_layer_0/self_attention_layer/query",
        "transformer_layer_1/self_attention_layer/query",
    ]


@pytest.mark.parametrize("mode", MODES)
def test_quantized_classifier_head_saves_and_loads(mode, tmp_path):
    family = families.family("bert")
    tokenizer = families.tiny_tokenizer(family)
    preprocessor = family.preprocessors["classifier"](tokenizer, sequence_length=12)
    classifier = family.tasks["classifier"](
        families.tiny_backbone(family), num_classes=3, preprocessor=preprocessor
    )
    texts = ["the quick brown fox", "a b"]
    classifier.quantize(mode)
    expected = classifier.predict(texts, verbose=0)
    assert quantized_paths(classifier)["logits"] == mode
    assert classifier.get_config()["quantized_layers"].keys() == {"logits"}
    classifier.save_to_preset(tmp_path / "preset")
    loaded = textbones.models.TextClassifier.from_preset(tmp_path / "preset")
    assert quantized_paths(loaded) == quantized_paths(classifier)
    np.testing.assert_array_equal(loaded.predict(texts, verbose=0), expected)
    # An unquantized task writes no such entry: KerasHub reads its config as before.
    plain = family.tasks["classifier"](families.tiny_backbone(family), num_classes=3)
    assert "quantized_layers" not in plain.get_config()


def set_weights_from_numpy(model: keras.Model, seed: int = 0, scale: float = 0.05) -> None:
    """Give every weight a NumPy-drawn value (gains near 1, biases near 0, matrices N(0, scale)).

    The same on every backend, unlike Keras' initializers, so drift figures measured on JAX
    hold on torch and TensorFlow too.
    """
    rng = np.random.default_rng(seed)
    for variable in sorted(model.weights, key=lambda variable: variable.path):
        shape = tuple(variable.shape)
        if len(shape) == 1:
            value = (1.0 if variable.path.endswith("gamma") else 0.0) + rng.normal(0, 0.1, shape)
        else:
            value = rng.normal(0.0, scale, shape)
        variable.assign(value.astype("float32"))


#: (least top-1 agreement, least token cosine, largest |logit change|, largest float32 margin
#: of a flipped position) by mode and by what is quantized, measured the same on JAX, torch
#: and TensorFlow:
#:
#: - "all" (``quantize(mode)``: every Dense, EinsumDense and Embedding, the tied token
#:   embedding included, so the masked-LM output projection runs on the quantized matrix with
#:   its inputs quantized too, as in KerasHub): int8 0.969 / 0.99997 / 0.028 / 0.005,
#:   int4 0.766 / 0.99558 / 0.258 / 0.149.
#: - "all but token_embedding" (``filters`` leaving the embedding matrix and so the output
#:   projection in float32): int8 0.977 / 0.99999 / 0.020 / 0.005, int4 0.906 / 0.9973 /
#:   0.185 / 0.060.
DRIFT_BOUNDS = {
    ("int8", "all"): (0.95, 0.9999, 0.05, 0.02),
    ("int4", "all"): (0.70, 0.99, 0.4, 0.25),
    ("int8", "all but token_embedding"): (0.95, 0.9999, 0.05, 0.02),
    ("int4", "all but token_embedding"): (0.85, 0.995, 0.4, 0.1),
}
QUANTIZED = {"all": None, "all but token_embedding": lambda layer: layer.name != "token_embedding"}


@pytest.mark.parametrize("quantized", list(QUANTIZED))
@pytest.mark.parametrize("mode", MODES)
def test_quantization_drift(mode, quantized):
    """What quantizing costs a masked LM, against its float32 self.

    The model is BERT-shaped (2 layers, hidden 64, vocabulary 97) with NumPy-drawn weights and
    inputs, so every backend computes the same numbers; all 128 positions of 8 sequences are
    predicted. A random model's logits are close together (median top-1 margin 0.095, logit
    std 0.43), so top-1 agreement is a harsh measure here: int4 flips 23% of positions when
    the tied output projection is quantized too, 9% when it stays in float32. The test
    asserts, beyond agreement and the least cosine of the backbone's token features, that the
    logits move little and that only close calls flip. Each bound leaves room for rounding
    differences between backends' kernels (about twice the measured drift where that still
    means something, ``DRIFT_BOUNDS``), so a real loss of precision, such as a scale left
    out, fails.
    """
    family = families.family("bert")
    backbone = families.tiny_backbone(family, hidden_dim=64, intermediate_dim=128, num_heads=4)
    masked_lm = family.tasks["masked_lm"](backbone)
    set_weights_from_numpy(masked_lm)
    rng = np.random.default_rng(1)
    backbone_x = {
        "token_ids": rng.integers(5, 97, (8, 16)).astype("int32"),
        "segment_ids": np.zeros((8, 16), "int32"),
        "padding_mask": np.ones((8, 16), bool),
    }
    x = {**backbone_x, "mask_positions": np.tile(np.arange(16, dtype="int32"), (8, 1))}
    reference_logits = to_numpy(masked_lm(x))
    reference_features = sequence_output(backbone, backbone_x)
    masked_lm.quantize(mode, filters=QUANTIZED[quantized])
    logits = to_numpy(masked_lm(x))
    features = sequence_output(backbone, backbone_x)
    flipped = logits.argmax(-1) != reference_logits.argmax(-1)
    top_two = np.sort(reference_logits, -1)[..., -2:]
    margins = top_two[..., 1] - top_two[..., 0]
    a = features.reshape(-1, features.shape[-1])
    b = reference_features.reshape(-1, features.shape[-1])
    cosine = float(
        np.min(np.sum(a * b, -1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1))
    )
    agreement = 1.0 - float(flipped.mean())
    change = float(np.abs(logits - reference_logits).max())
    flipped_margin = float(margins[flipped].max()) if flipped.any() else 0.0
    print(
        f"{mode}, {quantized}: top-1 agreement {agreement:.3f}, least token cosine {cosine:.5f}, "
        f"largest logit change {change:.3f}, largest margin flipped {flipped_margin:.3f}"
    )
    least_agreement, least_cosine, most_change, most_flipped_margin = DRIFT_BOUNDS[mode, quantized]
    assert agreement >= least_agreement
    assert cosine >= least_cosine
    assert change <= most_change
    assert flipped_margin <= most_flipped_margin
