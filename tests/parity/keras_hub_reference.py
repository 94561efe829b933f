"""KerasHub side of the textbones parity tests.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports
``keras_hub``, which the main test environment does not have. The main suite never
imports it: its name does not match ``test_*.py``, ``tests/parity/conftest.py`` keeps it
out of ``--doctest-modules`` collection, and ``test_keras_hub_parity.py`` passes the
configurations it compares in a JSON file. Importing it anyway has no side effects; the
environment is only set up in ``main``.

Keras backend: ``jax`` unless ``TEXTBONES_REF_KERAS_BACKEND`` names another (the pytest
side passes ``torch``, for speed). TensorFlow's logging is silenced.

Subcommands:

``make OUT_DIR CONFIGS_JSON``
    ``CONFIGS_JSON`` holds ``{name: {"class": ..., "config": {...}, "batches": [...]}}``:
    the models compared, which ``test_keras_hub_parity.py`` derives from textbones'
    registered families. ``batches`` lists the input batches: ``seq_len`` columns and one
    row per entry of ``lengths`` (the number of real tokens in that row; the rest is
    padding). For every entry, build a small KerasHub backbone with seeded random
    weights (every LayerNorm and bias moved away from its initial value too, so that a
    weight loaded into the wrong place shows up), write it with KerasHub's
    ``save_to_preset`` to ``OUT_DIR/<name>``, and store fixed input batches and KerasHub's
    outputs for them in ``OUT_DIR/<name>/reference_io.npz``.

``check PRESET_DIR IO_NPZ [PRESET_DIR IO_NPZ ...]``
    Load each preset with ``keras_hub.models.Backbone.from_preset``, run it on the
    inputs stored in the matching npz, and print one JSON line per preset::

        {"preset": ..., "class": ..., "max_abs_diff": {"sequence_output": ..., ...},
         "per_batch": [{...}, ...]}

    A preset that cannot be loaded or run gives a line with an ``"error"`` key instead;
    the exit status is then nonzero.

npz layout (both subcommands): ``num_batches``, ``output_names`` (the backbone's outputs:
``sequence_output``, and ``pooled_output`` where it has a pooler; a backbone returning one
tensor has ``sequence_output`` only) and, for batch ``i``, its inputs
``batch{i}.token_ids``, ``batch{i}.segment_ids`` and ``batch{i}.padding_mask`` (those the
backbone takes) and its outputs ``batch{i}.<output name>``.
"""

import argparse
import json
import os
import pathlib
import sys
import traceback
import warnings

import numpy as np
from reference_shared import make_inputs, outputs_by_name, perturb_weights, stderr_silenced

SEED = 1234


def _configure_environment():
    """Set what Keras and TensorFlow read at import time; call before importing them.

    Done in ``main`` rather than at module level so that importing this file (by a tool,
    say) changes nothing in the importing process.
    """
    # JAX unless TEXTBONES_REF_KERAS_BACKEND names another backend; the pytest side asks
    # for "torch", whose eager CPU execution skips JAX's per-shape XLA compilations (a few
    # seconds instead of about a minute for ``make``). Setting it here also overrides a
    # keras.json that names TensorFlow.
    os.environ["KERAS_BACKEND"] = os.environ.get("TEXTBONES_REF_KERAS_BACKEND") or "jax"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    # Plain float32 CPU math even on a machine with an accelerator.
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


def _import_keras_hub():
    warnings.filterwarnings("ignore")
    with stderr_silenced():
        import keras
        import keras_hub

        try:
            import absl.logging

            absl.logging.set_verbosity(absl.logging.ERROR)
        except ImportError:
            pass
        try:
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
        except ImportError:
            pass
    return keras, keras_hub


def run_model(model, batch):
    import keras

    outputs = outputs_by_name(model(batch, training=False))
    return {
        name: keras.ops.convert_to_numpy(value).astype("float32") for name, value in outputs.items()
    }


def save_io(path, batches, outputs):
    arrays = {
        "num_batches": np.asarray(len(batches)),
        "output_names": np.asarray(sorted(outputs[0])),
    }
    for i, (batch, output) in enumerate(zip(batches, outputs, strict=True)):
        for key, value in {**batch, **output}.items():
            arrays[f"batch{i}.{key}"] = value
    np.savez(path, **arrays)


def load_io(path):
    """Return ``[(inputs, expected_outputs), ...]`` from an npz written by ``save_io``."""
    data = np.load(path)
    output_names = [str(name) for name in data["output_names"]]
    result = []
    for i in range(int(data["num_batches"])):
        prefix = f"batch{i}."
        items = {k[len(prefix) :]: data[k] for k in data.files if k.startswith(prefix)}
        outputs = {name: items.pop(name) for name in output_names}
        result.append((items, outputs))
    return result


def command_make(out_dir, configs_path):
    keras, keras_hub = _import_keras_hub()
    configs = json.loads(pathlib.Path(configs_path).read_text(encoding="utf-8"))
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for index, (name, entry) in enumerate(configs.items()):
        keras.utils.set_random_seed(SEED + index)
        rng = np.random.default_rng(SEED + index)
        cls = getattr(keras_hub.models, entry["class"])
        model = cls(**entry["config"])
        perturb_weights(model, rng)
        preset_dir = out_dir / name
        model.save_to_preset(str(preset_dir))

        # KerasHub's functional backbones take a dict of the inputs they have (FNet's has
        # no padding_mask, DistilBERT's no segment_ids).
        config = model.get_config()
        batches = [
            make_inputs(
                spec,
                config["vocabulary_size"],
                config.get("num_segments", 1),
                list(model.input),
                rng,
            )
            for spec in entry["batches"]
        ]
        outputs = [run_model(model, batch) for batch in batches]
        save_io(preset_dir / "reference_io.npz", batches, outputs)
        manifest[name] = {"class": entry["class"], "config": entry["config"]}
    summary = {
        "made": sorted(manifest),
        "keras_hub_version": keras_hub.__version__,
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
    }
    (out_dir / "manifest.json").write_text(
        json.dumps({**summary, "presets": manifest}, indent=2) + "\n"
    )
    print(json.dumps(summary))
    return 0


def command_check(pairs):
    keras, keras_hub = _import_keras_hub()
    failures = 0
    for preset_dir, io_path in pairs:
        record = {
            "preset": str(preset_dir),
            "keras_hub_version": keras_hub.__version__,
            "keras_backend": keras.backend.backend(),
        }
        try:
            model = keras_hub.models.Backbone.from_preset(str(preset_dir))
            record["class"] = type(model).__name__
            record["keras_hub_class"] = f"{type(model).__module__}.{type(model).__name__}"
            per_batch = []
            for inputs, expected in load_io(io_path):
                actual = run_model(model, inputs)
                if sorted(actual) != sorted(expected):
                    raise ValueError(
                        f"KerasHub's outputs are {sorted(actual)}, textbones' {sorted(expected)}"
                    )
                per_batch.append(
                    {
                        name: float(np.max(np.abs(actual[name] - expected[name])))
                        for name in expected
                    }
                )
            record["per_batch"] = per_batch
            record["max_abs_diff"] = {
                name: max(diffs[name] for diffs in per_batch) for name in per_batch[0]
            }
        except Exception as error:  # noqa: BLE001 - reported to the caller as data
            failures += 1
            record["error"] = f"{type(error).__name__}: {error}"
            record["traceback"] = traceback.format_exc()
            print(
                f"keras_hub_reference.py check: could not load/run {preset_dir}: {record['error']}",
                file=sys.stderr,
            )
        print(json.dumps(record), flush=True)
    return 1 if failures else 0


def main(argv=None):
    _configure_environment()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make", help="write KerasHub presets and reference outputs")
    make.add_argument("out_dir")
    make.add_argument("configs", help="a JSON file of the configs to build")
    check = sub.add_parser("check", help="load presets with KerasHub and compare outputs")
    check.add_argument(
        "paths",
        nargs="+",
        metavar="PRESET_DIR IO_NPZ",
        help="one or more PRESET_DIR IO_NPZ pairs",
    )
    args = parser.parse_args(argv)
    if args.command == "make":
        return command_make(args.out_dir, args.configs)
    if len(args.paths) % 2:
        parser.error("check takes PRESET_DIR IO_NPZ pairs (an even number of paths)")
    return command_check(list(zip(args.paths[0::2], args.paths[1::2], strict=True)))


if __name__ == "__main__":
    sys.exit(main())
