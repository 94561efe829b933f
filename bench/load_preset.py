"""Load time and peak memory of reading a BERT-base ``transformers`` checkpoint: textbones vs KerasHub.

The checkpoint (``config.json`` + ``model.safetensors``, float32, random weights, about
440 MB) is written once by textbones' own exporter into ``build/bench/bert_base_hf``.
Each library then loads it with ``BertBackbone.from_preset(directory)`` in a fresh
subprocess of its own, so neither inherits the other's memory. In that subprocess the
libraries (and TensorFlow, where installed, which Keras would import on the way) are
imported first; then the peak resident set size is reset (Linux
``/proc/self/clear_refs``), the load is timed, and the new peak is read (``VmHWM``). The
figure that matters is the peak *growth* during the load, next to the size of the weights:
textbones reads the tensors one by one into the variables (about 1x the weights),
KerasHub builds the model's random weights and then overwrites them.

Run it in the reference environment, where both libraries are installed::

    .venv-ref/bin/python bench/load_preset.py               # JAX
    KERAS_BACKEND=torch .venv-ref/bin/python bench/load_preset.py

``--textbones-only`` measures textbones alone (e.g. in ``.venv``, without KerasHub).
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
# bench/tokenize.py would shadow the standard library's tokenize module.
sys.path = [entry for entry in sys.path if pathlib.Path(entry or ".").resolve() != pathlib.Path(__file__).resolve().parent]

REPO = pathlib.Path(__file__).resolve().parents[1]
CHECKPOINT = REPO / "build" / "bench" / "bert_base_hf"
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


def write_checkpoint() -> None:
    """The BERT-base checkpoint, written once by textbones (random weights)."""
    if (CHECKPOINT / "model.safetensors").is_file():
        return
    code = (
        "import keras, textbones; keras.utils.set_random_seed(0); "
        f"textbones.models.BertBackbone(**{BERT_BASE!r}).save_to_preset({str(CHECKPOINT)!r}, format='transformers')"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def run_measurement(library: str) -> dict:
    finished = subprocess.run(
        [sys.executable, __file__, "--measure", library, str(CHECKPOINT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"measuring {library} failed:\n{finished.stderr[-3000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--textbones-only", action="store_true", help="measure textbones alone")
    parser.add_argument("--measure", nargs=2, metavar=("LIBRARY", "DIRECTORY"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        print(json.dumps(measure(*arguments.measure)))
        return
    write_checkpoint()
    weights_mib = (CHECKPOINT / "model.safetensors").stat().st_size / MIB
    libraries = ["textbones"] if arguments.textbones_only else ["textbones", "keras_hub"]
    results = [run_measurement(library) for library in libraries]
    print(f"BERT-base transformers checkpoint: {weights_mib:.0f} MiB of float32 weights ({CHECKPOINT})")
    print(f"{'library':<10} {'backend':<8} {'load s':>7} {'RSS before':>11} {'peak RSS':>9} {'peak growth':>12} {'growth/weights':>15}")
    for result in results:
        print(
            f"{result['library']:<10} {result['backend']:<8} {result['load_s']:>7.2f} "
            f"{result['rss_before_mib']:>8.0f} MiB {result['peak_rss_mib']:>5.0f} MiB "
            f"{result['peak_growth_mib']:>8.0f} MiB {result['peak_growth_mib'] / weights_mib:>14.2f}x"
        )
    if len(results) == 2:
        ours, theirs = results
        print(
            f"textbones loads in {ours['load_s'] / theirs['load_s']:.2f}x KerasHub's time with "
            f"{ours['peak_growth_mib'] / theirs['peak_growth_mib']:.2f}x its peak memory growth."
        )


if __name__ == "__main__":
    main()
