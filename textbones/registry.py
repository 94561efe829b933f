"""The bottom of the package: the registered families, task kinds and classes by name.

Nothing here imports the rest of textbones. The upper layers fill the registry when their
modules are imported: a base class (``Backbone``, ``Task``, ``Tokenizer``, ``Preprocessor``)
registers each concrete subclass by name, a task base declares its ``TaskKind``, and a family's
``family.py`` registers its ``Family``. Everything that loads, saves, converts or lists models
(``presets/``, the CLI, the tests) reads them from here, so none of it names a family or a
task class.

Example:

>>> import textbones
>>> from textbones import registry
>>> [family.name for family in registry.families()][:3]
['bert', 'albert', 'f_net']
>>> registry.family_of(textbones.models.FNetMaskedLM).display_name
'FNet'
>>> registry.task_kind_of(textbones.models.BertTextClassifier).name
'classifier'
"""

from __future__ import annotations

import dataclasses
import re
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

#: The kinds of class registered by name, each by its base class.
CLASS_KINDS = ("backbone", "tokenizer", "preprocessor", "task")

# pytest's importlib import mode (this project's) runs a module's file a second time, as a
# fresh module, when the first file it collects is imported by its own package first; the
# second copy keeps the first copy's state, so that both see one registry.
_first_copy = getattr(sys.modules.get(__name__.rpartition(".")[0]), "registry", None)
_classes: dict[str, dict[str, type]] = (
    _first_copy._classes if _first_copy else {kind: {} for kind in CLASS_KINDS}
)
_families: dict[str, Family] = _first_copy._families if _first_copy else {}
_task_kinds: dict[str, TaskKind] = _first_copy._task_kinds if _first_copy else {}


@dataclasses.dataclass(frozen=True)
class TaskKind:
    """What a kind of task is, declared once by its base class (``MaskedLM``, ...).

    Attributes:
        name: the kind's one spelling: the key of ``Family.tasks``, the ``task`` that
            ``metadata.json`` and ``textbones inspect`` report (``"masked_lm"``).
        task_base: the base class of the kind's tasks.
        preprocessor_base: the base class of their preprocessors.
        transformers_suffix: the suffix of the kind's ``transformers`` architectures
            (``"ForMaskedLM"``); ``None`` when ``transformers`` has no such head.
    """

    name: str
    task_base: type
    preprocessor_base: type
    transformers_suffix: str | None = None

    @property
    def display_name(self) -> str:
        """The kind in words, from its base class's name (``MaskedLM``: ``"masked-LM"``).

        Example:

        >>> import textbones
        >>> task_kind("classifier").display_name
        'text-classifier'
        """
        words = re.findall(r"[A-Z][a-z0-9]+|[A-Z]+(?![a-z])", self.task_base.__name__)
        return "-".join(word if word.isupper() else word.lower() for word in words)

    def matches(self, task_or_class: Any) -> bool:
        """Whether ``task_or_class`` (a task or a task class) is of this kind."""
        klass = task_or_class if isinstance(task_or_class, type) else type(task_or_class)
        return issubclass(klass, self.task_base)


@dataclasses.dataclass(frozen=True)
class Family:
    """Everything textbones knows about one model family, in one object.

    Attributes:
        name: the family's one spelling (``"f_net"``): its folder under ``models/``, the
            ``family`` of its built-in presets, the CLI's ``--family`` value.
        display_name: the prefix of its class names (``"FNet"``).
        backbone: the backbone class.
        tokenizer: the tokenizer class.
        tasks: the task class of each task kind, by ``TaskKind.name``.
        preprocessors: the preprocessor class of each task kind, by ``TaskKind.name``.
        presets: the built-in presets, by name (the entries ``builtin_presets`` returns).
        kernel_initializer: ``() -> initializer`` the family's layers start from.
        transformers: the ``transformers`` mapping (``presets.transformers.mapping.
            TransformersMapping``); ``None`` when the family has no ``transformers`` twin.
        tiny_config: constructor arguments of a tiny backbone of the family (everything
            but ``vocabulary_size``), which examples, the CLI and family-wide tests build.
        keras_hub_name: KerasHub's folder name of the family (``keras_hub/src/models/NAME``),
            for interop; the family's ``name`` unless they differ.
    """

    name: str
    display_name: str
    backbone: type
    tokenizer: type
    tasks: Mapping[str, type]
    preprocessors: Mapping[str, type]
    presets: Mapping[str, Mapping[str, Any]]
    kernel_initializer: Callable[[], Any]
    transformers: Any = None
    tiny_config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    keras_hub_name: str | None = None

    def classes(self) -> tuple[type, ...]:
        """Every class of the family: backbone, tokenizer, tasks and preprocessors."""
        return (
            self.backbone,
            self.tokenizer,
            *self.tasks.values(),
            *self.preprocessors.values(),
        )


def register_class(kind: str, cls: type) -> None:
    """Register ``cls`` under its name as a concrete class of ``kind`` (a ``CLASS_KINDS``)."""
    _classes[kind][cls.__name__] = cls


def classes(kind: str) -> Mapping[str, type]:
    """The registered concrete classes of ``kind``, by name (a live, read-only view).

    Example:

    >>> import textbones
    >>> classes("backbone")["BertBackbone"].__name__
    'BertBackbone'
    """
    return types.MappingProxyType(_classes[kind])


def register_task_kind(kind: TaskKind) -> None:
    """Declare a task kind; its base class calls this once, where it is defined."""
    _task_kinds[kind.name] = kind


def task_kinds() -> tuple[TaskKind, ...]:
    """Every declared task kind, in the order they were declared."""
    return tuple(_task_kinds.values())


def task_kind(name: str) -> TaskKind:
    """The task kind called ``name`` (a ``KeyError`` naming the known kinds if none)."""
    if name not in _task_kinds:
        raise KeyError(f"No task kind {name!r}; the known kinds are {', '.join(_task_kinds)}.")
    return _task_kinds[name]


def task_kind_of(task_or_class: Any) -> TaskKind | None:
    """The kind of a task or task class (the most specific match), or ``None``."""
    matching = [kind for kind in _task_kinds.values() if kind.matches(task_or_class)]
    if not matching:
        return None
    # The most derived base wins, should one kind's base subclass another's.
    return min(matching, key=lambda kind: -len(kind.task_base.__mro__))


def register_family(family: Family) -> Family:
    """Register ``family`` (its ``family.py`` calls this) and return it."""
    # An equal family (its module run again) replaces itself; a different one is an error.
    if family.name in _families and _families[family.name] != family:
        raise ValueError(f"Two families are called {family.name!r}.")
    _families[family.name] = family
    return family


def families() -> tuple[Family, ...]:
    """Every registered family, in registration order."""
    return tuple(_families.values())


def family(name: str) -> Family:
    """The family called ``name`` (a ``KeyError`` naming the registered families if none).

    Example:

    >>> import textbones
    >>> family("albert").backbone.__name__
    'AlbertBackbone'
    """
    if name not in _families:
        raise KeyError(
            f"No model family {name!r}; textbones has {', '.join(map(repr, _families))}."
        )
    return _families[name]


def family_of(obj_or_class: Any) -> Family | None:
    """The family a model, tokenizer or preprocessor (or its class) belongs to, or ``None``.

    Subclasses count: a user's ``class MyBert(BertBackbone)`` belongs to BERT.

    Example:

    >>> import textbones
    >>> class MyBackbone(textbones.models.BertBackbone):
    ...     pass
    >>> family_of(MyBackbone).name
    'bert'
    """
    klass = obj_or_class if isinstance(obj_or_class, type) else type(obj_or_class)
    owners = {cls: family for family in _families.values() for cls in family.classes()}
    for ancestor in klass.__mro__:
        if ancestor in owners:
            return owners[ancestor]
    return None


def builtin_presets() -> dict[str, Mapping[str, Any]]:
    """Every registered family's built-in presets, by name."""
    return {name: entry for family in _families.values() for name, entry in family.presets.items()}
