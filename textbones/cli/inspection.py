"""``presets`` and ``inspect``: what is built in, and what a preset directory holds."""

from __future__ import annotations

import os
import pathlib
from typing import Any


def _human_count(count: int) -> str:
    return f"{count / 1e6:.2f}M" if count >= 1e6 else f"{count / 1e3:.1f}K"


def _human_bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def _kaggle_cache_root() -> pathlib.Path:
    return pathlib.Path(
        os.environ.get("KAGGLEHUB_CACHE", pathlib.Path.home() / ".cache" / "kagglehub")
    ).expanduser()


def is_cached(kaggle_handle: str) -> bool:
    """Whether ``kagglehub``'s cache already holds this versioned handle's files.

    Example:

    >>> is_cached("kaggle://nobody/none/keras/none/1")
    False
    """
    owner, model, framework, variation, version = kaggle_handle.removeprefix("kaggle://").split("/")
    folder = _kaggle_cache_root() / "models" / owner / model / framework / variation / version
    return (folder / "config.json").is_file()


def preset_table(family: str | None = None) -> list[dict[str, Any]]:
    """One row per built-in preset (optionally of one family): name, family, parameters,
    description and whether it is cached locally.

    Example:

    >>> [row["name"] for row in preset_table("f_net")]
    ['f_net_base_en', 'f_net_large_en']
    """
    from textbones import registry
    from textbones.presets.registry import builtin_presets

    rows = []
    for name, entry in builtin_presets().items():
        if family and entry["family"] != family:
            continue
        rows.append(
            {
                "name": name,
                "family": entry["family"],
                "parameters": _human_count(entry["parameter_count"]),
                "cached": "yes" if is_cached(entry["kaggle_handle"]) else "no",
                "description": entry["description"],
            }
        )
    if family and not rows:
        names = [known.name for known in registry.families()]
        raise ValueError(
            f"No built-in preset of family {family!r}; the families are "
            f"{', '.join(names[:-1])} and {names[-1]}."
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """Rows of equal keys as a plain-text table, columns aligned.

    Example:

    >>> print(format_table([{"a": "x", "b": "long"}, {"a": "yy", "b": "z"}]))
    a   b
    x   long
    yy  z
    """
    columns = list(rows[0])
    widths = {
        column: max(len(column), *(len(str(row[column])) for row in rows)) for column in columns
    }
    lines = ["  ".join(column.ljust(widths[column]) for column in columns).rstrip()]
    lines += [
        "  ".join(str(row[column]).ljust(widths[column]) for column in columns).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def inspect_preset(preset: str) -> dict[str, Any]:
    """What a preset holds: its kind, backbone class and config, parameters, task,
    tokenizer, files.

    A built-in preset name that is not in the download cache is described from the
    configs shipped with textbones, with no download (``files`` is then empty and
    ``downloaded`` false).

    Example:

    >>> import tempfile, textbones
    >>> folder = tempfile.mkdtemp()
    >>> textbones.models.FNetBackbone(50, 1, 8, 16).save_to_preset(folder)
    >>> info = inspect_preset(folder)
    >>> info["backbone"], info["parameters"], info["task"]
    ('FNetBackbone', 5000, None)
    """
    import textbones
    from textbones.presets.handles import resolve_preset
    from textbones.presets.preset_kind import preset_kind
    from textbones.presets.registry import builtin_presets

    name = preset.strip() if isinstance(preset, str) else None
    is_directory = name is not None and os.path.isdir(os.path.expanduser(preset))
    entry = builtin_presets().get(name) if name and not is_directory else None
    if entry is not None and not is_cached(entry["kaggle_handle"]):
        return _builtin_inspection(name, entry)
    directory = resolve_preset(preset)
    kind = preset_kind(directory)
    backbone, config, parameters = None, {}, None
    if kind.backbone_class is not None:
        backbone = textbones.models.Backbone.from_preset(directory, load_weights=False)
        config = {
            key: value
            for key, value in backbone.get_config().items()
            if key not in ("name", "trainable", "dtype")
        }
        parameters = backbone.count_params()
    tokenizer = None
    if kind.has_tokenizer:
        loaded = textbones.tokenizers.Tokenizer.from_preset(directory)
        tokenizer = f"{type(loaded).__name__} ({loaded.vocabulary_size()} tokens)"
    files = [
        {"file": str(path.relative_to(directory)), "size": _human_bytes(path.stat().st_size)}
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    ]
    backbone_name = kind.backbone_class
    return {
        "preset": str(directory),
        "kind": kind.describe(),
        "family": _family_name(backbone_name) if backbone_name else None,
        "backbone": backbone_name,
        "config": config,
        "parameters": parameters,
        "task": kind.task_class,
        "tokenizer": tokenizer,
        "downloaded": True,
        "files": files,
    }


def _family_name(backbone_name: str) -> str:
    """The name of the family whose backbone class is called ``backbone_name`` ("?" if none).

    Example:

    >>> _family_name("FNetBackbone"), _family_name("GemmaBackbone")
    ('f_net', '?')
    """
    from textbones import registry

    family = registry.family_of(registry.classes("backbone").get(backbone_name))
    return family.name if family else "?"


def _builtin_inspection(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """A built-in preset described from the registry shipped with textbones (no download)."""
    from textbones import registry
    from textbones.presets.preset_kind import builtin_preset_kind

    kind = builtin_preset_kind(name)
    backbone_name = entry["class_name"]
    return {
        "preset": name,
        "kind": kind.describe(),
        "family": entry["family"],
        "backbone": backbone_name,
        "config": dict(entry["config"]),
        "parameters": entry["parameter_count"],
        "task": kind.task_class,
        "tokenizer": registry.family(entry["family"]).tokenizer.__name__,
        "downloaded": False,
        "files": [],
        "kaggle_handle": entry["kaggle_handle"],
    }


def format_inspection(info: dict[str, Any]) -> str:
    """``inspect_preset``'s result as readable text.

    Example:

    >>> from textbones.presets.registry import builtin_presets
    >>> info = _builtin_inspection("f_net_base_en", builtin_presets()["f_net_base_en"])
    >>> print(format_inspection(info))  # doctest: +ELLIPSIS
    preset      f_net_base_en
    kind        a backbone preset (FNetBackbone, no task head)
    family      f_net (FNetBackbone)
    parameters  82,861,056
    ...
    files       not downloaded (from_preset fetches them from kaggle://keras/f_net/...)
    """
    parameters = info["parameters"]
    lines = [
        f"preset      {info['preset']}",
        f"kind        {info['kind']}",
        f"family      {info['family']} ({info['backbone']})"
        if info["backbone"]
        else "family      (no model)",
        f"parameters  {parameters:,}" if parameters is not None else "parameters  (no model)",
        f"task        {info['task'] or '(backbone only)'}",
        f"tokenizer   {info['tokenizer'] or '(none)'}",
        "config      " + ", ".join(f"{key}={value}" for key, value in info["config"].items()),
    ]
    if not info.get("downloaded", True):
        handle = info["kaggle_handle"]
        lines.append(f"files       not downloaded (from_preset fetches them from {handle})")
    else:
        lines.append("files")
        lines += [f"  {entry['size']:>10}  {entry['file']}" for entry in info["files"]]
    return "\n".join(lines)
