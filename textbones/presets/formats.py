"""The formats a preset folder can be in, chosen once per load or save.

:func:`preset_format` reads a folder's ``config.json`` once and returns the object of the
format that claims it (:class:`PresetFormat`): a Keras preset (KerasHub's layout), a
``transformers`` checkpoint, or a sentence-transformers folder (a checkpoint with a
``modules.json``). Every loader then calls that object (its backbone,
tokenizer, preprocessor, task and kind), and every save calls the format it is asked for
(:func:`format_named`), so no caller asks which format a folder is in.

A format is a :class:`PresetFormat` subclass registered with :func:`register_format`;
a new one is one more subclass, without a change to the callers. ``textbones.presets``
registers the built-in formats when it is imported.

Example:

>>> import pathlib, tempfile, textbones
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> textbones.models.FNetBackbone(50, 1, 8, 16).save_to_preset(folder / "keras")
>>> preset_format(folder / "keras").name
'keras'
>>> textbones.presets.convert(folder / "keras", folder / "hf")
'FNetBackbone'
>>> preset_format(folder / "hf").name, preset_format(folder / "hf").config["model_type"]
('transformers', 'fnet')
"""

from __future__ import annotations

import abc
import json
import os
import pathlib
from typing import Any, ClassVar

from textbones import registry
from textbones.presets.building import instantiate
from textbones.presets.files import CONFIG_FILE, PREPROCESSOR_CONFIG_FILE
from textbones.presets.preset_files import read_json

_formats: dict[str, type[PresetFormat]] = {}


class PresetFormat(abc.ABC):
    """One preset folder, read as the format it is in.

    Subclasses set ``name`` (the ``format=`` of ``save_to_preset``), ``label`` (what it
    is, in a few words) and ``description`` (what marks its folders, for the message of a
    folder no format claims), say which folders are theirs (:meth:`claims`), and
    implement the loaders and savers.

    Attributes:
        directory: the local folder.
        config: its ``config.json`` (``None`` when it has none, as in a tokenizer-only
            Keras preset).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str]
    #: Whether the format claims folders no other format claims (asked after the others).
    catch_all: ClassVar[bool] = False
    #: The name of a format whose folders this format's are a special case of (a
    #: sentence-transformers folder is a ``transformers`` checkpoint): asked before the others.
    refines: ClassVar[str | None] = None

    def __init__(self, directory: pathlib.Path, config: dict[str, Any] | None):
        self.directory = pathlib.Path(directory)
        self.config = config

    @classmethod
    @abc.abstractmethod
    def claims(cls, directory: pathlib.Path, config: dict[str, Any] | None) -> bool:
        """Whether the folder ``directory`` (with ``config.json`` ``config``) is of this format."""

    # -- loading ---------------------------------------------------------------------------
    @abc.abstractmethod
    def load_backbone(self, cls: type, load_weights: bool, overrides: dict[str, Any]):
        """The backbone the folder holds, as ``cls`` or a subclass."""

    @abc.abstractmethod
    def load_tokenizer(self, cls: type, overrides: dict[str, Any]):
        """The tokenizer the folder holds, as ``cls`` or a subclass."""

    @abc.abstractmethod
    def load_preprocessor(self, cls: type, overrides: dict[str, Any]):
        """The preprocessor the folder holds (or one of ``cls`` around its tokenizer)."""

    @abc.abstractmethod
    def load_task(self, cls: type, load_weights: bool, kwargs: dict[str, Any]):
        """The task the folder holds (or one of ``cls`` with a fresh head)."""

    @abc.abstractmethod
    def kind(self):
        """What the folder holds (a ``PresetKind``), read without building anything."""

    def preprocessor_defaults(self) -> dict[str, Any]:
        """Preprocessor arguments the folder implies when it saves no preprocessor."""
        return {}

    def preprocessor_around_tokenizer(self, cls: type, overrides: dict[str, Any]):
        """A preprocessor of the concrete subclass of ``cls`` made for the folder's tokenizer.

        For folders that save no preprocessor of ``cls``'s kind (a backbone preset, a
        classifier preset loaded as a masked LM, a ``transformers`` checkpoint).
        """
        source = f"the preset at {self.directory}"
        # Any tokenizer (the base preprocessor's tokenizer_cls): the candidates say which fit.
        base = next(
            vars(k)["tokenizer_cls"] for k in reversed(cls.__mro__) if "tokenizer_cls" in vars(k)
        )
        tokenizer = self.load_tokenizer(base, {})
        candidates = [
            klass
            for klass in registry.classes("preprocessor").values()
            if issubclass(klass, cls) and klass.tokenizer_cls is type(tokenizer)
        ]
        if len(candidates) != 1:
            raise ValueError(
                f"{cls.__name__}.from_preset cannot pick a preprocessor for {source}: it "
                f"has no {PREPROCESSOR_CONFIG_FILE} and its {type(tokenizer).__name__} fits "
                f"{len(candidates)} preprocessor classes under {cls.__name__}. Call a "
                "family's preprocessor class instead, e.g. BertTextClassifierPreprocessor."
            )
        arguments = {**self.preprocessor_defaults(), **overrides}
        return instantiate(candidates[0], {"tokenizer": tokenizer, **arguments}, source)

    # -- saving ----------------------------------------------------------------------------
    @classmethod
    @abc.abstractmethod
    def save_backbone(cls, backbone, preset_dir) -> None:
        """Write ``backbone`` to ``preset_dir`` in this format."""

    @classmethod
    @abc.abstractmethod
    def save_tokenizer(cls, tokenizer, preset_dir) -> None:
        """Write ``tokenizer`` to ``preset_dir`` in this format."""

    @classmethod
    @abc.abstractmethod
    def save_preprocessor(cls, preprocessor, preset_dir) -> None:
        """Write ``preprocessor`` to ``preset_dir`` in this format."""

    @classmethod
    @abc.abstractmethod
    def save_task(cls, task, preset_dir) -> None:
        """Write ``task`` (a whole model) to ``preset_dir`` in this format."""


def register_format(format_cls: type[PresetFormat]) -> type[PresetFormat]:
    """Register a format (a class decorator); formats are asked in registration order,
    those that are ``catch_all`` last."""
    _formats[format_cls.name] = format_cls
    return format_cls


def formats() -> tuple[type[PresetFormat], ...]:
    """Every registered format, in the order they are asked.

    Example:

    >>> import textbones
    >>> [format_cls.name for format_cls in formats()]
    ['keras', 'transformers', 'sentence-transformers']
    """
    return tuple(_formats.values())


def _read_config(directory: pathlib.Path) -> dict[str, Any] | None:
    return read_json(directory, CONFIG_FILE) if (directory / CONFIG_FILE).is_file() else None


def _asking_order(format_cls: type[PresetFormat]) -> tuple[bool, bool]:
    return format_cls.catch_all, format_cls.refines is None


def preset_format(preset_dir: str | os.PathLike) -> PresetFormat:
    """The format of the local preset folder ``preset_dir``, its ``config.json`` read once.

    A folder no format claims (a ``config.json`` that is neither Keras' nor
    ``transformers``') raises ``ValueError`` saying what each format needs.

    Example:

    >>> import pathlib, tempfile, textbones
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.json").write_text('{"hidden_size": 8}')
    >>> preset_format(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: .../config.json is in no format textbones reads: ...
    """
    directory = pathlib.Path(preset_dir)
    config = _read_config(directory)
    # Formats that refine another (sentence-transformers') come first; formats that take
    # what no other claims (a Keras folder without config.json) come last.
    for format_cls in sorted(_formats.values(), key=_asking_order):
        if format_cls.claims(directory, config):
            return format_cls(directory, config)
    # What config.json needs; a refining format's folders need its base format's config.
    needs = "; ".join(
        format_cls.description for format_cls in _formats.values() if format_cls.refines is None
    )
    raise ValueError(
        f"{directory / CONFIG_FILE} is in no format textbones reads: {needs}, and it has "
        f"neither (its keys: {json.dumps(sorted(config or {})[:6])}). Point `from_preset` at "
        "a directory written by `save_to_preset`, KerasHub or transformers' `save_pretrained`."
    )


def format_named(name: Any) -> type[PresetFormat]:
    """The format ``save_to_preset(..., format=name)`` writes (a ``ValueError`` if none).

    Example:

    >>> import textbones
    >>> format_named("transformers").name
    'transformers'
    >>> format_named("onnx")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Unknown preset format 'onnx': use "keras" (KerasHub's layout, the default) ...
    """
    if not isinstance(name, str) or name not in _formats:
        known = " or ".join(
            f'"{format_cls.name}" ({format_cls.label})' for format_cls in _formats.values()
        )
        raise ValueError(f"Unknown preset format {name!r}: use {known}.")
    return _formats[name]
