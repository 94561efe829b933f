"""Hugging Face checkpoint directories for the tests, made without ``transformers``.

textbones' own exporter writes them (the parity tests prove ``transformers`` reads those
files); these helpers then rewrite keys, configs and files into the variants a test needs.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

from textbones.presets.transformers.safetensors_file import (
    read_header,
    read_tensor,
    write_safetensors,
)


def read_all(path: pathlib.Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file."""
    entries = read_header(path)
    with open(path, "rb") as handle:
        return {name: read_tensor(handle, entry) for name, entry in entries.items()}


def write_all(path: pathlib.Path, tensors: dict[str, np.ndarray]) -> None:
    write_safetensors(
        path,
        [
            (name, array.shape, array.dtype, lambda array=array: array)
            for name, array in tensors.items()
        ],
        metadata={"format": "pt"},
    )


def rewrite_weights(folder: pathlib.Path, rename=lambda key: key, drop=(), add=None) -> None:
    """Rename, drop or add tensors of ``folder/model.safetensors``."""
    tensors = {
        rename(key): value
        for key, value in read_all(folder / "model.safetensors").items()
        if key not in drop
    }
    tensors.update(add or {})
    write_all(folder / "model.safetensors", tensors)


def edit_config(folder: pathlib.Path, **changes) -> None:
    """Set (or, with ``None``, remove) fields of ``folder/config.json``."""
    path = folder / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    path.write_text(json.dumps(config), encoding="utf-8")


def shard(folder: pathlib.Path, parts: int = 2) -> None:
    """Split ``model.safetensors`` into ``parts`` shards and an index, as ``save_pretrained``
    does."""
    tensors = read_all(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    names = sorted(tensors)
    weight_map = {}
    for index in range(parts):
        shard_name = f"model-{index + 1:05d}-of-{parts:05d}.safetensors"
        chunk = names[index::parts]
        write_all(folder / shard_name, {name: tensors[name] for name in chunk})
        weight_map.update(dict.fromkeys(chunk, shard_name))
    index_file = {"metadata": {"total_size": 0}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index_file), encoding="utf-8")
