"""Build tasks from presets: a saved ``task.json``, or a backbone preset plus a fresh head."""

from __future__ import annotations

import pathlib
from typing import Any

from textbones.presets.handles import resolve_preset
from textbones.presets.loader import (
    _class_name_of,
    class_named,
    load_backbone,
    load_h5_weights,
    load_preprocessor,
    read_transformers_config,
)
from textbones.presets.preset_files import CONFIG_FILE, TASK_CONFIG_FILE, TASK_WEIGHTS_FILE, read_json
from textbones.presets.registry import builtin_presets

#: Task config keys that are not head arguments.
_NOT_HEAD_ARGUMENTS = {"backbone", "preprocessor", "name", "compile"}


def load_task(cls: type, preset, load_weights: bool = True, **kwargs):
    """Build the task ``preset`` holds (or can hold), as ``cls`` or one of its subclasses.

    See ``Task.from_preset`` for the rules.

    Example:

    >>> import tempfile, textbones
    >>> folder = tempfile.mkdtemp()
    >>> textbones.models.BertBackbone(30, 1, 2, 8, 16).save_to_preset(folder)
    >>> task = load_task(textbones.models.MaskedLM, folder, preprocessor=None)
    >>> type(task).__name__
    'BertMaskedLM'
    """
    from textbones.models.backbone import Backbone

    backbone_overrides = {"dtype": kwargs.pop("dtype")} if "dtype" in kwargs else {}
    if not load_weights and kwargs.get("preprocessor", ...) is None and isinstance(preset, str) and preset in builtin_presets():
        # Nothing to download: the architecture ships with the package.
        entry = builtin_presets()[preset]
        klass = _task_class_for(cls, entry["class_name"], f"the built-in preset {preset!r}")
        backbone = load_backbone(klass.backbone_cls, preset, load_weights=False, **backbone_overrides)
        return klass(backbone=backbone, **kwargs)

    preset_dir = resolve_preset(preset)
    if read_transformers_config(preset_dir) is not None:
        from textbones.presets.transformers.loading import load_task as load_transformers_task

        return load_transformers_task(cls, preset_dir, load_weights, {**kwargs, **backbone_overrides})
    source = f"the preset at {preset_dir}"
    saved = _saved_task_config(cls, preset_dir, kwargs)
    if saved is not None:
        klass, arguments = saved
    else:
        backbone_config = read_json(preset_dir, CONFIG_FILE)
        klass = _task_class_for(cls, _class_name_of(backbone_config, preset_dir / CONFIG_FILE), source)
        arguments = {}
    arguments = {**arguments, **kwargs}
    class_named(Backbone._registry, klass.backbone_cls.__name__, Backbone, source)
    backbone = load_backbone(klass.backbone_cls, preset_dir, load_weights=load_weights, **backbone_overrides)
    if "preprocessor" not in arguments:
        arguments["preprocessor"] = _load_task_preprocessor(klass, preset_dir)
        preprocessor = arguments["preprocessor"]
        if preprocessor is not None and preprocessor.sequence_length > backbone.max_sequence_length:
            # A preprocessor made with the default length for a backbone that takes less.
            preprocessor.sequence_length = backbone.max_sequence_length
    task = klass(backbone=backbone, **arguments)
    if saved is not None and load_weights and (preset_dir / TASK_WEIGHTS_FILE).is_file():
        skipped = list(backbone._flatten_layers())
        if getattr(task, "optimizer", None) is not None:  # absent when built with compile=False
            skipped.append(task.optimizer)
        load_h5_weights(task, preset_dir / TASK_WEIGHTS_FILE, TASK_CONFIG_FILE, objects_to_skip=skipped)
    return task


def _task_class_for(cls: type, backbone_class_name: str, source: str) -> type:
    """The concrete task class under ``cls`` made for the backbone called ``backbone_class_name``."""
    from textbones.models.task import Task

    if cls.backbone_cls is not None:
        if cls.backbone_cls.__name__ != backbone_class_name:
            raise ValueError(
                f"{cls.__name__}.from_preset cannot load {source}: it holds a "
                f"{backbone_class_name}, and {cls.__name__} needs a {cls.backbone_cls.__name__}. "
                f"Call the task class of that family, or {_generic_name(cls)}.from_preset to pick it."
            )
        return cls
    candidates = [
        klass
        for klass in Task._registry.values()
        if issubclass(klass, cls) and klass.backbone_cls.__name__ == backbone_class_name
    ]
    if len(candidates) != 1:
        raise ValueError(
            f"{cls.__name__}.from_preset cannot pick a task class for {source}: its "
            f"{backbone_class_name} fits {len(candidates)} task classes under {cls.__name__}. "
            "Call a concrete class such as MaskedLM or TextClassifier (or a family's, e.g. "
            "BertTextClassifier)."
        )
    return candidates[0]


def _generic_name(cls: type) -> str:
    from textbones.models.masked_lm import MaskedLM
    from textbones.models.text_classifier import TextClassifier

    return next((base.__name__ for base in (MaskedLM, TextClassifier) if issubclass(cls, base)), "Task")


def _saved_task_config(cls: type, preset_dir: pathlib.Path, kwargs: dict[str, Any]):
    """``(class, head arguments)`` of the preset's ``task.json`` if it can be used as asked, else ``None``.

    It can when it holds a subclass of ``cls`` and every head argument in ``kwargs``
    matches the saved value (a different ``num_classes`` asks for a fresh head).
    """
    from textbones.models.task import Task

    if not (preset_dir / TASK_CONFIG_FILE).is_file():
        return None
    config = read_json(preset_dir, TASK_CONFIG_FILE)
    klass = Task._registry.get(_class_name_of(config, preset_dir / TASK_CONFIG_FILE))
    if klass is None or not issubclass(klass, cls):
        return None
    saved = {key: value for key, value in dict(config.get("config") or {}).items() if key not in _NOT_HEAD_ARGUMENTS}
    if any(saved.get(key) != _comparable(value) for key, value in kwargs.items() if key not in _NOT_HEAD_ARGUMENTS):
        return None
    if (config.get("config") or {}).get("preprocessor", ...) is None:
        saved["preprocessor"] = None
    return klass, saved


def _comparable(value):
    """A head argument as ``task.json`` stores it (activations by name)."""
    if value is None or isinstance(value, str) or not callable(value):
        return "linear" if value is None else value
    import keras

    return keras.activations.serialize(value)


def _load_task_preprocessor(klass: type, preset_dir: pathlib.Path):
    try:
        return load_preprocessor(klass.preprocessor_cls, preset_dir)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"{error} To build {klass.__name__} without a preprocessor (and feed it "
            "preprocessed inputs), pass `preprocessor=None`."
        ) from None
