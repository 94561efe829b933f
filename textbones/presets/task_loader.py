"""Build tasks from presets: a saved ``task.json`` with its trained head, or a backbone preset
plus a fresh head.

The rules, in one place:

- A preset with a ``task.json`` of the class asked for gives that task with its trained
  head (``task.weights.h5``). If the head cannot be restored (the weights file is missing,
  damaged or does not fit), loading fails naming the file: it never falls back to a
  random head.
- A fresh head is built only when the caller asks for one: for a backbone preset (no
  ``task.json``), for another kind of task than the one saved (``MaskedLM.from_preset`` of
  a classifier preset), or for head arguments that change the head's shape
  (``num_classes`` other than the saved one).
- A ``task.json`` that cannot be read or names a class textbones lacks, and a
  ``task.weights.h5`` without a ``task.json``, mean a damaged preset: an error names the
  file and the fix.
- Keyword arguments go where they belong: ``dtype`` to the backbone, the task class's
  own arguments (``num_classes``, ``activation``, ``compile``, ...) to the task, and the
  preprocessor class's (``sequence_length``, ``mask_selection_length``, ...) to the
  preprocessor; anything else is refused by name.
"""

from __future__ import annotations

import inspect
import pathlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from textbones import registry
from textbones.keras_internals import QUANTIZED_LAYERS_KEY, quantize_layers
from textbones.presets.building import class_name_of, class_named
from textbones.presets.consistent_read import consistent_read
from textbones.presets.download_errors import PresetDownloadError
from textbones.presets.files import CONFIG_FILE, TASK_CONFIG_FILE, TASK_WEIGHTS_FILE
from textbones.presets.formats import PresetFormat, preset_format
from textbones.presets.handles import resolve_preset
from textbones.presets.loader import load_backbone
from textbones.presets.preset_files import read_json
from textbones.presets.registry import builtin_presets
from textbones.presets.vocabulary_fit import check_vocabulary_fits
from textbones.presets.weights_file import load_h5_weights
from textbones.serialization import textbones_class

#: Head arguments that change the shapes of the head's weights: a value other than the
#: saved one asks for a fresh head (as KerasHub treats ``num_classes``). Other head
#: arguments (``activation``, ``dropout``, ...) apply to the restored head.
_HEAD_SHAPE_ARGUMENTS = ("num_classes",)


class Arguments(NamedTuple):
    """``from_preset`` keyword arguments, sorted by what they configure."""

    task: dict[str, Any]
    preprocessor: dict[str, Any]
    backbone: dict[str, Any]


def route_arguments(klass: type, kwargs: dict[str, Any]) -> Arguments:
    """Sort ``from_preset`` keyword arguments into the task's, its preprocessor's and the
    backbone's.

    ``dtype`` goes to the backbone; the named arguments of ``klass``'s constructors (and
    ``name``, ``preprocessor``) to the task; those of ``klass.preprocessor_cls`` (but its
    ``tokenizer``) to the preprocessor. Any other name raises ``TypeError``, listing
    what the task and its preprocessor take.

    Example:

    >>> from textbones.models import BertTextClassifier
    >>> route_arguments(BertTextClassifier, {"num_classes": 2, "sequence_length": 16})
    Arguments(task={'num_classes': 2}, preprocessor={'sequence_length': 16}, backbone={})
    """
    task_names = _parameter_names(klass) | {"name", "preprocessor"}
    preprocessor_names = set()
    if klass.preprocessor_cls is not None:
        preprocessor_names = _parameter_names(klass.preprocessor_cls)
        preprocessor_names -= {"tokenizer", "name"}
    routed = Arguments({}, {}, {})
    unknown = []
    for key, value in kwargs.items():
        if key == "dtype":
            routed.backbone[key] = value
        elif key in task_names:
            routed.task[key] = value
        elif key in preprocessor_names:
            routed.preprocessor[key] = value
        else:
            unknown.append(key)
    if unknown:
        preprocessor = getattr(klass.preprocessor_cls, "__name__", "preprocessor")
        raise TypeError(
            f"{klass.__name__}.from_preset got unexpected argument(s) {sorted(unknown)}. It takes "
            f"the task's arguments ({', '.join(sorted(task_names))}), its {preprocessor}'s "
            f"({', '.join(sorted(preprocessor_names)) or 'none'}) and the backbone's `dtype`."
        )
    return routed


def _parameter_names(cls: type) -> set[str]:
    """The keyword-passable constructor arguments of ``cls`` and its bases up to Keras'
    (a task's ``keras.Model``) or ``object``."""
    names = set()
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] == "keras" or klass is object:
            break
        if "__init__" not in vars(klass):
            continue
        for parameter in inspect.signature(klass.__init__).parameters.values():
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                names.add(parameter.name)
    return names - {"self", "backbone"}


class _SavedTask(NamedTuple):
    klass: type
    arguments: dict[str, Any]  # the head arguments task.json holds
    without_preprocessor: bool  # saved with preprocessor=None


@consistent_read
def load_task(cls: type, preset, load_weights: bool = True, **kwargs):
    """Build the task ``preset`` holds (or can hold), as ``cls`` or one of its subclasses.

    See ``Task.from_preset`` and this module's docstring for the rules.

    Example:

    >>> import tempfile, textbones
    >>> folder = tempfile.mkdtemp()
    >>> textbones.models.BertBackbone(30, 1, 2, 8, 16).save_to_preset(folder)
    >>> task = load_task(textbones.models.MaskedLM, folder, preprocessor=None)
    >>> type(task).__name__
    'BertMaskedLM'
    """
    if not load_weights and isinstance(preset, str) and preset in builtin_presets():
        if "preprocessor" in kwargs:
            # Nothing to download: the architecture ships with the package.
            return _builtin_task(cls, preset, kwargs)
        preset_dir = _resolve_for_the_vocabulary(cls, preset)
    else:
        preset_dir = resolve_preset(preset)
    return preset_format(preset_dir).load_task(cls, load_weights, kwargs)


def load_keras_task(preset: PresetFormat, cls: type, load_weights: bool, kwargs: dict):
    """The task of the Keras-format preset ``preset`` (a ``KerasPreset``; see this
    module's rules)."""
    preset_dir = preset.directory
    source = f"the preset at {preset_dir}"
    saved = _read_saved_task(preset_dir)
    if saved is not None and not issubclass(saved.klass, cls):
        saved = None  # another kind of task (a classifier preset loaded as a masked LM)
    backbone_name = class_name_of(preset.backbone_config(), preset_dir / CONFIG_FILE)
    backbone_cls = _backbone_class(backbone_name, source)
    if saved is None:
        klass = task_class_for(cls, backbone_cls, source)
    elif not issubclass(backbone_cls, saved.klass.backbone_cls):
        raise ValueError(
            f"{preset_dir / TASK_CONFIG_FILE} describes a {saved.klass.__name__}, built on a "
            f"{saved.klass.backbone_cls.__name__}, but {CONFIG_FILE} holds a {backbone_name}: "
            "the files come from different presets. Save or download the preset again."
        )
    else:
        klass = saved.klass
    routed = route_arguments(klass, kwargs)
    given = _with_implied_counts(routed.task)
    restore_head = saved is not None and not _asks_for_a_fresh_head(saved.arguments, given)
    arguments = {**(saved.arguments if saved is not None else {}), **given}
    if saved is not None and saved.without_preprocessor:
        arguments.setdefault("preprocessor", None)
    backbone = preset.load_backbone(klass.backbone_cls, load_weights, routed.backbone)
    if "preprocessor" not in arguments:
        arguments["preprocessor"] = _load_task_preprocessor(
            klass, preset, backbone, routed.preprocessor
        )
    else:
        _refuse_preprocessor_arguments(klass, routed.preprocessor, saved)
    if arguments["preprocessor"] is not None:
        check_vocabulary_fits(
            arguments["preprocessor"].tokenizer,
            backbone.vocabulary_size,
            type(backbone).__name__,
            str(preset_dir / CONFIG_FILE),
        )
    quantized = arguments.pop(QUANTIZED_LAYERS_KEY, None)
    _check_required_arguments(klass, arguments, preset_dir)
    task = klass(backbone=backbone, **arguments)
    if quantized and restore_head:  # the saved head was quantized: so is its rebuild
        quantize_layers(task, quantized)
    if restore_head and load_weights:
        _load_head(task, preset_dir)
    return task


def _read_saved_task(preset_dir: pathlib.Path) -> _SavedTask | None:
    """What ``task.json`` says, or ``None`` for a backbone preset (no task files at all).

    A ``task.json`` that cannot be used, or a head's weights without one, is an error:
    the preset claims a trained head that cannot be restored.
    """
    config_path, weights_path = preset_dir / TASK_CONFIG_FILE, preset_dir / TASK_WEIGHTS_FILE
    fresh = (
        "To use its backbone with a fresh head instead, delete "
        f"{TASK_CONFIG_FILE} and {TASK_WEIGHTS_FILE} (it is then a backbone preset)."
    )
    fix = f"Save or download the preset again. {fresh}"
    if not config_path.exists():
        if weights_path.exists():
            raise ValueError(
                f"{preset_dir} holds a trained task head ({TASK_WEIGHTS_FILE}) but no "
                f"{TASK_CONFIG_FILE} saying which task it belongs to, so the head cannot be "
                f"restored: the preset is incomplete. {fix}"
            )
        return None
    try:
        config = read_json(preset_dir, TASK_CONFIG_FILE)
        class_name = class_name_of(config, config_path)
    except (ValueError, OSError) as error:
        # The message names the file and says to save or download the preset again.
        raise ValueError(f"{error} {fresh}") from None
    klass = textbones_class(class_name)
    tasks = registry.classes("task")
    if klass is None or tasks.get(klass.__name__) is not klass:
        known = ", ".join(sorted(tasks))
        raise ValueError(
            f"{config_path} describes a {class_name}, which textbones does not implement (it "
            f"implements {known}), so its trained head cannot be restored. {fix}"
        )
    task_config = config.get("config")
    if not isinstance(task_config, dict):
        raise ValueError(f"{config_path} has no 'config' object with the task's arguments. {fix}")
    arguments = {
        key: value for key, value in task_config.items() if key not in ("backbone", "preprocessor")
    }
    return _SavedTask(klass, arguments, task_config.get("preprocessor", ...) is None)


def _with_implied_counts(given: dict[str, Any]) -> dict[str, Any]:
    """``given`` with the ``num_classes`` its label names imply (a token classifier's
    ``id2label``), so that new names of another count ask for a fresh head.

    Example:

    >>> _with_implied_counts({"id2label": ["O", "B-PER"]})
    {'id2label': ['O', 'B-PER'], 'num_classes': 2}
    """
    labels = given.get("id2label")
    if labels is None or "num_classes" in given or not hasattr(labels, "__len__"):
        return given
    return {**given, "num_classes": len(labels)}


def _asks_for_a_fresh_head(saved: dict[str, Any], given: dict[str, Any]) -> bool:
    return any(name in given and given[name] != saved.get(name) for name in _HEAD_SHAPE_ARGUMENTS)


def _load_head(task, preset_dir: pathlib.Path) -> None:
    """Restore the saved head from ``task.weights.h5``, or raise naming the file."""
    backbone_variables = {id(variable) for variable in task.backbone.weights}
    if all(id(variable) in backbone_variables for variable in task.weights):
        return  # a head with no weights of its own has nothing to restore
    path = preset_dir / TASK_WEIGHTS_FILE
    klass = type(task)
    if not path.is_file():
        raise FileNotFoundError(
            f"{preset_dir} holds a trained {klass.__name__} ({TASK_CONFIG_FILE}) but not its "
            f"head's weights: {TASK_WEIGHTS_FILE} is missing. Save or download the preset "
            f"again. To start from its backbone with a fresh head instead, build "
            f"{klass.__name__}({klass.backbone_cls.__name__}.from_preset(...), ...) yourself, "
            "or pass `load_weights=False` for random weights throughout."
        )
    skipped = list(task.backbone._flatten_layers())
    if getattr(task, "optimizer", None) is not None:  # absent when built with compile=False
        skipped.append(task.optimizer)
    load_h5_weights(task, path, TASK_CONFIG_FILE, objects_to_skip=skipped)


def _builtin_task(cls: type, name: str, kwargs: dict[str, Any]):
    """A task of a built-in preset built from the config shipped with textbones (no download)."""
    entry = builtin_presets()[name]
    source = f"the built-in preset {name!r}"
    klass = task_class_for(cls, _backbone_class(entry["class_name"], source), source)
    routed = route_arguments(klass, kwargs)
    _refuse_preprocessor_arguments(klass, routed.preprocessor, None)
    backbone = load_backbone(klass.backbone_cls, name, load_weights=False, **routed.backbone)
    arguments = {**_builtin_head_arguments(entry, klass), **routed.task}
    preprocessor = arguments["preprocessor"]
    if preprocessor is not None:
        check_vocabulary_fits(
            preprocessor.tokenizer,
            backbone.vocabulary_size,
            type(backbone).__name__,
            f"the built-in preset {name!r}",
        )
    _check_required_arguments(klass, arguments, None, name)
    return klass(backbone=backbone, **arguments)


def _builtin_head_arguments(entry: Mapping[str, Any], klass: type) -> dict[str, Any]:
    """The head arguments a built-in task preset's entry ships (``task_config``, such as an
    embedder's pooling), for a task of the kind the entry names (``task``); none for another
    kind (a ``MaskedLM`` built on an embedder preset gets a fresh head of its own).

    Example:

    >>> import textbones
    >>> from textbones.models import BertMaskedLM, BertTextEmbedder
    >>> entry = builtin_presets()["multi_qa_minilm_l6_dot_v1_en"]
    >>> _builtin_head_arguments(entry, BertTextEmbedder)
    {'pooling_mode': 'cls', 'normalize': False}
    >>> _builtin_head_arguments(entry, BertMaskedLM)
    {}
    """
    kind = registry.task_kind_of(klass)
    if kind is None or kind.task_base.__name__ != entry.get("task"):
        return {}
    return dict(entry.get("task_config", {}))


def _resolve_for_the_vocabulary(cls: type, name: str) -> pathlib.Path:
    """The preset's directory (cached or downloaded): a task's preprocessor needs its vocabulary."""
    try:
        return resolve_preset(name)
    except PresetDownloadError as error:
        raise PresetDownloadError(
            f"{cls.__name__}.from_preset({name!r}, load_weights=False) needs no weights, but "
            "the preprocessor needs the preset's vocabulary, which is not in the local cache "
            "and could not be downloaded. Pass `preprocessor=None` to build the task with no "
            "download at all (it then takes preprocessed inputs; attach a preprocessor later "
            "with `task.preprocessor = ...`).\n" + str(error),
            handle=error.handle,
            reason=error.reason,
        ) from None


def _refuse_preprocessor_arguments(klass: type, given: dict, saved: _SavedTask | None) -> None:
    if given:
        why = (
            "its task.json says it was saved without one"
            if saved is not None and saved.without_preprocessor
            else "`preprocessor` is given as well"
        )
        raise ValueError(
            f"{klass.__name__}.from_preset got preprocessor argument(s) {sorted(given)}, but "
            f"builds no preprocessor here: {why}. Set them on the preprocessor you pass, or "
            "leave `preprocessor` out to have one loaded from the preset with them."
        )


def _check_required_arguments(
    klass: type, arguments: dict[str, Any], preset_dir: pathlib.Path | None, name: str | None = None
) -> None:
    """Refuse, naming it, a required head argument that neither the caller nor task.json gave."""
    signature = inspect.signature(klass.__init__)
    missing = [
        parameter.name
        for parameter in signature.parameters.values()
        if parameter.default is parameter.empty
        and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        and parameter.name not in ("self", "backbone")
        and parameter.name not in arguments
    ]
    if missing:
        where = f"the built-in preset {name!r}" if preset_dir is None else f"{preset_dir}"
        needs = ", ".join(f"`{parameter}`" for parameter in missing)
        example = " (e.g. `num_classes=2`)" if "num_classes" in missing else ""
        raise ValueError(
            f"{klass.__name__}.from_preset builds a fresh head on {where} (no saved "
            f"{klass.__name__} is restored from it), so it needs {needs}{example}."
        )


def _backbone_class(class_name: str, source: str) -> type:
    """The registered backbone class ``class_name`` names (any backbone: ``object`` asked)."""
    return class_named("backbone", class_name, object, source)


def task_class_for(cls: type, backbone_cls: type, source: str) -> type:
    """The concrete task class under ``cls`` made for backbones of class ``backbone_cls``
    (a user's subclass of a family's backbone included: the family's task class).

    Example:

    >>> import textbones
    >>> from textbones.models import BertBackbone, MaskedLM
    >>> class MyBackbone(BertBackbone):
    ...     pass
    >>> task_class_for(MaskedLM, MyBackbone, "a preset").__name__
    'BertMaskedLM'
    """
    if cls.backbone_cls is not None:
        if not issubclass(backbone_cls, cls.backbone_cls):
            raise ValueError(
                f"{cls.__name__}.from_preset cannot load {source}: it holds a "
                f"{backbone_cls.__name__}, and {cls.__name__} needs a "
                f"{cls.backbone_cls.__name__}. Call the task class of that family, or "
                f"{_generic_name(cls)}.from_preset to pick it."
            )
        return cls
    candidates = [
        klass
        for klass in registry.classes("task").values()
        if issubclass(klass, cls)
        and klass.backbone_cls is not None
        and issubclass(backbone_cls, klass.backbone_cls)
    ]
    # The task made for the most derived backbone class wins (a user's MyBert task over
    # BertMaskedLM); several of equal rank remain ambiguous.
    if candidates:
        depth = max(len(klass.backbone_cls.__mro__) for klass in candidates)
        candidates = [k for k in candidates if len(k.backbone_cls.__mro__) == depth]
    if len(candidates) != 1:
        generic = " or ".join(kind.task_base.__name__ for kind in registry.task_kinds())
        raise ValueError(
            f"{cls.__name__}.from_preset cannot pick a task class for {source}: its "
            f"{backbone_cls.__name__} fits {len(candidates)} task classes under "
            f"{cls.__name__}. Call a concrete class such as {generic} (or a family's, e.g. "
            "BertTextClassifier)."
        )
    return candidates[0]


def _generic_name(cls: type) -> str:
    kind = registry.task_kind_of(cls)
    return "Task" if kind is None else kind.task_base.__name__


def _load_task_preprocessor(klass: type, preset: PresetFormat, backbone, overrides: dict):
    """The preprocessor ``klass`` gets from the preset, with the caller's ``overrides``."""
    try:
        preprocessor = preset.load_preprocessor(klass.preprocessor_cls, overrides)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"{error} To build {klass.__name__} without a preprocessor (and feed it "
            "preprocessed inputs), pass `preprocessor=None`."
        ) from None
    fit_sequence_length(preprocessor, backbone.max_sequence_length, "sequence_length" in overrides)
    return preprocessor


def fit_sequence_length(preprocessor, max_sequence_length: int, asked: bool) -> None:
    """Make ``preprocessor``'s rows fit a backbone's position table of ``max_sequence_length``.

    A longer length the preset chose (``asked=False``) is cut down to it; one the caller
    asked for is refused with a ``ValueError`` naming both.

    Example:

    >>> import textbones
    >>> tokenizer = textbones.models.BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    >>> preprocessor = textbones.models.BertTextClassifierPreprocessor(tokenizer)
    >>> fit_sequence_length(preprocessor, 64, asked=False)
    >>> preprocessor.sequence_length
    64
    """
    if preprocessor is None or preprocessor.sequence_length <= max_sequence_length:
        return
    if asked:
        raise ValueError(
            f"sequence_length={preprocessor.sequence_length} is longer than the backbone "
            f"takes (its max_sequence_length is {max_sequence_length}). Pass at most "
            f"{max_sequence_length}."
        )
    preprocessor.sequence_length = max_sequence_length
