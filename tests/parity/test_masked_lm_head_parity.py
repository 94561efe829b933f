"""``MaskedLMHead`` against KerasHub's: same weight-file layout, same logits.

``masked_lm_head_reference.py`` runs once in the reference interpreter (``.venv-ref``) and
writes, for each of its ``CONFIGS``, a small KerasHub functional model's ``save_weights``
file (token embedding, optional Dense, ``MaskedLMHead``; random weights) and its logits on
fixed inputs. Here the same structure is built from textbones layers, loads that file and
must reproduce the logits; the ``.weights.h5`` it writes itself must hold the same
datasets (paths and shapes) as KerasHub's.
"""

from __future__ import annotations

import json
import pathlib

import h5py
import keras
import numpy as np
import pytest

from tests.helpers.reference_env import run_reference
from textbones.layers.masked_lm_head import MaskedLMHead
from textbones.layers.reversible_embedding import ReversibleEmbedding

pytestmark = pytest.mark.parity

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[pathlib.Path, dict]:
    out = tmp_path_factory.mktemp("masked_lm_head_reference")
    run_reference("masked_lm_head_reference.py", out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return out, manifest["configs"]


def build_model(config: dict, batch_shape: tuple[int, int], num_masked: int) -> keras.Model:
    """The reference script's model structure, from textbones layers."""
    token_ids = keras.Input(batch_shape[1:], dtype="int32", name="token_ids")
    mask_positions = keras.Input((num_masked,), dtype="int32", name="mask_positions")
    embedding = ReversibleEmbedding(
        config["vocabulary_size"], config["embedding_dim"], name="token_embedding"
    )
    hidden = embedding(token_ids)
    if config["hidden_dim"] != config["embedding_dim"]:
        hidden = keras.layers.Dense(config["hidden_dim"], name="embedding_projection")(hidden)
    head = MaskedLMHead(
        vocabulary_size=config["vocabulary_size"],
        token_embedding=embedding if config["tied"] else None,
        intermediate_activation=config["intermediate_activation"],
        activation=config["activation"],
        name="mlm_head",
    )
    return keras.Model([token_ids, mask_positions], head(hidden, mask_positions))


def datasets(path: pathlib.Path) -> dict[str, tuple[int, ...]]:
    found = {}
    with h5py.File(path, "r") as file:
        file.visititems(
            lambda name, obj: (
                found.update({name: obj.shape}) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return found


CONFIG_NAMES = ["tied_gelu", "tied_albert_like", "untied_relu_softmax"]


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_loads_keras_hub_weights_and_matches_logits(reference, name, tmp_path):
    out, configs = reference
    assert sorted(configs) == sorted(CONFIG_NAMES)
    io = np.load(out / f"{name}.npz")
    model = build_model(configs[name], io["token_ids"].shape, io["mask_positions"].shape[1])
    model.load_weights(out / f"{name}.weights.h5")
    logits = keras.ops.convert_to_numpy(model([io["token_ids"], io["mask_positions"]]))
    diff = float(np.abs(logits - io["logits"]).max())
    print(f"masked_lm_head parity {name}: max |diff| = {diff:.3g}")
    assert logits.shape == io["logits"].shape
    assert diff <= TOLERANCE

    ours = tmp_path / "ours.weights.h5"
    model.save_weights(ours)
    assert datasets(ours) == datasets(out / f"{name}.weights.h5")
