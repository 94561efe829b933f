"""The ``transformers`` checkpoint format: a folder ``save_pretrained`` writes (``config.json``
with a ``model_type``, safetensors or PyTorch weights, tokenizer files).

Loading is :mod:`~textbones.presets.transformers.loading`'s, writing
:mod:`~textbones.presets.transformers.exporting`'s; this class puts them behind the
interface of every format.
"""

from __future__ import annotations

import pathlib
from typing import Any

from textbones.presets.files import HF_CONFIG_FILE
from textbones.presets.formats import PresetFormat, register_format
from textbones.presets.preset_kind import PresetKind
from textbones.presets.transformers import exporting, loading
from textbones.presets.transformers.checkpoint import is_transformers_config
from textbones.presets.transformers.tokenizer_files import has_tokenizer_files


@register_format
class TransformersFormat(PresetFormat):
    """A Hugging Face ``transformers`` checkpoint folder.

    Example:

    >>> import pathlib, tempfile, textbones
    >>> from textbones.presets.formats import preset_format
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> textbones.models.FNetBackbone(50, 1, 8, 16).save_to_preset(folder, format="transformers")
    >>> preset = preset_format(folder)
    >>> type(preset).__name__, preset.kind().describe()
    ('TransformersFormat', 'a backbone preset (FNetBackbone, no task head)')
    """

    name = "transformers"
    label = "a Hugging Face checkpoint"
    description = "a transformers config.json has a 'model_type'"

    @classmethod
    def claims(cls, directory: pathlib.Path, config: dict[str, Any] | None) -> bool:
        return config is not None and is_transformers_config(config)

    # -- loading ---------------------------------------------------------------------------
    def load_backbone(self, cls: type, load_weights: bool, overrides: dict[str, Any]):
        return loading.load_backbone(cls, self.directory, load_weights, overrides)

    def load_tokenizer(self, cls: type, overrides: dict[str, Any]):
        return loading.load_tokenizer(cls, self.directory, self.config, overrides)

    def preprocessor_defaults(self) -> dict[str, Any]:
        return loading.preprocessor_defaults(self.directory, self.config)

    def load_preprocessor(self, cls: type, overrides: dict[str, Any]):
        # A checkpoint saves no preprocessor: one is built around its tokenizer.
        return self.preprocessor_around_tokenizer(cls, overrides)

    def load_task(self, cls: type, load_weights: bool, kwargs: dict[str, Any]):
        return loading.load_task(cls, self.directory, load_weights, kwargs)

    def kind(self) -> PresetKind:
        """The trained head the weights hold names the task (no tensor is read)."""
        family = loading.family_of_config(self.config, str(self.directory / HF_CONFIG_FILE))
        trained = loading.trained_heads(self.directory)
        task = task_class = None
        if trained:
            kind = trained[0]
            task = kind.name
            architecture = family.transformers.architecture(kind.name, kind.transformers_suffix)
            named = [str(name) for name in self.config.get("architectures") or []]
            matching = [name for name in named if name.endswith(kind.transformers_suffix)]
            task_class = matching[0] if matching else architecture
        return PresetKind(
            task, task_class, family.backbone.__name__, has_tokenizer_files(self.directory)
        )

    # -- saving ----------------------------------------------------------------------------
    @classmethod
    def save_backbone(cls, backbone, preset_dir) -> None:
        exporting.save_backbone(backbone, preset_dir)

    @classmethod
    def save_tokenizer(cls, tokenizer, preset_dir) -> None:
        exporting.save_tokenizer(tokenizer, preset_dir)

    @classmethod
    def save_preprocessor(cls, preprocessor, preset_dir) -> None:
        exporting.save_preprocessor(preprocessor, preset_dir)

    @classmethod
    def save_task(cls, task, preset_dir) -> None:
        exporting.save_task(task, preset_dir)
