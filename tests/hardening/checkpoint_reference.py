"""Reference-environment side of ``test_checkpoint_files.py`` (run it with ``.venv-ref``).

``checkpoint_reference.py safetensors FOLDER``: prints, as JSON, for every file in FOLDER
whether the ``safetensors`` package accepts it (``true``: it opens the file and hands out
every tensor's bytes) or refuses it (``false``).

``checkpoint_reference.py legacy-torch FOLDER``: FOLDER is a ``transformers`` checkpoint
with ``model.safetensors``; its tensors are written again as a ``pytorch_model.bin`` in
torch's legacy (non-zip) format, the safetensors file is moved aside, and textbones loads
the folder (torch installed, so the pickle path is taken). Prints, as JSON, whether the
file is a legacy one and the largest difference between each loaded variable and a load of
the original safetensors checkpoint.

``checkpoint_reference.py legacy-layouts FOLDER``: writes, in torch's legacy format, a
state dict of awkward tensors (a transposed view, a slice at an offset, two tensors sharing
one storage, bfloat16, float16, int64, an empty one) and prints, as JSON, for each whether
textbones read it from its place in the file (not through a whole-file load) and equal to
torch's own load; then the error textbones gives for the same file cut short.

``checkpoint_reference.py torch-errors FOLDER``: writes damaged and hostile
``pytorch_model.bin`` files (a text file holding a secret, a pickle naming a function to
call) into copies of the checkpoint in FOLDER and prints, as JSON, the error textbones
raises for each: ``{case: [exception type, message]}``.

Only the standard library is imported at module level: the main suite's doctest
collection imports this file without torch or safetensors.
"""

import json
import pathlib
import sys


def safetensors_verdicts(folder: pathlib.Path) -> dict[str, bool]:
    import safetensors

    verdicts = {}
    for path in sorted(folder.iterdir()):
        try:
            # Both of the package's readers: from bytes (every tensor's data handed out)
            # and from the file (what transformers uses); they validate alike.
            safetensors.deserialize(path.read_bytes())
            with safetensors.safe_open(str(path), framework="numpy") as handle:
                handle.keys()
            verdicts[path.name] = True
        except Exception:  # noqa: BLE001  (every refusal counts alike)
            verdicts[path.name] = False
    return verdicts


def legacy_torch(folder: pathlib.Path) -> dict:
    import os
    import zipfile

    os.environ.setdefault("KERAS_BACKEND", "jax")
    import numpy as np
    import torch
    from safetensors.torch import load_file

    import textbones

    expected = textbones.models.Backbone.from_preset(folder)
    state = load_file(str(folder / "model.safetensors"))
    target = folder / "pytorch_model.bin"
    torch.save(state, target, _use_new_zipfile_serialization=False)
    (folder / "model.safetensors").rename(folder.parent / "aside.safetensors")
    loaded = textbones.models.Backbone.from_preset(folder)
    differences = [
        float(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0))
        for a, b in zip(loaded.get_weights(), expected.get_weights(), strict=True)
    ]
    # A tensor read twice (its memory was freed after the first read) reads the same.
    from textbones.presets.transformers.checkpoint import TransformersCheckpoint

    with TransformersCheckpoint(folder) as checkpoint:
        key = sorted(checkpoint.keys())[0]
        first, second = checkpoint.read(key), checkpoint.read(key)
        located = len(checkpoint._legacy) == len(checkpoint.keys())
    return {
        "located": located,
        "read_twice_equal": bool(np.array_equal(first, second)) and first.size > 0,
        "legacy": not zipfile.is_zipfile(target),
        "variables": len(differences),
        "max_difference": max(differences),
    }


def legacy_layouts(folder: pathlib.Path) -> dict:
    import numpy as np
    import torch

    from textbones.presets.transformers.checkpoint import TransformersCheckpoint

    shared = torch.arange(24, dtype=torch.float32)
    state = {
        "transposed": torch.arange(12, dtype=torch.float32).reshape(3, 4).t(),
        "offset_slice": torch.arange(20, dtype=torch.float32).reshape(4, 5)[1:, 2:],
        "shared_a": shared[:12].view(3, 4),
        "shared_b": shared[12:],
        "bfloat16": torch.linspace(-2, 2, 7).to(torch.bfloat16),
        "float16": torch.linspace(-2, 2, 5).to(torch.float16),
        "int64": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        "empty": torch.zeros(0, 3),
    }
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    torch.save(state, folder / "pytorch_model.bin", _use_new_zipfile_serialization=False)
    result = {}
    with TransformersCheckpoint(folder) as checkpoint:
        for name, tensor in state.items():
            expected = tensor.float().numpy() if tensor.dtype == torch.bfloat16 else tensor.numpy()
            read = checkpoint.read(name)
            result[name] = {
                "located": name in checkpoint._legacy,
                "equal": read.shape == expected.shape
                and bool(np.array_equal(read.astype(expected.dtype), expected)),
                "dtype": str(read.dtype),
            }
    data = (folder / "pytorch_model.bin").read_bytes()
    (folder / "pytorch_model.bin").write_bytes(data[:-10])
    try:
        TransformersCheckpoint(folder)
        result["truncated"] = None
    except Exception as error:  # noqa: BLE001
        result["truncated"] = [type(error).__name__, str(error)]
    return result


SECRET = "root:x:0:0:TOPSECRET-7f3a:/root:/bin/bash\n"


class _Call:
    """Pickles as a call of a function that no state dict holds."""

    def __reduce__(self):
        import os

        return (os.getenv, ("TOPSECRET_GLOBAL_7f3a",))


def torch_errors(folder: pathlib.Path) -> dict:
    import os
    import shutil

    os.environ.setdefault("KERAS_BACKEND", "jax")
    import torch

    import textbones

    cases = {
        "secret_text": lambda path: path.write_text(SECRET),
        "zip_of_a_call": lambda path: torch.save({"w": _Call()}, path),
        "legacy_of_a_call": lambda path: torch.save(
            {"w": _Call()}, path, _use_new_zipfile_serialization=False
        ),
        "not_a_state_dict": lambda path: torch.save([torch.zeros(2)], path),
    }
    errors = {}
    for name, write in cases.items():
        copy = folder.parent / name
        shutil.copytree(folder, copy)
        (copy / "model.safetensors").unlink()
        write(copy / "pytorch_model.bin")
        try:
            textbones.models.Backbone.from_preset(copy)
            errors[name] = None
        except Exception as error:  # noqa: BLE001
            errors[name] = [type(error).__name__, str(error)]
    return errors


if __name__ == "__main__":
    command, folder = sys.argv[1], pathlib.Path(sys.argv[2])
    commands = {
        "safetensors": safetensors_verdicts,
        "legacy-torch": legacy_torch,
        "legacy-layouts": legacy_layouts,
        "torch-errors": torch_errors,
    }
    print(json.dumps(commands[command](folder)))
