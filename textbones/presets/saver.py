"""Write backbones, tokenizers, preprocessors and tasks as Keras-format presets, in the
layout KerasHub reads.

Every save is atomic and follows one rule about the files already in the folder (see
``staged_directory`` and the component table in ``textbones.presets.preset_layout``):

* a task is saved whole: the folder then holds exactly its files (and files of no preset
  component, such as a ``README.md``);
* a backbone, tokenizer or preprocessor saved over a task preset, or over a
  ``transformers`` checkpoint, likewise leaves exactly the new files;
* a component saved over a preset made of components (the KerasHub flow
  ``backbone.save_to_preset(folder)`` then ``tokenizer.save_to_preset(folder)``) replaces
  that component and keeps the others, except those that need the replaced one: a new
  tokenizer drops the old ``preprocessor.json``.

The target must be missing, empty, or a preset; a folder of other files is refused.
"""

import datetime
import json
import pathlib

import keras

from textbones import registry
from textbones.presets.atomic_directory import replace_file, staged_directory
from textbones.presets.files import (
    CONFIG_FILE,
    METADATA_FILE,
    PREPROCESSOR_CONFIG_FILE,
    TASK_CONFIG_FILE,
    TASK_WEIGHTS_FILE,
    TOKENIZER_ASSET_DIR,
    TOKENIZER_CONFIG_FILE,
    WEIGHTS_FILE,
)
from textbones.presets.formats import format_named
from textbones.presets.preset_layout import BACKBONE, PREPROCESSOR, TASK, TOKENIZER
from textbones.version import __version__


def serialized_json(obj) -> dict:
    """A Keras-style serialized object: ``module``, ``class_name``, ``config``, ``registered_name``.

    ``registered_name`` uses KerasHub's ``keras_hub>ClassName`` so that KerasHub resolves
    the preset to its own class; textbones resolves that name to its own.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.FNetBackbone(50, 1, 8, 16)
    >>> serialized_json(backbone)["registered_name"]
    'keras_hub>FNetBackbone'
    """
    name = type(obj).__name__
    return {
        "module": type(obj).__module__,
        "class_name": name,
        "config": obj.get_config(),
        "registered_name": f"keras_hub>{name}",
    }


def _write_json(path: pathlib.Path, content: dict) -> None:
    replace_file(path).write_text(json.dumps(content, indent=4) + "\n", encoding="utf-8")


def save_backbone(backbone, preset_dir, format: str = "keras") -> None:
    """Write ``config.json``, ``metadata.json`` and ``model.weights.h5`` atomically.

    A tokenizer or preprocessor already in ``preset_dir`` is kept; an old task (or a
    ``transformers`` checkpoint) is replaced by the backbone alone. See the module's rule
    and ``Backbone.save_to_preset``.

    Example:

    >>> import pathlib, tempfile, textbones
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "fnet"
    >>> save_backbone(textbones.models.FNetBackbone(50, 1, 8, 16), folder)
    >>> sorted(path.name for path in folder.iterdir())
    ['config.json', 'metadata.json', 'model.weights.h5']
    """
    format_named(format).save_backbone(backbone, preset_dir)


def write_backbone(backbone, preset_dir) -> None:
    """``save_backbone`` in the Keras format."""
    with staged_directory(preset_dir, [BACKBONE]) as staging:
        _write_backbone_files(backbone, staging)


def _task_kinds(backbone) -> list[str]:
    """The task kinds with a task class for this backbone, as KerasHub's metadata names
    them (the kinds' base classes: ``MaskedLM``, ``TextClassifier``)."""
    tasks = [
        klass
        for klass in registry.classes("task").values()
        if klass.backbone_cls is not None and isinstance(backbone, klass.backbone_cls)
    ]
    return [
        kind.task_base.__name__
        for kind in registry.task_kinds()
        if any(kind.matches(klass) for klass in tasks)
    ]


def _write_backbone_files(backbone, folder: pathlib.Path) -> None:
    _write_json(folder / CONFIG_FILE, serialized_json(backbone))
    _write_json(
        folder / METADATA_FILE,
        {
            "keras_version": keras.__version__,
            "textbones_version": __version__,
            "parameter_count": backbone.count_params(),
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            "tasks": _task_kinds(backbone),
        },
    )
    backbone.save_weights(str(replace_file(folder / WEIGHTS_FILE)))


def save_tokenizer(tokenizer, preset_dir, format: str = "keras") -> None:
    """Write ``tokenizer.json`` and the vocabulary under ``assets/tokenizer/`` atomically.

    A backbone already in ``preset_dir`` is kept; an old ``preprocessor.json`` (made for
    the old tokenizer) is dropped, and so is an old task. See the module's rule and
    ``Tokenizer.save_to_preset``.

    Example:

    >>> import pathlib, tempfile
    >>> from textbones.tokenizers import BertTokenizer
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    >>> save_tokenizer(BertTokenizer(vocabulary=vocabulary), folder)
    >>> sorted(str(path.relative_to(folder)) for path in folder.rglob("*.*"))
    ['assets/tokenizer/vocabulary.txt', 'tokenizer.json']
    """
    format_named(format).save_tokenizer(tokenizer, preset_dir)


def write_tokenizer(tokenizer, preset_dir) -> None:
    """``save_tokenizer`` in the Keras format."""
    with staged_directory(preset_dir, [TOKENIZER]) as staging:
        _write_tokenizer_files(tokenizer, staging)


def _write_tokenizer_files(tokenizer, folder: pathlib.Path) -> None:
    _write_json(folder / TOKENIZER_CONFIG_FILE, serialized_json(tokenizer))
    assets = folder.joinpath(*TOKENIZER_ASSET_DIR)
    assets.mkdir(parents=True, exist_ok=True)
    tokenizer.save_assets(assets)


def save_preprocessor(preprocessor, preset_dir, format: str = "keras") -> None:
    """Write ``preprocessor.json`` plus the tokenizer's files atomically.

    A backbone already in ``preset_dir`` is kept; an old task is dropped. See the module's
    rule and ``Preprocessor.save_to_preset``.

    Example:

    >>> import pathlib, tempfile
    >>> from textbones.models import BertTextClassifierPreprocessor, BertTokenizer
    >>> tokenizer = BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> save_preprocessor(BertTextClassifierPreprocessor(tokenizer), folder)
    >>> sorted(path.name for path in folder.glob("*.json"))
    ['preprocessor.json', 'tokenizer.json']
    """
    format_named(format).save_preprocessor(preprocessor, preset_dir)


def write_preprocessor(preprocessor, preset_dir) -> None:
    """``save_preprocessor`` in the Keras format."""
    with staged_directory(preset_dir, [PREPROCESSOR, TOKENIZER]) as staging:
        _write_preprocessor_files(preprocessor, staging)


def _write_preprocessor_files(preprocessor, folder: pathlib.Path) -> None:
    _write_tokenizer_files(preprocessor.tokenizer, folder)
    _write_json(folder / PREPROCESSOR_CONFIG_FILE, serialized_json(preprocessor))


def save_task(task, preset_dir, format: str = "keras") -> None:
    """Write a whole task atomically: backbone, preprocessor and tokenizer files,
    ``task.json`` and ``task.weights.h5`` (the weights outside the backbone).

    A task is a whole: no file of an earlier preset in ``preset_dir`` is kept (a task
    saved without a preprocessor leaves no tokenizer files). See the module's rule and
    ``Task.save_to_preset``.

    Example:

    >>> import pathlib, tempfile, textbones
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> task = textbones.models.FNetTextClassifier(textbones.models.FNetBackbone(50, 1, 8, 16), 2)
    >>> save_task(task, folder)
    >>> sorted(path.name for path in folder.iterdir())
    ['config.json', 'metadata.json', 'model.weights.h5', 'task.json', 'task.weights.h5']
    """
    format_named(format).save_task(task, preset_dir)


def write_task(task, preset_dir) -> None:
    """``save_task`` in the Keras format."""
    with staged_directory(preset_dir, [TASK, BACKBONE, PREPROCESSOR, TOKENIZER]) as staging:
        _write_backbone_files(task.backbone, staging)
        if task.preprocessor is not None:
            _write_preprocessor_files(task.preprocessor, staging)
        _write_json(staging / TASK_CONFIG_FILE, serialized_json(task))
        keras.saving.save_weights(
            task,
            str(replace_file(staging / TASK_WEIGHTS_FILE)),
            objects_to_skip=list(task.backbone._flatten_layers()),
        )
