"""The Keras internals textbones relies on (``textbones.keras_internals``) are there and behave
as expected on the installed Keras, and every fallback gives the same result without them."""

import warnings

import h5py
import keras
import numpy as np
import pytest

import textbones
from textbones import keras_internals
from textbones.models import Backbone, FNetBackbone


@pytest.fixture
def without(monkeypatch):
    """Make one of Keras' internal modules absent for ``keras_internals``, as a Keras that
    moved it would."""

    def remove(name: str) -> None:
        monkeypatch.setattr(keras_internals, name, None)
        keras_internals.deferred_loading_available.cache_clear()

    yield remove
    keras_internals.deferred_loading_available.cache_clear()


def _values(model) -> dict[str, np.ndarray]:
    return {variable.path: keras.ops.convert_to_numpy(variable) for variable in model.weights}


def _assert_same_values(loaded, expected) -> None:
    ours, theirs = _values(loaded), _values(expected)
    assert sorted(ours) == sorted(theirs)
    for path, value in theirs.items():
        np.testing.assert_array_equal(ours[path], value, err_msg=path)


# -- the internals, pinned on the installed Keras ----------------------------------------------


def test_deferred_variables_have_no_value_an_initializer_and_are_listed_as_pending():
    from keras.src.backend.common import global_state

    assert keras_internals.deferred_loading_available() is True
    with keras.StatelessScope(initialize_variables=False):
        variable = keras.Variable(initializer="ones", shape=(2,))
    try:
        assert variable._value is None
        assert keras_internals.is_deferred(variable)
        assert variable in global_state.get_global_attribute("uninitialized_variables")
        variable._initializer = lambda shape, dtype: keras.ops.full(shape, 7.0, dtype)
        with keras.StatelessScope():  # closing a top-level scope initializes the pending ones
            pass
        assert keras.ops.convert_to_numpy(variable).tolist() == [7.0, 7.0]
        assert not keras_internals.is_deferred(variable)
    finally:
        keras_internals._forget([variable])


def test_abandon_takes_a_failed_loads_variables_off_the_pending_list():
    from keras.src.backend.common import global_state

    deferred = keras_internals.DeferredVariables()
    model = deferred.build(lambda: FNetBackbone(50, 1, 8, 16))
    pending = global_state.get_global_attribute("uninitialized_variables")
    assert {id(v) for v in model.variables} <= {id(v) for v in pending}
    deferred.abandon()
    pending = global_state.get_global_attribute("uninitialized_variables") or []
    assert not {id(v) for v in model.variables} & {id(v) for v in pending}


def test_saved_variable_entries_are_the_datasets_save_weights_writes(tmp_path):
    model = FNetBackbone(50, 1, 8, 16)
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "r") as handle:
        written = set()
        handle.visititems(
            lambda name, item: written.add(name) if isinstance(item, h5py.Dataset) else None
        )
    entries = keras_internals.saved_variable_entries(model)
    assert set(entries) == written
    assert (
        entries["layers/reversible_embedding/vars/0"]
        is model.get_layer("token_embedding").embeddings
    )


def test_saved_variable_entries_leave_out_the_objects_skipped():
    model = FNetBackbone(50, 1, 8, 16)
    skipped = model.get_layer("token_embedding")
    entries = keras_internals.saved_variable_entries(model, [skipped])
    assert "layers/reversible_embedding/vars/0" not in entries
    assert len(entries) == len(keras_internals.saved_variable_entries(model)) - 1


@keras.saving.register_keras_serializable(package="textbones_test")
class _SafeModeProbe(keras.layers.Layer):
    seen: list = []

    @classmethod
    def from_config(cls, config):
        cls.seen.append(keras_internals.in_safe_mode())
        return cls(**config)


def test_in_safe_mode_is_true_while_keras_deserializes_in_safe_mode():
    _SafeModeProbe.seen.clear()
    config = keras.saving.serialize_keras_object(_SafeModeProbe())
    keras.saving.deserialize_keras_object(config, safe_mode=True)
    keras.saving.deserialize_keras_object(config, safe_mode=False)
    assert _SafeModeProbe.seen == [True, False]
    assert keras_internals.in_safe_mode() is False


def test_convert_for_variable_casts_as_assign_does():
    variable = keras.Variable(np.zeros(2, "float32"), dtype="bfloat16")
    value = keras_internals.convert_for_variable(variable, np.array([1.5, 2.0], "float64"))
    assert keras.backend.standardize_dtype(value.dtype) == "bfloat16"


class _CountedBatches(keras.utils.PyDataset):
    """Four batches of a regression; records which it is asked for."""

    def __init__(self):
        super().__init__(workers=2)
        self.reads = []

    def __len__(self):
        return 4

    def __getitem__(self, index):
        self.reads.append(index)
        rng = np.random.default_rng(index)
        return rng.normal(size=(2, 3)).astype("float32"), np.zeros((2, 1), "float32")


def _compiled_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


def test_fit_builds_from_a_batch_of_its_data_unless_built_for_training_first():
    if keras.backend.backend() == "tensorflow":
        # Keras builds when it traces the step (no distribution strategy): nothing to do.
        assert keras_internals.build_for_training(_compiled_model(), lambda: 1 / 0) is False
        return
    # Pinned: an unbuilt model's first fit takes a batch, and what its workers prefetched
    # meanwhile is served in the epoch: more reads than the epoch holds.
    data = _CountedBatches()
    _compiled_model().fit(data, epochs=1, verbose=0)
    assert len(data.reads) > 4
    model, data = _compiled_model(), _CountedBatches()
    batch = data[0]
    data.reads.clear()
    assert keras_internals.build_for_training(model, lambda: batch) is True
    model.fit(data, epochs=2, verbose=0)
    assert sorted(data.reads) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert keras_internals.build_for_training(model, lambda: 1 / 0) is False


# -- the fallbacks ---------------------------------------------------------------------------


def test_without_deferred_variables_a_keras_preset_loads_to_the_same_values(tmp_path, without):
    original = FNetBackbone(50, 2, 8, 16)
    original.save_to_preset(tmp_path)
    expected = Backbone.from_preset(tmp_path)
    without("_global_state")
    assert keras_internals.deferred_loading_available() is False
    deferred = keras_internals.DeferredVariables()
    built = deferred.build(lambda: FNetBackbone(50, 2, 8, 16))
    assert not any(keras_internals.is_deferred(v) for v in built.variables)  # built normally
    _assert_same_values(Backbone.from_preset(tmp_path), expected)
    _assert_same_values(expected, original)


def test_without_deferred_variables_a_transformers_checkpoint_loads_to_the_same_values(
    tmp_path, without
):
    original = textbones.models.BertBackbone(60, 2, 2, 8, 16, max_sequence_length=32)
    original.save_to_preset(tmp_path, format="transformers")
    expected = Backbone.from_preset(tmp_path)
    without("_global_state")
    loaded = Backbone.from_preset(tmp_path)
    _assert_same_values(loaded, expected)
    _assert_same_values(loaded, original)


def test_without_the_saving_walk_keras_load_weights_reads_the_file(tmp_path, without):
    original = FNetBackbone(50, 2, 8, 16)
    original.save_to_preset(tmp_path)
    without("_saving_lib")
    assert keras_internals.saved_variable_entries(original) is None
    _assert_same_values(Backbone.from_preset(tmp_path), original)
    task = textbones.models.FNetTextClassifier(original, num_classes=3, preprocessor=None)
    task.save_to_preset(tmp_path / "task")
    reloaded = textbones.models.TextClassifier.from_preset(tmp_path / "task", preprocessor=None)
    _assert_same_values(reloaded, task)


def test_without_safe_mode_internals_nothing_counts_as_safe_mode_and_a_warning_says_so(without):
    without("_serialization_lib")
    keras_internals._warn_safe_mode_unknown.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="does not say whether it deserializes in safe"):
            assert keras_internals.in_safe_mode() is False
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # warned once only
            assert keras_internals.in_safe_mode() is False
    finally:
        keras_internals._warn_safe_mode_unknown.cache_clear()


def test_without_the_training_build_fit_builds_as_before(monkeypatch):
    model = _compiled_model()
    for name in ("_maybe_symbolic_build", "_symbolic_build"):
        monkeypatch.setattr(type(model), name, None, raising=False)
    assert keras_internals.build_for_training(model, lambda: 1 / 0) is False
    monkeypatch.undo()
    history = model.fit(_CountedBatches(), epochs=1, verbose=0)
    assert set(history.history) == {"loss", "mae"} and model.built


@pytest.mark.parametrize("kind", ["dense", "einsum_dense", "embedding"])
def test_fold_lora_leaves_a_plain_layer_computing_the_merged_weight(kind):
    if kind == "dense":
        layer, inputs = keras.layers.Dense(3), np.ones((2, 4), "float32")
    elif kind == "einsum_dense":
        layer = keras.layers.EinsumDense("ab,bcd->acd", output_shape=(2, 3), bias_axes="cd")
        inputs = np.ones((2, 4), "float32")
    else:
        layer, inputs = keras.layers.Embedding(5, 3), np.array([[0, 4, 2]])
    layer(inputs)
    layer.enable_lora(2, lora_alpha=3.0, b_initializer="ones")
    a, b = keras_internals.lora_adapters(layer)
    assert a.trainable and b.trainable
    expected = keras.ops.convert_to_numpy(layer(inputs))
    count = len(layer.weights)
    keras_internals.fold_lora(layer)
    assert keras_internals.lora_adapters(layer) is None
    assert not layer.lora_enabled and len(layer.weights) == count - 2
    assert all(weight.trainable for weight in layer.weights)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(inputs)), expected, atol=1e-6)
    with pytest.raises(TypeError, match=r"has no LoRA adapters Keras' way"):
        keras_internals.fold_lora(layer)


def test_weighted_sublayers_lists_layers_with_weights_depth_first():
    backbone = FNetBackbone(50, 1, 8, 16)
    names = [layer.name for layer in keras_internals.weighted_sublayers(backbone)]
    assert names[:2] == ["token_embedding", "position_embedding"]
    assert "intermediate_dense" in names and "output_dropout" not in names
    assert backbone not in keras_internals.weighted_sublayers(backbone)


def test_merged_lora_weights_give_what_lora_layers_compute_with():
    backbone = textbones.models.BertBackbone(50, 1, 2, 8, 16)
    backbone.enable_lora(2)
    for weight in backbone.trainable_weights:
        if "lora_kernel_b" in weight.path:
            weight.assign(np.ones(tuple(weight.shape), "float32"))
    merged = keras_internals.merged_lora_weights(backbone)
    query = backbone.get_layer("transformer_layer_0")._self_attention_layer.query_dense
    assert sorted(merged) == [
        "transformer_layer_0/self_attention_layer/query/kernel",
        "transformer_layer_0/self_attention_layer/value/kernel",
    ]
    expected = keras.ops.convert_to_numpy(query.kernel)  # Keras' merged property
    frozen = keras.ops.convert_to_numpy(query._kernel)
    value = keras.ops.convert_to_numpy(merged[query._kernel.path]())
    np.testing.assert_array_equal(value, expected)
    assert np.abs(value - frozen).max() > 0


def test_a_rebuilt_int4_reversible_embedding_projects_weight_only_as_when_quantized():
    from textbones.layers import ReversibleEmbedding

    fresh = ReversibleEmbedding(30, 8)
    fresh.build()
    fresh.quantize("int4")
    rebuilt = ReversibleEmbedding(30, 8, dtype=fresh.dtype_policy)
    rebuilt.build()
    assert fresh.inputs_quantizer is None and rebuilt.inputs_quantizer is None
