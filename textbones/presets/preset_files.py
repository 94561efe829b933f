"""Reading a preset's JSON files with clear errors, and finding the files a preset's JSON
names without ever leaving the preset's folder (the file names are in ``files.py``)."""

import json
import os
import pathlib
from typing import Any


def read_json(preset_dir: pathlib.Path, filename: str) -> dict[str, Any]:
    """Read ``preset_dir/filename`` as a JSON object.

    Raises ``FileNotFoundError`` when the file is missing and ``ValueError`` when it is
    not a JSON object, each naming the file and what to do.

    Example:

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.json").write_text('{"a": 1}')
    >>> read_json(folder, "config.json")
    {'a': 1}
    """
    path = preset_dir / filename
    if not path.is_file():
        present = sorted(p.name for p in preset_dir.iterdir()) if preset_dir.is_dir() else []
        raise FileNotFoundError(
            f"{preset_dir} is not a complete preset: it has no {filename} "
            f"(it holds: {', '.join(present) or 'nothing'}). Point `from_preset` at a "
            "directory written by `save_to_preset` (or KerasHub), or download the preset again."
        )
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(
            f"{path} is not valid JSON ({decode_problem(error)}); the preset is corrupt. "
            "Save or download it again."
        ) from None
    if not isinstance(content, dict):
        raise ValueError(
            f"{path} should hold a JSON object, but holds a {type(content).__name__}. "
            "Save or download the preset again."
        )
    return content


def decode_problem(error: Exception) -> str:
    """Where and why text failed to decode as UTF-8 JSON, without quoting any of it.

    Python's own messages may carry bytes of the file (a ``UnicodeDecodeError`` shows the
    offending byte); this says only the position and the kind of problem.

    Example:

    >>> try:
    ...     json.loads('{"a": tru}')
    ... except json.JSONDecodeError as error:
    ...     decode_problem(error)
    'line 1, column 7: Expecting value'
    >>> try:
    ...     b"ok\\xff".decode("utf-8")
    ... except UnicodeDecodeError as error:
    ...     decode_problem(error)
    'byte 2 is not UTF-8'
    """
    if isinstance(error, json.JSONDecodeError):
        return f"line {error.lineno}, column {error.colno}: {error.msg}"
    if isinstance(error, UnicodeDecodeError):
        return f"byte {error.start} is not UTF-8"
    if isinstance(error, RecursionError):
        return "it is nested too deeply"
    return type(error).__name__


def contained_file(folder: pathlib.Path, name: Any, named_by: str) -> pathlib.Path:
    """The file ``name`` (a relative path read from one of the preset's JSON files) inside
    ``folder``, checked to stay there.

    ``name`` must be a non-empty relative path without ``..`` parts, and the file it
    reaches, once every symbolic link is followed, must lie inside ``folder``. In a
    Hugging Face cache snapshot (``.../snapshots/<revision>``) the files are links into
    the repository's ``blobs`` folder, which is then part of the preset too. Anything else
    raises ``ValueError`` naming ``named_by`` (e.g. "the weight_map entry 'w' of
    index.json") and the name; a name that stays inside but is missing raises
    ``FileNotFoundError``.

    Example:

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "shard.h5").write_bytes(b"")
    >>> contained_file(folder, "shard.h5", "the index").name
    'shard.h5'
    >>> contained_file(folder, "../secret", "the weight_map entry 'w' of index.json")
    Traceback (most recent call last):
    ...
    ValueError: the weight_map entry 'w' of index.json names '../secret', which is outside ...
    """
    too_long = isinstance(name, str) and len(name) > 200
    shown = repr(name[:200] + "...") if too_long else repr(name)
    folder = pathlib.Path(folder)
    outside = (
        f"{named_by} names {shown}, which is outside {folder}: a preset may only refer to "
        "files inside its own folder. The preset is damaged or was made to read other "
        "files; download or save it again from a source you trust."
    )
    if not isinstance(name, str) or not name or "\0" in name:
        raise ValueError(
            f"{named_by} names {shown}, which is not a file name. The preset is damaged: "
            "download or save it again."
        )
    relative = pathlib.PurePath(name)
    if (
        relative.is_absolute()
        or relative.drive
        or relative.root
        or ".." in relative.parts
        or ".." in pathlib.PurePosixPath(name.replace("\\", "/")).parts
    ):
        raise ValueError(outside)
    path = folder / relative
    try:
        resolved = path.resolve(strict=True)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{named_by} names {shown}, but {folder} has no such file. The preset is "
            "incomplete: download or save it again."
        ) from None
    except (OSError, RuntimeError):  # a loop of links, a component that is not a folder
        raise ValueError(outside) from None
    if not any(resolved.is_relative_to(root) for root in _preset_roots(folder)):
        raise ValueError(outside)
    if not resolved.is_file():
        raise ValueError(
            f"{named_by} names {shown}, which is not a regular file in {folder}. The preset "
            "is damaged: download or save it again."
        )
    return path


def _preset_roots(folder: pathlib.Path) -> list[pathlib.Path]:
    """The folders a preset's named files may resolve into."""
    root = pathlib.Path(os.path.realpath(folder))
    roots = [root]
    # huggingface_hub: <cache>/models--org--name/snapshots/<revision>/<file> -> ../../blobs/<hash>
    if root.parent.name == "snapshots" and (root.parent.parent / "blobs").is_dir():
        roots.append(root.parent.parent / "blobs")
    return roots


def shown_name(name: Any, limit: int = 80) -> str:
    """A name read from a file, quoted and cut to ``limit`` characters for an error message.

    Example:

    >>> shown_name("encoder/" * 20, limit=16)
    "'encoder/encoder/...'"
    """
    text = str(name)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def weight_map_files(
    folder: pathlib.Path, index_path: pathlib.Path, weight_map: Any, lists: bool = False
) -> list[pathlib.Path]:
    """The shard files a sharded checkpoint's ``weight_map`` names, each checked by
    :func:`contained_file` to lie inside ``folder``, in order and without repeats.

    A value is one file name (``transformers``' indexes), or with ``lists`` a list of them
    (Keras' sharded weights).

    Example:

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.h5").write_bytes(b"")
    >>> index = {"x": "a.h5", "y": ["a.h5"]}
    >>> [path.name for path in weight_map_files(folder, folder / "i.json", index, lists=True)]
    ['a.h5']
    """
    if not isinstance(weight_map, dict) or not weight_map:
        raise ValueError(
            f"{index_path} has no 'weight_map' of shard files; the preset is corrupt. "
            "Download or save it again."
        )
    shards: dict[str, pathlib.Path] = {}
    for key, names in weight_map.items():
        for name in names if lists and isinstance(names, list) else [names]:
            if not isinstance(name, str) or name not in shards:
                where = f"the weight_map entry {shown_name(key)} of {index_path}"
                shards[name] = contained_file(folder, name, where)
    return list(shards.values())
