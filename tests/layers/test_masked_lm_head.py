"""MaskedLMHead: values against NumPy, tied and untied, gradients, configs, dtypes, bad input."""

import math

import keras
import numpy as np
import pytest

from tests.conftest import to_numpy
from tests.helpers.numpy_reference import gelu_tanh, layer_norm
from textbones.layers.activations import gelu_approximate
from textbones.layers.masked_lm_head import MaskedLMHead
from textbones.layers.reversible_embedding import ReversibleEmbedding

VOCAB, EMBED, HIDDEN, BATCH, LENGTH, MASKED = 13, 6, 10, 2, 7, 3


def _erf(x):
    return np.vectorize(math.erf)(x)


def gelu_exact(x):
    return 0.5 * x * (1 + _erf(x / np.sqrt(2)))


NUMPY_ACTIVATIONS = {
    "gelu": gelu_exact,
    "gelu_approximate": gelu_tanh,
    "relu": lambda x: np.maximum(x, 0),
}


def _array(value) -> np.ndarray:
    return np.asarray(to_numpy(value), dtype="float64")


def randomize(layer, seed: int) -> None:
    """Give every weight of ``layer`` (and its sublayers) seeded values far from its initializer."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        weight.assign(rng.normal(0.0, 0.5, size=tuple(weight.shape)).astype(weight.dtype))


def sample(seed: int = 0, width: int = HIDDEN):
    rng = np.random.default_rng(seed)
    hidden = rng.normal(size=(BATCH, LENGTH, width)).astype("float32")
    positions = np.stack([rng.choice(LENGTH, size=MASKED, replace=False) for _ in range(BATCH)])
    return hidden, positions.astype("int32")


def numpy_head(head, hidden, positions, activation, embeddings=None):
    """The head's forward pass written from its equations, in float64."""
    gathered = np.take_along_axis(hidden.astype("float64"), positions[..., None], axis=1)
    kernel, bias = (_array(w) for w in head._intermediate_dense.weights)
    gamma, beta = (_array(w) for w in head._intermediate_layer_norm.weights)
    x = NUMPY_ACTIVATIONS[activation](gathered @ kernel + bias)
    x = layer_norm(x, gamma, beta, 1e-5)
    projection = embeddings.T if embeddings is not None else _array(head.output_kernel)
    return x @ projection + _array(head.output_bias)


def tied_head(intermediate_activation: str = "gelu", **kwargs):
    embedding = ReversibleEmbedding(VOCAB, EMBED, name="token_embedding")
    embedding.build((None, LENGTH))
    head = MaskedLMHead(
        token_embedding=embedding, intermediate_activation=intermediate_activation, **kwargs
    )
    return embedding, head


@pytest.mark.parametrize("activation", ["gelu", "gelu_approximate", "relu"])
def test_tied_values_match_numpy(activation):
    embedding, head = tied_head(activation)
    hidden, positions = sample(1)
    head(hidden, positions)
    randomize(head, seed=2)  # covers the tied embedding too: it is one of the head's weights
    expected = numpy_head(
        head, hidden, positions, activation, embeddings=_array(embedding.embeddings)
    )
    np.testing.assert_allclose(_array(head(hidden, positions)), expected, atol=1e-5, rtol=1e-5)


def test_untied_values_match_numpy():
    head = MaskedLMHead(vocabulary_size=VOCAB, intermediate_activation="gelu_approximate")
    hidden, positions = sample(3)
    head(hidden, positions)
    randomize(head, seed=4)
    assert tuple(head.output_kernel.shape) == (HIDDEN, VOCAB)
    assert tuple(head._intermediate_dense.kernel.shape) == (HIDDEN, HIDDEN)
    expected = numpy_head(head, hidden, positions, "gelu_approximate")
    np.testing.assert_allclose(_array(head(hidden, positions)), expected, atol=1e-5, rtol=1e-5)


def test_weights_and_names():
    embedding, head = tied_head()
    head(*sample())
    assert [w.path for w in head.weights if w.path.startswith(head.name)] == [
        f"{head.name}/output_bias",
        f"{head.name}/intermediate_dense/kernel",
        f"{head.name}/intermediate_dense/bias",
        f"{head.name}/intermediate_layer_norm/gamma",
        f"{head.name}/intermediate_layer_norm/beta",
    ]
    # The tied matrix is shared, not copied.
    assert any(w is embedding.embeddings for w in head.weights)
    untied = MaskedLMHead(vocabulary_size=VOCAB)
    untied(*sample())
    assert [v.name for v in untied._trainable_variables] == ["output_kernel", "output_bias"]


def test_final_activation():
    _, head = tied_head("gelu", activation="softmax")
    probabilities = _array(head(*sample(5)))
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)


def test_shapes_eager_and_symbolic():
    # The ALBERT case: hidden width 10, embedding width 6; the Dense maps 10 -> 6.
    _, head = tied_head()
    hidden, positions = sample(width=HIDDEN)
    assert tuple(head(hidden, positions).shape) == (BATCH, MASKED, VOCAB)
    assert tuple(head._intermediate_dense.kernel.shape) == (HIDDEN, EMBED)
    assert head.compute_output_shape((None, LENGTH, HIDDEN), (None, 4)) == (None, 4, VOCAB)

    _, symbolic_head = tied_head()
    inputs = keras.Input((None, HIDDEN))
    mask_positions = keras.Input((4,), dtype="int32")
    output = symbolic_head(inputs, mask_positions)
    assert tuple(output.shape) == (None, 4, VOCAB)


def test_gradient_reaches_tied_embedding():
    embedding, head = tied_head()
    # The embedding is reached only through the head's reverse projection here.
    hidden_in = keras.Input((LENGTH, HIDDEN))
    positions_in = keras.Input((MASKED,), dtype="int32")
    model = keras.Model([hidden_in, positions_in], head(hidden_in, positions_in))
    assert any(w is embedding.embeddings for w in model.trainable_weights)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    hidden, positions = sample(6)
    labels = np.random.default_rng(7).integers(0, VOCAB, size=(BATCH, MASKED))
    before = _array(embedding.embeddings)
    history = model.fit([hidden, positions], labels, epochs=3, batch_size=BATCH, verbose=0)
    after = _array(embedding.embeddings)
    assert np.abs(after - before).max() > 1e-4
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_config_round_trip_untied():
    head = MaskedLMHead(
        vocabulary_size=VOCAB,
        intermediate_activation="gelu_approximate",
        activation="softmax",
        layer_norm_epsilon=1e-6,
        kernel_initializer="he_normal",
        bias_initializer="ones",
        name="mlm_head",
    )
    hidden, positions = sample(8)
    head(hidden, positions)
    randomize(head, seed=9)
    config = head.get_config()
    assert config["vocabulary_size"] == VOCAB
    assert config["intermediate_activation"] == "gelu_approximate"
    assert config["layer_norm_epsilon"] == 1e-6
    assert "token_embedding" not in config
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(head))
    assert isinstance(clone, MaskedLMHead) and clone.get_config() == config
    assert clone.intermediate_activation is gelu_approximate
    clone(hidden, positions)
    for target, source in zip(clone.weights, head.weights, strict=True):
        target.assign(to_numpy(source))
    np.testing.assert_allclose(
        _array(clone(hidden, positions)), _array(head(hidden, positions)), atol=1e-6
    )


def test_config_of_tied_head_reattaches_embedding():
    embedding, head = tied_head("gelu", name="mlm_head")
    config = head.get_config()
    assert "token_embedding" not in config and config["vocabulary_size"] == VOCAB
    # What an owning model does on reload: pass the embedding back in.
    clone = MaskedLMHead.from_config({**config, "token_embedding": embedding})
    hidden, positions = sample(10)
    head(hidden, positions)
    clone(hidden, positions)
    for target, source in zip(clone.weights, head.weights, strict=True):
        target.assign(to_numpy(source))
    np.testing.assert_allclose(
        _array(clone(hidden, positions)), _array(head(hidden, positions)), atol=1e-6
    )


@pytest.mark.parametrize("tied", [True, False])
def test_mixed_bfloat16(tied):
    if tied:
        embedding = ReversibleEmbedding(VOCAB, EMBED, dtype="mixed_bfloat16")
        embedding.build((None, LENGTH))
        head = MaskedLMHead(token_embedding=embedding, dtype="mixed_bfloat16")
    else:
        head = MaskedLMHead(vocabulary_size=VOCAB, dtype="mixed_bfloat16")
    logits = head(*sample(11))
    assert keras.backend.standardize_dtype(logits.dtype) == "bfloat16"
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in head.weights)
    assert head._intermediate_layer_norm.dtype_policy.name == "mixed_bfloat16"


def test_missing_vocabulary():
    with pytest.raises(ValueError, match="vocabulary_size.*token_embedding"):
        MaskedLMHead()


def test_vocabulary_disagrees_with_embedding():
    embedding = ReversibleEmbedding(VOCAB, EMBED)
    with pytest.raises(ValueError, match=rf"\(14\).*input_dim.*\({VOCAB}\)"):
        MaskedLMHead(vocabulary_size=14, token_embedding=embedding)
    assert MaskedLMHead(vocabulary_size=VOCAB, token_embedding=embedding).vocabulary_size == VOCAB


def test_mask_positions_must_be_integer():
    _, head = tied_head()
    hidden, positions = sample()
    with pytest.raises(TypeError, match="integer"):
        head(hidden, positions.astype("float32"))
    with pytest.raises(TypeError, match="integer"):
        head(keras.Input((LENGTH, HIDDEN)), keras.Input((MASKED,), dtype="float32"))


def test_mask_positions_must_be_2d():
    _, head = tied_head()
    hidden, positions = sample()
    with pytest.raises(ValueError, match="2-D"):
        head(hidden, positions[..., None])
    with pytest.raises(ValueError, match="2-D"):
        head(hidden, positions[0])
    with pytest.raises(ValueError, match="2-D"):
        head.compute_output_shape((None, LENGTH, HIDDEN), (None,))
