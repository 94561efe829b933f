"""LoRA on every backbone: which layers it adapts, what it trains, adapter files, merging,
presets and ``.keras`` files of adapted models, bad input, and a classifier that learns
while training under 2% of its parameters.

Crossing adapter files with KerasHub is in ``tests/parity/test_lora_parity.py``.
"""

from __future__ import annotations

import random

import h5py
import keras
import numpy as np
import pytest

from tests.conftest import to_numpy
from tests.helpers import families
from tests.models.test_task_learning import (
    adam,
    classifier_tokenizer,
    tiny_bert,
    topic_sentences,
    unseen,
)
from textbones.presets.lora_file import LoraFileError

FAMILIES = families.family_params()
RANK = 2
#: The layer names each family adapts by default.
DEFAULT_TARGETS = {
    "bert": {"query", "value"},
    "albert": {"query", "value"},
    "distil_bert": {"query", "value"},
    "f_net": {"intermediate_dense", "output_dense"},
}


def outputs(backbone, inputs) -> dict[str, np.ndarray]:
    result = backbone(inputs)
    result = result if isinstance(result, dict) else {"sequence_output": result}
    return {name: to_numpy(value) for name, value in result.items()}


def randomize_adapters(backbone, seed: int = 1) -> None:
    """Give every adapter random values (``B`` starts at zero: it would change nothing)."""
    rng = np.random.default_rng(seed)
    for weight in backbone.trainable_weights:
        if "lora_" in weight.path:
            weight.assign(rng.normal(0.0, 0.3, tuple(weight.shape)).astype("float32"))


def adapted(family, lora_alpha=None, seed: int = 0):
    backbone = families.tiny_backbone(family, seed=seed)
    backbone.enable_lora(RANK, lora_alpha=lora_alpha)
    randomize_adapters(backbone)
    return backbone


@pytest.mark.parametrize("family", FAMILIES)
def test_enable_lora_adapts_the_default_layers_and_freezes_the_rest(family):
    backbone = families.tiny_backbone(family)
    inputs = families.backbone_inputs(family)
    before = outputs(backbone, inputs)
    frozen = {weight.path: to_numpy(weight) for weight in backbone.weights}
    backbone.enable_lora(RANK)
    names = backbone.lora_layer_names()
    assert {name.split("/")[-1] for name in names} == DEFAULT_TARGETS[family.name]
    blocks = {name.split("/")[0] for name in names}
    assert len(names) == 2 * len(blocks) and len(blocks) >= 1
    assert backbone.lora_rank == RANK
    trainable = {weight.path for weight in backbone.trainable_weights}
    expected = {f"{name}/{kind}" for name in names for kind in ("lora_kernel_a", "lora_kernel_b")}
    expected |= {f"{name}/bias" for name in names}
    assert trainable == expected
    # B starts at zero: the adapted backbone computes exactly what it did.
    after = outputs(backbone, inputs)
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])
    for weight in backbone.weights:
        if "lora_" not in weight.path:
            np.testing.assert_array_equal(to_numpy(weight), frozen[weight.path])


def test_lora_alpha_scales_the_update():
    family = families.family("bert")
    backbone = adapted(family, lora_alpha=6.0)
    layer = backbone.transformer_layers[0]._self_attention_layer.query_dense
    a, b = to_numpy(layer.lora_kernel_a), to_numpy(layer.lora_kernel_b)
    frozen = to_numpy(layer._kernel)
    expected = frozen + (6.0 / RANK) * np.tensordot(a, b, axes=1)
    np.testing.assert_allclose(to_numpy(layer.kernel), expected, rtol=0, atol=1e-6)


def test_enable_lora_is_reproducible_under_a_seed():
    family = families.family("bert")
    first, second = (families.tiny_backbone(family) for _ in range(2))
    for backbone in (first, second):
        keras.utils.set_random_seed(5)
        backbone.enable_lora(RANK)
    for one, two in zip(first.trainable_weights, second.trainable_weights):
        np.testing.assert_array_equal(to_numpy(one), to_numpy(two))


@pytest.mark.parametrize("family", FAMILIES)
def test_adapter_file_round_trip(family, tmp_path):
    backbone = adapted(family, lora_alpha=4.0)
    inputs = families.backbone_inputs(family)
    expected = outputs(backbone, inputs)
    path = tmp_path / "adapters.lora.h5"
    backbone.save_lora_weights(path)
    fresh = families.tiny_backbone(family)  # same seed: the same frozen weights
    fresh.load_lora_weights(path)
    assert fresh.lora_layer_names() == backbone.lora_layer_names()
    assert fresh.lora_rank == RANK
    got = outputs(fresh, inputs)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=1e-6)
    # Into a backbone with LoRA enabled already, with another lora_alpha: the file's update.
    other = families.tiny_backbone(family)
    other.enable_lora(RANK, lora_alpha=1.0)
    other.load_lora_weights(path)
    got = outputs(other, inputs)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=1e-6)


def test_adapter_file_layout_is_keras_hubs(tmp_path):
    backbone = adapted(families.family("bert"), lora_alpha=4.0)
    path = tmp_path / "adapters.lora.h5"
    backbone.save_lora_weights(path)
    with h5py.File(path, "r") as file:
        assert int(file["lora/vars/rank"][()]) == RANK
        assert float(file["lora/vars/lora_alpha"][()]) == 4.0
        indices = sorted(int(name) for name in file["lora"] if name != "vars")
        assert indices == sorted(backbone._lora_enabled_layers)
        layer = backbone.transformer_layers[0]._self_attention_layer.query_dense
        group = next(
            file[f"lora/{index}/vars"]
            for index in indices
            if file[f"lora/{index}/vars/lora_kernel_a"].shape == tuple(layer.lora_kernel_a.shape)
        )
        assert set(group) == {"lora_kernel_a", "lora_kernel_b"}
    # B is stored scaled by lora_alpha / rank (KerasHub computes with a scale of 1).
    with h5py.File(path, "r") as file:
        stored = {
            index: file[f"lora/{index}/vars/lora_kernel_b"][()]
            for index in sorted(backbone._lora_enabled_layers)
        }
    from textbones.keras_internals import weighted_sublayers

    layers = weighted_sublayers(backbone)
    for index, value in stored.items():
        np.testing.assert_allclose(value, 2.0 * to_numpy(layers[index].lora_kernel_b), rtol=1e-7)


@pytest.mark.parametrize("family", FAMILIES)
def test_merge_lora_folds_the_adapters(family, tmp_path):
    backbone = adapted(family)
    inputs = families.backbone_inputs(family)
    expected = outputs(backbone, inputs)
    count = backbone.count_params()
    adapters = sum(int(np.prod(w.shape)) for w in backbone.weights if "lora_" in w.path)
    backbone.merge_lora()
    assert backbone.lora_rank is None and backbone.lora_layer_names() == []
    assert not [weight.path for weight in backbone.weights if "lora_" in weight.path]
    assert adapters > 0 and backbone.count_params() == count - adapters
    assert len(backbone.trainable_weights) == len(backbone.weights)
    got = outputs(backbone, inputs)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=1e-6)
    # A merged backbone saves and loads as a plain one.
    backbone.save_to_preset(tmp_path / "merged")
    loaded = type(backbone).from_preset(tmp_path / "merged")
    got = outputs(loaded, inputs)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=1e-6)
    # LoRA can be enabled again after a merge.
    backbone.enable_lora(RANK)
    assert backbone.lora_rank == RANK


def test_merge_lora_restores_what_was_frozen_before():
    backbone = families.tiny_backbone(families.family("bert"))
    backbone.token_embedding.trainable = False
    trainable = [weight.path for weight in backbone.trainable_weights]
    backbone.enable_lora(RANK)
    backbone.merge_lora()
    assert [weight.path for weight in backbone.trainable_weights] == trainable
    assert "token_embedding/embeddings" not in trainable


@pytest.mark.parametrize("family", FAMILIES)
def test_adapted_backbone_saves_merged_kernels(family, tmp_path):
    """A preset or ``.keras`` file of a backbone with LoRA enabled holds the merged kernels:
    it loads as a plain backbone computing the same outputs."""
    backbone = adapted(family)
    inputs = families.backbone_inputs(family)
    expected = outputs(backbone, inputs)
    backbone.save_to_preset(tmp_path / "preset")
    from_preset = type(backbone).from_preset(tmp_path / "preset")
    backbone.save(tmp_path / "model.keras")
    from_file = keras.saving.load_model(tmp_path / "model.keras")
    for loaded in (from_preset, from_file):
        assert loaded.lora_rank is None
        got = outputs(loaded, inputs)
        for key in expected:
            np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=1e-6)


def test_lora_on_a_task_keeps_its_head_training():
    family = families.family("bert")
    tokenizer = classifier_tokenizer(family)
    preprocessor = family.preprocessors["classifier"](tokenizer, sequence_length=16)
    classifier = family.tasks["classifier"](
        tiny_bert(tokenizer.vocabulary_size(), num_layers=1, hidden_dim=16, family=family),
        num_classes=2,
        preprocessor=preprocessor,
    )
    classifier.backbone.enable_lora(RANK)
    trainable = {weight.path for weight in classifier.trainable_weights}
    head = {weight.path for layer in [classifier.output_dense] for weight in layer.weights}
    assert head <= trainable
    assert not any("feedforward" in path or "embedding" in path for path in trainable)
    frozen = {w.path: to_numpy(w) for w in classifier.weights if w.path not in trainable}
    start = {w.path: to_numpy(w) for w in classifier.trainable_weights}
    x, y = topic_sentences(random.Random(0), 32)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-2))
    classifier.fit(x, y, batch_size=16, epochs=1, verbose=0)
    for weight in classifier.weights:
        if weight.path in frozen:
            np.testing.assert_array_equal(to_numpy(weight), frozen[weight.path])
    moved = {w.path for w in classifier.trainable_weights if np.any(to_numpy(w) != start[w.path])}
    assert head <= moved
    assert any("lora_kernel_b" in path for path in moved)


def test_lora_classifier_learns_while_training_under_two_percent():
    family = families.family("bert")
    tokenizer = classifier_tokenizer(family)
    preprocessor = family.preprocessors["classifier"](tokenizer, sequence_length=16)
    keras.utils.set_random_seed(0)
    backbone = tiny_bert(tokenizer.vocabulary_size(), num_layers=2, hidden_dim=128, family=family)
    classifier = family.tasks["classifier"](
        backbone, num_classes=2, preprocessor=preprocessor, dropout=0.0
    )
    # Keras factors an attention projection's kernel [hidden, heads, head_dim] over its last
    # axis: A is [hidden, heads, rank], so the rank is kept at 2 for the 2% bound.
    backbone.enable_lora(2)
    trained = sum(int(np.prod(w.shape)) for w in classifier.trainable_weights)
    total = classifier.count_params()
    share = trained / total
    train, train_labels = topic_sentences(random.Random(2), 320)
    held_out, held_out_labels = unseen(*topic_sentences(random.Random(3), 200), train)
    epochs = 12
    classifier.compile(optimizer=adam(2e-2, epochs * 10))
    classifier.fit(train, train_labels, batch_size=32, epochs=epochs, verbose=0)
    predicted = np.argmax(classifier.predict(held_out, batch_size=256, verbose=0), axis=-1)
    accuracy = float((predicted == held_out_labels).mean())
    print(
        f"LoRA rank 2: {trained:,} of {total:,} parameters trained ({share:.2%}); "
        f"held-out accuracy {accuracy:.3f}"
    )
    assert share <= 0.02
    assert accuracy >= 0.95


# Bad input ------------------------------------------------------------------------


@pytest.mark.parametrize("rank", [0, -1, True, 2.5, "4", None])
def test_bad_rank(rank):
    backbone = families.tiny_backbone(families.family("bert"))
    with pytest.raises(ValueError, match=r"`rank` must be an integer >= 1, got"):
        backbone.enable_lora(rank)
    assert backbone.lora_rank is None
    assert len(backbone.trainable_weights) == len(backbone.weights)


@pytest.mark.parametrize("alpha", [0, -2.0, float("nan"), "8", True])
def test_bad_lora_alpha(alpha):
    backbone = families.tiny_backbone(families.family("bert"))
    with pytest.raises(ValueError, match=r"`lora_alpha` must be a positive number"):
        backbone.enable_lora(RANK, lora_alpha=alpha)


def test_bad_target_layer_names():
    backbone = families.tiny_backbone(families.family("bert"))
    with pytest.raises(TypeError, match=r"must be a list of layer names, got the string 'query'"):
        backbone.enable_lora(RANK, target_layer_names="query")
    with pytest.raises(ValueError, match=r"no layer named 'qeury'\. Layers that support LoRA: "):
        backbone.enable_lora(RANK, target_layer_names=["qeury"])
    with pytest.raises(ValueError, match=r"'embeddings_layer_norm' \(LayerNormalization\) does"):
        backbone.enable_lora(RANK, target_layer_names=["embeddings_layer_norm"])
    assert backbone.lora_rank is None
    assert len(backbone.trainable_weights) == len(backbone.weights)


def test_enabling_twice_and_acting_without_lora():
    backbone = families.tiny_backbone(families.family("bert"))
    for action in (backbone.merge_lora, lambda: backbone.save_lora_weights("x.lora.h5")):
        with pytest.raises(ValueError, match=r"LoRA is not enabled on this BertBackbone"):
            action()
    backbone.enable_lora(RANK)
    with pytest.raises(ValueError, match=r"already enabled on this BertBackbone \(rank 2, 4 "):
        backbone.enable_lora(RANK)


def test_adapter_files_that_do_not_fit(tmp_path):
    family = families.family("bert")
    path = tmp_path / "adapters.lora.h5"
    adapted(family).save_lora_weights(path)
    other_rank = families.tiny_backbone(family)
    other_rank.enable_lora(RANK + 1)
    with pytest.raises(ValueError, match=r"adapters of rank 2, but LoRA is enabled here with rank"):
        other_rank.load_lora_weights(path)
    other_layers = families.tiny_backbone(family)
    other_layers.enable_lora(RANK, target_layer_names=["query"])
    with pytest.raises(ValueError, match=r"but LoRA is enabled here on"):
        other_layers.load_lora_weights(path)
    wider = families.tiny_backbone(family, hidden_dim=32, intermediate_dim=64)
    with pytest.raises(ValueError, match=r"saved from a backbone of another size"):
        wider.load_lora_weights(path)
    assert wider.lora_rank is None  # nothing changed
    deeper = families.tiny_backbone(family, num_layers=1)
    with pytest.raises(ValueError, match=r"layers with weights: it was saved from another model"):
        deeper.load_lora_weights(path)


def test_adapter_file_names_and_contents(tmp_path):
    backbone = adapted(families.family("bert"))
    with pytest.raises(LoraFileError, match=r"must end in '\.lora\.h5'"):
        backbone.save_lora_weights(tmp_path / "adapters.h5")
    with pytest.raises(LoraFileError, match=r"There is no LoRA adapter file at"):
        backbone.load_lora_weights(tmp_path / "missing.lora.h5")
    not_hdf5 = tmp_path / "text.lora.h5"
    not_hdf5.write_text("not HDF5")
    with pytest.raises(LoraFileError, match=r"cannot be read: it is not an HDF5 file"):
        backbone.load_lora_weights(not_hdf5)
    weights = tmp_path / "weights.lora.h5"
    backbone.save_weights(tmp_path / "model.weights.h5")
    (tmp_path / "model.weights.h5").rename(weights)
    with pytest.raises(LoraFileError, match=r"is not a LoRA adapter file \(it has no lora/vars"):
        backbone.load_lora_weights(weights)
    with pytest.raises(LoraFileError, match=r"cannot be read safely: 'lora/0/vars/lora_kernel_a"):
        linked = tmp_path / "linked.lora.h5"
        with h5py.File(tmp_path / "outside.h5", "w") as outside:
            outside["data"] = np.zeros((2, 2), "float32")
        with h5py.File(linked, "w") as file:
            file["lora/vars/rank"] = np.int64(2)
            file["lora/0/vars/lora_kernel_a"] = h5py.ExternalLink(
                str(tmp_path / "outside.h5"), "/data"
            )
        backbone.load_lora_weights(linked)


def test_save_never_replaces_another_file_and_keeps_the_old_one_on_failure(tmp_path, monkeypatch):
    backbone = adapted(families.family("bert"))
    other = tmp_path / "notes.lora.h5"
    other.write_text("my notes")
    with pytest.raises(LoraFileError, match=r"exists and is not a LoRA adapter file: it is left"):
        backbone.save_lora_weights(other)
    assert other.read_text() == "my notes"
    path = tmp_path / "adapters.lora.h5"
    backbone.save_lora_weights(path)
    first = path.read_bytes()
    randomize_adapters(backbone, seed=9)
    backbone.save_lora_weights(path)  # an adapter file is replaced
    assert path.read_bytes() != first
    second = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    import textbones.presets.lora_file as lora_file

    monkeypatch.setattr(lora_file.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        backbone.save_lora_weights(path)
    assert path.read_bytes() == second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapters.lora.h5", "notes.lora.h5"]
    with pytest.raises(LoraFileError, match=r"The folder of .* does not exist"):
        backbone.save_lora_weights(tmp_path / "missing" / "adapters.lora.h5")
