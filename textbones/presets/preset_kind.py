"""What a preset holds, read from its files before anything is built: a masked-LM task, a
text-classifier task, a bare backbone, or a tokenizer alone.

``convert`` uses it to write a task as that task, and the ``textbones`` subcommands use it
to refuse, with a message that names the preset's kind and the subcommand that fits, a
preset they cannot use (``fill-mask`` on a classifier would predict with a random head).
"""

from __future__ import annotations

import dataclasses
import os

from textbones import registry
from textbones.presets.formats import preset_format
from textbones.presets.registry import builtin_presets


@dataclasses.dataclass(frozen=True)
class PresetKind:
    """The kind of a preset.

    Attributes:
        task: the ``TaskKind.name`` (``"masked_lm"``, ``"classifier"``, ...) when the preset
            holds a trained task head, ``"unknown"`` when its ``task.json`` names a class
            textbones does not implement, ``None`` when it holds no task.
        task_class: the task's class name (``"BertMaskedLM"``, ``"BertForMaskedLM"``, ...),
            or ``None``.
        backbone_class: the backbone's class name, or ``None`` when there is no backbone.
        has_tokenizer: whether the preset carries a tokenizer (so it can read text).

    Example:

    >>> import textbones
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
        kinds = {kind.name: kind for kind in registry.task_kinds()}
        if self.task in kinds:
            return f"a {kinds[self.task].display_name} task preset ({self.task_class})"
        if self.task == "unknown":
            return f"a task preset of class {self.task_class}, which textbones does not implement"
        if self.backbone_class is not None:
            return f"a backbone preset ({self.backbone_class}, no task head)"
        if self.has_tokenizer:
            return "a tokenizer-only preset (no model)"
        return "a folder with no model and no tokenizer"


def preset_kind(preset_dir: str | os.PathLike) -> PresetKind:
    """The kind of the preset in the local directory ``preset_dir`` (any format).

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
    return preset_format(preset_dir).kind()


def builtin_preset_kind(name: str) -> PresetKind | None:
    """The kind of the built-in preset called ``name`` (from the shipped registry, so no
    download), or ``None`` when ``name`` is not a built-in preset.

    Example:

    >>> import textbones
    >>> builtin_preset_kind("bert_tiny_en_uncased_sst2").describe()
    'a text-classifier task preset (BertTextClassifier)'
    >>> builtin_preset_kind("bert_tiny_en_uncased").describe()
    'a backbone preset (BertBackbone, no task head)'
    >>> builtin_preset_kind("./my_preset") is None
    True
    """
    entry = builtin_presets().get(name)
    if entry is None:
        return None
    backbone_class = entry["class_name"]
    # A task preset's entry names its task's base class ("TextClassifier").
    kind = next(
        (kind for kind in registry.task_kinds() if kind.task_base.__name__ == entry.get("task")),
        None,
    )
    if kind is None:
        return PresetKind(None, None, backbone_class, True)
    task_class = registry.family(entry["family"]).tasks[kind.name].__name__
    return PresetKind(kind.name, task_class, backbone_class, True)
