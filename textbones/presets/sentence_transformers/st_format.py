"""The sentence-transformers format: a ``transformers`` checkpoint plus ``modules.json``, the
Pooling module's settings, and the model's prompts and similarity function.

The checkpoint itself (backbone weights, tokenizer) is read by the ``transformers``
format; this one adds the pooling and the rest, and builds the family's text embedder
(the registry's task kind ``"text_embedder"``).
"""

from __future__ import annotations

import pathlib
import warnings
from typing import Any

from textbones import registry
from textbones.presets.building import instantiate
from textbones.presets.files import (
    HF_CONFIG_FILE,
    HF_FAST_TOKENIZER_FILE,
    HF_SENTENCE_PIECE_FILE,
    HF_VOCABULARY_FILE,
    SENTENCE_TRANSFORMERS_MODULES_FILE,
)
from textbones.presets.formats import PresetFormat, register_format
from textbones.presets.preset_files import read_json
from textbones.presets.preset_kind import PresetKind
from textbones.presets.sentence_transformers import exporting
from textbones.presets.sentence_transformers.folder import SentenceTransformersModel, read_model
from textbones.presets.sentence_transformers.tokenizer_json import word_piece_arguments
from textbones.presets.transformers import loading
from textbones.presets.transformers.checkpoint_format import TransformersFormat
from textbones.presets.transformers.tokenizer_files import has_tokenizer_files
from textbones.presets.vocabulary_fit import check_vocabulary_fits

#: The task kind a sentence-transformers folder holds.
TEXT_EMBEDDER = "text_embedder"


@register_format
class SentenceTransformersFormat(PresetFormat):
    """A sentence-transformers model folder (one with a ``modules.json``).

    Example:

    >>> import pathlib, tempfile, textbones
    >>> from textbones.presets.formats import preset_format
    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"]
    >>> tokenizer = textbones.models.BertTokenizer(vocabulary=vocabulary)
    >>> embedder = textbones.models.BertTextEmbedder(
    ...     textbones.models.BertBackbone(6, 1, 2, 8, 16, max_sequence_length=16),
    ...     textbones.models.BertTextEmbedderPreprocessor(tokenizer, sequence_length=16),
    ...     pooling_mode="cls")
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> embedder.save_to_preset(folder, format="sentence-transformers")
    >>> preset = preset_format(folder)
    >>> preset.name, preset.kind().describe()
    ('sentence-transformers', 'a text-embedder task preset (BertTextEmbedder)')
    """

    name = "sentence-transformers"
    label = "a sentence-transformers model folder"
    description = "a sentence-transformers folder has a modules.json"
    #: Its folders are ``transformers`` checkpoints too: asked before that format.
    refines = "transformers"

    @classmethod
    def claims(cls, directory: pathlib.Path, config: dict[str, Any] | None) -> bool:
        return (directory / SENTENCE_TRANSFORMERS_MODULES_FILE).is_file()

    def __init__(self, directory: pathlib.Path, config: dict[str, Any] | None):
        super().__init__(directory, config)
        self.model: SentenceTransformersModel = read_model(self.directory)
        checkpoint_dir = self.model.checkpoint_dir
        checkpoint_config = (
            config
            if checkpoint_dir == self.directory and config is not None
            else read_json(checkpoint_dir, HF_CONFIG_FILE)
        )
        #: The Transformer module's checkpoint, read by the ``transformers`` format.
        self.checkpoint = TransformersFormat(checkpoint_dir, checkpoint_config)
        self.family = loading.family_of_config(
            checkpoint_config, str(checkpoint_dir / HF_CONFIG_FILE)
        )

    # -- loading ---------------------------------------------------------------------------
    def load_backbone(self, cls: type, load_weights: bool, overrides: dict[str, Any]):
        with warnings.catch_warnings():
            # The pooler is no part of a text embedder: its absence is worth no warning.
            warnings.filterwarnings("ignore", message=".*has no pooler weights")
            return self.checkpoint.load_backbone(cls, load_weights, overrides)

    def has_tokenizer(self) -> bool:
        directory = self.model.checkpoint_dir
        return has_tokenizer_files(directory) or (directory / HF_FAST_TOKENIZER_FILE).is_file()

    def load_tokenizer(self, cls: type, overrides: dict[str, Any]):
        directory = self.model.checkpoint_dir
        lowercase = {"lowercase": True} if self.model.do_lower_case else {}
        if has_tokenizer_files(directory):
            return self.checkpoint.load_tokenizer(cls, {**lowercase, **overrides})
        if not (directory / HF_FAST_TOKENIZER_FILE).is_file():
            raise FileNotFoundError(
                f"{directory} has no tokenizer files ({HF_VOCABULARY_FILE}, "
                f"{HF_SENTENCE_PIECE_FILE} or {HF_FAST_TOKENIZER_FILE}), so no tokenizer can "
                "be built. Pass `preprocessor=None` to feed token ids yourself."
            )
        arguments = word_piece_arguments(self.family.transformers, directory)
        source = f"the sentence-transformers folder at {self.directory}"
        klass = loading._class_to_build(self.family.tokenizer, cls, source)
        return instantiate(klass, {**arguments, **lowercase, **overrides}, source)

    def preprocessor_defaults(self) -> dict[str, Any]:
        defaults = self.checkpoint.preprocessor_defaults()
        if self.model.max_seq_length is not None:
            arguments = self.family.transformers.backbone_arguments(
                self.family.transformers.config_with_defaults(
                    self.checkpoint.config, str(self.model.checkpoint_dir / HF_CONFIG_FILE)
                ),
                str(self.model.checkpoint_dir / HF_CONFIG_FILE),
            )
            defaults["sequence_length"] = min(
                self.model.max_seq_length, arguments["max_sequence_length"]
            )
        return defaults

    def load_preprocessor(self, cls: type, overrides: dict[str, Any]):
        base = registry.task_kind(TEXT_EMBEDDER).preprocessor_base
        if issubclass(base, cls):  # the generic Preprocessor: the folder's is an embedder's
            cls = base
        return self.preprocessor_around_tokenizer(cls, overrides)

    def load_task(self, cls: type, load_weights: bool, kwargs: dict[str, Any]):
        from textbones.presets.task_loader import (
            fit_sequence_length,
            route_arguments,
            task_class_for,
        )

        kind = registry.task_kind(TEXT_EMBEDDER)
        asked = registry.task_kind_of(cls)
        if asked is not None and asked.name != TEXT_EMBEDDER:
            # Another task on the folder's encoder (a classifier to fine-tune): the
            # transformers format builds it, with a fresh head.
            return self.checkpoint.load_task(cls, load_weights, kwargs)
        where = f"the sentence-transformers folder at {self.directory}"
        klass = task_class_for(
            cls if asked is not None else kind.task_base, self.family.backbone, where
        )
        routed = route_arguments(klass, kwargs)
        arguments = {**self.model.embedder_arguments, **routed.task}
        if "preprocessor" not in arguments:
            if not self.has_tokenizer():
                raise FileNotFoundError(
                    f"{self.model.checkpoint_dir} has no tokenizer files ({HF_VOCABULARY_FILE}, "
                    f"{HF_SENTENCE_PIECE_FILE} or {HF_FAST_TOKENIZER_FILE}), so "
                    f"{klass.__name__} cannot get a preprocessor. Pass `preprocessor=None` to "
                    "feed token ids yourself."
                )
            arguments["preprocessor"] = self.load_preprocessor(
                klass.preprocessor_cls, routed.preprocessor
            )
        elif routed.preprocessor:
            raise ValueError(
                f"{klass.__name__}.from_preset got preprocessor argument(s) "
                f"{sorted(routed.preprocessor)} and a `preprocessor` as well. Set them on the "
                "preprocessor you pass, or leave `preprocessor` out."
            )
        backbone = self.load_backbone(klass.backbone_cls, load_weights, routed.backbone)
        preprocessor = arguments["preprocessor"]
        if preprocessor is not None:
            check_vocabulary_fits(
                preprocessor.tokenizer,
                backbone.vocabulary_size,
                type(backbone).__name__,
                str(self.model.checkpoint_dir / HF_CONFIG_FILE),
            )
            fit_sequence_length(
                preprocessor, backbone.max_sequence_length, "sequence_length" in routed.preprocessor
            )
        dimension = self.model.embedding_dimension
        if dimension is not None and dimension != backbone.hidden_dim:
            raise ValueError(
                f"The Pooling module of {where} expects {dimension}-dimensional token "
                f"embeddings, but its checkpoint's {type(backbone).__name__} gives "
                f"{backbone.hidden_dim}. The folder is inconsistent: save or download it again."
            )
        return instantiate(klass, {"backbone": backbone, **arguments}, where)

    def kind(self) -> PresetKind:
        kind = registry.task_kind(TEXT_EMBEDDER)
        task_class = self.family.tasks.get(kind.name)
        return PresetKind(
            kind.name,
            None if task_class is None else task_class.__name__,
            self.family.backbone.__name__,
            self.has_tokenizer(),
        )

    # -- saving ----------------------------------------------------------------------------
    @classmethod
    def save_backbone(cls, backbone, preset_dir) -> None:
        exporting.refuse_component("backbone", backbone)

    @classmethod
    def save_tokenizer(cls, tokenizer, preset_dir) -> None:
        exporting.refuse_component("tokenizer", tokenizer)

    @classmethod
    def save_preprocessor(cls, preprocessor, preset_dir) -> None:
        exporting.refuse_component("preprocessor", preprocessor)

    @classmethod
    def save_task(cls, task, preset_dir) -> None:
        exporting.save_task(task, preset_dir)
