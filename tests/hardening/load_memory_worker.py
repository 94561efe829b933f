"""Peak memory growth of one ``Backbone.from_preset`` in a fresh process (Linux).

``load_memory_worker.py FOLDER``: imports everything the load needs (torch too for a
``pytorch_model.bin``), loads a one-layer copy of the same preset once to warm Keras and the
backend up, then resets the peak resident set size (``/proc/self/clear_refs``), loads
FOLDER and prints, as JSON, the bytes by which the peak (``VmHWM``) rose above the resident
size just before the load, and the bytes of the loaded model's weights.

``load_memory_worker.py --to-torch FOLDER...`` (reference environment: torch and
safetensors) replaces each FOLDER's ``model.safetensors`` by a ``pytorch_model.bin``;
``--to-legacy-torch`` writes it in torch's legacy (non-zip) format.

Used by ``test_load_memory.py``; only the standard library is imported at module level.
"""

import json
import os
import pathlib
import sys


def _status_bytes(field: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _return_freed_memory() -> None:
    """Hand memory freed by the warm-up back to the system (glibc's ``malloc_trim``), so
    that the load cannot reuse it unseen and the figure is the load's own."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measure(folder: pathlib.Path, warm_up: pathlib.Path) -> dict:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import gc

    import textbones
    import textbones.presets.transformers.loading  # noqa: F401  (imported before measuring)

    if (folder / "pytorch_model.bin").is_file():
        import torch  # noqa: F401
    textbones.models.Backbone.from_preset(warm_up)
    gc.collect()
    _return_freed_memory()
    before = _status_bytes("VmRSS")
    pathlib.Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    backbone = textbones.models.Backbone.from_preset(folder)
    peak = _status_bytes("VmHWM")
    weights = sum(int(v.numpy().nbytes) for v in backbone.weights)
    return {"growth": peak - before, "weights": weights}


def to_torch(folders: list[pathlib.Path], legacy: bool) -> None:
    import torch
    from safetensors.torch import load_file

    for folder in folders:
        state = load_file(str(folder / "model.safetensors"))
        torch.save(state, folder / "pytorch_model.bin", _use_new_zipfile_serialization=not legacy)
        (folder / "model.safetensors").unlink()


if __name__ == "__main__":
    if sys.argv[1] in ("--to-torch", "--to-legacy-torch"):
        to_torch([pathlib.Path(path) for path in sys.argv[2:]], sys.argv[1] == "--to-legacy-torch")
    else:
        print(json.dumps(measure(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))))
