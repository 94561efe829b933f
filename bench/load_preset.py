"""Load time and peak memory of reading a BERT-base preset in three formats: textbones vs KerasHub.

The same random BERT-base weights (float32, about 418 MiB) are written once, by textbones,
under ``build/bench/``:

* ``bert_base_keras``: a Keras preset (``config.json`` + ``model.weights.h5``, KerasHub's layout);
* ``bert_base_hf``: a ``transformers`` checkpoint (``config.json`` + ``model.safetensors``);
* ``bert_base_bin``: the same checkpoint with a zip-format ``pytorch_model.bin`` (needs torch);
* ``bert_base_legacy_bin``: the same in torch's legacy (pre-zip) format, which cannot be
  memory-mapped (textbones reads its tensors one at a time from their place in the file).

Each library then loads each format it can read with ``BertBackbone.from_preset(directory)``
in a fresh subprocess of its own, so no load inherits another's memory (KerasHub reads no
``pytorch_model.bin``). In that subprocess the libraries (TensorFlow, which Keras would
import on the way where installed, and torch for a ``pytorch_model.bin``) are imported
first; then the peak resident set size is reset (Linux ``/proc/self/clear_refs``), the load
is timed, and the new peak is read (``VmHWM``). The figure that matters is the peak
*growth* during the load, next to the size of the weights: textbones streams each tensor
into its variable (about 1x the weights), KerasHub builds the model's random weights and
then overwrites them.

Run it in the reference environment, where both libraries are installed::

    .venv-ref/bin/python bench/load_preset.py               # JAX
    KERAS_BACKEND=torch .venv-ref/bin/python bench/load_preset.py

``--textbones-only`` measures textbones alone (e.g. in ``.venv``, without KerasHub or torch:
the ``pytorch_model.bin`` row is then left out).
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = pathlib.Path(__file__).resolve().parents[1]
BENCH = REPO / "build" / "bench"
#: format -> (folder, weights file)
FORMATS = {
    "model.weights.h5": (BENCH / "bert_base_keras", "model.weights.h5"),
    "model.safetensors": (BENCH / "bert_base_hf", "model.safetensors"),
    "pytorch_model.bin": (BENCH / "bert_base_bin", "pytorch_model.bin"),
    "legacy .bin": (BENCH / "bert_base_legacy_bin", "pytorch_model.bin"),
}
BERT_BASE = dict(
    vocabulary_size=30522,
    num_layers=12,
    num_heads=12,
    hidden_dim=768,
    intermediate_dim=3072,
    max_sequence_length=512,
    activation="gelu",
)
MIB = 2**20


def _status_kib(field: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def measure(library: str, directory: str) -> dict:
    """Load ``directory`` with ``library`` in this process; time and memory figures."""
    import importlib.util

    import keras

    if importlib.util.find_spec("tensorflow") is not None:
        # Keras imports TensorFlow on first serializing anything when it is installed
        # (KerasHub imports it at once): load it before measuring, for both libraries.
        import tensorflow  # noqa: F401
    if (pathlib.Path(directory) / "pytorch_model.bin").is_file():
        import torch  # noqa: F401  (a library import, not part of the load)
    if library == "textbones":
        import textbones.presets.transformers.loading  # noqa: F401  (imports outside the timing)
        from textbones.models import BertBackbone
    else:
        import keras_hub.src.utils.transformers.convert_bert  # noqa: F401
        import keras_hub.src.utils.transformers.preset_loader  # noqa: F401
        from keras_hub.models import BertBackbone
    baseline = _status_kib("VmRSS")
    pathlib.Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    start = time.perf_counter()
    backbone = BertBackbone.from_preset(directory)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    return {
        "library": library,
        "backend": keras.backend.backend(),
        "load_s": seconds,
        "rss_before_mib": baseline / 1024,
        "peak_rss_mib": peak / 1024,
        "peak_growth_mib": (peak - baseline) / 1024,
        "parameters": backbone.count_params(),
    }


def write_presets(with_torch: bool) -> None:
    """The BERT-base presets, written once by textbones (random weights), in a subprocess."""
    keras_dir, _ = FORMATS["model.weights.h5"]
    hf_dir, _ = FORMATS["model.safetensors"]
    written = (keras_dir / "model.weights.h5").is_file() and (
        hf_dir / "model.safetensors"
    ).is_file()
    if not written:
        code = (
            "import keras, textbones; keras.utils.set_random_seed(0); "
            f"model = textbones.models.BertBackbone(**{BERT_BASE!r}); "
            f"model.save_to_preset({str(keras_dir)!r}); "
            f"model.save_to_preset({str(hf_dir)!r}, format='transformers')"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
    for name, zipped in (("pytorch_model.bin", True), ("legacy .bin", False)):
        bin_dir, _ = FORMATS[name]
        if not with_torch or (bin_dir / "pytorch_model.bin").is_file():
            continue
        bin_dir.mkdir(parents=True, exist_ok=True)
        (bin_dir / "config.json").write_bytes((hf_dir / "config.json").read_bytes())
        code = (
            "import torch; from safetensors.torch import load_file; "
            f"torch.save(load_file({str(hf_dir / 'model.safetensors')!r}), "
            f"{str(bin_dir / 'pytorch_model.bin')!r}, _use_new_zipfile_serialization={zipped})"
        )
        subprocess.run([sys.executable, "-c", code], check=True)


def run_measurement(library: str, directory: pathlib.Path) -> dict:
    finished = subprocess.run(
        [sys.executable, __file__, "--measure", library, str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"measuring {library} on {directory} failed:\n{finished.stderr[-3000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def main() -> None:
    import importlib.util

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--textbones-only", action="store_true", help="measure textbones alone")
    parser.add_argument(
        "--measure", nargs=2, metavar=("LIBRARY", "DIRECTORY"), help=argparse.SUPPRESS
    )
    arguments = parser.parse_args()
    if arguments.measure:
        print(json.dumps(measure(*arguments.measure)))
        return
    with_torch = all(importlib.util.find_spec(name) for name in ("torch", "safetensors"))
    write_presets(with_torch)
    print(f"BERT-base presets under {BENCH} (float32 weights; each load in a fresh process)")
    print(
        f"{'format':<18} {'library':<10} {'backend':<8} {'load s':>7} {'weights':>9} "
        f"{'peak growth':>12} {'growth/weights':>15}"
    )
    for name, (folder, weights_file) in FORMATS.items():
        if not (folder / weights_file).is_file():
            continue
        weights_mib = (folder / weights_file).stat().st_size / MIB
        libraries = ["textbones"]
        # KerasHub reads no pytorch_model.bin.
        if not arguments.textbones_only and weights_file != "pytorch_model.bin":
            libraries.append("keras_hub")
        results = [run_measurement(library, folder) for library in libraries]
        for result in results:
            growth = result["peak_growth_mib"]
            print(
                f"{name:<18} {result['library']:<10} {result['backend']:<8} "
                f"{result['load_s']:>7.2f} {weights_mib:>5.0f} MiB {growth:>8.0f} MiB "
                f"{growth / weights_mib:>14.2f}x"
            )
        if len(results) == 2:
            ours, theirs = results
            time_ratio = ours["load_s"] / theirs["load_s"]
            memory_ratio = ours["peak_growth_mib"] / theirs["peak_growth_mib"]
            print(
                f"{'':<18} textbones loads in {time_ratio:.2f}x KerasHub's time with "
                f"{memory_ratio:.2f}x its peak memory growth."
            )


if __name__ == "__main__":
    main()
