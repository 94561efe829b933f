"""LoRA adapter files cross between textbones and KerasHub, both ways, for every family.

Here each family's tiny backbone gets random weights and random adapters (rank 4; BERT's
with ``lora_alpha=8``, so the scale of 2 must cross too) and writes its weights, its
``.lora.h5`` and its outputs. ``lora_reference.py`` (one KerasHub process for all
families) loads those into KerasHub's backbone and writes KerasHub's outputs; it also
writes its own random weights and adapters, which textbones loads here. Both directions
must give the other library's outputs to 1e-5. FNet is adapted on its feed-forward
kernels, which KerasHub's default leaves out, so both sides name them.
"""

from __future__ import annotations

import json
import pathlib

import keras
import numpy as np
import pytest

from tests.helpers import families
from tests.helpers.reference_env import run_reference

pytestmark = pytest.mark.parity

TOLERANCE = 1e-5
RANK = 4
ALPHA = {"bert": 8.0}
FAMILIES = families.family_names()


def _outputs(backbone, inputs) -> dict[str, np.ndarray]:
    result = backbone(inputs)
    result = result if isinstance(result, dict) else {"sequence_output": result}
    return {name: keras.ops.convert_to_numpy(value) for name, value in result.items()}


@pytest.fixture(scope="module")
def crossed(tmp_path_factory) -> tuple[pathlib.Path, dict]:
    folder = tmp_path_factory.mktemp("lora")
    manifest, ours = {"families": {}}, {}
    rng = np.random.default_rng(7)
    for name in FAMILIES:
        family = families.family(name)
        backbone = families.tiny_backbone(family, seed=3)
        inputs = families.backbone_inputs(family)
        np.savez(folder / f"inputs_{name}.npz", **inputs)
        backbone.save_weights(folder / f"tb_{name}.weights.h5")
        backbone.enable_lora(RANK, lora_alpha=ALPHA.get(name))
        for weight in backbone.trainable_weights:
            if "lora_kernel" in weight.path:
                weight.assign(rng.normal(0.0, 0.2, tuple(weight.shape)).astype("float32"))
        backbone.save_lora_weights(folder / f"tb_{name}.lora.h5")
        ours[name] = _outputs(backbone, inputs)
        default = backbone.default_lora_layer_names()
        manifest["families"][name] = {
            "class": type(backbone).__name__,
            "config": families.tiny_config(family),
            "rank": RANK,
            "target_layer_names": default if name == "f_net" else None,
        }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    run_reference("lora_reference.py", folder)
    return folder, ours


@pytest.mark.parametrize("name", FAMILIES)
def test_keras_hub_loads_textbones_adapters(crossed, name):
    folder, ours = crossed
    theirs = dict(np.load(folder / f"kh_from_tb_{name}.npz"))
    assert sorted(theirs) == sorted(ours[name])
    for key, value in ours[name].items():
        diff = float(np.abs(theirs[key] - value).max())
        print(f"{name} textbones -> KerasHub {key}: max |diff| {diff:.2e}")
        assert diff <= TOLERANCE, (name, key, diff)


@pytest.mark.parametrize("name", FAMILIES)
def test_textbones_loads_keras_hub_adapters(crossed, name):
    folder, _ = crossed
    family = families.family(name)
    backbone = family.backbone(**families.tiny_config(family))
    backbone.load_weights(folder / f"kh_{name}.weights.h5")
    inputs = dict(np.load(folder / f"inputs_{name}.npz"))
    before = _outputs(backbone, inputs)
    backbone.load_lora_weights(folder / f"kh_{name}.lora.h5")
    assert backbone.lora_rank == RANK
    ours = _outputs(backbone, inputs)
    theirs = dict(np.load(folder / f"kh_{name}.npz"))
    for key, value in theirs.items():
        diff = float(np.abs(ours[key] - value).max())
        print(f"{name} KerasHub -> textbones {key}: max |diff| {diff:.2e}")
        assert diff <= TOLERANCE, (name, key, diff)
        # The adapters do change the outputs: the test would pass without them otherwise.
        assert float(np.abs(before[key] - value).max()) > 100 * TOLERANCE
