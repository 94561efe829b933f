"""Build textbones backbones, tasks and tokenizers from ``transformers`` checkpoints.

The family comes from the registry (the one whose ``transformers`` mapping has the
checkpoint's ``model_type``), the task kind from the registered kinds, the weight rules
from the family's mapping: nothing here names a family or a task class.

Memory: the model is built with its variables' values deferred
(``keras_internals.DeferredVariables``); then each variable takes its value straight
from its tensor in the file, read and laid out one at a time. No random weights are
drawn for what the checkpoint holds, and the process holds the model plus one tensor,
never a second copy of the weights.
"""

from __future__ import annotations

import pathlib
import warnings
from typing import Any

import keras

from textbones import registry
from textbones.keras_internals import DeferredVariables
from textbones.presets.building import checked_class, instantiate
from textbones.presets.files import HF_CONFIG_FILE, HF_SENTENCE_PIECE_FILE, HF_VOCABULARY_FILE
from textbones.presets.transformers.checkpoint import TransformersCheckpoint
from textbones.presets.transformers.heads import head_conversion
from textbones.presets.transformers.mapping import TransformersMapping, UnsupportedCheckpointError
from textbones.presets.transformers.tokenizer_files import (
    default_sequence_length,
    has_tokenizer_files,
    tokenizer_arguments,
)
from textbones.presets.transformers.weight_rules import Rule, legacy_names
from textbones.presets.vocabulary_fit import check_vocabulary_fits

#: The key every encoder holds; what precedes it is the prefix.
_ANCHOR = "embeddings.word_embeddings.weight"
#: Torch buffers saved by older versions, not weights.
_BUFFERS = ("position_ids", "token_type_ids")


def transformers_families() -> tuple[registry.Family, ...]:
    """The registered families that have a ``transformers`` mapping.

    Example:

    >>> import textbones
    >>> [family.transformers.model_type for family in transformers_families()][:3]
    ['bert', 'albert', 'fnet']
    """
    return tuple(family for family in registry.families() if family.transformers is not None)


def family_of_config(config: dict[str, Any], source: str) -> registry.Family:
    """The family of a ``config.json``'s ``model_type`` (a clear error for others).

    Example:

    >>> import textbones
    >>> family_of_config({"model_type": "fnet"}, "config.json").name
    'f_net'
    """
    model_type = config.get("model_type")
    for family in transformers_families():
        if family.transformers.model_type == model_type:
            return family
    known = transformers_families()
    raise UnsupportedCheckpointError(
        f"{source} holds a transformers checkpoint of model_type={model_type!r}; textbones "
        f"loads {', '.join(repr(family.transformers.model_type) for family in known)} "
        f"({', '.join(family.display_name for family in known)}) only."
    )


def family_of_model(obj) -> registry.Family:
    """The family of a textbones backbone, task or tokenizer (or a user's subclass of its
    classes) that can be written in ``transformers`` format.

    Example:

    >>> import textbones
    >>> class MyBackbone(textbones.models.BertBackbone):
    ...     pass
    >>> family_of_model(MyBackbone(30, 1, 2, 8, 16)).transformers.model_type
    'bert'
    """
    family = registry.family_of(obj)
    if family is None or family.transformers is None:
        raise ValueError(f"textbones cannot write a {type(obj).__name__} in transformers format.")
    return family


def _class_to_build(family_cls: type, cls: type, source: str) -> type:
    """``cls`` itself when it is a subclass of the family's class (a user's ``MyBert``),
    else the family's class, if ``cls.from_preset`` may build it."""
    return cls if issubclass(cls, family_cls) else checked_class(family_cls, cls, source)


class _Source:
    """An open checkpoint with what the loaders derive from it."""

    def __init__(self, checkpoint: TransformersCheckpoint):
        self.checkpoint = checkpoint
        self.directory = checkpoint.directory
        self.config_path = checkpoint.directory / HF_CONFIG_FILE
        self.family = family_of_config(checkpoint.config, str(self.config_path))
        self.mapping: TransformersMapping = self.family.transformers
        self.config = self.mapping.config_with_defaults(checkpoint.config, str(self.config_path))
        self.keys = set(checkpoint.keys())

    def backbone_arguments(self) -> dict[str, Any]:
        """The backbone's constructor arguments the config describes."""
        return self.mapping.backbone_arguments(self.config, str(self.config_path))

    def encoder_prefix(self) -> str:
        """The prefix of the encoder's keys (``""``, ``"bert."``, ...), from the word embeddings."""
        for key in self.checkpoint.keys():
            if key.endswith(_ANCHOR):
                return key[: -len(_ANCHOR)]
        raise ValueError(
            f"{self.checkpoint.weights_description} holds no '{_ANCHOR}' tensor, so it is not "
            f"the {self.mapping.model_type} checkpoint its config.json announces. Download it "
            "again."
        )

    def head_prefix(self) -> str:
        """The prefix of the task heads' keys: the encoder's without the base model's name."""
        prefix = self.encoder_prefix()
        base = self.mapping.base_prefix + "."
        return prefix[: -len(base)] if prefix.endswith(base) else prefix

    def has(self, prefix: str, rules: list[Rule]) -> bool:
        """Whether the checkpoint holds any tensor of ``rules`` (``fill`` then wants all)."""
        return any(self._find(prefix + rule.source) is not None for rule in rules)

    def head_size(self, prefix: str, rules: list[Rule]) -> int:
        """The first dimension of the first tensor of ``rules`` present (a head's output count)."""
        key = next(key for rule in rules if (key := self._find(prefix + rule.source)) is not None)
        return self.checkpoint.shape(key)[0]

    def _find(self, key: str) -> str | None:
        for candidate in (key, *legacy_names(key)):
            if candidate in self.keys:
                return candidate
        return None

    def fill(self, model, rules: list[Rule], prefix: str, deferred: DeferredVariables) -> set[str]:
        """Make the checkpoint's tensors the values of ``model``'s variables named in
        ``rules`` (built by ``deferred``: read when they are initialized); the keys used.

        Every key and shape is checked first, so a mismatch leaves nothing half done.
        """
        variables = {variable.path: variable for variable in model.weights}
        plan, missing = [], []
        for rule in rules:
            key = self._find(prefix + rule.source)
            if key is None:
                missing.append(prefix + rule.source)
                continue
            variable = variables[rule.target]
            expected = rule.layout.torch_shape(tuple(variable.shape), rule.flatten)
            found = tuple(self.checkpoint.shape(key))
            if found != expected:
                raise ValueError(
                    f"{key} in {self.checkpoint.weights_description} has shape {found}, but the "
                    f"model that {self.config_path} describes needs {expected}. The config and "
                    "the weights do not belong together: download the checkpoint again."
                )
            plan.append((key, rule, variable))
        if missing:
            raise ValueError(
                f"{self.checkpoint.weights_description} lacks {len(missing)} tensor(s) that the "
                f"model described by {self.config_path} needs, e.g. {', '.join(missing[:4])}. "
                "The checkpoint is incomplete or of another architecture."
            )
        for key, rule, variable in plan:
            deferred.set_value(variable, _TensorReader(self.checkpoint, key, rule))
        return {key for key, _, _ in plan}

    def load_encoder(self, backbone, warn_without_pooler: bool, deferred: DeferredVariables):
        prefix = self.encoder_prefix()
        used = self.fill(backbone, self.mapping.backbone_rules(backbone), prefix, deferred)
        pooler = self.mapping.pooler_rules  # empty for a family without a pooler
        if pooler and self.has(prefix, pooler):
            used |= self.fill(backbone, pooler, prefix, deferred)
        elif pooler and warn_without_pooler:
            warnings.warn(
                f"{self.checkpoint.weights_description} has no pooler weights (transformers' "
                "*ForMaskedLM models have no pooler), so `pooled_output` comes from a randomly "
                "initialised dense layer; `sequence_output` is the pretrained encoder's.",
                stacklevel=5,
            )
        encoder_keys = {
            key
            for key in self.checkpoint.keys()
            if key.startswith(prefix)
            and key[len(prefix) :].split(".", 1)[0] in self.mapping.encoder_modules
            and not key.endswith(_BUFFERS)
        }
        unused = sorted(encoder_keys - used)
        if unused:
            raise UnsupportedCheckpointError(
                f"{self.checkpoint.weights_description} holds encoder tensors that the model "
                f"described by {self.config_path} has no place for, e.g. {', '.join(unused[:4])}. "
                "The checkpoint has parts textbones does not implement (or its config does not "
                "describe its weights), so it cannot be loaded exactly."
            )

    def backbone(self, cls: type, overrides: dict[str, Any]):
        """The backbone the config describes (its variables' values not yet set if deferred)."""
        where = f"the checkpoint at {self.directory}"
        klass = _class_to_build(self.family.backbone, cls, where)
        return instantiate(klass, {**self.backbone_arguments(), **overrides}, where)


class _TensorReader:
    """An initializer that returns one checkpoint tensor, laid out for its variable."""

    def __init__(self, checkpoint: TransformersCheckpoint, key: str, rule: Rule):
        self.checkpoint, self.key, self.rule = checkpoint, key, rule

    def __call__(self, shape, dtype=None):
        value = self.rule.layout.to_keras(self.checkpoint.read(self.key), tuple(shape))
        # Keras keeps an initializer's value as it comes: cast it as `assign` would.
        return keras.ops.convert_to_tensor(value, dtype=dtype)


def load_backbone(
    cls: type, preset_dir: pathlib.Path, load_weights: bool, overrides: dict[str, Any]
):
    """The backbone of the ``transformers`` checkpoint in ``preset_dir``, as ``cls`` or a
    subclass."""
    with TransformersCheckpoint(preset_dir, load_weights) as checkpoint:
        source = _Source(checkpoint)
        if not load_weights:
            return source.backbone(cls, overrides)
        deferred = DeferredVariables()
        try:
            backbone = deferred.build(lambda: source.backbone(cls, overrides))
            source.load_encoder(backbone, warn_without_pooler=True, deferred=deferred)
            deferred.initialize()
        except BaseException:
            deferred.abandon()
            raise
        return backbone


def trained_heads(preset_dir: pathlib.Path) -> list[registry.TaskKind]:
    """The task kinds whose trained head the checkpoint's weights hold, in declaration order.

    Nothing is built and no tensor is read (only the names of the stored tensors).
    """
    with TransformersCheckpoint(preset_dir) as checkpoint:
        source = _Source(checkpoint)
        return _trained_heads(source, source.head_prefix())


def _trained_heads(source: _Source, prefix: str) -> list[registry.TaskKind]:
    rules = source.mapping.head_rules
    found = [
        kind
        for kind in registry.task_kinds()
        if kind.name in rules and source.has(prefix, rules[kind.name])
    ]
    # Two kinds' heads may share their keys (a sequence and a token classifier both hold
    # `classifier.*`): when the config names the model of some of them, those it names.
    named = source.config.get("architectures") or []
    chosen = [kind for kind in found if _architecture_of(source.mapping, kind) in named]
    return chosen or found


def _kind_to_build(source: _Source, cls: type, trained: list[registry.TaskKind], where: str):
    """The task kind a ``from_preset`` of ``cls`` builds: ``cls``'s own, else (the generic
    ``Task``) the one whose head the weights hold or whose model the config names."""
    kind = registry.task_kind_of(cls)
    if kind is not None:
        return kind
    named = source.config.get("architectures") or []
    # The model the config names first: two kinds' heads may share their keys (a sequence
    # and a token classifier both hold `classifier.*`).
    for candidate in registry.task_kinds():
        if _architecture_of(source.mapping, candidate) in named:
            return candidate
    for candidate in registry.task_kinds():
        if candidate in trained:
            return candidate
    kinds = registry.task_kinds()
    raise ValueError(
        f"{cls.__name__}.from_preset cannot tell which task to build from {where}: it holds "
        f"no task head. Call {' or '.join(f'{k.task_base.__name__}.from_preset' for k in kinds)}."
    )


def _architecture_of(mapping: TransformersMapping, kind: registry.TaskKind) -> str | None:
    """The ``transformers`` class of ``kind``'s model in ``mapping``'s family, if it has one."""
    if kind.transformers_suffix is None and kind.name not in mapping.architectures:
        return None
    return mapping.architecture(kind.name, kind.transformers_suffix)


def load_task(cls: type, preset_dir: pathlib.Path, load_weights: bool, kwargs: dict[str, Any]):
    """The task ``cls`` (or its family's subclass) of the checkpoint in ``preset_dir``.

    A checkpoint of a task kind's ``transformers`` model (``*ForMaskedLM``,
    ``*ForSequenceClassification``, ...) gives that kind's task with its trained head,
    unless the head arguments ask for another shape (a ``num_classes`` other than
    ``num_labels``: the head is fresh); any other head, or none, gives a fresh head. A
    checkpoint whose ``architectures`` names the head asked for but whose weights lack it
    is refused (never a silent random head). ``kwargs`` are routed as for Keras presets
    (``route_arguments``): ``sequence_length`` and the like reach the preprocessor.
    """
    from textbones.presets.task_loader import fit_sequence_length, route_arguments, task_class_for

    with TransformersCheckpoint(preset_dir, load_weights) as checkpoint:
        source = _Source(checkpoint)
        where = f"the checkpoint at {preset_dir}"
        head_prefix = source.head_prefix() if load_weights else ""
        trained = _trained_heads(source, head_prefix) if load_weights else []
        kind = _kind_to_build(source, cls, trained, where)
        requested = cls if registry.task_kind_of(cls) is not None else kind.task_base
        klass = task_class_for(requested, source.family.backbone, where)
        head = head_conversion(kind)
        routed = route_arguments(klass, kwargs)
        kwargs, overrides = dict(routed.task), routed.backbone
        head_rules = source.mapping.head_rules.get(kind.name, [])
        named = source.config.get("architectures") or []
        architecture = (
            source.mapping.architecture(kind.name, kind.transformers_suffix)
            if kind.transformers_suffix is not None or kind.name in source.mapping.architectures
            else None
        )
        if load_weights and architecture in named and kind not in trained and head_rules:
            _require_the_trained_head(source, klass, kind, head_prefix, kwargs)
        load_head = head.task_arguments(source, kwargs, kind in trained, head_prefix)
        if "preprocessor" not in kwargs:
            kwargs["preprocessor"] = _task_preprocessor(klass, preset_dir, routed.preprocessor)
        elif routed.preprocessor:
            raise ValueError(
                f"{klass.__name__}.from_preset got preprocessor argument(s) "
                f"{sorted(routed.preprocessor)} and a `preprocessor` as well. Set them on the "
                "preprocessor you pass, or leave `preprocessor` out."
            )
        if kwargs["preprocessor"] is not None:
            backbone_arguments = source.backbone_arguments()
            check_vocabulary_fits(
                kwargs["preprocessor"].tokenizer,
                backbone_arguments["vocabulary_size"],
                source.family.backbone.__name__,
                str(source.config_path),
            )
            fit_sequence_length(
                kwargs["preprocessor"],
                backbone_arguments["max_sequence_length"],
                "sequence_length" in routed.preprocessor,
            )
        if not load_weights:
            return klass(backbone=source.backbone(klass.backbone_cls, overrides), **kwargs)
        # Compiling makes the optimizer's variables, which cannot be deferred: compile after.
        compile_task = kwargs.pop("compile", True)
        deferred = DeferredVariables()
        try:
            task = deferred.build(
                lambda: klass(
                    backbone=source.backbone(klass.backbone_cls, overrides), compile=False, **kwargs
                )
            )
            source.load_encoder(task.backbone, head.warn_without_pooler, deferred)
            if load_head:
                source.fill(task, head_rules, head_prefix, deferred)
            deferred.initialize()
        except BaseException:
            deferred.abandon()
            raise
    if compile_task:
        task.compile()
    return task


def _require_the_trained_head(
    source: _Source, klass: type, kind: registry.TaskKind, prefix: str, kwargs
) -> None:
    """Refuse a checkpoint whose config names a trained head of ``kind`` its weights lack,
    unless the caller asks for a fresh head (one of another shape)."""
    if head_conversion(kind).asks_for_a_fresh_head(source.config, kwargs):
        return
    rules = source.mapping.head_rules.get(kind.name, [])
    architecture = source.mapping.architecture(kind.name, kind.transformers_suffix)
    expected = ", ".join(prefix + rule.source for rule in rules)
    raise ValueError(
        f"{source.config_path} describes a {architecture}, but "
        f"{source.checkpoint.weights_description} holds none of its head's tensors "
        f"({expected}), so the trained head cannot be restored: the checkpoint is incomplete. "
        "Download or export it again. To start from its encoder with a fresh head instead, "
        f"build {klass.__name__}({klass.backbone_cls.__name__}.from_preset(...), ...) yourself."
    )


def _task_preprocessor(klass: type, preset_dir: pathlib.Path, overrides: dict[str, Any]):
    from textbones.presets.loader import load_preprocessor

    if not has_tokenizer_files(preset_dir):
        raise FileNotFoundError(
            f"{preset_dir} has no tokenizer files ({HF_VOCABULARY_FILE} or "
            f"{HF_SENTENCE_PIECE_FILE}), so {klass.__name__} cannot get a preprocessor. Pass "
            "`preprocessor=None` to feed preprocessed inputs."
        )
    return load_preprocessor(klass.preprocessor_cls, preset_dir, **overrides)


def load_tokenizer(
    cls: type, preset_dir: pathlib.Path, config: dict[str, Any], kwargs: dict[str, Any]
):
    """The family's textbones tokenizer reproducing the checkpoint's ``transformers`` tokenizer."""
    family = family_of_config(config, str(preset_dir / HF_CONFIG_FILE))
    source = f"the checkpoint at {preset_dir}"
    klass = _class_to_build(family.tokenizer, cls, source)
    arguments = tokenizer_arguments(family.transformers, preset_dir)
    return instantiate(klass, {**arguments, **kwargs}, source)


def preprocessor_defaults(preset_dir: pathlib.Path, config: dict[str, Any]) -> dict[str, Any]:
    """Preprocessor arguments that follow from the checkpoint (its ``sequence_length``)."""
    source = str(preset_dir / HF_CONFIG_FILE)
    mapping = family_of_config(config, source).transformers
    arguments = mapping.backbone_arguments(mapping.config_with_defaults(config, source), source)
    return {
        "sequence_length": default_sequence_length(preset_dir, arguments["max_sequence_length"])
    }
