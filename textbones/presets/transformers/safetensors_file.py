"""Reading and writing ``.safetensors`` files one tensor at a time.

The format is an 8-byte little-endian header length, a JSON header mapping each tensor's
name to its ``dtype``, ``shape`` and ``data_offsets`` (relative to the end of the
header), and the raw little-endian bytes. Reading a tensor here is one ``seek`` and one
``readinto`` into a fresh NumPy array: the file is never memory-mapped, so a converter
that assigns tensors to variables one by one holds at most one tensor beside the model.
Writing streams tensor after tensor the same way.
"""

from __future__ import annotations

import json
import pathlib
import struct
from collections.abc import Callable, Iterable
from typing import BinaryIO, NamedTuple

import ml_dtypes
import numpy as np

_DTYPES = {
    "F64": np.dtype("float64"),
    "F32": np.dtype("float32"),
    "F16": np.dtype("float16"),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "I64": np.dtype("int64"),
    "I32": np.dtype("int32"),
    "I16": np.dtype("int16"),
    "I8": np.dtype("int8"),
    "U8": np.dtype("uint8"),
    "BOOL": np.dtype("bool"),
}
_NAMES = {dtype: name for name, dtype in _DTYPES.items()}
# A header larger than this is not a safetensors header (the reference reader caps it too).
_MAX_HEADER_BYTES = 100_000_000


class TensorEntry(NamedTuple):
    """Where one tensor lives: its file, dtype, shape and absolute byte range."""

    path: pathlib.Path
    dtype: np.dtype
    shape: tuple[int, ...]
    start: int
    end: int


def read_header(path: pathlib.Path) -> dict[str, TensorEntry]:
    """The tensors a ``.safetensors`` file holds, by name, without reading their data.

    Raises ``ValueError`` naming the file when it is not a readable safetensors file.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.safetensors"
    >>> write_safetensors(path, [("w", (2, 3), np.dtype("float32"), lambda: np.ones((2, 3), "float32"))])
    >>> entry = read_header(path)["w"]
    >>> entry.shape, entry.dtype.name, entry.end - entry.start
    ((2, 3), 'float32', 24)
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise _damaged(path, "it is shorter than a safetensors header")
        (length,) = struct.unpack("<Q", prefix)
        if length > min(_MAX_HEADER_BYTES, size - 8):
            raise _damaged(path, f"its header claims {length} bytes")
        try:
            header = json.loads(handle.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise _damaged(path, f"its header is not JSON ({error})") from None
    if not isinstance(header, dict):
        raise _damaged(path, "its header is not a JSON object")
    base = 8 + length
    entries = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = _DTYPES[spec["dtype"]]
            shape = tuple(int(dim) for dim in spec["shape"])
            start, end = (int(offset) for offset in spec["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise _damaged(path, f"the header entry of {name!r} is malformed ({spec!r})") from None
        if end - start != dtype.itemsize * int(np.prod(shape, dtype=np.int64)) or base + end > size:
            raise _damaged(path, f"the bytes of {name!r} are missing or do not fit its shape")
        entries[name] = TensorEntry(path, dtype, shape, base + start, base + end)
    return entries


def read_tensor(handle: BinaryIO, entry: TensorEntry) -> np.ndarray:
    """The tensor described by ``entry``, read from the open file ``handle`` into a new array."""
    array = np.empty(entry.shape, dtype=entry.dtype.newbyteorder("<"))
    if not array.size:
        return array
    handle.seek(entry.start)
    if handle.readinto(memoryview(array.reshape(-1).view(np.uint8))) != entry.end - entry.start:
        raise _damaged(entry.path, "it ends before the last tensor's bytes")
    return array


def write_safetensors(
    path: pathlib.Path,
    tensors: Iterable[tuple[str, tuple[int, ...], np.dtype, Callable[[], np.ndarray]]],
    metadata: dict[str, str] | None = None,
) -> None:
    """Write ``tensors`` (name, shape, dtype, a function returning the array) to ``path``.

    Each array is produced, written and dropped in turn, so only one exists at a time.
    ``metadata`` goes in the header's ``__metadata__`` (``transformers`` wants
    ``{"format": "pt"}``).
    """
    tensors = list(tensors)
    header: dict[str, object] = {"__metadata__": dict(metadata or {})}
    offset = 0
    for name, shape, dtype, _ in tensors:
        dtype = np.dtype(dtype)
        if dtype not in _NAMES:
            raise ValueError(f"Cannot write {name!r} to safetensors: dtype {dtype} has no safetensors name.")
        nbytes = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
        header[name] = {"dtype": _NAMES[dtype], "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for name, shape, dtype, produce in tensors:
            array = np.ascontiguousarray(produce(), dtype=np.dtype(dtype).newbyteorder("<"))
            if array.shape != tuple(shape):
                raise ValueError(f"Tensor {name!r} has shape {array.shape}, announced as {tuple(shape)}.")
            handle.write(memoryview(array.reshape(-1).view(np.uint8)))


def _damaged(path: pathlib.Path, problem: str) -> ValueError:
    return ValueError(
        f"{path} is not a readable safetensors file: {problem}. It was probably cut short "
        "by an interrupted download or save: download or save the checkpoint again."
    )
