"""LoRA adapter files (``*.lora.h5``), in the layout KerasHub's ``save_lora_weights`` writes.

An adapter file holds the rank and, for each adapted layer, its two factors::

    lora/vars/rank                        int64 scalar
    lora/vars/lora_alpha                  float64 scalar (textbones; KerasHub ignores it)
    lora/{i}/vars/lora_kernel_a           [..., rank]
    lora/{i}/vars/lora_kernel_b           [rank, ...]

``i`` numbers the backbone's layers that have weights, in ``_flatten_layers`` order (the
same in textbones and KerasHub for every family, so files cross both ways). KerasHub
computes with a scale ``lora_alpha / rank`` of 1 (it passes no ``lora_alpha``), so the
``B`` a file holds is the adapter's scaled one, ``(lora_alpha / rank) * B``: a layer's
update is ``A @ B`` of the file whatever the ``lora_alpha`` of the model reading it, and
each library computes what the other trained. This module reads and writes the arrays as
they are; ``textbones.models.lora`` applies the scale.

Writing goes to a hidden file beside the target, renamed over it once complete: an
interrupted save leaves the old file. A file that exists and is not an adapter file is
never replaced. Reading refuses HDF5 links and datasets kept in other files, and checks
every shape before anything is assigned.
"""

from __future__ import annotations

import os
import pathlib
import secrets
from collections.abc import Mapping

import h5py
import numpy as np

from textbones.presets.weights_file import RefusedHDF5, hdf5_datasets, hdf5_problem

#: The suffix KerasHub requires of an adapter file's name.
LORA_SUFFIX = ".lora.h5"


class LoraFileError(ValueError):
    """An adapter file that cannot be read or written, with what to do about it."""


def lora_path(path: str | os.PathLike) -> pathlib.Path:
    """``path`` as a ``pathlib.Path``, checked to end in ``.lora.h5``.

    Example:

    >>> lora_path("adapters.lora.h5").name
    'adapters.lora.h5'
    >>> lora_path("adapters.h5")
    Traceback (most recent call last):
    ...
    textbones.presets.lora_file.LoraFileError: A LoRA adapter file's name must end in ...
    """
    path = pathlib.Path(os.fspath(path))
    if not path.name.endswith(LORA_SUFFIX) or path.name == LORA_SUFFIX:
        raise LoraFileError(
            f"A LoRA adapter file's name must end in {LORA_SUFFIX!r} (KerasHub requires it "
            f"too), got {str(path)!r}: use e.g. 'adapters{LORA_SUFFIX}'."
        )
    return path


def is_lora_file(path: pathlib.Path) -> bool:
    """Whether ``path`` is an HDF5 file with an adapter file's ``lora/vars/rank``.

    Example:

    >>> import pathlib, tempfile
    >>> is_lora_file(pathlib.Path(tempfile.mkdtemp()) / "missing.lora.h5")
    False
    """
    try:
        with h5py.File(path, "r") as file:
            link = file.get("lora/vars/rank", getlink=True)
            return isinstance(link, h5py.HardLink)
    except (OSError, KeyError):
        return False


def write_lora_file(
    path: str | os.PathLike,
    rank: int,
    lora_alpha: float,
    adapters: Mapping[int, tuple[np.ndarray, np.ndarray]],
) -> pathlib.Path:
    """Write ``adapters`` (layer index -> ``(A, scaled B)``) to ``path``, with ``rank`` and
    ``lora_alpha``; returns the path written.

    Example:

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.lora.h5"
    >>> _ = write_lora_file(path, 2, 4.0, {3: (np.ones((5, 2)), np.ones((2, 6)))})
    >>> rank, alpha, read = read_lora_file(path)
    >>> rank, alpha, sorted(read), float(read[3][1][0, 0])
    (2, 4.0, [3], 1.0)
    """
    path = lora_path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise LoraFileError(f"{str(path)!r} is not a file: choose another adapter file name.")
    if path.exists() and not is_lora_file(path):
        raise LoraFileError(
            f"{str(path)!r} exists and is not a LoRA adapter file: it is left as it is. "
            "Choose another name, or move that file away first."
        )
    if not path.parent.is_dir():
        raise LoraFileError(
            f"The folder of {str(path)!r} does not exist: create it, or choose another path."
        )
    hidden = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        with h5py.File(hidden, "x") as file:
            top = file.create_group("lora")
            own = top.create_group("vars")
            own["rank"] = np.int64(rank)
            own["lora_alpha"] = np.float64(lora_alpha)
            for index, (a, b) in sorted(adapters.items()):
                group = top.create_group(f"{int(index)}/vars")
                group["lora_kernel_a"] = np.asarray(a, "float32")
                group["lora_kernel_b"] = np.asarray(b, "float32")
        os.replace(hidden, path)
    finally:
        hidden.unlink(missing_ok=True)
    return path


def read_lora_file(
    path: str | os.PathLike,
) -> tuple[int, float | None, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """The rank, ``lora_alpha`` (``None`` in KerasHub's files) and adapters (layer index
    -> ``(A, scaled B)``) of a file.

    Raises ``LoraFileError`` for a file that is missing, not HDF5, not an adapter file,
    or that reaches outside itself.
    """
    path = lora_path(path)
    if not path.is_file():
        raise LoraFileError(f"There is no LoRA adapter file at {str(path)!r}.")
    try:
        with h5py.File(path, "r") as file:
            try:
                names = set(hdf5_datasets(file, ""))
            except RefusedHDF5 as error:
                raise LoraFileError(f"{str(path)!r} cannot be read safely: {error}.") from None
            if "lora/vars/rank" not in names:
                raise LoraFileError(
                    f"{str(path)!r} is not a LoRA adapter file (it has no lora/vars/rank): "
                    "pass a file written by save_lora_weights."
                )
            rank = _positive_integer(file["lora/vars/rank"][()], path)
            alpha = None
            if "lora/vars/lora_alpha" in names:
                alpha = float(file["lora/vars/lora_alpha"][()])
            adapters = {}
            for name in names - {"lora/vars/rank", "lora/vars/lora_alpha"}:
                parts = name.split("/")
                if (
                    len(parts) != 4
                    or not parts[1].isdigit()
                    or parts[2] != "vars"
                    or parts[3] not in ("lora_kernel_a", "lora_kernel_b")
                ):
                    raise LoraFileError(
                        f"{str(path)!r} holds {name!r}, which is not part of an adapter file."
                    )
            indices = {int(name.split("/")[1]) for name in names if name.count("/") == 3}
            for index in sorted(indices):
                group = f"lora/{index}/vars"
                if f"{group}/lora_kernel_a" not in names or f"{group}/lora_kernel_b" not in names:
                    raise LoraFileError(
                        f"{str(path)!r} has only one of the two adapters of layer {index}."
                    )
                a = np.asarray(file[f"{group}/lora_kernel_a"][()], "float32")
                b = np.asarray(file[f"{group}/lora_kernel_b"][()], "float32")
                adapters[index] = (a, b)
    except OSError as error:
        raise LoraFileError(f"{str(path)!r} cannot be read: {hdf5_problem(error)}.") from None
    return rank, alpha, adapters


def _positive_integer(value, path: pathlib.Path) -> int:
    if np.ndim(value) != 0 or not np.issubdtype(np.asarray(value).dtype, np.integer) or value < 1:
        raise LoraFileError(f"{str(path)!r} gives a rank of {value!r}, not a positive integer.")
    return int(value)
