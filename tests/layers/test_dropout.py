"""The Dropout layer: rate, scaling, reproducibility and independence of its masks."""

import keras
import numpy as np
import pytest

from tests.conftest import to_numpy
from textbones.layers.dropout import Dropout, hashed_keep_mask

SHAPE = (64, 128, 32)  # 262,144 entries: the kept share is within 0.3% of its mean


def dropped(layer, x):
    return to_numpy(layer(x, training=True))


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_rate_and_scaling(rate):
    x = np.random.default_rng(0).uniform(1.0, 2.0, SHAPE).astype("float32")
    out = dropped(Dropout(rate, seed=3), x)
    kept = out != 0
    assert abs(kept.mean() - (1 - rate)) < 0.004
    np.testing.assert_allclose(out[kept], x[kept] / (1 - rate), rtol=1e-6)


def test_identity_outside_training_and_at_rate_zero():
    x = np.random.default_rng(1).normal(size=(4, 8)).astype("float32")
    np.testing.assert_array_equal(to_numpy(Dropout(0.5)(x)), x)
    np.testing.assert_array_equal(to_numpy(Dropout(0.5)(x, training=False)), x)
    np.testing.assert_array_equal(dropped(Dropout(0.0), x), x)


def test_rate_one_drops_everything():
    assert not dropped(Dropout(1.0), np.ones((3, 5), "float32")).any()


def test_reproducible_under_set_random_seed_and_fresh_at_every_call():
    x = np.ones(SHAPE, "float32")

    def two_calls():
        keras.utils.set_random_seed(7)
        layer = Dropout(0.3)
        return dropped(layer, x), dropped(layer, x)

    first, second = two_calls()
    again_first, again_second = two_calls()
    np.testing.assert_array_equal(first, again_first)
    np.testing.assert_array_equal(second, again_second)
    # Consecutive masks agree as often as two independent ones would: 0.7² + 0.3².
    assert abs(((first != 0) == (second != 0)).mean() - 0.58) < 0.005


def test_layers_seeded_apart_draw_different_masks():
    x = np.ones(SHAPE, "float32")
    keras.utils.set_random_seed(0)
    a, b = Dropout(0.5), Dropout(0.5)
    assert abs(((dropped(a, x) != 0) == (dropped(b, x) != 0)).mean() - 0.5) < 0.005


def test_noise_shape_is_honoured():
    out = dropped(Dropout(0.5, noise_shape=(1, 16), seed=2), np.ones((32, 16), "float32"))
    assert (out == out[:1]).all()


def test_config_round_trip():
    layer = Dropout(0.25, seed=5, name="drop")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(clone) is Dropout and clone.get_config() == layer.get_config()


def test_neighbouring_entries_calls_and_seeds_are_uncorrelated():
    ones = np.ones((512, 512), "float32")
    layer = Dropout(0.5, seed=11)
    mask = (dropped(layer, ones) != 0).astype("float64").ravel()
    for shift in (1, 2, 512):
        assert abs(np.corrcoef(mask[:-shift], mask[shift:])[0, 1]) < 0.01
    next_call = dropped(layer, ones)
    other_seed = dropped(Dropout(0.5, seed=12), ones)
    for other in (next_call, other_seed):
        assert abs(np.corrcoef(mask, (other != 0).astype("float64").ravel())[0, 1]) < 0.01


def test_the_hashed_mask_is_the_jax_path_and_compiles_with_a_traced_seed(monkeypatch):
    import textbones.layers.dropout as dropout_module

    calls = []

    def spy(shape, rate, seed):
        calls.append(shape)
        return hashed_keep_mask(shape, rate, seed)

    monkeypatch.setattr(dropout_module, "hashed_keep_mask", spy)
    dropped(Dropout(0.5, seed=1), np.ones((8, 4), "float32"))
    # JAX draws its masks from the hash; the other backends use keras.random.dropout.
    assert calls == ([(8, 4)] if keras.backend.backend() == "jax" else [])
    if keras.backend.backend() == "jax":
        import jax

        masks = jax.jit(lambda seed: hashed_keep_mask((100, 100), 0.2, seed))
        first = to_numpy(masks(np.array([1, 2], "uint32")))
        np.testing.assert_array_equal(
            first, to_numpy(hashed_keep_mask((100, 100), 0.2, np.array([1, 2])))
        )
        assert abs(first.mean() - 0.8) < 0.02
