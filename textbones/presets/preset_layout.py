"""The components a preset folder is made of, and which of an old preset's files a save keeps.

One table, :func:`components`, names the files of every component, in both formats a
preset can be written in:

* ``backbone`` (Keras): ``config.json``, ``metadata.json``, ``model.weights.h5`` or
  ``model.weights.json`` with its ``model_*.weights.h5`` shards;
* ``tokenizer`` (Keras): ``tokenizer.json`` and the folder ``assets/tokenizer/``;
* ``preprocessor`` (Keras): ``preprocessor.json``; it needs the tokenizer;
* ``task`` (Keras): ``task.json`` and ``task.weights.h5``; it needs the backbone and the
  preprocessor, and is a whole model;
* ``transformers-model``: ``config.json`` and the weights files of every framework;
* ``transformers-tokenizer``: ``vocab.txt`` or ``spiece.model``, ``tokenizer_config.json``,
  ``special_tokens_map.json``, ``tokenizer.json``, ``added_tokens.json``;
* ``sentence-transformers``: ``modules.json``, ``config_sentence_transformers.json``,
  ``sentence_bert_config.json``, ``1_Pooling/`` and ``2_Normalize/``; it needs both
  ``transformers`` components (the checkpoint it describes).

Two names belong to both formats (``config.json``, ``tokenizer.json``): such a file is the
Keras format's when its JSON names a ``registered_name``, else the ``transformers`` one's.

:func:`stale_components` applies the rule a save follows (see ``staged_directory``):
a save of a whole (a task), a save over a whole, or a save over files of the other format
replaces every preset file; otherwise the save replaces the components it writes and those
that need them, and keeps the rest. Files that belong to no component (a ``README.md``) are
always kept.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import json
import os
import pathlib
from collections.abc import Collection

from textbones.presets.files import (
    CONFIG_FILE,
    HF_ADDED_TOKENS_FILE,
    HF_CONFIG_FILE,
    HF_FAST_TOKENIZER_FILE,
    HF_OTHER_WEIGHTS_FILES,
    HF_SAFETENSORS_FILE,
    HF_SAFETENSORS_INDEX,
    HF_SAFETENSORS_SHARD_PATTERN,
    HF_TOKENIZER_FILES,
    HF_TORCH_INDEX,
    HF_TORCH_PATTERN,
    METADATA_FILE,
    PREPROCESSOR_CONFIG_FILE,
    SENTENCE_TRANSFORMERS_FILES,
    SENTENCE_TRANSFORMERS_NORMALIZE_DIR,
    SENTENCE_TRANSFORMERS_POOLING_DIR,
    SHARDED_WEIGHTS_INDEX,
    SHARDED_WEIGHTS_PATTERN,
    TASK_CONFIG_FILE,
    TASK_WEIGHTS_FILE,
    TOKENIZER_ASSET_DIR,
    TOKENIZER_CONFIG_FILE,
    WEIGHTS_FILE,
)

KERAS = "keras"
TRANSFORMERS = "transformers"

BACKBONE = "backbone"
TOKENIZER = "tokenizer"
PREPROCESSOR = "preprocessor"
TASK = "task"
TRANSFORMERS_MODEL = "transformers-model"
TRANSFORMERS_TOKENIZER = "transformers-tokenizer"
SENTENCE_TRANSFORMERS = "sentence-transformers"


@dataclasses.dataclass(frozen=True)
class Component:
    """One part of a preset: its name, format, files, and the components it needs.

    ``files`` are top-level file names or patterns (``model_*.weights.h5``), or folders
    written with a trailing ``/`` (``assets/tokenizer/``: that folder and all below it).
    A component that ``needs`` another is stale once that other one is replaced. A
    ``whole`` component is a complete model on its own (a task with its backbone).

    Example:

    >>> component = Component("weights", "keras", ("model_*.weights.h5", "extra/"))
    >>> component.owns("model_1.weights.h5"), component.owns("extra/a/b"), component.owns("x")
    (True, True, False)
    """

    name: str
    format: str
    files: tuple[str, ...]
    needs: tuple[str, ...] = ()
    whole: bool = False

    def owns(self, relative: str) -> bool:
        """Whether the path ``relative`` (POSIX, relative to the preset folder) is one of
        this component's files or lies in one of its folders."""
        for pattern in self.files:
            if pattern.endswith("/"):
                if relative == pattern[:-1] or relative.startswith(pattern):
                    return True
            elif "/" not in relative and fnmatch.fnmatchcase(relative, pattern):
                return True
        return False

    def folders(self) -> tuple[str, ...]:
        """The folders among ``files``, without their trailing ``/``."""
        return tuple(pattern[:-1] for pattern in self.files if pattern.endswith("/"))


@functools.cache
def components() -> dict[str, Component]:
    """Every component of a preset by name, in both formats.

    Example:

    >>> components()["tokenizer"].files
    ('tokenizer.json', 'assets/tokenizer/')
    >>> sorted(name for name, part in components().items() if part.whole)
    ['task']
    """
    table = (
        Component(
            BACKBONE,
            KERAS,
            (
                CONFIG_FILE,
                METADATA_FILE,
                WEIGHTS_FILE,
                SHARDED_WEIGHTS_INDEX,
                SHARDED_WEIGHTS_PATTERN,
            ),
        ),
        Component(TOKENIZER, KERAS, (TOKENIZER_CONFIG_FILE, "/".join(TOKENIZER_ASSET_DIR) + "/")),
        Component(PREPROCESSOR, KERAS, (PREPROCESSOR_CONFIG_FILE,), needs=(TOKENIZER,)),
        Component(
            TASK,
            KERAS,
            (TASK_CONFIG_FILE, TASK_WEIGHTS_FILE),
            needs=(BACKBONE, PREPROCESSOR),
            whole=True,
        ),
        Component(
            TRANSFORMERS_MODEL,
            TRANSFORMERS,
            (
                HF_CONFIG_FILE,
                HF_SAFETENSORS_FILE,
                HF_SAFETENSORS_INDEX,
                HF_SAFETENSORS_SHARD_PATTERN,
                HF_TORCH_PATTERN,
                HF_TORCH_INDEX,
                *HF_OTHER_WEIGHTS_FILES,
            ),
        ),
        Component(
            TRANSFORMERS_TOKENIZER,
            TRANSFORMERS,
            (*HF_TOKENIZER_FILES, HF_FAST_TOKENIZER_FILE, HF_ADDED_TOKENS_FILE),
        ),
        # A sentence-transformers folder: a transformers checkpoint plus these; they
        # describe that checkpoint, so they go when it is replaced.
        Component(
            SENTENCE_TRANSFORMERS,
            TRANSFORMERS,
            (
                *SENTENCE_TRANSFORMERS_FILES,
                SENTENCE_TRANSFORMERS_POOLING_DIR + "/",
                SENTENCE_TRANSFORMERS_NORMALIZE_DIR + "/",
            ),
            needs=(TRANSFORMERS_MODEL, TRANSFORMERS_TOKENIZER),
        ),
    )
    return {component.name: component for component in table}


def _format_of_shared_file(path: pathlib.Path) -> str:
    """The format a file named by both formats belongs to: Keras's JSON names its class."""
    try:
        with open(path, encoding="utf-8") as handle:
            content = json.load(handle)
    except (OSError, UnicodeDecodeError, ValueError):
        return TRANSFORMERS
    registered = isinstance(content, dict) and isinstance(content.get("registered_name"), str)
    return KERAS if registered else TRANSFORMERS


def owner(folder: str | os.PathLike, relative: str) -> Component | None:
    """The component the path ``relative`` inside ``folder`` belongs to, or ``None``.

    Example:

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.json").write_text('{"model_type": "bert"}')
    >>> owner(folder, "config.json").name, owner(folder, "assets/tokenizer/vocabulary.txt").name
    ('transformers-model', 'tokenizer')
    >>> owner(folder, "README.md") is None
    True
    """
    candidates = [part for part in components().values() if part.owns(relative)]
    if len({part.format for part in candidates}) > 1:
        found = _format_of_shared_file(pathlib.Path(folder, relative))
        candidates = [part for part in candidates if part.format == found]
    return candidates[0] if candidates else None


def present_components(folder: str | os.PathLike) -> set[str]:
    """Names of the components that have at least one file in ``folder``.

    Example:

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "task.json").write_text("{}")
    >>> _ = (folder / "notes.txt").write_text("mine")
    >>> present_components(folder)
    {'task'}
    """
    folder = pathlib.Path(folder)
    found = set()
    try:
        names = [entry.name for entry in os.scandir(folder)]
    except (FileNotFoundError, NotADirectoryError):
        return found
    for name in names:
        part = owner(folder, name)
        if part is not None:
            found.add(part.name)
    for part in components().values():
        for relative in part.folders():
            if os.path.lexists(folder / relative):
                found.add(part.name)
    return found


def stale_components(
    present: Collection[str], writes: Collection[str], whole: bool = False
) -> set[str]:
    """The components whose old files a save drops, given those ``present`` and those it ``writes``.

    Every component is stale when the save is of a whole (``whole``, or a ``whole``
    component among ``writes``), when a whole is present, or when a present component is
    of a format the save does not write. Otherwise the components written are stale, and
    so (transitively) is every present one that needs a stale one. A save that writes no
    component drops nothing.

    Example:

    >>> sorted(stale_components({"backbone", "tokenizer", "preprocessor"}, {"tokenizer"}))
    ['preprocessor', 'tokenizer']
    >>> sorted(stale_components({"backbone", "tokenizer"}, {"backbone"}))
    ['backbone']
    >>> len(stale_components({"task", "backbone"}, {"backbone"})) == len(components())
    True
    """
    table = components()
    if not writes:
        return set()
    formats = {table[name].format for name in writes}
    replaces_all = (
        whole
        or any(table[name].whole for name in (*writes, *present))
        or any(table[name].format not in formats for name in present)
    )
    if replaces_all:
        return set(table)
    stale = set(writes)
    grown = True
    while grown:
        needing = {name for name in present if set(table[name].needs) & stale} - stale
        stale |= needing
        grown = bool(needing)
    return stale
