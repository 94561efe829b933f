"""What a preset holds, read from its files before anything is built: a masked-LM task, a
text-classifier task, a bare backbone, or a tokenizer alone.

``convert`` uses it to write a task as that task, and the ``textbones`` subcommands use it
to refuse, with a message that names the preset's kind and the subcommand that fits, a
preset they cannot use (``fill-mask`` on a classifier would predict with a random head).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

#: The task kinds a preset can hold, as :attr:`PresetKind.task` names them.
TASK_KINDS = ("masked_lm", "classifier")

_TASK_WORDS = {
    "masked_lm": "a masked-LM task preset",
    "classifier": "a text-classifier task preset",
}


@dataclasses.dataclass(frozen=True)
class PresetKind:
    """The kind of a preset.

    Attributes:
        task: ``"masked_lm"`` or ``"classifier"`` when the preset holds a trained task head,
            ``"unknown"`` when its ``task.json`` names a class textbones does not implement,
            ``None`` when it holds no task.
        task_class: the task's class name (``"BertMaskedLM"``, ``"BertForMaskedLM"``, ...),
            or ``None``.
        backbone_class: the backbone's class name, or ``None`` when there is no backbone.
        has_tokenizer: whether the preset carries a tokenizer (so it can read text).

    Example:

    >>> PresetKind("classifier", "BertTextClassifier", "BertBackbone", True).describe()
    'a text-classifier task preset (BertTextClassifier)'
    >>> PresetKind(None, None, None, True).describe()
    'a tokenizer-only preset (no model)'
    """

    task: str | None
    task_class: str | None
    backbone_class: str | None
    has_tokenizer: bool

    def describe(self) -> str:
        """The kind in a few words, for messages."""
        if self.task in _TASK_WORDS:
            return f"{_TASK_WORDS[self.task]} ({self.task_class})"
        if self.task == "unknown":
            return f"a task preset of class {self.task_class}, which textbones does not implement"
        if self.backbone_class is not None:
            return f"a backbone preset ({self.backbone_class}, no task head)"
        if self.has_tokenizer:
            return "a tokenizer-only preset (no model)"
        return "a folder with no model and no tokenizer"


def preset_kind(preset_dir: str | os.PathLike) -> PresetKind:
    """The kind of the preset in the local directory ``preset_dir`` (either format).

    A Keras-format preset's task is the class its ``task.json`` names; a ``transformers``
    checkpoint's task is the trained head its weights hold (a ``*ForMaskedLM`` or
    ``*ForSequenceClassification`` head). Nothing is built and no weights are read.

    Example:

    >>> import tempfile, textbones
    >>> folder = tempfile.mkdtemp()
    >>> textbones.models.FNetBackbone(50, 1, 8, 16).save_to_preset(folder)
    >>> preset_kind(folder)
    PresetKind(task=None, task_class=None, backbone_class='FNetBackbone', has_tokenizer=False)
    """
    from textbones.presets.loader import read_transformers_config

    preset_dir = pathlib.Path(preset_dir)
    transformers_config = read_transformers_config(preset_dir)
    if transformers_config is not None:
        return _transformers_kind(preset_dir, transformers_config)
    return _keras_kind(preset_dir)


def builtin_preset_kind(name: str) -> PresetKind | None:
    """The kind of the built-in preset called ``name`` (from the shipped registry, so no
    download), or ``None`` when ``name`` is not a built-in preset.

    Example:

    >>> builtin_preset_kind("bert_tiny_en_uncased_sst2").describe()
    'a text-classifier task preset (BertTextClassifier)'
    >>> builtin_preset_kind("bert_tiny_en_uncased").describe()
    'a backbone preset (BertBackbone, no task head)'
    >>> builtin_preset_kind("./my_preset") is None
    True
    """
    from textbones.presets.registry import builtin_presets

    entry = builtin_presets().get(name)
    if entry is None:
        return None
    backbone_class = entry["class_name"]
    task = {"MaskedLM": "masked_lm", "TextClassifier": "classifier"}.get(entry.get("task"))
    task_class = None if task is None else backbone_class.replace("Backbone", entry["task"])
    return PresetKind(task, task_class, backbone_class, True)


def _registered_class_name(preset_dir: pathlib.Path, filename: str) -> str | None:
    from textbones.presets.preset_files import read_json

    if not (preset_dir / filename).is_file():
        return None
    registered = read_json(preset_dir, filename).get("registered_name")
    if not isinstance(registered, str) or not registered:
        return None
    return registered.split(">")[-1]


def _keras_kind(preset_dir: pathlib.Path) -> PresetKind:
    from textbones.models.masked_lm import MaskedLM
    from textbones.models.task import Task
    from textbones.models.text_classifier import TextClassifier
    from textbones.preprocessing.tokenizer import TOKENIZER_CONFIG_FILE
    from textbones.presets.preset_files import CONFIG_FILE, TASK_CONFIG_FILE

    backbone_class = _registered_class_name(preset_dir, CONFIG_FILE)
    task, task_class = None, _registered_class_name(preset_dir, TASK_CONFIG_FILE)
    if task_class is not None:
        klass = Task._registry.get(task_class)
        if klass is not None and issubclass(klass, MaskedLM):
            task = "masked_lm"
        elif klass is not None and issubclass(klass, TextClassifier):
            task = "classifier"
        else:
            task = "unknown"
    elif (preset_dir / TASK_CONFIG_FILE).is_file():
        task, task_class = "unknown", f"(unnamed in {preset_dir / TASK_CONFIG_FILE})"
    has_tokenizer = (preset_dir / TOKENIZER_CONFIG_FILE).is_file()
    return PresetKind(task, task_class, backbone_class, has_tokenizer)


def _transformers_kind(preset_dir: pathlib.Path, config: dict) -> PresetKind:
    from textbones.presets.transformers.loading import head_kind
    from textbones.presets.transformers.tokenizer_files import has_tokenizer_files

    model_type = str(config.get("model_type", ""))
    family = {"bert": "Bert", "albert": "Albert", "fnet": "FNet"}.get(model_type, model_type)
    task = head_kind(preset_dir)
    suffix = {"masked_lm": "ForMaskedLM", "classifier": "ForSequenceClassification"}
    architectures = [str(name) for name in config.get("architectures") or []]
    task_class = None
    if task is not None:
        named = [name for name in architectures if name.endswith(suffix[task])]
        task_class = named[0] if named else f"{family}{suffix[task]}"
    return PresetKind(task, task_class, f"{family}Backbone", has_tokenizer_files(preset_dir))
