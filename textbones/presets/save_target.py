"""What a save may write over: nothing, an empty folder, or a preset — never a user's files.

Every writer of presets (``save_to_preset`` in both formats, ``convert``, the ``textbones``
command) asks :func:`check_save_target` before it writes, so the rule lives in one place.
"""

from __future__ import annotations

import json
import os
import pathlib

from textbones.presets.files import HF_CONFIG_FILE, HF_TOKENIZER_CONFIG_FILE, KERAS_PRESET_FILES


def _json_object(path: pathlib.Path) -> dict | None:
    try:
        if path.is_file() and path.stat().st_size <= 50_000_000:
            content = json.loads(path.read_text(encoding="utf-8"))
            return content if isinstance(content, dict) else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return None


def is_preset_directory(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a textbones / KerasHub preset or a ``transformers`` checkpoint.

    A preset is recognised by its own files: a Keras-layout JSON file that names a
    ``registered_name``, a ``transformers`` ``config.json`` with a ``model_type``, or a
    ``transformers`` ``tokenizer_config.json``.

    Example:

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> is_preset_directory(folder)
    False
    >>> _ = (folder / "config.json").write_text('{"model_type": "bert"}')
    >>> is_preset_directory(folder)
    True
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return False
    for name in KERAS_PRESET_FILES:
        content = _json_object(folder / name)
        if content is not None and isinstance(content.get("registered_name"), str):
            return True
    config = _json_object(folder / HF_CONFIG_FILE)
    if config is not None and "model_type" in config:
        return True
    return _json_object(folder / HF_TOKENIZER_CONFIG_FILE) is not None


def check_save_target(
    target: str | os.PathLike, *, allow_preset: bool = True, what: str = "a preset"
) -> None:
    """Refuse, before anything is written, a ``target`` a save must not write over.

    ``target`` may be missing, an empty directory, or (when ``allow_preset``) a directory
    that already holds a preset. A file, or a folder holding anything else (a project's
    ``config.json``, a user's documents), is refused with ``FileExistsError``.

    Example:

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_save_target(folder / "new")
    >>> _ = (folder / "notes.txt").write_text("mine")
    >>> check_save_target(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileExistsError: Will not save a preset to ... it is a folder that holds other files ...
    """
    target = pathlib.Path(target).expanduser()
    if not target.exists() and not target.is_symlink():
        return
    if not target.is_dir():
        raise FileExistsError(
            f"Will not save {what} to {target}: it exists and is not a folder. "
            "Choose another path, or move that file away first."
        )
    entries = sorted(path.name for path in target.iterdir())
    if not entries:
        return
    if not is_preset_directory(target):
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise FileExistsError(
            f"Will not save {what} to {target}: it is a folder that holds other files "
            f"({shown}), not a preset, and saving could overwrite or mix with them. "
            "Save to a new or empty folder."
        )
    if not allow_preset:
        raise FileExistsError(
            f"Will not save {what} to {target}: a preset is already there. Pass "
            "--overwrite to replace it, or choose another folder."
        )
