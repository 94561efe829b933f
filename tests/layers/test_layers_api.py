"""KerasHub's layer API: TokenAndPositionEmbedding, PositionEmbedding(positions=),
ReversibleEmbedding(tie_weights=, reverse_dtype=, logit_soft_cap=), attention scores and
masks of TransformerEncoder, and compiled predict/evaluate under ``mixed_float16``."""

import keras
import numpy as np
import pytest

from tests.conftest import make_inputs, make_tiny_backbone, to_numpy
from textbones.layers import (
    FNetEncoder,
    PositionEmbedding,
    ReversibleEmbedding,
    SelfAttention,
    TokenAndPositionEmbedding,
    TransformerEncoder,
)
from textbones.layers.self_attention import attention_core_dtype

RNG = np.random.default_rng(3)


def perturb(layer, seed=0):
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        value = to_numpy(variable)
        variable.assign(value + rng.normal(0.0, 0.3, value.shape).astype(value.dtype))


def save_and_load(model, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    return keras.models.load_model(path)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def attention_probabilities(layer: SelfAttention, x, mask):
    """NumPy attention probabilities [b, heads, T, S] of ``layer`` where ``mask`` [b, T, S]."""
    q = np.einsum("btc,cnh->btnh", x, to_numpy(layer.query_dense.kernel)) + to_numpy(
        layer.query_dense.bias
    )
    k = np.einsum("btc,cnh->btnh", x, to_numpy(layer.key_dense.kernel)) + to_numpy(
        layer.key_dense.bias
    )
    scores = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(q.shape[-1])
    return softmax(np.where(mask[:, None], scores, -1e9))


MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], "int32")


class TestReversibleEmbedding:
    def test_untied_reverse_uses_its_own_kernel(self):
        layer = ReversibleEmbedding(input_dim=11, output_dim=4, tie_weights=False, name="tokens")
        layer.build()
        perturb(layer)
        assert [(w.path, tuple(w.shape)) for w in layer.weights] == [
            ("tokens/embeddings", (11, 4)),
            ("tokens/reverse_embeddings", (4, 11)),
        ]
        hidden = RNG.normal(size=(2, 3, 4)).astype("float32")
        expected = hidden @ to_numpy(layer.reverse_embeddings)
        np.testing.assert_allclose(to_numpy(layer(hidden, reverse=True)), expected, atol=1e-5)
        assert np.abs(expected - hidden @ to_numpy(layer.embeddings).T).max() > 1e-2
        ids = np.array([[0, 3, 10]])
        np.testing.assert_array_equal(to_numpy(layer(ids)), to_numpy(layer.embeddings)[ids])

    def test_tied_layer_has_one_weight(self):
        layer = ReversibleEmbedding(input_dim=11, output_dim=4)
        layer.build()
        assert [w.name for w in layer.weights] == ["embeddings"]

    def test_logit_soft_cap(self):
        layer = ReversibleEmbedding(input_dim=7, output_dim=4, logit_soft_cap=2.5)
        layer.build()
        perturb(layer)
        hidden = 10 * RNG.normal(size=(3, 4)).astype("float32")
        raw = hidden @ to_numpy(layer.embeddings).T
        out = to_numpy(layer(hidden, reverse=True))
        np.testing.assert_allclose(out, 2.5 * np.tanh(raw / 2.5), atol=1e-5)
        assert np.abs(out).max() <= 2.5 and np.abs(raw).max() > 2.5

    def test_reverse_dtype_gives_float32_logits_under_mixed_precision(self):
        layer = ReversibleEmbedding(
            input_dim=7, output_dim=4, dtype="mixed_float16", reverse_dtype="float32"
        )
        layer.build()
        hidden = RNG.normal(size=(2, 4)).astype("float16")
        out = layer(hidden, reverse=True)
        assert keras.backend.standardize_dtype(out.dtype) == "float32"
        # As in KerasHub, the kernel is read in the compute dtype (float16), then cast.
        kernel = to_numpy(layer.embeddings).astype("float16").astype("float32")
        np.testing.assert_allclose(to_numpy(out), hidden.astype("float32") @ kernel.T, atol=1e-6)
        default = ReversibleEmbedding(input_dim=7, output_dim=4, dtype="mixed_float16")
        default.build()
        assert keras.backend.standardize_dtype(default(hidden, reverse=True).dtype) == "float16"

    def test_mask_zero_masks_ids_not_hidden_states(self):
        layer = ReversibleEmbedding(input_dim=7, output_dim=4, mask_zero=True)
        ids = np.array([[2, 0, 5]])
        assert to_numpy(layer.compute_mask(ids)).tolist() == [[True, False, True]]
        assert layer.compute_mask(np.zeros((1, 4), "float32")) is None

    def test_config_and_keras_file_round_trip(self, tmp_path):
        layer = ReversibleEmbedding(
            input_dim=11,
            output_dim=4,
            tie_weights=False,
            reverse_dtype="float32",
            logit_soft_cap=3.0,
            name="tokens",
        )
        config = layer.get_config()
        assert {k: config[k] for k in ("tie_weights", "reverse_dtype", "logit_soft_cap")} == {
            "tie_weights": False,
            "reverse_dtype": "float32",
            "logit_soft_cap": 3.0,
        }
        assert ReversibleEmbedding.from_config(config).get_config() == config
        inputs = keras.Input((4,))
        model = keras.Model(inputs, layer(inputs, reverse=True))
        perturb(model)
        hidden = RNG.normal(size=(2, 4)).astype("float32")
        loaded = save_and_load(model, tmp_path)
        np.testing.assert_array_equal(to_numpy(loaded(hidden)), to_numpy(model(hidden)))
        assert loaded.layers[-1].get_config() == config

    def test_untied_layer_refuses_a_tied_save(self):
        layer = ReversibleEmbedding(input_dim=5, output_dim=2, tie_weights=False, name="tokens")
        layer.build()
        with pytest.raises(
            ValueError, match=r"tokens \(tie_weights=False\) expects 2 saved variables.*holds 1"
        ):
            layer.load_own_variables({"0": np.zeros((5, 2), "float32")})

    @pytest.mark.parametrize("tie_weights", [True, False])
    @pytest.mark.parametrize(("mode", "tolerance"), [("int8", 0.05), ("int4", 0.5)])
    def test_quantized_layer_projects_back_and_reloads(
        self, tie_weights, mode, tolerance, tmp_path
    ):
        """Quantizing keeps both directions close to float32 (the reverse one runs on the
        quantized kernel, scales applied), and a ``.keras`` file rebuilds it bit for bit."""
        layer = ReversibleEmbedding(input_dim=50, output_dim=16, tie_weights=tie_weights)
        inputs = keras.Input((16,))
        model = keras.Model(inputs, layer(inputs, reverse=True))
        perturb(model)
        ids = np.array([[1, 7, 49, 0]])
        hidden = RNG.normal(size=(3, 16)).astype("float32")
        vectors, logits = to_numpy(layer(ids)), to_numpy(model(hidden))
        model.quantize(mode)
        assert layer.quantization_mode == mode
        names = {w.name for w in layer.weights}
        assert {"embeddings", "embeddings_scale"} <= names
        assert ("reverse_embeddings_scale" in names) == (not tie_weights)
        quantized_logits = to_numpy(model(hidden))
        # Scales are per vocabulary row: a missed scale would be off by ~100x, not by rounding.
        assert np.abs(to_numpy(layer(ids)) - vectors).max() < tolerance * np.abs(vectors).max()
        assert np.abs(quantized_logits - logits).max() < tolerance * np.abs(logits).max()
        loaded = save_and_load(model, tmp_path)
        assert loaded.layers[-1].quantization_mode == mode
        np.testing.assert_array_equal(to_numpy(loaded(hidden)), quantized_logits)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"logit_soft_cap": 0}, r"`logit_soft_cap` must be a positive number or None, got 0"),
            ({"logit_soft_cap": -1.0}, r"`logit_soft_cap` must be a positive number"),
            ({"logit_soft_cap": "big"}, r"`logit_soft_cap` must be a positive number.*'big'"),
            ({"tie_weights": "yes"}, r"`tie_weights` must be True or False, got 'yes'"),
        ],
    )
    def test_bad_arguments(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            ReversibleEmbedding(input_dim=5, output_dim=2, **kwargs)


class TestPositionEmbeddingPositions:
    def setup_method(self):
        self.layer = PositionEmbedding(sequence_length=10, name="positions")
        self.layer.build((None, None, 3))
        self.table = to_numpy(self.layer.position_embeddings)

    def test_shared_positions(self):
        out = to_numpy(self.layer(np.zeros((2, 3, 3), "float32"), positions=np.array([4, 0, 9])))
        np.testing.assert_array_equal(out, np.broadcast_to(self.table[[4, 0, 9]], (2, 3, 3)))

    def test_positions_per_row(self):
        positions = np.array([[1, 2, 3], [7, 7, 8]])
        out = to_numpy(self.layer(np.zeros((2, 3, 3), "float32"), positions=positions))
        np.testing.assert_array_equal(out, self.table[positions])

    def test_positions_override_start_index(self):
        out = to_numpy(self.layer(np.zeros((1, 2, 3)), start_index=5, positions=np.array([0, 1])))
        np.testing.assert_array_equal(out[0], self.table[:2])

    def test_symbolic_positions_and_keras_file(self, tmp_path):
        inputs = keras.Input((None, 3))
        positions = keras.Input((None,), dtype="int32")
        model = keras.Model([inputs, positions], self.layer(inputs, positions=positions))
        batch = [np.zeros((1, 2, 3), "float32"), np.array([[6, 2]], "int32")]
        np.testing.assert_array_equal(to_numpy(model(batch))[0], self.table[[6, 2]])
        np.testing.assert_array_equal(
            to_numpy(save_and_load(model, tmp_path)(batch))[0], self.table[[6, 2]]
        )

    @pytest.mark.parametrize(
        ("positions", "message"),
        [
            (np.array([0.0, 1.0]), r"`positions` must hold integer indices, got dtype float"),
            (
                np.zeros((1, 1, 2), "int32"),
                r"shape \[sequence_length\] or \[batch, sequence_length\], got shape \(1, 1, 2\)",
            ),
        ],
    )
    def test_bad_positions(self, positions, message):
        with pytest.raises(ValueError, match=message):
            self.layer(np.zeros((1, 2, 3), "float32"), positions=positions)

    def test_bad_sequence_length(self):
        for bad in (None, 0, -3, True):
            with pytest.raises(ValueError, match="`sequence_length` must be a positive integer"):
                PositionEmbedding(sequence_length=bad)


class TestTokenAndPositionEmbedding:
    def make(self, **kwargs):
        layer = TokenAndPositionEmbedding(
            **{"vocabulary_size": 13, "sequence_length": 6, "embedding_dim": 4, **kwargs}
        )
        layer.build((None, None))
        perturb(layer)
        return layer

    def test_values_are_token_plus_position(self):
        layer = self.make()
        ids = np.array([[1, 12, 0], [5, 5, 5]])
        tokens = to_numpy(layer.token_embedding.embeddings)
        positions = to_numpy(layer.position_embedding.position_embeddings)
        np.testing.assert_allclose(to_numpy(layer(ids)), tokens[ids] + positions[:3], atol=1e-6)
        np.testing.assert_allclose(
            to_numpy(layer(ids, start_index=2)), tokens[ids] + positions[2:5], atol=1e-6
        )
        np.testing.assert_allclose(
            to_numpy(layer(ids, positions=np.array([5, 0, 1]))),
            tokens[ids] + positions[[5, 0, 1]],
            atol=1e-6,
        )

    def test_sublayers_and_weights_follow_keras_hub(self):
        layer = self.make(tie_weights=False)
        assert isinstance(layer.token_embedding, ReversibleEmbedding)
        assert isinstance(layer.position_embedding, PositionEmbedding)
        assert [(w.path.split("/", 1)[1], tuple(w.shape)) for w in layer.weights] == [
            ("token_embedding/embeddings", (13, 4)),
            ("token_embedding/reverse_embeddings", (4, 13)),
            ("position_embedding/embeddings", (6, 4)),
        ]

    def test_mask_zero(self):
        layer = self.make(mask_zero=True)
        ids = np.array([[4, 2, 0, 0]])
        assert to_numpy(layer.compute_mask(ids)).tolist() == [[True, True, False, False]]
        assert self.make().compute_mask(ids) is None

    def test_mask_reaches_the_encoder_and_pooling(self):
        inputs = keras.Input((None,), dtype="int32")
        x = TokenAndPositionEmbedding(13, 6, 8, mask_zero=True)(inputs)
        x = TransformerEncoder(intermediate_dim=16, num_heads=2)(x)
        model = keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(x))
        perturb(model)
        real = np.array([[3, 7, 9, 0, 0, 0]])
        other_padding = np.array([[3, 7, 9, 0, 0, 0]])
        shorter = np.array([[3, 7, 9]])
        np.testing.assert_allclose(to_numpy(model(real)), to_numpy(model(shorter)), atol=1e-5)
        np.testing.assert_allclose(
            to_numpy(model(other_padding)), to_numpy(model(shorter)), atol=1e-5
        )

    def test_too_long_input(self):
        with pytest.raises(ValueError, match=r"7 positions .* only has 6"):
            self.make()(np.ones((1, 7), "int32"))

    def test_config_and_keras_file_round_trip(self, tmp_path):
        layer = TokenAndPositionEmbedding(
            13,
            6,
            4,
            tie_weights=False,
            mask_zero=True,
            embeddings_initializer="glorot_uniform",
            name="embed",
        )
        config = layer.get_config()
        assert {
            k: config[k]
            for k in (
                "vocabulary_size",
                "sequence_length",
                "embedding_dim",
                "tie_weights",
                "mask_zero",
            )
        } == {
            "vocabulary_size": 13,
            "sequence_length": 6,
            "embedding_dim": 4,
            "tie_weights": False,
            "mask_zero": True,
        }
        assert TokenAndPositionEmbedding.from_config(config).get_config() == config
        inputs = keras.Input((None,), dtype="int32")
        model = keras.Model(inputs, layer(inputs))
        perturb(model)
        ids = np.array([[1, 2, 0]])
        loaded = save_and_load(model, tmp_path)
        np.testing.assert_array_equal(to_numpy(loaded(ids)), to_numpy(model(ids)))
        assert loaded.get_layer("embed").get_config() == config

    @pytest.mark.parametrize("name", ["vocabulary_size", "sequence_length", "embedding_dim"])
    @pytest.mark.parametrize("bad", [None, 0, -2, 2.5])
    def test_bad_sizes(self, name, bad):
        kwargs = {"vocabulary_size": 13, "sequence_length": 6, "embedding_dim": 4, name: bad}
        with pytest.raises(ValueError, match=rf"`{name}` must be a positive integer, got {bad!r}"):
            TokenAndPositionEmbedding(**kwargs)


class TestAttentionScores:
    def make(self, **kwargs):
        layer = TransformerEncoder(intermediate_dim=16, num_heads=2, **kwargs)
        layer.build((None, 5, 8))
        perturb(layer)
        return layer

    def test_scores_are_the_attention_probabilities(self):
        layer = self.make()
        x = RNG.normal(size=(2, 5, 8)).astype("float32")
        outputs, scores = layer(x, padding_mask=MASK, return_attention_scores=True)
        scores = to_numpy(scores)
        assert scores.shape == (2, 2, 5, 5)
        expected = attention_probabilities(
            layer._self_attention_layer, x, np.broadcast_to(MASK[:, None, :] > 0, (2, 5, 5))
        )
        np.testing.assert_allclose(scores, expected, atol=1e-5)
        assert np.abs(scores[1, :, :, 3:]).max() < 1e-6
        np.testing.assert_allclose(
            to_numpy(outputs), to_numpy(layer(x, padding_mask=MASK)), atol=1e-5
        )

    def test_attention_mask_combines_with_padding_mask(self):
        layer = self.make()
        x = RNG.normal(size=(2, 5, 8)).astype("float32")
        causal = np.broadcast_to(np.tril(np.ones((5, 5), "int32")), (2, 5, 5))
        _, scores = layer(x, padding_mask=MASK, attention_mask=causal, return_attention_scores=True)
        combined = (causal > 0) & (MASK[:, None, :] > 0)
        expected = attention_probabilities(layer._self_attention_layer, x, combined)
        np.testing.assert_allclose(to_numpy(scores), expected, atol=1e-5)
        fused = layer(x, padding_mask=MASK, attention_mask=causal)
        explicit, _ = layer(
            x, padding_mask=MASK, attention_mask=causal, return_attention_scores=True
        )
        np.testing.assert_allclose(to_numpy(fused), to_numpy(explicit), atol=1e-5)

    def test_keras_mask_masks_padded_queries_and_keys(self):
        embed = TokenAndPositionEmbedding(13, 6, 8, mask_zero=True)
        layer = self.make()
        ids = np.array([[4, 2, 9, 0, 0]])
        outputs, scores = layer(embed(ids), return_attention_scores=True)
        scores = to_numpy(scores)
        # Real queries share their weight among the real keys; padded queries attend to
        # nothing (all zeros), as under KerasHub's masked softmax.
        np.testing.assert_allclose(scores[0, :, :3].sum(-1), 1.0, atol=1e-5)
        assert np.abs(scores[0, :, :, 3:]).max() == 0 and np.abs(scores[0, :, 3:]).max() == 0
        fused = to_numpy(layer(embed(ids)))
        np.testing.assert_allclose(to_numpy(outputs)[:, :3], fused[:, :3], atol=1e-5)

    def test_dropout_does_not_touch_returned_scores(self):
        layer = self.make(dropout=0.5)
        x = RNG.normal(size=(1, 5, 8)).astype("float32")
        _, scores = layer(x, training=True, return_attention_scores=True)
        np.testing.assert_allclose(to_numpy(scores).sum(-1), 1.0, atol=1e-5)

    def test_symbolic_scores_and_keras_file(self, tmp_path):
        inputs = keras.Input((5, 8))
        padding = keras.Input((5,), dtype="int32")
        outputs, scores = TransformerEncoder(16, 2, name="encoder")(
            inputs, padding_mask=padding, return_attention_scores=True
        )
        assert tuple(scores.shape) == (None, 2, 5, 5)
        model = keras.Model([inputs, padding], [outputs, scores])
        perturb(model)
        x = RNG.normal(size=(2, 5, 8)).astype("float32")
        loaded = save_and_load(model, tmp_path)
        for got, want in zip(
            loaded.predict([x, MASK], verbose=0), model.predict([x, MASK], verbose=0), strict=True
        ):
            np.testing.assert_allclose(got, want, atol=1e-6)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            (
                {"padding_mask": np.ones((2, 5, 5))},
                r"`padding_mask` must have shape \[batch, sequence_length\], got shape \(2, 5, 5\)",
            ),
            (
                {"attention_mask": np.ones((2, 5))},
                r"`attention_mask` must have shape \[batch, sequence_length, sequence_length\], "
                r"got shape \(2, 5\)",
            ),
        ],
    )
    def test_bad_mask_shapes(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            self.make()(np.zeros((2, 5, 8), "float32"), **kwargs)


@pytest.fixture
def mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_float16_attention_core_runs_in_float32_on_jax_cpu():
    on_jax_cpu = keras.backend.backend() == "jax" and keras.distribution.list_devices()[
        0
    ].startswith("cpu")
    assert attention_core_dtype("float16") == ("float32" if on_jax_cpu else "float16")
    assert attention_core_dtype("bfloat16") == "bfloat16"
    assert attention_core_dtype("float32") == "float32"


def _compiled_against_float32(build, inputs, target):
    """``build()``'s model under float32 and under mixed_float16 with the same weights:
    compiled predict/evaluate run, stay float16 and agree with float32 within float16's error."""
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(0)
    reference = build()
    perturb(reference)
    keras.mixed_precision.set_global_policy("mixed_float16")
    keras.utils.set_random_seed(0)
    model = build()
    model.set_weights(reference.get_weights())
    results = {}
    for name, candidate in (("float32", reference), ("mixed_float16", model)):
        candidate.compile(loss="mse", jit_compile=True)
        predicted = candidate.predict(inputs, verbose=0)
        results[name] = (predicted, candidate.evaluate(inputs, target, verbose=0))
    keras.mixed_precision.set_global_policy("float32")
    return results


def _encoder_model(layer_factory):
    def build():
        x = keras.Input((6, 8))
        mask = keras.Input((6,), dtype="int32")
        layer = layer_factory()
        y = layer(x, padding_mask=mask) if isinstance(layer, TransformerEncoder) else layer(x)
        return keras.Model([x, mask], y)

    return build


@pytest.mark.parametrize(
    "factory",
    [
        lambda: TransformerEncoder(intermediate_dim=16, num_heads=2),
        lambda: TransformerEncoder(
            intermediate_dim=16, num_heads=2, dropout=0.1, normalize_first=True
        ),
        lambda: FNetEncoder(intermediate_dim=16),
    ],
    ids=["transformer", "transformer_dropout_pre_norm", "f_net"],
)
def test_encoders_predict_and_evaluate_under_mixed_float16(mixed_float16, factory):
    x = RNG.normal(size=(3, 6, 8)).astype("float32")
    mask = np.array([[1] * 6, [1] * 4 + [0] * 2, [1, 0, 0, 0, 0, 0]], "int32")
    results = _compiled_against_float32(_encoder_model(factory), [x, mask], x)
    (want, want_loss), (got, got_loss) = results["float32"], results["mixed_float16"]
    assert got.dtype == np.float16 and want.dtype == np.float32
    np.testing.assert_allclose(got.astype("float32"), want, atol=3e-2)
    assert got_loss == pytest.approx(want_loss, rel=1e-2)


def test_bert_backbone_predict_and_evaluate_under_mixed_float16(mixed_float16):
    inputs = make_inputs("bert")
    keras.mixed_precision.set_global_policy("float32")
    reference = make_tiny_backbone("bert")
    keras.mixed_precision.set_global_policy("mixed_float16")
    model = make_tiny_backbone("bert")
    model.set_weights(reference.get_weights())
    target = {
        "sequence_output": np.zeros((3, 7, 16), "float32"),
        "pooled_output": np.zeros((3, 16), "float32"),
    }
    outputs = {}
    for name, candidate in (("float32", reference), ("mixed_float16", model)):
        candidate.compile(loss="mse", jit_compile=True)
        outputs[name] = (
            candidate.predict(inputs, verbose=0),
            candidate.evaluate(inputs, target, verbose=0),
        )
    (want, want_loss), (got, got_loss) = outputs["float32"], outputs["mixed_float16"]
    assert got["sequence_output"].dtype == np.float16
    real = inputs["padding_mask"].astype(bool)
    np.testing.assert_allclose(
        got["sequence_output"][real].astype("float32"), want["sequence_output"][real], atol=3e-2
    )
    np.testing.assert_allclose(
        got["pooled_output"].astype("float32"), want["pooled_output"], atol=3e-2
    )
    assert np.asarray(got_loss) == pytest.approx(np.asarray(want_loss), rel=2e-2)


def test_attention_scores_under_mixed_float16_compiled(mixed_float16):
    inputs = keras.Input((5, 8))
    padding = keras.Input((5,), dtype="int32")
    outputs, scores = TransformerEncoder(16, 2)(
        inputs, padding_mask=padding, return_attention_scores=True
    )
    model = keras.Model([inputs, padding], [outputs, scores])
    got_outputs, got_scores = model.predict(
        [RNG.normal(size=(2, 5, 8)).astype("float32"), MASK], verbose=0
    )
    assert got_outputs.dtype == np.float16 and got_scores.dtype == np.float16
    np.testing.assert_allclose(got_scores.astype("float32").sum(-1), 1.0, atol=1e-2)
    assert np.abs(got_scores[1, :, :, 3:]).max() == 0
