"""Parity with KerasHub, both ways, for the backbone of every registered family.

KerasHub lives in a separate virtualenv (``.venv-ref``: keras-hub, TensorFlow, torch), so
its side runs as a subprocess: ``tests/parity/keras_hub_reference.py``, which this module
never imports; it hands the script the configurations in a JSON file, so that both
directions cover exactly the same models. They are each registered family's tiny backbone
(``Family.tiny_config``) and the ``VARIANTS`` below, which exercise one family's own
options (more segments, ALBERT's layer sharing, FNet's FFT over odd lengths).

* KerasHub -> textbones: the script's ``make`` writes small random KerasHub presets with
  KerasHub's own ``save_to_preset`` plus KerasHub's outputs on fixed, unevenly padded
  batches; ``textbones.models.Backbone.from_preset`` must rebuild the same class and
  reproduce those outputs.
* textbones -> KerasHub: textbones backbones of the same configurations, with random
  weights, are written with ``save_to_preset``; the script's ``check`` loads them with
  ``keras_hub.models.Backbone.from_preset`` and compares KerasHub's outputs with ours.
* The ``model.weights.h5`` files written by both libraries hold the same datasets.

Every comparison is recorded in ``build/parity_report.json`` and printed (``pytest -s``).

Speed: each reference run spends several seconds importing TensorFlow, so there are two
per session, one ``make`` and one ``check`` for all presets (module-scoped fixtures). They
run one after the other, not beside the in-process work: on a small machine the JAX
compilations here and the imports there only slow each other down. By default the
reference runs KerasHub on Keras' torch backend, whose eager CPU execution avoids the
per-shape XLA compilations that make a JAX run of ``make`` take about a minute; set
``TEXTBONES_REF_KERAS_BACKEND=jax`` to compare with KerasHub on JAX instead.

Environment variables:

* ``TEXTBONES_REF_PYTHON``: the reference interpreter (default ``<repo>/.venv-ref/bin/python``).
* ``TEXTBONES_REF_KERAS_BACKEND``: Keras backend of the reference run (default ``torch``).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import pathlib
import subprocess
import time
from typing import Any

import h5py
import keras
import numpy as np
import pytest

import textbones
from tests.helpers import families
from tests.helpers.reference_env import reference_python
from tests.parity.reference_shared import make_inputs, outputs_by_name, perturb_weights
from textbones import registry
from textbones.models import Backbone

pytestmark = pytest.mark.parity

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = pathlib.Path(__file__).with_name("keras_hub_reference.py")
REPORT_PATH = REPO / "build" / "parity_report.json"
REF_BACKEND = os.environ.get("TEXTBONES_REF_KERAS_BACKEND") or "torch"

TOLERANCE = 1e-5
SUBPROCESS_TIMEOUT_S = 300
# Seed of the textbones-side weights and inputs; the reference script uses its own.
TEXTBONES_SEED = 4321

# Dimensions are shared between entries where that costs no coverage: under the JAX
# backend every new weight shape costs an XLA compilation, and the test must stay fast.
# ``batches`` lists the input batches: ``seq_len`` columns and one row per entry of
# ``lengths`` (the number of real tokens in that row; the rest is padding).


def _tiny_batches(max_sequence_length: int) -> list[dict[str, Any]]:
    """A full-length batch with uneven rows and a short one, for a family's tiny backbone."""
    return [
        {"seq_len": max_sequence_length, "lengths": [max_sequence_length, 17, 5, 1]},
        {"seq_len": 9, "lengths": [3, 9, 6]},
    ]


#: The options of one family beyond its tiny backbone, by family name: family-specific
#: cases, not a list of the families (every registered family gets its tiny backbone).
VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "bert": {
        "bert_4_heads_3_segments": {
            "config": {
                "vocabulary_size": 97,
                "num_layers": 3,
                "num_heads": 4,
                "hidden_dim": 16,
                "intermediate_dim": 24,
                "max_sequence_length": 24,
                "num_segments": 3,
            },
            "batches": [
                {"seq_len": 24, "lengths": [24, 11, 2]},
                {"seq_len": 9, "lengths": [9, 4]},
            ],
        },
    },
    "albert": {
        "albert_one_shared_layer": {
            # KerasHub's defaults (one group, one inner layer): a single encoder layer
            # applied num_layers times, as in the published ALBERT presets.
            "config": {
                "vocabulary_size": 97,
                "num_layers": 3,
                "num_heads": 4,
                "embedding_dim": 8,
                "hidden_dim": 16,
                "intermediate_dim": 24,
                "max_sequence_length": 24,
                "num_segments": 3,
            },
            "batches": [
                {"seq_len": 24, "lengths": [24, 9, 3]},
                {"seq_len": 9, "lengths": [7, 9]},
            ],
        },
    },
    "f_net": {
        "f_net_4_segments": {
            "config": {
                "vocabulary_size": 97,
                "num_layers": 2,
                "hidden_dim": 16,
                "intermediate_dim": 32,
                "max_sequence_length": 24,
                "num_segments": 4,
            },
            "batches": [
                {"seq_len": 24, "lengths": [24, 15, 4]},
                {"seq_len": 11, "lengths": [11, 8, 2, 5]},
            ],
        },
        "f_net_3_layers": {
            # Odd sequence lengths for the FFT over the sequence axis.
            "config": {
                "vocabulary_size": 97,
                "num_layers": 3,
                "hidden_dim": 16,
                "intermediate_dim": 24,
                "max_sequence_length": 24,
                "num_segments": 2,
            },
            "batches": [
                {"seq_len": 13, "lengths": [13, 6]},
                {"seq_len": 7, "lengths": [7, 3, 1]},
            ],
        },
    },
}


def _configs() -> dict[str, dict[str, Any]]:
    """Every model compared: each family's tiny backbone, then its ``VARIANTS``."""
    configs = {}
    for family in families.families():
        config = families.tiny_config(family)
        configs[f"{family.name}_tiny"] = {
            "family": family.name,
            "class": family.backbone.__name__,
            "config": config,
            "batches": _tiny_batches(config["max_sequence_length"]),
        }
        for name, variant in VARIANTS.get(family.name, {}).items():
            configs[name] = {"family": family.name, "class": family.backbone.__name__, **variant}
    unknown = set(VARIANTS) - set(families.family_names())
    assert not unknown, f"VARIANTS of families that are not registered: {sorted(unknown)}"
    return configs


CONFIGS = _configs()
NAMES = list(CONFIGS)


def _backbone_class(name: str) -> type:
    """The textbones backbone class of the config called ``name``."""
    return registry.family(CONFIGS[name]["family"]).backbone


# --------------------------------------------------------------------------- report


_REPORT: dict[str, Any] = {
    "tolerance": TOLERANCE,
    "reference": {},
    "keras_hub_to_textbones": {},
    "textbones_to_keras_hub": {},
    "weights_file_layout": {},
}


def _record(section: str, name: str, entry: Any) -> None:
    """Add an entry to the report and rewrite ``build/parity_report.json`` at once.

    Rewriting after every entry keeps the file useful when only some tests run, or when
    the session is interrupted.
    """
    _REPORT[section][name] = entry
    _REPORT["written"] = datetime.datetime.now().isoformat(timespec="seconds")
    _REPORT["textbones"] = {
        "version": textbones.__version__,
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
    }
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PATH.write_text(json.dumps(_REPORT, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# ------------------------------------------------------------------- reference process


def _run_reference(ref_python, *args) -> tuple[subprocess.CompletedProcess, float]:
    """Run the reference script with ``args``; return the finished process and its time."""
    env = dict(os.environ)
    env["TEXTBONES_REF_KERAS_BACKEND"] = REF_BACKEND
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    command = [str(ref_python), str(SCRIPT), *map(str, args)]
    started = time.perf_counter()
    try:
        finished = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            timeout=SUBPROCESS_TIMEOUT_S,
            check=False,  # the callers turn a failure into a readable test failure
        )
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"the reference run {' '.join(command[1:3])} took over {SUBPROCESS_TIMEOUT_S} s",
            pytrace=False,
        )
    return finished, round(time.perf_counter() - started, 2)


@pytest.fixture(scope="module")
def ref_python() -> pathlib.Path:
    """The reference interpreter. Missing is a failure, never a skip."""
    return reference_python()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("keras_hub_parity")


@pytest.fixture(scope="module")
def keras_hub_presets(ref_python, workspace) -> pathlib.Path:
    """The directory of presets written by KerasHub's ``make`` (one per config)."""
    out_dir = workspace / "keras_hub"
    configs_path = workspace / "configs.json"
    configs_path.write_text(json.dumps(CONFIGS), encoding="utf-8")
    finished, seconds = _run_reference(ref_python, "make", out_dir, configs_path)
    if finished.returncode != 0:
        pytest.fail(
            f"the KerasHub reference `make` failed (exit {finished.returncode}):\n"
            f"{finished.stderr[-4000:]}",
            pytrace=False,
        )
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    _REPORT["reference"].update(
        {key: summary[key] for key in ("keras_hub_version", "keras_version", "keras_backend")}
    )
    _REPORT["reference"]["make_seconds"] = seconds
    assert sorted(summary["made"]) == sorted(NAMES)
    return out_dir


# ------------------------------------------------------------------- textbones helpers


@contextlib.contextmanager
def _float32_matmuls():
    """Full float32 matrix products under JAX (an accelerator may default to TF32)."""
    if keras.backend.backend() == "jax":
        import jax

        with jax.default_matmul_precision("float32"):
            yield
    else:
        yield


def _outputs(model, batch) -> dict[str, np.ndarray]:
    # ``predict`` compiles the forward pass once per input shape; eager JAX would compile
    # every operation separately, which is several times slower for these tiny models.
    with _float32_matmuls():
        outputs = model.predict(batch, batch_size=len(batch["token_ids"]), verbose=0)
    return {
        name: np.asarray(value, dtype="float32") for name, value in outputs_by_name(outputs).items()
    }


def _load_io(path) -> list[tuple[dict, dict]]:
    """``[(inputs, outputs), ...]`` from an npz in the layout of the reference script."""
    data = np.load(path)
    output_names = [str(name) for name in data["output_names"]]
    batches = []
    for i in range(int(data["num_batches"])):
        prefix = f"batch{i}."
        items = {key[len(prefix) :]: data[key] for key in data.files if key.startswith(prefix)}
        outputs = {name: items.pop(name) for name in output_names}
        batches.append((items, outputs))
    return batches


def _save_io(path, batches) -> None:
    arrays = {
        "num_batches": np.asarray(len(batches)),
        "output_names": np.asarray(sorted(batches[0][1])),
    }
    for i, (inputs, outputs) in enumerate(batches):
        for key, value in {**inputs, **outputs}.items():
            arrays[f"batch{i}.{key}"] = value
    np.savez(path, **arrays)


def _max_abs_diff(actual, expected) -> float:
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    return float(np.max(np.abs(actual.astype("float64") - expected.astype("float64"))))


def _h5_datasets(path) -> dict[str, tuple[tuple[int, ...], str]]:
    """``{dataset path: (shape, dtype)}`` for every dataset in an HDF5 file."""
    found = {}
    with h5py.File(path, "r") as handle:

        def visit(name, item):
            if isinstance(item, h5py.Dataset):
                found[name] = (tuple(item.shape), str(item.dtype))

        handle.visititems(visit)
    return found


# ------------------------------------------------------------------ textbones presets


@pytest.fixture(scope="module")
def textbones_presets(workspace) -> pathlib.Path:
    """Random textbones presets of every config, each with our outputs in an npz."""
    out_dir = workspace / "textbones"
    started = time.perf_counter()
    for index, (name, entry) in enumerate(CONFIGS.items()):
        rng = np.random.default_rng(TEXTBONES_SEED + index)
        model = _backbone_class(name)(**entry["config"])
        perturb_weights(model, rng)
        preset_dir = out_dir / name
        model.save_to_preset(preset_dir)
        batches = []
        for spec in entry["batches"]:
            inputs = make_inputs(
                spec,
                model.vocabulary_size,
                getattr(model, "num_segments", 1),
                model.input_names,
                rng,
            )
            batches.append((inputs, _outputs(model, inputs)))
        _save_io(preset_dir / "textbones_io.npz", batches)
    _REPORT["reference"]["textbones_presets_seconds"] = round(time.perf_counter() - started, 2)
    return out_dir


@pytest.fixture(scope="module")
def keras_hub_check(ref_python, textbones_presets) -> dict[str, dict[str, Any]]:
    """KerasHub's verdict on every textbones preset (one ``check`` run), by config name."""
    pairs = []
    for name in NAMES:
        pairs += [textbones_presets / name, textbones_presets / name / "textbones_io.npz"]
    finished, seconds = _run_reference(ref_python, "check", *pairs)
    records = {}
    for line in finished.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            records[pathlib.Path(record["preset"]).name] = record
    if not records:
        pytest.fail(
            f"the KerasHub reference `check` printed no results (exit {finished.returncode}):"
            f"\n{finished.stderr[-4000:]}",
            pytrace=False,
        )
    _REPORT["reference"]["check_seconds"] = seconds
    return records


# ---------------------------------------------------------------------------- tests


# KerasHub -> textbones


@pytest.fixture(scope="module")
def loaded_keras_hub_presets(keras_hub_presets):
    """``name -> textbones.models.Backbone.from_preset(<KerasHub preset name>)``, cached.

    Loaded on first use, so that a preset that fails to load fails its own tests only.
    """
    cache = {}

    def load(name):
        if name not in cache:
            cache[name] = Backbone.from_preset(keras_hub_presets / name)
        return cache[name]

    return load


@pytest.mark.parametrize("name", NAMES)
def test_keras_hub_preset_loads_in_textbones_with_same_outputs(
    name, keras_hub_presets, loaded_keras_hub_presets
):
    entry = CONFIGS[name]
    model = loaded_keras_hub_presets(name)
    assert type(model) is _backbone_class(name)
    for key, value in entry["config"].items():
        assert getattr(model, key) == value, key

    per_batch = []
    for inputs, expected in _load_io(keras_hub_presets / name / "reference_io.npz"):
        actual = _outputs(model, inputs)
        assert sorted(actual) == sorted(expected), "the two backbones' outputs differ in names"
        per_batch.append(
            {output: _max_abs_diff(actual[output], expected[output]) for output in expected}
        )
    output_names = sorted(per_batch[0])
    assert "sequence_output" in output_names
    max_abs_diff = {output: max(diffs[output] for diffs in per_batch) for output in output_names}
    _record(
        "keras_hub_to_textbones",
        name,
        {"class": type(model).__name__, "max_abs_diff": max_abs_diff, "per_batch": per_batch},
    )
    print(f"\nKerasHub -> textbones  {name}: {max_abs_diff}")
    for output in output_names:
        assert max_abs_diff[output] <= TOLERANCE, (
            f"{name} ({entry['class']}) {output}: textbones' output on the KerasHub preset "
            f"differs from KerasHub's by max abs {max_abs_diff[output]:.3g} > {TOLERANCE} "
            f"(per batch: {per_batch})"
        )


@pytest.mark.parametrize("name", NAMES)
def test_keras_hub_preset_loads_with_family_class(
    name, keras_hub_presets, loaded_keras_hub_presets
):
    preset_dir = keras_hub_presets / name
    family_class = _backbone_class(name)
    model = family_class.from_preset(preset_dir)
    assert type(model) is family_class

    metadata = json.loads((preset_dir / "metadata.json").read_text(encoding="utf-8"))
    assert model.count_params() == metadata["parameter_count"], (
        f"{name}: textbones counts {model.count_params()} parameters, KerasHub's "
        f"metadata.json says {metadata['parameter_count']}"
    )
    # Same weights as the model that Backbone.from_preset built (whose outputs are
    # compared with KerasHub's in the test above), without running it again.
    reference = loaded_keras_hub_presets(name)
    assert [w.path for w in model.weights] == [w.path for w in reference.weights]
    for ours, theirs in zip(model.weights, reference.weights, strict=True):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs), err_msg=ours.path
        )


# textbones -> KerasHub


@pytest.mark.parametrize("name", NAMES)
def test_textbones_preset_loads_in_keras_hub_with_same_outputs(name, keras_hub_check):
    entry = CONFIGS[name]
    record = keras_hub_check.get(name)
    assert record is not None, f"the reference check printed nothing for {name}"
    assert "error" not in record, (
        f"KerasHub could not load/run the textbones preset {name}: {record['error']}\n"
        f"{record.get('traceback', '')}"
    )
    _record(
        "textbones_to_keras_hub",
        name,
        {
            "class": record["class"],
            "keras_hub_class": record["keras_hub_class"],
            "max_abs_diff": record["max_abs_diff"],
            "per_batch": record["per_batch"],
        },
    )
    print(f"\ntextbones -> KerasHub  {name}: {record['max_abs_diff']}")
    assert record["class"] == entry["class"]
    assert record["keras_hub_class"].startswith("keras_hub."), (
        f"the reference resolved the preset to {record['keras_hub_class']}, not to a KerasHub class"
    )
    assert "sequence_output" in record["max_abs_diff"]
    for output in record["max_abs_diff"]:
        diff = record["max_abs_diff"][output]
        assert diff <= TOLERANCE, (
            f"{name} ({entry['class']}) {output}: KerasHub's output on the textbones "
            f"preset differs from textbones' by max abs {diff:.3g} > {TOLERANCE} "
            f"(per batch: {record['per_batch']})"
        )


@pytest.mark.parametrize("name", NAMES)
def test_weights_file_layout_matches_keras_hub(name, keras_hub_presets, textbones_presets):
    ours = _h5_datasets(textbones_presets / name / "model.weights.h5")
    theirs = _h5_datasets(keras_hub_presets / name / "model.weights.h5")
    _record(
        "weights_file_layout",
        name,
        {"datasets": len(theirs), "identical": ours == theirs},
    )
    only_ours = sorted(set(ours) - set(theirs))
    only_theirs = sorted(set(theirs) - set(ours))
    shape_mismatch = {
        key: {"textbones": ours[key], "keras_hub": theirs[key]}
        for key in sorted(set(ours) & set(theirs))
        if ours[key] != theirs[key]
    }
    assert not (only_ours or only_theirs or shape_mismatch), (
        f"{name}: model.weights.h5 layouts differ.\n only textbones: {only_ours}\n"
        f" only KerasHub: {only_theirs}\n shape/dtype differences: {shape_mismatch}"
    )
