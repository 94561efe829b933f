"""Shared test set-up: the JAX backend by default, tiny model configs, offline hubs."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests.helpers.offline_hubs import isolate_hubs  # noqa: E402


def to_numpy(value) -> np.ndarray:
    """A backend tensor (or anything array-like) as a NumPy array, on every backend."""
    return keras.ops.convert_to_numpy(value)


TINY_CONFIGS = {
    "bert": dict(
        vocabulary_size=97,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=24,
    ),
    "albert": dict(
        vocabulary_size=97,
        num_layers=4,
        num_heads=2,
        embedding_dim=8,
        hidden_dim=16,
        intermediate_dim=32,
        num_groups=2,
        num_inner_repetitions=2,
        max_sequence_length=24,
    ),
    "f_net": dict(
        vocabulary_size=97,
        num_layers=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=24,
    ),
}


def backbone_class(family: str):
    import textbones

    return {
        "bert": textbones.models.BertBackbone,
        "albert": textbones.models.AlbertBackbone,
        "f_net": textbones.models.FNetBackbone,
    }[family]


def perturb_weights(model, seed: int = 0) -> None:
    """Move every weight (layer norms and biases too) away from its initial value."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        value = np.asarray(variable.numpy())
        variable.assign(value + rng.normal(0.0, 0.05, value.shape).astype(value.dtype))


def make_tiny_backbone(family: str, seed: int = 0, **overrides):
    keras.utils.set_random_seed(seed)
    model = backbone_class(family)(**{**TINY_CONFIGS[family], **overrides})
    perturb_weights(model, seed)
    return model


def make_inputs(family: str, lengths=(7, 5, 2), total: int = 7, seed: int = 0) -> dict:
    """A batch of ids with rows of the given real lengths, right-padded with id 0."""
    rng = np.random.default_rng(seed)
    batch = len(lengths)
    mask = (np.arange(total)[None, :] < np.array(lengths)[:, None]).astype("int32")
    inputs = {
        "token_ids": (
            rng.integers(1, TINY_CONFIGS[family]["vocabulary_size"], (batch, total)) * mask
        ).astype("int32"),
        "segment_ids": ((np.arange(total)[None, :] >= 3) * mask).astype("int32"),
    }
    if family != "f_net":
        inputs["padding_mask"] = mask
    return inputs


@pytest.fixture(params=["bert", "albert", "f_net"])
def family(request) -> str:
    return request.param


@pytest.fixture(autouse=True)
def no_hub_network(monkeypatch, tmp_path_factory):
    """Nothing in the suite may reach the real hubs; see ``tests/helpers/offline_hubs.py``.

    A test that needs a download sets up its own cache or fake endpoint on top of this.
    """
    isolate_hubs(monkeypatch, tmp_path_factory.mktemp("hubs"))
