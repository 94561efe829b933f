"""Convert a preset between the Keras (KerasHub) format and Hugging Face ``transformers`` format."""

from __future__ import annotations

import os

from textbones.presets.handles import resolve_preset
from textbones.presets.preset_files import TASK_CONFIG_FILE, read_json


def convert(src: str | os.PathLike, dst: str | os.PathLike, format: str = "transformers") -> str:
    """Read the preset ``src`` and write it to the directory ``dst`` in ``format``.

    What ``src`` holds is kept: a task (a Keras preset with ``task.json``, or a
    ``*ForMaskedLM`` / ``*ForSequenceClassification`` checkpoint) is written as that
    task, trained head and tokenizer included; anything else as its backbone, plus its
    tokenizer when ``src`` has one. ``src`` takes every handle ``from_preset`` takes.

    Args:
        src: a preset handle or directory, in either format.
        dst: the directory to write (atomically; see ``save_to_preset``).
        format: ``"transformers"`` (a Hugging Face checkpoint) or ``"keras"``
            (KerasHub's layout).

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
    """
    from textbones.models.backbone import Backbone
    from textbones.models.masked_lm import MaskedLM
    from textbones.models.text_classifier import TextClassifier
    from textbones.preprocessing.tokenizer import Tokenizer
    from textbones.presets.saver import transformers_writer

    transformers_writer(format, "save_backbone")  # refuses an unknown format before any work
    preset_dir = resolve_preset(src)
    task_cls = {"masked_lm": MaskedLM, "classifier": TextClassifier}.get(_task_kind(preset_dir))
    has_tokenizer = _has_tokenizer(preset_dir)
    if task_cls is not None:
        kwargs = {} if has_tokenizer else {"preprocessor": None}
        model = task_cls.from_preset(preset_dir, **kwargs)
        model.save_to_preset(dst, format=format)
        return type(model).__name__
    backbone = Backbone.from_preset(preset_dir)
    backbone.save_to_preset(dst, format=format)
    if has_tokenizer:
        Tokenizer.from_preset(preset_dir).save_to_preset(dst, format=format)
    return type(backbone).__name__


def _task_kind(preset_dir) -> str | None:
    from textbones.models.masked_lm import MaskedLM
    from textbones.models.task import Task
    from textbones.models.text_classifier import TextClassifier
    from textbones.presets.loader import read_transformers_config

    if read_transformers_config(preset_dir) is not None:
        from textbones.presets.transformers.loading import head_kind

        return head_kind(preset_dir)
    if not (preset_dir / TASK_CONFIG_FILE).is_file():
        return None
    registered = str(read_json(preset_dir, TASK_CONFIG_FILE).get("registered_name", ""))
    klass = Task._registry.get(registered.split(">")[-1])
    if klass is not None and issubclass(klass, MaskedLM):
        return "masked_lm"
    if klass is not None and issubclass(klass, TextClassifier):
        return "classifier"
    return None


def _has_tokenizer(preset_dir) -> bool:
    from textbones.preprocessing.tokenizer import TOKENIZER_CONFIG_FILE
    from textbones.presets.loader import read_transformers_config

    if read_transformers_config(preset_dir) is not None:
        from textbones.presets.transformers.tokenizer_files import has_tokenizer_files

        return has_tokenizer_files(preset_dir)
    return (preset_dir / TOKENIZER_CONFIG_FILE).is_file()
