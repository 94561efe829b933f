"""A Hugging Face ``transformers`` checkpoint directory: its config and its tensors by name.

Weights are read from, in order of preference, ``model.safetensors``, sharded safetensors
(``model.safetensors.index.json``), ``pytorch_model.bin`` or its shards
(``pytorch_model.bin.index.json``; read with torch, which must be installed). Tensors
are read one at a time, on demand.
"""

from __future__ import annotations

import contextlib
import pathlib
from typing import Any

import numpy as np

from textbones.presets.preset_files import CONFIG_FILE, read_json
from textbones.presets.transformers.safetensors_file import TensorEntry, read_header, read_tensor

SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
TORCH_FILE = "pytorch_model.bin"
TORCH_INDEX = "pytorch_model.bin.index.json"

# Weight files of other frameworks: named in the error when they are all a repo holds.
_UNREADABLE = ("tf_model.h5", "flax_model.msgpack", "model.onnx", "rust_model.ot")


def is_transformers_config(config: dict[str, Any]) -> bool:
    """Whether a ``config.json`` is a ``transformers`` config rather than a Keras one.

    Example:

    >>> is_transformers_config({"model_type": "bert"}), is_transformers_config({"registered_name": "x"})
    (True, False)
    """
    return "model_type" in config and "registered_name" not in config


class TransformersCheckpoint(contextlib.AbstractContextManager):
    """The config and tensors of a ``transformers`` checkpoint directory.

    ``keys()`` lists the tensor names as stored; ``read(name)`` returns one tensor as a
    NumPy array. Use it as a context manager: open files are closed on exit.

    Example:

    >>> import json, pathlib, tempfile
    >>> from textbones.presets.transformers.safetensors_file import write_safetensors
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    >>> write_safetensors(folder / "model.safetensors", [("a.weight", (2,), np.dtype("float32"), lambda: np.ones(2, "float32"))])
    >>> with TransformersCheckpoint(folder) as checkpoint:
    ...     checkpoint.keys(), checkpoint.read("a.weight").tolist()
    (['a.weight'], [1.0, 1.0])
    """

    def __init__(self, directory: pathlib.Path, load_weights: bool = True):
        self.directory = pathlib.Path(directory)
        self.config = read_json(self.directory, CONFIG_FILE)
        self._entries: dict[str, TensorEntry] = {}
        self._torch_state: dict[str, Any] | None = None
        self._handles: dict[pathlib.Path, Any] = {}
        self.weights_description = "no weights"
        if load_weights:
            self._index_weights()

    # -- finding the weights ---------------------------------------------------------------
    def _index_weights(self) -> None:
        directory = self.directory
        if (directory / SAFETENSORS_FILE).is_file():
            self._entries = read_header(directory / SAFETENSORS_FILE)
            self.weights_description = str(directory / SAFETENSORS_FILE)
        elif (directory / SAFETENSORS_INDEX).is_file():
            for shard in self._shards(SAFETENSORS_INDEX):
                self._entries.update(read_header(shard))
            self.weights_description = f"the shards listed in {directory / SAFETENSORS_INDEX}"
        elif (directory / TORCH_FILE).is_file() or (directory / TORCH_INDEX).is_file():
            files = [directory / TORCH_FILE] if (directory / TORCH_FILE).is_file() else self._shards(TORCH_INDEX)
            self._torch_state = _load_torch_files(files)
            self.weights_description = ", ".join(str(path) for path in files)
        else:
            others = [name for name in _UNREADABLE if (directory / name).is_file()]
            found = f" It holds only {', '.join(others)}, which textbones does not read." if others else ""
            raise FileNotFoundError(
                f"{directory} holds a transformers config but no weights textbones can read: "
                f"no {SAFETENSORS_FILE}, {SAFETENSORS_INDEX}, {TORCH_FILE} or {TORCH_INDEX}.{found} "
                "Save the model with `save_pretrained` (safetensors), or pass "
                "`load_weights=False` to build the architecture with random weights."
            )

    def _shards(self, index_name: str) -> list[pathlib.Path]:
        index = read_json(self.directory, index_name)
        weight_map = index.get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ValueError(
                f"{self.directory / index_name} has no 'weight_map'; the checkpoint is corrupt. "
                "Download or save it again."
            )
        shards = [self.directory / name for name in dict.fromkeys(weight_map.values())]
        missing = [str(path.name) for path in shards if not path.is_file()]
        if missing:
            raise FileNotFoundError(
                f"{self.directory / index_name} lists shards that are not there: "
                f"{', '.join(missing)}. Download the checkpoint again."
            )
        return shards

    # -- reading ---------------------------------------------------------------------------
    def keys(self) -> list[str]:
        """The names of every stored tensor."""
        if self._torch_state is not None:
            return list(self._torch_state)
        return list(self._entries)

    def shape(self, key: str) -> tuple[int, ...]:
        """The shape of a stored tensor, without reading it."""
        if self._torch_state is not None:
            return tuple(self._torch_state[key].shape)
        return self._entries[key].shape

    def read(self, key: str) -> np.ndarray:
        """One stored tensor as a NumPy array (bfloat16 as ``ml_dtypes.bfloat16``)."""
        if self._torch_state is not None:
            return _torch_to_numpy(self._torch_state[key])
        entry = self._entries[key]
        handle = self._handles.get(entry.path)
        if handle is None:
            handle = self._handles[entry.path] = open(entry.path, "rb")
        return read_tensor(handle, entry)

    def __exit__(self, *exc_info) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()
        self._torch_state = None


def _load_torch_files(files: list[pathlib.Path]) -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"{files[0].parent} holds its weights in {files[0].name}, a PyTorch pickle, "
            "which can only be read with torch. Install torch (`pip install torch`), or "
            "convert the checkpoint to safetensors once where torch is installed "
            "(`model.save_pretrained(folder)` writes model.safetensors)."
        ) from None
    state: dict[str, Any] = {}
    for path in files:
        try:
            # mmap: tensors stay in the file until read, so memory holds one at a time.
            loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception as error:  # torch raises many kinds for a damaged pickle
            raise ValueError(
                f"torch cannot read {path} ({type(error).__name__}: {error}). The file is "
                "damaged or not a state dict: download or save the checkpoint again."
            ) from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{path} holds a {type(loaded).__name__}, not a state dict of tensors.")
        state.update(loaded)
    return state


def _torch_to_numpy(tensor) -> np.ndarray:
    import ml_dtypes
    import torch

    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16).copy()
    return tensor.numpy().copy()
