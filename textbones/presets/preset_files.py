"""File names of a Keras-format preset and reading its JSON files with clear errors."""

import json
import pathlib
from typing import Any

CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"
SHARDED_WEIGHTS_INDEX = "model.weights.json"
TASK_CONFIG_FILE = "task.json"
TASK_WEIGHTS_FILE = "task.weights.h5"


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
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{path} is not valid JSON ({error}); the preset is corrupt. "
            "Save or download it again."
        ) from None
    if not isinstance(content, dict):
        raise ValueError(
            f"{path} should hold a JSON object, but holds a {type(content).__name__}. "
            "Save or download the preset again."
        )
    return content
