"""A Hugging Face ``transformers`` checkpoint directory: its config and its tensors by name.

Weights are read from, in order of preference, ``model.safetensors``, sharded safetensors
(``model.safetensors.index.json``), ``pytorch_model.bin`` or its shards
(``pytorch_model.bin.index.json``; read with torch, which must be installed). Tensors
are read one at a time, on demand.

Every shard an index names must lie inside the checkpoint's folder
(:func:`~textbones.presets.preset_files.contained_file`), and no error quotes the bytes of
a file. A zip-format ``pytorch_model.bin`` is memory-mapped and each tensor's pages are
dropped from memory once it is read, so memory holds the model plus one tensor; a legacy
(pre-zip) one cannot be mapped: its tensors are located in the file and read one at a time
(:mod:`~textbones.presets.transformers.legacy_torch`), or, for a layout that module does not
know, the file is read whole and each tensor freed once read.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import mmap
import os
import pathlib
import sys
import zipfile
from typing import Any

import numpy as np

from textbones.presets.files import (
    HF_CONFIG_FILE,
    HF_OTHER_WEIGHTS_FILES,
    HF_SAFETENSORS_FILE,
    HF_SAFETENSORS_INDEX,
    HF_TORCH_FILE,
    HF_TORCH_INDEX,
)
from textbones.presets.preset_files import read_json, weight_map_files
from textbones.presets.transformers.legacy_torch import LegacyTensor, locate, meta_state
from textbones.presets.transformers.safetensors_file import TensorEntry, read_header, read_tensor


def is_transformers_config(config: dict[str, Any]) -> bool:
    """Whether a ``config.json`` is a ``transformers`` config rather than a Keras one.

    Example:

    >>> is_transformers_config({"model_type": "bert"})
    True
    >>> is_transformers_config({"registered_name": "x"})
    False
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
    >>> tensor = ("a.weight", (2,), np.dtype("float32"), lambda: np.ones(2, "float32"))
    >>> write_safetensors(folder / "model.safetensors", [tensor])
    >>> with TransformersCheckpoint(folder) as checkpoint:
    ...     checkpoint.keys(), checkpoint.read("a.weight").tolist()
    (['a.weight'], [1.0, 1.0])
    """

    def __init__(self, directory: pathlib.Path, load_weights: bool = True):
        self.directory = pathlib.Path(directory)
        self.config = read_json(self.directory, HF_CONFIG_FILE)
        self._entries: dict[str, TensorEntry] = {}
        self._torch_state: dict[str, Any] | None = None
        self._mapped: list[tuple[int, int]] = []
        self._unmapped: dict[str, pathlib.Path] = {}
        self._legacy: dict[str, LegacyTensor] = {}
        self._handles: dict[pathlib.Path, Any] = {}
        self.weights_description = "no weights"
        if load_weights:
            self._index_weights()

    # -- finding the weights ---------------------------------------------------------------
    def _index_weights(self) -> None:
        directory = self.directory
        if (directory / HF_SAFETENSORS_FILE).is_file():
            self._entries = read_header(directory / HF_SAFETENSORS_FILE)
            self.weights_description = str(directory / HF_SAFETENSORS_FILE)
        elif (directory / HF_SAFETENSORS_INDEX).is_file():
            for shard in self._shards(HF_SAFETENSORS_INDEX):
                self._entries.update(read_header(shard))
            self.weights_description = f"the shards listed in {directory / HF_SAFETENSORS_INDEX}"
        elif (directory / HF_TORCH_FILE).is_file() or (directory / HF_TORCH_INDEX).is_file():
            files = (
                [directory / HF_TORCH_FILE]
                if (directory / HF_TORCH_FILE).is_file()
                else self._shards(HF_TORCH_INDEX)
            )
            loaded = _load_torch_files(files)
            self._torch_state, self._mapped, self._unmapped, self._legacy = loaded
            self.weights_description = ", ".join(str(path) for path in files)
        else:
            others = [name for name in HF_OTHER_WEIGHTS_FILES if (directory / name).is_file()]
            found = (
                f" It holds only {', '.join(others)}, which textbones does not read."
                if others
                else ""
            )
            raise FileNotFoundError(
                f"{directory} holds a transformers config but no weights textbones can read: "
                f"no {HF_SAFETENSORS_FILE}, {HF_SAFETENSORS_INDEX}, {HF_TORCH_FILE} or "
                f"{HF_TORCH_INDEX}.{found} "
                "Save the model with `save_pretrained` (safetensors), or pass "
                "`load_weights=False` to build the architecture with random weights."
            )

    def _shards(self, index_name: str) -> list[pathlib.Path]:
        index_path = self.directory / index_name
        weight_map = read_json(self.directory, index_name).get("weight_map")
        return weight_map_files(self.directory, index_path, weight_map)

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
            if key in self._legacy:
                return self._legacy[key].read()
            tensor = self._torch_state[key]
            if tensor.is_meta:  # read before and released: read its file again
                tensor = _load_torch_files([self._unmapped[key]])[0][key]
            array = _torch_to_numpy(tensor)
            if key in self._unmapped:
                # A legacy file was read whole: free each tensor once it is read (its shape
                # and dtype stay), so the model grows as the pickle's tensors go.
                self._torch_state[key] = tensor.to("meta")
            else:
                _release_mapped_pages(tensor, self._mapped)
            return array
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


def _load_torch_files(files: list[pathlib.Path]):
    """The tensors of ``files`` by name, the address ranges the mapped files occupy, the
    file of each tensor read whole, and where each located tensor of a legacy file lies."""
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
    unmapped: dict[str, pathlib.Path] = {}
    legacy: dict[str, LegacyTensor] = {}
    for path in files:
        # A zip file (torch >= 1.6) is mapped: tensors stay in the file until read. A file
        # in the legacy format cannot be mapped: its tensors are located in it and read one
        # at a time, or if that fails it is read whole. Never anything but tensors.
        mapped = zipfile.is_zipfile(path)
        located = None
        try:
            if not mapped:
                loaded = meta_state(path)
                located = None if loaded is None else locate(path, loaded)
            if located is None:
                loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=mapped)
        except Exception as error:  # torch raises many kinds for a damaged pickle
            raise ValueError(_torch_failure(path, error)) from None
        tensors = isinstance(loaded, dict) and all(
            isinstance(v, torch.Tensor) for v in loaded.values()
        )
        if not tensors:
            raise ValueError(
                f"{path} holds a {type(loaded).__name__}, not a state dict of tensors "
                "(a name -> tensor dict, as `model.state_dict()` gives). Save the model's "
                "state dict, or its safetensors (`save_pretrained`)."
            )
        state.update(loaded)
        if located is not None:
            legacy.update(located)
        elif not mapped:
            unmapped.update(dict.fromkeys(loaded, path))
    return state, _mappings_of(files), unmapped, legacy


def _torch_failure(path: pathlib.Path, error: Exception) -> str:
    # torch's messages can quote the pickle (a refused global's name, a bad opcode byte):
    # say what kind of failure it was, never what the file holds.
    if "Weights only load failed" in str(error):
        return (
            f"{path} holds Python objects other than tensors, which textbones refuses to "
            "unpickle (torch.load with weights_only=True: loading them could run code). Use a "
            "checkpoint saved as a state dict of tensors, or as safetensors."
        )
    return (
        f"torch cannot read {path} ({type(error).__name__}): the file is damaged or is not "
        "a PyTorch checkpoint. Download or save the checkpoint again."
    )


def _mappings_of(files: list[pathlib.Path]) -> list[tuple[int, int]]:
    """The address ranges at which this process maps ``files`` (Linux; else none)."""
    maps = pathlib.Path("/proc/self/maps")
    if not sys.platform.startswith("linux") or not maps.is_file():
        return []
    wanted = {os.path.realpath(path) for path in files}
    ranges = []
    for line in maps.read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] in wanted:
            start, end = (int(address, 16) for address in fields[0].split("-"))
            ranges.append((start, end))
    return ranges


def _release_mapped_pages(tensor, mapped: list[tuple[int, int]]) -> None:
    """Let the pages of a read tensor leave this process's memory (they stay in the file).

    Only whole pages inside this process's mappings of the checkpoint files are released.
    torch maps them copy-on-write and nothing writes to them, so the pages are the file's
    own: reading them again fetches them from the file again.
    """
    libc = _libc()
    if libc is None or not mapped:
        return
    storage = tensor.untyped_storage()
    start, end = storage.data_ptr(), storage.data_ptr() + storage.nbytes()
    for first, last in mapped:
        low, high = max(start, first), min(end, last)
        low += -low % mmap.PAGESIZE
        high -= high % mmap.PAGESIZE
        if high > low:
            libc.madvise(ctypes.c_void_p(low), ctypes.c_size_t(high - low), _MADV_DONTNEED)


_MADV_DONTNEED = 4  # the same value on Linux and macOS


@functools.cache
def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        return libc
    except (OSError, AttributeError):
        return None


def _torch_to_numpy(tensor) -> np.ndarray:
    import ml_dtypes
    import torch

    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16).copy()
    return tensor.numpy().copy()
