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

from textbones.presets.preset_files import decode_problem, shown_name

#: Every dtype the format defines, with its width in bits (F4 and F6 are packed).
_BITS = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8,
    "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64,
    "U64": 64,
}  # fmt: skip
#: The dtypes read into NumPy arrays (the packed ones have no NumPy equivalent).
_DTYPES = {
    "F64": np.dtype("float64"),
    "F32": np.dtype("float32"),
    "F16": np.dtype("float16"),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "I64": np.dtype("int64"),
    "I32": np.dtype("int32"),
    "I16": np.dtype("int16"),
    "I8": np.dtype("int8"),
    "U64": np.dtype("uint64"),
    "U32": np.dtype("uint32"),
    "U16": np.dtype("uint16"),
    "U8": np.dtype("uint8"),
    "BOOL": np.dtype("bool"),
    "C64": np.dtype("complex64"),
    "F8_E5M2": np.dtype(ml_dtypes.float8_e5m2),
    "F8_E4M3": np.dtype(ml_dtypes.float8_e4m3fn),
    "F8_E4M3FNUZ": np.dtype(ml_dtypes.float8_e4m3fnuz),
    "F8_E5M2FNUZ": np.dtype(ml_dtypes.float8_e5m2fnuz),
}
if hasattr(ml_dtypes, "float8_e8m0fnu"):  # ml_dtypes >= 0.5
    _DTYPES["F8_E8M0"] = np.dtype(ml_dtypes.float8_e8m0fnu)
_NAMES = {dtype: name for name, dtype in _DTYPES.items()}
# The reference reader's limits: a header of at most 100 MB, JSON nested at most 127 deep,
# sizes and offsets that fit an unsigned 64-bit integer.
_MAX_HEADER_BYTES = 100_000_000
_MAX_DEPTH = 127
_USIZE_MAX = 2**64 - 1
_ENTRY_FIELDS = ("dtype", "shape", "data_offsets")


class TensorEntry(NamedTuple):
    """Where one tensor lives: its file, dtype, shape and absolute byte range.

    ``dtype`` is ``None`` for the packed formats (``F4``, ``F6_*``) NumPy cannot hold;
    ``dtype_name`` is the format's name for it (``"F32"``).
    """

    path: pathlib.Path
    dtype: np.dtype | None
    shape: tuple[int, ...]
    start: int
    end: int
    dtype_name: str = ""


class _Invalid(Exception):
    """A header that breaks the format; the message never quotes the file's bytes."""


class _Object(dict):
    """A decoded JSON object that remembers which of its keys appeared more than once."""

    def __init__(self, pairs):
        super().__init__()
        self.repeated = set()
        for key, value in pairs:
            if key in self:
                self.repeated.add(key)
            self[key] = value


def _json_int(text: str):
    # JSON integers as the reference parser sees them: "-0" and integers beyond 64 bits
    # become floating point numbers, and those beyond a double's range are refused.
    if text == "-0" or len(text.lstrip("-")) > 20:
        return _json_float(text)
    value = int(text)
    return value if -(2**63) <= value <= _USIZE_MAX else float(value)


def _json_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Invalid("its header holds a number out of range")
    return value


def _json_constant(text: str):
    raise _Invalid("its header is not JSON (NaN and Infinity are not JSON values)")


def _check_plain_json(value, depth: int = 1) -> None:
    """Refuse nesting deeper than the reference reader allows, and lone surrogates."""
    if isinstance(value, str):
        _check_text(value)
        return
    if not isinstance(value, (dict, list)):
        return
    if depth > _MAX_DEPTH:
        raise _Invalid("its header is nested too deeply")
    for key in value if isinstance(value, dict) else ():
        _check_text(key)
    for item in value.values() if isinstance(value, dict) else value:
        _check_plain_json(item, depth + 1)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid("its header holds a string with an unpaired surrogate escape") from None


def _is_usize(value) -> bool:
    return type(value) is int and 0 <= value <= _USIZE_MAX


def _parse_header(raw: bytes) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Invalid("its header is not UTF-8 text") from None
    try:
        header = json.loads(
            text,
            object_pairs_hook=_Object,
            parse_int=_json_int,
            parse_float=_json_float,
            parse_constant=_json_constant,
        )
    except json.JSONDecodeError as error:
        raise _Invalid(f"its header is not JSON ({decode_problem(error)})") from None
    except RecursionError:
        raise _Invalid("its header is nested too deeply") from None
    if not isinstance(header, dict):
        raise _Invalid("its header is not a JSON object")
    _check_plain_json(header)
    return header


def _entry_fields(name: str, spec) -> tuple[str, list, list]:
    """``(dtype name, shape, data_offsets)`` of one header entry, checked for types."""
    where = f"the header entry of {shown_name(name)}"
    if isinstance(spec, list):  # the reference reader also takes the three fields in order
        if len(spec) != 3:
            raise _Invalid(f"{where} is a list of {len(spec)} items, not an object")
        dtype, shape, offsets = spec
    elif isinstance(spec, dict):
        missing = [field for field in _ENTRY_FIELDS if field not in spec]
        if missing:
            raise _Invalid(f"{where} has no {missing[0]!r}")
        if spec.repeated & set(_ENTRY_FIELDS):
            raise _Invalid(f"{where} repeats a field")
        dtype, shape, offsets = (spec[field] for field in _ENTRY_FIELDS)
    else:
        raise _Invalid(f"{where} is not an object")
    if isinstance(dtype, dict) and len(dtype) == 1 and next(iter(dtype.values())) is None:
        (dtype,) = dtype  # {"F32": null}: the reference reader's other spelling of a name
    if not isinstance(dtype, str) or dtype not in _BITS:
        raise _Invalid(f"{where} has an unknown dtype (known: {', '.join(_BITS)})")
    if not isinstance(shape, list) or not all(_is_usize(size) for size in shape):
        raise _Invalid(f"{where} has a shape that is not a list of non-negative integers")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_is_usize, offsets)):
        raise _Invalid(f"{where} has data_offsets that are not two non-negative integers")
    return dtype, shape, offsets


def _header_entries(
    path: pathlib.Path, header: dict, data_bytes: int, base: int
) -> dict[str, TensorEntry]:
    """The validated entries: known dtypes, sizes that fit, and byte ranges that tile the
    data section exactly (no gap, no overlap, nothing before or after)."""
    if "__metadata__" in header.repeated:
        raise _Invalid("its header has two '__metadata__' entries")
    metadata = header.get("__metadata__")
    if metadata is not None and (
        not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())
    ):
        raise _Invalid("its '__metadata__' is not a map of strings to strings")
    fields = {
        name: _entry_fields(name, spec) for name, spec in header.items() if name != "__metadata__"
    }
    entries = {}
    position = 0
    by_offsets = sorted(fields.items(), key=lambda item: tuple(item[1][2]))
    for name, (dtype, shape, (start, end)) in by_offsets:
        if start != position or end < start:
            what = "overlaps another tensor's" if start < position else "leaves a gap before its"
            if end < start:
                what = "ends before it starts, in its"
            raise _Invalid(f"the tensor {shown_name(name)} {what} data_offsets")
        position = end
        count = 1
        for size in shape:
            count *= size
            if count > _USIZE_MAX:
                raise _Invalid(f"the shape of {shown_name(name)} is too large")
        bits = count * _BITS[dtype]
        if bits > _USIZE_MAX:
            raise _Invalid(f"the shape of {shown_name(name)} is too large")
        if bits % 8:
            raise _Invalid(f"the packed {dtype} tensor {shown_name(name)} does not end on a byte")
        if end - start != bits // 8:
            raise _Invalid(f"the data_offsets of {shown_name(name)} do not fit its shape and dtype")
        if end > data_bytes:
            raise _Invalid(
                f"the bytes of {shown_name(name)} are missing: the file ends before them"
            )
        entries[name] = TensorEntry(
            path, _DTYPES.get(dtype), tuple(shape), base + start, base + end, dtype
        )
    if position != data_bytes:
        raise _Invalid(f"its last {data_bytes - position} bytes belong to no tensor")
    return entries


def read_header(path: pathlib.Path) -> dict[str, TensorEntry]:
    """The tensors a ``.safetensors`` file holds, by name, without reading their data.

    The file is checked as the ``safetensors`` package checks it: a header length within
    the file (and at most 100 MB), a UTF-8 JSON object, known dtypes, shapes and offsets
    that are unsigned integers, and byte ranges that match dtype x shape and cover the
    data section exactly, without gaps or overlaps. Anything else raises ``ValueError``
    naming the file and the problem (never the file's bytes).

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.safetensors"
    >>> tensor = ("w", (2, 3), np.dtype("float32"), lambda: np.ones((2, 3), "float32"))
    >>> write_safetensors(path, [tensor])
    >>> entry = read_header(path)["w"]
    >>> entry.shape, entry.dtype.name, entry.end - entry.start
    ((2, 3), 'float32', 24)
    >>> _ = path.write_bytes(b"root:x:0:0:root:/root:/bin/bash")
    >>> read_header(path)
    Traceback (most recent call last):
    ...
    ValueError: ... is not a readable safetensors file: its header claims more than the 100 MB ...
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        try:
            if len(prefix) < 8:
                raise _Invalid("it is shorter than a safetensors header")
            (length,) = struct.unpack("<Q", prefix)
            if length > _MAX_HEADER_BYTES:
                raise _Invalid("its header claims more than the 100 MB a header may have")
            if 8 + length > size:
                raise _Invalid(f"its header claims more bytes than the file's {size}")
            header = _parse_header(handle.read(length))
            return _header_entries(path, header, size - 8 - length, 8 + length)
        except _Invalid as problem:
            raise _damaged(path, str(problem)) from None


def read_tensor(handle: BinaryIO, entry: TensorEntry) -> np.ndarray:
    """The tensor described by ``entry``, read from the open file ``handle`` into a new array."""
    if entry.dtype is None:
        raise ValueError(
            f"{entry.path} stores a tensor as {entry.dtype_name}, a packed format textbones "
            f"cannot read (it reads {', '.join(_DTYPES)}). Convert the checkpoint to another dtype."
        )
    try:
        array = np.empty(entry.shape, dtype=entry.dtype.newbyteorder("<"))
    except ValueError:  # an empty tensor with a dimension beyond 2**63 - 1
        raise ValueError(
            f"{entry.path} holds an empty tensor with a dimension larger than NumPy allows; "
            "textbones cannot represent it."
        ) from None
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
            raise ValueError(
                f"Cannot write {name!r} to safetensors: dtype {dtype} has no safetensors name."
            )
        nbytes = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
        header[name] = {
            "dtype": _NAMES[dtype],
            "shape": list(shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for name, shape, dtype, produce in tensors:
            array = np.ascontiguousarray(produce(), dtype=np.dtype(dtype).newbyteorder("<"))
            if array.shape != tuple(shape):
                raise ValueError(
                    f"Tensor {name!r} has shape {array.shape}, announced as {tuple(shape)}."
                )
            handle.write(memoryview(array.reshape(-1).view(np.uint8)))


def _damaged(path: pathlib.Path, problem: str) -> ValueError:
    return ValueError(
        f"{path} is not a readable safetensors file: {problem}. It was probably cut short "
        "by an interrupted download or save: download or save the checkpoint again."
    )
