"""The reusable layers: values against NumPy, config round trips, bad arguments."""

import keras
import numpy as np
import pytest

from tests.conftest import to_numpy
from tests.helpers.numpy_reference import f_net_block, gelu_tanh, transformer_block
from textbones.layers import (
    FNetEncoder,
    PositionEmbedding,
    ReversibleEmbedding,
    SelfAttention,
    TransformerEncoder,
    gelu_approximate,
)
from textbones.layers.activations import get_activation, serialize_activation

RNG = np.random.default_rng(0)


def rebuild(layer, sample):
    """A layer made from ``layer.get_config()``, built, holding ``layer``'s weights."""
    layer(sample)
    clone = type(layer).from_config(layer.get_config())
    clone(sample)
    for target, source in zip(clone.weights, layer.weights, strict=True):
        target.assign(source.numpy())
    return clone


def test_gelu_approximate_values_and_serialization():
    x = np.linspace(-4, 4, 17).astype("float32")
    np.testing.assert_allclose(
        to_numpy(gelu_approximate(x)), gelu_tanh(x.astype("float64")), atol=1e-6
    )
    assert serialize_activation(get_activation("gelu_approximate")) == "gelu_approximate"
    assert (
        keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(gelu_approximate))
        is gelu_approximate
    )


class TestReversibleEmbedding:
    def test_forward_and_reverse(self):
        layer = ReversibleEmbedding(input_dim=11, output_dim=4)
        ids = np.array([[0, 3, 10]])
        vectors = to_numpy(layer(ids))
        table = layer.embeddings.numpy()
        np.testing.assert_array_equal(vectors, table[ids])
        hidden = RNG.normal(size=(2, 4)).astype("float32")
        np.testing.assert_allclose(
            to_numpy(layer(hidden, reverse=True)), hidden @ table.T, atol=1e-6
        )

    def test_config_round_trip(self):
        layer = ReversibleEmbedding(input_dim=11, output_dim=4, name="tokens")
        clone = rebuild(layer, np.array([[1]]))
        assert clone.get_config() == layer.get_config()
        np.testing.assert_array_equal(
            to_numpy(clone(np.array([[5, 6]]))), to_numpy(layer(np.array([[5, 6]])))
        )


class TestPositionEmbedding:
    def test_values_are_the_first_rows_of_the_table(self):
        layer = PositionEmbedding(sequence_length=10)
        out = to_numpy(layer(np.zeros((3, 4, 6), "float32")))
        table = layer.position_embeddings.numpy()
        assert out.shape == (3, 4, 6)
        np.testing.assert_array_equal(out[2], table[:4])
        np.testing.assert_array_equal(
            to_numpy(layer(np.zeros((1, 4, 6)), start_index=2))[0], table[2:6]
        )

    def test_too_long_input(self):
        layer = PositionEmbedding(sequence_length=4, name="positions")
        with pytest.raises(
            ValueError, match=r"5 positions .* this positions only has 4.*max_sequence_length"
        ):
            layer(np.zeros((1, 5, 2), "float32"))

    def test_bad_sequence_length(self):
        with pytest.raises(ValueError, match="positive integer"):
            PositionEmbedding(sequence_length=0)

    def test_config_round_trip(self):
        layer = PositionEmbedding(sequence_length=7, initializer="ones")
        clone = rebuild(layer, np.zeros((1, 2, 3), "float32"))
        assert clone.get_config() == layer.get_config()
        assert clone.get_config()["sequence_length"] == 7


def _mask():
    return np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], "int32")


class TestSelfAttention:
    def test_matches_numpy_and_ignores_padded_keys(self):
        layer = SelfAttention(num_heads=2, bias_initializer="random_normal")
        x = RNG.normal(size=(2, 5, 8)).astype("float32")
        out = to_numpy(layer(x, padding_mask=_mask()))
        # Changing padded positions' inputs must not change real positions' outputs.
        x2 = x.copy()
        x2[1, 3:] = 100.0
        out2 = to_numpy(layer(x2, padding_mask=_mask()))
        np.testing.assert_allclose(out2[1, :3], out[1, :3], atol=1e-5)
        q = (
            np.einsum("btc,cnh->btnh", x, layer.query_dense.kernel.numpy())
            + layer.query_dense.bias.numpy()
        )
        k = (
            np.einsum("btc,cnh->btnh", x, layer.key_dense.kernel.numpy())
            + layer.key_dense.bias.numpy()
        )
        v = (
            np.einsum("btc,cnh->btnh", x, layer.value_dense.kernel.numpy())
            + layer.value_dense.bias.numpy()
        )
        scores = np.einsum("btnh,bsnh->bnts", q, k) / 2.0 + np.where(
            _mask()[:, None, None, :], 0, -np.inf
        )
        p = np.exp(scores - scores.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        expected = np.einsum("bnts,bsnh->btnh", p, v)
        expected = (
            np.einsum("btnh,nhc->btc", expected, layer.output_dense.kernel.numpy())
            + layer.output_dense.bias.numpy()
        )
        np.testing.assert_allclose(out, expected, atol=1e-5)

    def test_explicit_path_equals_fused_path(self):
        layer = SelfAttention(num_heads=2, dropout=0.3)
        x = RNG.normal(size=(2, 5, 8)).astype("float32")
        fused = to_numpy(layer(x, padding_mask=_mask(), training=False))
        explicit, _ = layer(x, padding_mask=_mask(), training=False, return_attention_scores=True)
        np.testing.assert_allclose(to_numpy(explicit), fused, atol=1e-5)

    def test_weight_shapes_follow_keras_multi_head_attention(self):
        layer = SelfAttention(num_heads=4)
        layer(np.zeros((1, 3, 8), "float32"))
        shapes = {w.path.split("/", 1)[1]: tuple(w.shape) for w in layer.weights}
        assert shapes == {
            "query/kernel": (8, 4, 2),
            "query/bias": (4, 2),
            "key/kernel": (8, 4, 2),
            "key/bias": (4, 2),
            "value/kernel": (8, 4, 2),
            "value/bias": (4, 2),
            "attention_output/kernel": (4, 2, 8),
            "attention_output/bias": (8,),
        }

    def test_heads_must_divide_hidden(self):
        with pytest.raises(
            ValueError, match=r"hidden size \(8\) must be divisible by `num_heads` \(3\)"
        ):
            SelfAttention(num_heads=3)(np.zeros((1, 2, 8), "float32"))

    def test_config_round_trip(self):
        layer = SelfAttention(num_heads=2, dropout=0.1)
        x = RNG.normal(size=(1, 3, 8)).astype("float32")
        clone = rebuild(layer, x)
        assert clone.get_config() == layer.get_config()
        np.testing.assert_allclose(to_numpy(clone(x)), to_numpy(layer(x)), atol=1e-6)


class TestTransformerEncoder:
    def test_matches_numpy(self):
        layer = TransformerEncoder(
            intermediate_dim=16,
            num_heads=2,
            activation="gelu_approximate",
            layer_norm_epsilon=1e-12,
            bias_initializer="random_normal",
        )
        x = RNG.normal(size=(2, 5, 8)).astype("float32")
        out = to_numpy(layer(x, padding_mask=_mask()))
        np.testing.assert_allclose(
            out, transformer_block(layer, x.astype("float64"), _mask()), atol=1e-5
        )

    def test_normalize_first_changes_the_math(self):
        x = RNG.normal(size=(1, 4, 8)).astype("float32")
        post = TransformerEncoder(intermediate_dim=16, num_heads=2)
        pre = TransformerEncoder.from_config({**post.get_config(), "normalize_first": True})
        post(x)
        pre(x)
        for target, source in zip(pre.weights, post.weights, strict=True):
            target.assign(source.numpy())
        assert np.abs(to_numpy(pre(x)) - to_numpy(post(x))).max() > 1e-3

    def test_config_round_trip(self):
        layer = TransformerEncoder(
            intermediate_dim=16, num_heads=2, dropout=0.1, activation="gelu_approximate"
        )
        x = RNG.normal(size=(1, 3, 8)).astype("float32")
        clone = rebuild(layer, x)
        assert clone.get_config() == layer.get_config()
        assert clone.get_config()["activation"] == "gelu_approximate"
        np.testing.assert_allclose(to_numpy(clone(x)), to_numpy(layer(x)), atol=1e-6)


class TestFNetEncoder:
    def test_matches_numpy(self):
        layer = FNetEncoder(
            intermediate_dim=16,
            activation="gelu_approximate",
            layer_norm_epsilon=1e-12,
            bias_initializer="random_normal",
        )
        x = RNG.normal(size=(2, 5, 8)).astype("float32")
        np.testing.assert_allclose(
            to_numpy(layer(x)), f_net_block(layer, x.astype("float64")), atol=1e-4
        )

    def test_mixing_stays_float32_under_bfloat16(self):
        layer = FNetEncoder(intermediate_dim=16, dtype="mixed_bfloat16")
        out = layer(RNG.normal(size=(1, 4, 8)).astype("float32"))
        assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
        assert np.isfinite(to_numpy(keras.ops.cast(out, "float32"))).all()

    def test_config_round_trip(self):
        layer = FNetEncoder(intermediate_dim=16, dropout=0.1)
        x = RNG.normal(size=(1, 3, 8)).astype("float32")
        clone = rebuild(layer, x)
        assert clone.get_config() == layer.get_config()
        np.testing.assert_allclose(to_numpy(clone(x)), to_numpy(layer(x)), atol=1e-6)
