"""Tensors of a legacy (pre-zip) ``pytorch_model.bin``, read one at a time from the file.

torch cannot memory-map a file in its legacy format and reads it whole, which holds the
whole checkpoint in memory while the model is built beside it. This module finds where each
tensor's bytes lie instead, so that a tensor can be read on its own:

1. torch vouches for the file: :func:`meta_state` loads it with ``weights_only=True`` under
   ``torch.serialization.skip_data``, onto the ``meta`` device. That reads no tensor data
   and gives every tensor's shape and dtype (or torch's own refusal of anything else).
2. :func:`locate` walks the same pickle with an unpickler that can build nothing but
   records of (storage key, offset, shape, stride), then reads the storage table after it:
   the sorted storage keys, then per storage an 8-byte element count and its raw bytes.

Anything unexpected (an older layout, a view of a storage, a size that disagrees) makes
:func:`locate` return ``None``, and the caller falls back to torch's whole-file read.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import math
import os
import pathlib
import pickle
from typing import Any

import numpy as np

_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # the first pickle of every legacy torch file


@dataclasses.dataclass(frozen=True)
class LegacyTensor:
    """Where one tensor of a legacy torch file lies, and how to read it.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.bin"
    >>> _ = path.write_bytes(np.arange(6, dtype="float32").tobytes())
    >>> tensor = LegacyTensor(path, 0, 1, (2, 2), (1, 2), np.dtype("float32"))
    >>> tensor.read().tolist()
    [[1.0, 3.0], [2.0, 4.0]]
    """

    path: pathlib.Path
    data_offset: int  # byte offset in the file of the storage's first element
    storage_offset: int  # in elements
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: np.dtype

    def read(self) -> np.ndarray:
        """The tensor as a C-contiguous NumPy array, read from the file alone."""
        if math.prod(self.shape) == 0:
            return np.zeros(self.shape, self.dtype)
        span = 1 + sum((size - 1) * step for size, step in zip(self.shape, self.stride))
        start = self.data_offset + self.storage_offset * self.dtype.itemsize
        data = np.fromfile(self.path, dtype=self.dtype, count=span, offset=start)
        if data.size != span:
            raise ValueError(
                f"{self.path} ends inside a tensor: the file is truncated. Download or "
                "save the checkpoint again."
            )
        strides = tuple(step * self.dtype.itemsize for step in self.stride)
        return np.ascontiguousarray(np.lib.stride_tricks.as_strided(data, self.shape, strides))


def meta_state(path: pathlib.Path) -> dict[str, Any] | None:
    """The tensors of a legacy torch file as ``meta`` tensors (no data read), or ``None``
    when this torch cannot load without data (torch < 2.5). torch's errors propagate."""
    import torch

    skip_data = getattr(torch.serialization, "skip_data", None)
    if skip_data is None:
        return None
    with skip_data():
        return torch.load(path, map_location="meta", weights_only=True)


@dataclasses.dataclass(frozen=True)
class _Record:
    storage: tuple[str, int]  # (storage key, number of elements)
    storage_offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _record_tensor(storage, storage_offset, size, stride, *_rest) -> _Record:
    return _Record(storage, int(storage_offset), tuple(size), tuple(stride))


class _Locator(pickle.Unpickler):
    """Builds dicts, lists, numbers, strings and tensor records; refuses every other global."""

    _GLOBALS = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _record_tensor,
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self._GLOBALS:
            return self._GLOBALS[module, name]
        if module == "torch" and name.endswith("Storage"):
            return name  # only named in a storage's id, never called
        raise pickle.UnpicklingError("not a plain state dict")

    def persistent_load(self, saved_id):
        if not (isinstance(saved_id, tuple) and len(saved_id) == 6):
            raise pickle.UnpicklingError("unknown persistent id")
        typename, _storage_type, key, _location, numel, view = saved_id
        if typename not in ("storage", b"storage") or view is not None:
            raise pickle.UnpicklingError("a storage view")
        return (str(key), int(numel))


def locate(path: pathlib.Path, meta: dict[str, Any]) -> dict[str, LegacyTensor] | None:
    """Where each tensor of ``meta`` (from :func:`meta_state`) lies in ``path``, or ``None``
    if the file's layout is not the one this module knows."""
    try:
        with open(path, "rb") as file:
            return _locate(file, pathlib.Path(path), meta)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, KeyError):
        return None


def _locate(file: io.BufferedReader, path: pathlib.Path, meta: dict[str, Any]):
    if _Locator(file).load() != _MAGIC_NUMBER:
        return None
    _Locator(file).load()  # protocol version
    _Locator(file).load()  # system info
    records = _Locator(file).load()
    keys = _Locator(file).load()
    if not isinstance(records, dict) or set(records) != set(meta):
        return None
    itemsizes: dict[str, int] = {}
    numels: dict[str, int] = {}
    for name, record in records.items():
        if not isinstance(record, _Record) or tuple(meta[name].shape) != record.shape:
            return None
        itemsizes[record.storage[0]] = meta[name].element_size()
        numels[record.storage[0]] = record.storage[1]
    size = os.fstat(file.fileno()).st_size
    offsets: dict[str, int] = {}
    for key in keys:
        count = int.from_bytes(file.read(8), "little")
        if count != numels.get(str(key), count):
            return None
        offsets[str(key)] = file.tell()
        file.seek(count * itemsizes.get(str(key), 1), os.SEEK_CUR)
    if file.tell() > size:
        return None
    located = {}
    for name, record in records.items():
        key, numel = record.storage
        dtype = _numpy_dtype(meta[name])
        span = 1 + sum((n - 1) * s for n, s in zip(record.shape, record.stride))
        if key not in offsets or (math.prod(record.shape) and record.storage_offset + span > numel):
            return None
        located[name] = LegacyTensor(
            path, offsets[key], record.storage_offset, record.shape, record.stride, dtype
        )
    return located


def _numpy_dtype(tensor) -> np.dtype:
    import ml_dtypes
    import torch

    if tensor.dtype == torch.bfloat16:
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(torch.empty((), dtype=tensor.dtype).numpy().dtype)
