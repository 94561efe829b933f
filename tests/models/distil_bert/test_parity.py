"""DistilBERT against KerasHub and ``transformers``, both ways, in one reference run.

The reference side (``distil_bert_reference.py``) runs once per session in ``.venv-ref``
(keras-hub, torch, transformers; Keras on torch). Before it runs, this module writes
textbones' tiny DistilBERT backbone, masked LM and classifier as Keras presets and as
``transformers`` checkpoints; the script loads those with KerasHub and ``transformers`` and
writes its own models (KerasHub presets, ``save_pretrained`` checkpoints) for textbones to
load. Outputs must agree within 1e-5 (KerasHub) and 1e-4 (``transformers``).
"""

from __future__ import annotations

import json
import pathlib
import subprocess

import h5py
import keras
import numpy as np
import pytest

import textbones
from tests.helpers.reference_env import reference_python
from tests.models.distil_bert.tiny_models import TINY, VOCAB
from textbones.models import (
    Backbone,
    DistilBertBackbone,
    DistilBertMaskedLM,
    DistilBertMaskedLMPreprocessor,
    DistilBertTextClassifier,
    DistilBertTextClassifierPreprocessor,
    DistilBertTokenizer,
    MaskedLM,
    TextClassifier,
)

pytestmark = pytest.mark.parity

SCRIPT = pathlib.Path(__file__).with_name("distil_bert_reference.py")
KINDS = ("backbone", "masked_lm", "classifier")
LOADERS = {"backbone": Backbone, "masked_lm": MaskedLM, "classifier": TextClassifier}
NUM_CLASSES = 3
SEQUENCE_LENGTH = 12
TEXTS = ["The quick brown fox jumped.", "a dog sat", "Great movie!", "zebra is bad"]
PAIRS = [["the good movie", "a bad dog"], ["is great !", "sat"]]


def to_numpy(value) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(value))


def _perturb(model, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        leaf = variable.path.rsplit("/", 1)[-1]
        shape = tuple(variable.shape)
        if leaf == "gamma":
            value = 1.0 + rng.normal(0.0, 0.2, shape)
        elif leaf in ("beta", "bias"):
            value = rng.normal(0.0, 0.2, shape)
        else:
            value = rng.normal(0.0, 0.3, shape)
        variable.assign(value.astype("float32"))


def _inputs() -> dict:
    rng = np.random.default_rng(5)
    lengths = np.array([9, 6, 2])
    mask = np.arange(9)[None, :] < lengths[:, None]
    token_ids = np.where(mask, rng.integers(1, TINY["vocabulary_size"], mask.shape), 0)
    return {
        "token_ids": token_ids.astype("int32"),
        "padding_mask": mask.astype("int32"),
        "mask_positions": np.array([[1, 4, 8], [0, 2, 5], [1, 1, 0]], "int32"),
    }


def _feed(kind: str, inputs: dict) -> dict:
    names = ("token_ids", "padding_mask") + (("mask_positions",) if kind == "masked_lm" else ())
    return {name: inputs[name] for name in names}


def _textbones_models(head_layer_norm_epsilon: float | None = None) -> dict:
    """Tiny textbones models of the three kinds, with random weights.

    ``head_layer_norm_epsilon``: the masked-LM head's (KerasHub's 1e-5 by default;
    transformers' DistilBERT fixes 1e-12, which an exported model must use to match).
    """
    tokenizer = DistilBertTokenizer(VOCAB, lowercase=True)
    keras.utils.set_random_seed(11)
    models = {
        "backbone": DistilBertBackbone(**TINY),
        "masked_lm": DistilBertMaskedLM(
            DistilBertBackbone(**TINY),
            head_layer_norm_epsilon=head_layer_norm_epsilon,
            preprocessor=DistilBertMaskedLMPreprocessor(tokenizer, sequence_length=SEQUENCE_LENGTH),
        ),
        "classifier": DistilBertTextClassifier(
            DistilBertBackbone(**TINY),
            num_classes=NUM_CLASSES,
            preprocessor=DistilBertTextClassifierPreprocessor(
                tokenizer, sequence_length=SEQUENCE_LENGTH
            ),
        ),
    }
    for seed, model in enumerate(models.values()):
        _perturb(model, 100 + seed)
    return models


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """textbones' artifacts written, then the reference run; everything it left behind."""
    workdir = tmp_path_factory.mktemp("distil_bert_parity")
    inputs = _inputs()
    np.savez(workdir / "inputs.npz", **inputs)
    models = _textbones_models()
    presets, outputs = {}, {}
    for kind, model in models.items():
        outputs[kind] = to_numpy(model(_feed(kind, inputs)))
        model.save_to_preset(workdir / "textbones" / kind)
        presets[kind] = str(workdir / "textbones" / kind)
    exported = _textbones_models(head_layer_norm_epsilon=1e-12)
    exports, export_outputs, export_errors = {}, {}, {}
    for kind, model in exported.items():
        export_outputs[kind] = to_numpy(model(_feed(kind, inputs)))
        try:
            model.save_to_preset(workdir / "exports" / kind, format="transformers")
            exports[kind] = str(workdir / "exports" / kind)
        except Exception as error:  # reported by the export tests
            export_errors[kind] = f"{type(error).__name__}: {error}"
    request = {
        "config": TINY,
        "num_classes": NUM_CLASSES,
        "sequence_length": SEQUENCE_LENGTH,
        "vocabulary": VOCAB,
        "texts": TEXTS,
        "pairs": PAIRS,
        "inputs": str(workdir / "inputs.npz"),
        "textbones_presets": presets,
        "textbones_exports": exports,
    }
    (workdir / "request.json").write_text(json.dumps(request), encoding="utf-8")
    finished = subprocess.run(
        [str(reference_python()), str(SCRIPT), str(workdir)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if finished.returncode != 0:
        pytest.fail(
            f"{SCRIPT.name} failed (exit {finished.returncode}):\n{finished.stderr[-4000:]}"
        )
    results = json.loads((workdir / "results.json").read_text(encoding="utf-8"))
    return {
        "workdir": workdir,
        "inputs": inputs,
        "models": models,
        "outputs": outputs,
        "export_outputs": export_outputs,
        "export_errors": export_errors,
        "results": results,
    }


def _reference(run, part: str) -> dict:
    error = run["results"]["errors"].get(part)
    if error:
        pytest.fail(f"The reference run's {part!r} part failed:\n{error}")
    return run["results"]


def _saved(run, folder: str, kind: str) -> np.ndarray:
    return np.load(run["workdir"] / folder / f"{kind}.npz")["output"]


@pytest.mark.parametrize("kind", KINDS)
def test_keras_hub_presets_load_in_textbones(run, kind):
    _reference(run, "keras_hub")
    model = LOADERS[kind].from_preset(str(run["workdir"] / "keras_hub" / kind))
    expected_class = {
        "backbone": DistilBertBackbone,
        "masked_lm": DistilBertMaskedLM,
        "classifier": DistilBertTextClassifier,
    }[kind]
    assert type(model) is expected_class
    output = to_numpy(model(_feed(kind, run["inputs"])))
    np.testing.assert_allclose(output, _saved(run, "keras_hub", kind), atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_keras_hub_weights_copied_in_give_keras_hubs_outputs(run, kind):
    _reference(run, "keras_hub")
    weights = dict(np.load(run["workdir"] / "keras_hub" / f"{kind}.weights.npz"))
    model = _textbones_models()[kind]
    assert sorted(variable.path for variable in model.weights) == sorted(weights)
    for variable in model.weights:
        variable.assign(weights[variable.path])
    output = to_numpy(model(_feed(kind, run["inputs"])))
    np.testing.assert_allclose(output, _saved(run, "keras_hub", kind), atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_textbones_presets_load_in_keras_hub(run, kind):
    results = _reference(run, "keras_hub")
    assert results["keras_hub_loaded"][kind] == type(run["models"][kind]).__name__
    np.testing.assert_allclose(
        _saved(run, "from_textbones", kind), run["outputs"][kind], atol=1e-5, rtol=0
    )


@pytest.mark.parametrize("kind", KINDS)
def test_weights_files_hold_the_same_datasets(run, kind):
    _reference(run, "keras_hub")

    def datasets(path):
        with h5py.File(path) as handle:
            found = {}
            handle.visititems(
                lambda name, item: (
                    found.setdefault(name, item.shape) if hasattr(item, "shape") else None
                )
            )
        return found

    name = "model.weights.h5" if kind == "backbone" else "task.weights.h5"
    assert datasets(run["workdir"] / "keras_hub" / kind / name) == datasets(
        run["workdir"] / "textbones" / kind / name
    )


def test_tokenizer_and_preprocessors_give_keras_hubs_ids(run):
    results = _reference(run, "keras_hub_preprocessing")
    tokenizer = DistilBertTokenizer(VOCAB, lowercase=True)
    assert [tokenizer(text).tolist() for text in TEXTS] == results["tokenizer_ids"]
    assert {
        name: getattr(tokenizer, f"{name}_id")
        for name in ("cls_token", "sep_token", "pad_token", "mask_token", "start_token")
    } == results["special_token_ids"]
    classifier = DistilBertTextClassifierPreprocessor(tokenizer, sequence_length=SEQUENCE_LENGTH)
    for name, x in (("single", TEXTS), ("pairs", tuple(PAIRS))):
        ours = {key: value.astype(int).tolist() for key, value in classifier(x).items()}
        assert ours == results["classifier_preprocessor"][name]
    masked = DistilBertMaskedLMPreprocessor(
        tokenizer, sequence_length=SEQUENCE_LENGTH, mask_selection_rate=0.0
    )
    x, _, weights = masked(TEXTS)
    expected = results["masked_lm_preprocessor"]
    assert sorted(x) == sorted(expected["x"])
    for key in ("token_ids", "padding_mask"):
        assert x[key].astype(int).tolist() == expected["x"][key]
    assert float(weights.sum()) == expected["weights_sum"] == 0.0


@pytest.mark.parametrize("kind", KINDS)
def test_transformers_checkpoints_load_in_textbones(run, kind):
    _reference(run, "transformers")
    model = LOADERS[kind].from_preset(str(run["workdir"] / "hf" / kind))
    assert textbones.registry.family_of(model).name == "distil_bert"
    output = to_numpy(model(_feed(kind, run["inputs"])))
    np.testing.assert_allclose(output, _saved(run, "hf", kind), atol=1e-4, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_textbones_exports_load_in_transformers(run, kind):
    if kind in run["export_errors"]:
        pytest.fail(f"textbones could not export the {kind}: {run['export_errors'][kind]}")
    results = _reference(run, "transformers_loads_exports")
    report = results["export_reports"][kind]
    assert not report.get("missing_keys") and not report.get("unexpected_keys"), report
    np.testing.assert_allclose(
        _saved(run, "from_exports", kind), run["export_outputs"][kind], atol=1e-4, rtol=0
    )
