"""The Keras preset format (KerasHub's layout): ``config.json`` names the backbone's class,
``tokenizer.json``, ``preprocessor.json`` and ``task.json`` the others', and the weights
are Keras weights files.

Reading is here; writing is :mod:`textbones.presets.saver`, and the task rules are
:mod:`textbones.presets.task_loader`'s.
"""

from __future__ import annotations

import pathlib
from typing import Any

from textbones import registry
from textbones.presets import saver, task_loader
from textbones.presets.building import class_name_of, class_named, instantiate, with_preset_dtype
from textbones.presets.files import (
    CONFIG_FILE,
    PREPROCESSOR_CONFIG_FILE,
    TASK_CONFIG_FILE,
    TOKENIZER_ASSET_DIR,
    TOKENIZER_CONFIG_FILE,
)
from textbones.presets.formats import PresetFormat, register_format
from textbones.presets.preset_files import contained_file, read_json
from textbones.presets.preset_kind import PresetKind
from textbones.presets.weights_file import build_with_weights, weights_path


@register_format
class KerasPreset(PresetFormat):
    """A Keras-format preset folder (also one with no ``config.json``: a tokenizer alone).

    Example:

    >>> import pathlib, tempfile, textbones
    >>> from textbones.presets.formats import preset_format
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> textbones.models.FNetBackbone(50, 1, 8, 16).save_to_preset(folder)
    >>> preset = preset_format(folder)
    >>> type(preset).__name__, preset.load_backbone(textbones.models.Backbone, False, {}).num_layers
    ('KerasPreset', 1)
    """

    name = "keras"
    label = "KerasHub's layout, the default"
    description = "a Keras preset's config.json names its class ('registered_name')"
    catch_all = True  # a folder without config.json: a tokenizer or preprocessor alone

    @classmethod
    def claims(cls, directory: pathlib.Path, config: dict[str, Any] | None) -> bool:
        return config is None or "registered_name" in config

    # -- loading ---------------------------------------------------------------------------
    def backbone_config(self) -> dict[str, Any]:
        """``config.json``, as read when the format was chosen (an error naming the file if
        the folder has none)."""
        if self.config is None:
            return read_json(self.directory, CONFIG_FILE)  # raises, listing what is there
        return self.config

    def load_backbone(self, cls: type, load_weights: bool, overrides: dict[str, Any]):
        preset_dir, config = self.directory, self.backbone_config()
        source = f"the preset at {preset_dir}"
        klass = class_named(
            "backbone", class_name_of(config, preset_dir / CONFIG_FILE), cls, source
        )
        backbone_config = config.get("config")
        if not isinstance(backbone_config, dict):
            raise ValueError(
                f"{preset_dir / CONFIG_FILE} has no 'config' object with the constructor "
                "arguments; the preset is corrupt. Save or download it again."
            )
        arguments = with_preset_dtype(backbone_config, overrides)
        if not load_weights:
            return instantiate(klass, arguments, source)
        # Built with deferred variables, each taking its value from its dataset: never a
        # second (random) copy of the weights in memory.
        path = weights_path(preset_dir)
        return build_with_weights(lambda: instantiate(klass, arguments, source), path, CONFIG_FILE)

    def load_tokenizer(self, cls: type, overrides: dict[str, Any]):
        config = read_json(self.directory, TOKENIZER_CONFIG_FILE)
        return self._tokenizer_from_json(config, cls, TOKENIZER_CONFIG_FILE, overrides)

    def _tokenizer_from_json(
        self, config: dict, cls: type, filename: str, overrides: dict[str, Any]
    ):
        """A tokenizer from its serialized config, its vocabulary read from the assets."""
        preset_dir = self.directory
        source = f"the preset at {preset_dir}"
        klass = class_named("tokenizer", class_name_of(config, preset_dir / filename), cls, source)
        # The vocabulary lives in assets/tokenizer/; configs hold a null in its place.
        saved = {
            key: value
            for key, value in dict(config.get("config") or {}).items()
            if not (value is None and key in ("vocabulary", "proto"))
        }
        for key in ("vocabulary", "proto"):
            if isinstance(saved.get(key), str):  # a file name: it must lie inside the preset
                where = f"the {key!r} of {preset_dir / filename}"
                saved[key] = str(contained_file(preset_dir, saved[key], where))
        tokenizer = instantiate(klass, {**saved, **overrides}, source)
        tokenizer.load_assets(preset_dir.joinpath(*TOKENIZER_ASSET_DIR))
        return tokenizer

    def load_preprocessor(self, cls: type, overrides: dict[str, Any]):
        preset_dir = self.directory
        source = f"the preset at {preset_dir}"
        path = preset_dir / PREPROCESSOR_CONFIG_FILE
        config = read_json(preset_dir, PREPROCESSOR_CONFIG_FILE) if path.is_file() else None
        saved_class = (
            None
            if config is None
            else registry.classes("preprocessor").get(class_name_of(config, path))
        )
        other_kind_same_family = (
            saved_class is not None
            and not issubclass(saved_class, cls)
            and issubclass(saved_class.tokenizer_cls, cls.tokenizer_cls)
        )
        if config is None or other_kind_same_family:
            # No saved preprocessor, or one for another task (a classifier preset loaded
            # as a masked LM): build the requested kind around the preset's tokenizer.
            return self.preprocessor_around_tokenizer(cls, overrides)
        klass = class_named("preprocessor", class_name_of(config, path), cls, source)
        preprocessor_config = dict(config.get("config") or {})
        tokenizer = self._tokenizer_from_json(
            preprocessor_config.pop("tokenizer", None) or {},
            klass.tokenizer_cls,
            PREPROCESSOR_CONFIG_FILE,
            {},
        )
        arguments = {**preprocessor_config, "tokenizer": tokenizer, **overrides}
        return instantiate(klass, arguments, source)

    def load_task(self, cls: type, load_weights: bool, kwargs: dict[str, Any]):
        return task_loader.load_keras_task(self, cls, load_weights, kwargs)

    def kind(self) -> PresetKind:
        preset_dir = self.directory
        backbone_class = _registered_class_name(preset_dir, CONFIG_FILE)
        task, task_class = None, _registered_class_name(preset_dir, TASK_CONFIG_FILE)
        if task_class is not None:
            klass = registry.classes("task").get(task_class)
            kind = None if klass is None else registry.task_kind_of(klass)
            task = "unknown" if kind is None else kind.name
        elif (preset_dir / TASK_CONFIG_FILE).is_file():
            task, task_class = "unknown", f"(unnamed in {preset_dir / TASK_CONFIG_FILE})"
        has_tokenizer = (preset_dir / TOKENIZER_CONFIG_FILE).is_file()
        return PresetKind(task, task_class, backbone_class, has_tokenizer)

    # -- saving ----------------------------------------------------------------------------
    @classmethod
    def save_backbone(cls, backbone, preset_dir) -> None:
        saver.write_backbone(backbone, preset_dir)

    @classmethod
    def save_tokenizer(cls, tokenizer, preset_dir) -> None:
        saver.write_tokenizer(tokenizer, preset_dir)

    @classmethod
    def save_preprocessor(cls, preprocessor, preset_dir) -> None:
        saver.write_preprocessor(preprocessor, preset_dir)

    @classmethod
    def save_task(cls, task, preset_dir) -> None:
        saver.write_task(task, preset_dir)


def _registered_class_name(preset_dir: pathlib.Path, filename: str) -> str | None:
    if not (preset_dir / filename).is_file():
        return None
    registered = read_json(preset_dir, filename).get("registered_name")
    if not isinstance(registered, str) or not registered:
        return None
    return registered.split(">")[-1]
