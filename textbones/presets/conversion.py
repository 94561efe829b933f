"""Convert a preset between the Keras (KerasHub) format and Hugging Face ``transformers`` format."""

from __future__ import annotations

import os
import pathlib

from textbones import registry
from textbones.presets.formats import format_named, preset_format
from textbones.presets.handles import resolve_preset
from textbones.presets.loader import load_backbone, load_tokenizer
from textbones.presets.save_target import check_save_target
from textbones.presets.task_loader import load_task


def convert(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    format: str = "transformers",
    *,
    overwrite: bool = False,
) -> str:
    """Read the preset ``src`` and write it to the directory ``dst`` in ``format``.

    What ``src`` holds is kept: a task (a Keras preset with ``task.json``, or a
    ``*ForMaskedLM`` / ``*ForSequenceClassification`` checkpoint) is written as that
    task, trained head and tokenizer included; anything else as its backbone, plus its
    tokenizer when ``src`` has one. ``src`` takes every handle ``from_preset`` takes.

    ``dst`` must be new, an empty folder, or (with ``overwrite=True``) an existing preset;
    a folder that holds anything else is refused, and so is ``dst`` naming ``src`` itself
    or a folder inside or around it (symbolic links followed). Both are checked before
    anything is read or written.

    Args:
        src: a preset handle or directory, in either format.
        dst: the directory to write (atomically; see ``save_to_preset``).
        format: ``"transformers"`` (a Hugging Face checkpoint) or ``"keras"``
            (KerasHub's layout).
        overwrite: replace a preset already at ``dst``.

    Returns:
        The name of the class written (``"BertMaskedLM"``, ``"FNetBackbone"``, ...).

    Example:

    >>> import pathlib, tempfile, textbones
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> textbones.models.FNetBackbone(50, 1, 8, 16).save_to_preset(folder / "keras")
    >>> textbones.presets.convert(folder / "keras", folder / "hf", format="transformers")
    'FNetBackbone'
    >>> sorted(path.name for path in (folder / "hf").iterdir())
    ['config.json', 'model.safetensors']
    >>> textbones.presets.convert(folder / "keras", folder / "keras")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Will not convert .../keras into itself: ...
    """
    target = format_named(format)  # refuses an unknown format before any work
    if isinstance(src, os.PathLike) or os.path.isdir(os.path.expanduser(str(src))):
        _check_distinct(pathlib.Path(os.path.expanduser(os.fspath(src))), dst)
    check_save_target(dst, allow_preset=overwrite, what="the converted preset")
    preset_dir = resolve_preset(src)
    _check_distinct(preset_dir, dst)  # a handle may resolve to dst (a download cache)
    source = preset_format(preset_dir)
    kind = source.kind()
    if kind.task == "unknown":
        raise ValueError(
            f"Can't convert {src}: it is {kind.describe()}, so its head can't be carried "
            "over. Convert the preset with a textbones task class, or its backbone alone."
        )
    if kind.backbone_class is None:
        raise ValueError(
            f"Can't convert {src}: it is {kind.describe()}. `convert` writes models; save a "
            "tokenizer with `Tokenizer.from_preset(...).save_to_preset(...)`."
        )
    # The public loaders (`object`: whatever class the preset names) read the preset as
    # one version even while it is saved over; the models' own savers write it.
    if kind.task is not None:
        kwargs = {} if kind.has_tokenizer else {"preprocessor": None}
        task = load_task(registry.task_kind(kind.task).task_base, preset_dir, **kwargs)
        task.save_to_preset(dst, format=target.name)
        return type(task).__name__
    backbone = load_backbone(object, preset_dir)
    backbone.save_to_preset(dst, format=target.name)
    if kind.has_tokenizer:
        load_tokenizer(object, preset_dir).save_to_preset(dst, format=target.name)
    return type(backbone).__name__


def _check_distinct(source: pathlib.Path, dst: str | os.PathLike) -> None:
    """Refuse a destination that is the source, or holds it, or lies inside it."""
    source_path = source.resolve()
    target_path = pathlib.Path(os.path.expanduser(os.fspath(dst))).resolve()
    if target_path == source_path:
        relation = "into itself"
    elif source_path in target_path.parents:
        relation = f"into {target_path}, a folder inside it"
    elif target_path in source_path.parents:
        relation = f"into {target_path}, a folder that holds it"
    else:
        return
    raise ValueError(
        f"Will not convert {source} {relation}: writing there would replace or mix with the "
        "preset being read. Choose a destination outside the source preset."
    )
