"""Build textbones backbones, tasks and tokenizers from ``transformers`` checkpoints.

Memory: the model is built with its variables' values deferred; then each variable takes
its value straight from its tensor in the file, read and laid out one at a time. No
random weights are drawn for what the checkpoint holds, and the process holds the model
plus one tensor, never a second copy of the weights.
"""

from __future__ import annotations

import pathlib
import warnings
from typing import Any

import keras

from textbones.presets.transformers.albert import ALBERT
from textbones.presets.transformers.bert import BERT
from textbones.presets.transformers.checkpoint import TransformersCheckpoint
from textbones.presets.transformers.f_net import F_NET
from textbones.presets.transformers.mapping import (
    TransformersMapping,
    UnsupportedCheckpointError,
    activation_from_hf,
)
from textbones.presets.transformers.tokenizer_files import (
    default_sequence_length,
    has_tokenizer_files,
    tokenizer_arguments,
)
from textbones.presets.transformers.weight_rules import Rule, legacy_names
from textbones.presets.vocabulary_fit import check_vocabulary_fits

FAMILIES = {family.model_type: family for family in (BERT, ALBERT, F_NET)}
#: The key every encoder of the three families holds; what precedes it is the prefix.
_ANCHOR = "embeddings.word_embeddings.weight"
#: Torch buffers saved by older versions, not weights.
_BUFFERS = ("position_ids", "token_type_ids")


def family_of(config: dict[str, Any], source: str) -> TransformersMapping:
    """The converter for a ``config.json``'s ``model_type`` (a clear error for others)."""
    model_type = config.get("model_type")
    if model_type not in FAMILIES:
        raise UnsupportedCheckpointError(
            f"{source} holds a transformers checkpoint of model_type={model_type!r}; textbones "
            f"loads {', '.join(repr(name) for name in FAMILIES)} (BERT, ALBERT and FNet) only."
        )
    return FAMILIES[model_type]


def family_of_backbone(backbone) -> TransformersMapping:
    """The converter of a textbones backbone."""
    for family in FAMILIES.values():
        if type(backbone).__name__ == family.backbone_class:
            return family
    raise ValueError(f"textbones cannot write a {type(backbone).__name__} in transformers format.")


def family_of_tokenizer(tokenizer) -> TransformersMapping:
    """The converter of a textbones tokenizer."""
    for family in FAMILIES.values():
        if type(tokenizer).__name__ == family.textbones_tokenizer:
            return family
    raise ValueError(f"textbones cannot write a {type(tokenizer).__name__} in transformers format.")


class _Source:
    """An open checkpoint with what the loaders derive from it."""

    def __init__(self, checkpoint: TransformersCheckpoint):
        self.checkpoint = checkpoint
        self.directory = checkpoint.directory
        self.config_path = checkpoint.directory / "config.json"
        self.family = family_of(checkpoint.config, str(self.config_path))
        self.config = self.family.config_with_defaults(checkpoint.config, str(self.config_path))
        self.keys = set(checkpoint.keys())

    def backbone_class(self, requested_cls: type) -> type:
        from textbones.models.backbone import Backbone
        from textbones.presets.loader import class_named

        return class_named(
            Backbone._registry,
            self.family.backbone_class,
            requested_cls,
            f"the checkpoint at {self.directory}",
        )

    def encoder_prefix(self) -> str:
        """The prefix of the encoder's keys (``""``, ``"bert."``, ...), found from the word embeddings."""
        for key in self.checkpoint.keys():
            if key.endswith(_ANCHOR):
                return key[: -len(_ANCHOR)]
        raise ValueError(
            f"{self.checkpoint.weights_description} holds no '{_ANCHOR}' tensor, so it is not "
            f"the {self.family.model_type} checkpoint its config.json announces. Download it again."
        )

    def head_prefix(self) -> str:
        """The prefix of the task heads' keys: the encoder's without the base model's name."""
        prefix = self.encoder_prefix()
        base = self.family.base_prefix + "."
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

    def fill(self, model, rules: list[Rule], prefix: str) -> set[str]:
        """Make the checkpoint's tensors the initial values of ``model``'s variables named
        in ``rules`` (built under :class:`_DeferredVariables`); the keys used.

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
            # Keras gives a deferred variable its value by calling its `_initializer`.
            variable._initializer = _TensorReader(self.checkpoint, key, rule)
        return {key for key, _, _ in plan}

    def load_encoder(self, backbone, warn_without_pooler: bool) -> None:
        prefix = self.encoder_prefix()
        used = self.fill(backbone, self.family.backbone_rules(backbone), prefix)
        if self.has(prefix, self.family.pooler_rules):
            used |= self.fill(backbone, self.family.pooler_rules, prefix)
        elif warn_without_pooler:
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
            and key[len(prefix) :].split(".", 1)[0] in ("embeddings", "encoder", "pooler")
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
        from textbones.presets.loader import _instantiate

        klass = self.backbone_class(cls)
        arguments = self.family.backbone_arguments(self.config, str(self.config_path))
        return _instantiate(
            klass, {**arguments, **overrides}, f"the checkpoint at {self.directory}"
        )


class _TensorReader:
    """An initializer that returns one checkpoint tensor, laid out for its variable."""

    def __init__(self, checkpoint: TransformersCheckpoint, key: str, rule: Rule):
        self.checkpoint, self.key, self.rule = checkpoint, key, rule

    def __call__(self, shape, dtype=None):
        value = self.rule.layout.to_keras(self.checkpoint.read(self.key), tuple(shape))
        # Keras keeps an initializer's value as it comes: cast it as `assign` would.
        return keras.ops.convert_to_tensor(value, dtype=dtype)


class _DeferredVariables:
    """Build models whose variables get their values later, one variable at a time.

    Keras creates the variables of layers built inside ``StatelessScope(initialize_variables=False)``
    without a value and gives them one, from their initializer, when a top-level
    stateless scope closes. Between the two, :meth:`_Source.fill` makes the checkpoint's
    tensors their initializers: no random weights are drawn for what the checkpoint
    holds, and memory holds the model plus the one tensor being read.
    """

    def __init__(self):
        self.models = []

    def build(self, make):
        with keras.StatelessScope(initialize_variables=False):
            model = make()
        self.models.append(model)
        return model

    def initialize(self) -> None:
        with keras.StatelessScope():
            pass

    def abandon(self) -> None:
        """Forget the deferred variables of models that failed to load, so that Keras does
        not give them values later."""
        from keras.src.backend.common import global_state

        ours = {id(variable) for model in self.models for variable in model.variables}
        pending = global_state.get_global_attribute("uninitialized_variables") or []
        global_state.set_global_attribute(
            "uninitialized_variables", [v for v in pending if id(v) not in ours]
        )


def load_backbone(
    cls: type, preset_dir: pathlib.Path, load_weights: bool, overrides: dict[str, Any]
):
    """The backbone of the ``transformers`` checkpoint in ``preset_dir``, as ``cls`` or a subclass."""
    with TransformersCheckpoint(preset_dir, load_weights) as checkpoint:
        source = _Source(checkpoint)
        if not load_weights:
            return source.backbone(cls, overrides)
        deferred = _DeferredVariables()
        try:
            backbone = deferred.build(lambda: source.backbone(cls, overrides))
            source.load_encoder(backbone, warn_without_pooler=True)
            deferred.initialize()
        except BaseException:
            deferred.abandon()
            raise
        return backbone


def head_kind(preset_dir: pathlib.Path) -> str | None:
    """``"masked_lm"``, ``"classifier"`` or ``None``: the trained head the checkpoint holds."""
    with TransformersCheckpoint(preset_dir) as checkpoint:
        source = _Source(checkpoint)
        prefix = source.head_prefix()
        if source.has(prefix, source.family.masked_lm_rules):
            return "masked_lm"
        if source.has(prefix, source.family.classifier_rules):
            return "classifier"
    return None


def load_task(cls: type, preset_dir: pathlib.Path, load_weights: bool, kwargs: dict[str, Any]):
    """The task ``cls`` (or its family's subclass) of the checkpoint in ``preset_dir``.

    A ``*ForMaskedLM`` checkpoint gives a ``MaskedLM`` with its trained head; a
    ``*ForSequenceClassification`` one a ``TextClassifier`` with its trained head and
    ``num_labels`` classes (unless ``num_classes`` asks for another number: then the head
    is fresh); any other head, or none, gives a fresh head. A checkpoint whose
    ``architectures`` names the head asked for but whose weights lack it is refused
    (never a silent random head). ``kwargs`` are routed as for Keras presets
    (``route_arguments``): ``sequence_length`` and the like reach the preprocessor.
    """
    from textbones.models.masked_lm import MaskedLM
    from textbones.models.task import Task
    from textbones.models.text_classifier import TextClassifier
    from textbones.presets.task_loader import _task_class_for, fit_sequence_length, route_arguments

    with TransformersCheckpoint(preset_dir, load_weights) as checkpoint:
        source = _Source(checkpoint)
        family, where = source.family, f"the checkpoint at {preset_dir}"
        head_prefix = source.head_prefix() if load_weights else ""
        has_masked_lm = load_weights and source.has(head_prefix, family.masked_lm_rules)
        has_classifier = load_weights and source.has(head_prefix, family.classifier_rules)
        if cls is Task:
            architectures = source.config.get("architectures") or []
            if has_masked_lm or family.architectures["masked_lm"] in architectures:
                cls = MaskedLM
            elif has_classifier or family.architectures["classifier"] in architectures:
                cls = TextClassifier
            else:
                raise ValueError(
                    f"Task.from_preset cannot tell which task to build from {where}: it holds "
                    "no task head. Call MaskedLM.from_preset or TextClassifier.from_preset."
                )
        klass = _task_class_for(cls, family.backbone_class, where)
        routed = route_arguments(klass, kwargs)
        kwargs, overrides = dict(routed.task), routed.backbone
        head_rules, load_head = [], False
        kinds = (("masked_lm", MaskedLM), ("classifier", TextClassifier))
        kind = next((name for name, base in kinds if issubclass(klass, base)), None)
        named = source.config.get("architectures") or []
        if load_weights and kind is not None and family.architectures[kind] in named:
            _require_the_trained_head(source, klass, kind, head_prefix, kwargs)
        if issubclass(klass, MaskedLM):
            # transformers computes the head with the encoder's activation and epsilon.
            activation = activation_from_hf(source.config["hidden_act"], str(source.config_path))
            kwargs.setdefault("head_activation", activation)
            kwargs.setdefault("head_layer_norm_epsilon", source.config["layer_norm_eps"])
            head_rules, load_head = family.masked_lm_rules, has_masked_lm
            if load_head and source.config.get("tie_word_embeddings", True) is False:
                raise UnsupportedCheckpointError(
                    f"{source.config_path} sets tie_word_embeddings=false: its masked-LM decoder "
                    "has its own weights, while textbones' MaskedLM ties the decoder to the "
                    "token embedding. Load the backbone (Backbone.from_preset) instead."
                )
        elif issubclass(klass, TextClassifier):
            head_rules = family.classifier_rules
            trained_classes = source.head_size(head_prefix, head_rules) if has_classifier else None
            kwargs.setdefault("num_classes", trained_classes)
            if kwargs["num_classes"] is None:
                raise ValueError(
                    f"{where} holds no classification head, so TextClassifier.from_preset needs "
                    "`num_classes` for a fresh one."
                )
            load_head = trained_classes is not None and kwargs["num_classes"] == trained_classes
            field = family.classifier_dropout_field
            dropout = source.config.get(field) if field else None
            kwargs.setdefault(
                "dropout", source.config["hidden_dropout_prob"] if dropout is None else dropout
            )
        if "preprocessor" not in kwargs:
            kwargs["preprocessor"] = _task_preprocessor(klass, preset_dir, routed.preprocessor)
        elif routed.preprocessor:
            raise ValueError(
                f"{klass.__name__}.from_preset got preprocessor argument(s) "
                f"{sorted(routed.preprocessor)} and a `preprocessor` as well. Set them on the "
                "preprocessor you pass, or leave `preprocessor` out."
            )
        if kwargs["preprocessor"] is not None:
            backbone_arguments = family.backbone_arguments(source.config, str(source.config_path))
            check_vocabulary_fits(
                kwargs["preprocessor"].tokenizer,
                backbone_arguments["vocabulary_size"],
                family.backbone_class,
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
        deferred = _DeferredVariables()
        try:
            task = deferred.build(
                lambda: klass(
                    backbone=source.backbone(klass.backbone_cls, overrides), compile=False, **kwargs
                )
            )
            source.load_encoder(task.backbone, warn_without_pooler=not issubclass(klass, MaskedLM))
            if load_head:
                source.fill(task, head_rules, head_prefix)
            deferred.initialize()
        except BaseException:
            deferred.abandon()
            raise
    if compile_task:
        task.compile()
    return task


def _require_the_trained_head(source: _Source, klass: type, kind: str, prefix: str, kwargs) -> None:
    """Refuse a checkpoint whose config names a trained head of ``kind`` its weights lack,
    unless the caller asks for a fresh head (a ``num_classes`` other than ``num_labels``)."""
    rules = source.family.masked_lm_rules if kind == "masked_lm" else source.family.classifier_rules
    if source.has(prefix, rules):
        return
    architecture = source.family.architectures[kind]
    if kind == "classifier":
        labels = source.config.get("id2label")
        num_labels = len(labels) if isinstance(labels, dict) else source.config.get("num_labels", 2)
        if kwargs.get("num_classes", num_labels) != num_labels:
            return  # a fresh head of another size, as asked
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
            f"{preset_dir} has no tokenizer files (vocab.txt or spiece.model), so "
            f"{klass.__name__} cannot get a preprocessor. Pass `preprocessor=None` to feed "
            "preprocessed inputs."
        )
    return load_preprocessor(klass.preprocessor_cls, preset_dir, **overrides)


def load_tokenizer(
    cls: type, preset_dir: pathlib.Path, config: dict[str, Any], kwargs: dict[str, Any]
):
    """The family's textbones tokenizer reproducing the checkpoint's ``transformers`` tokenizer."""
    from textbones.preprocessing.tokenizer import Tokenizer
    from textbones.presets.loader import _instantiate, class_named

    family = family_of(config, str(preset_dir / "config.json"))
    source = f"the checkpoint at {preset_dir}"
    klass = class_named(Tokenizer._registry, family.textbones_tokenizer, cls, source)
    return _instantiate(klass, {**tokenizer_arguments(family, preset_dir), **kwargs}, source)


def preprocessor_defaults(preset_dir: pathlib.Path, config: dict[str, Any]) -> dict[str, Any]:
    """Preprocessor arguments that follow from the checkpoint (its ``sequence_length``)."""
    family = family_of(config, str(preset_dir / "config.json"))
    positions = {**family.defaults, **config}["max_position_embeddings"]
    return {"sequence_length": default_sequence_length(preset_dir, positions)}
