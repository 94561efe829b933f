"""The ``Task`` base class: a backbone with a head, a preprocessor, and raw-text training."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import keras

from textbones import keras_internals, registry
from textbones.classproperty import classproperty
from textbones.models.backbone import Backbone
from textbones.models.quantization import Quantizable
from textbones.models.task_training import TaskTraining
from textbones.preprocessing.preprocessor import Preprocessor
from textbones.presets.vocabulary_fit import check_vocabulary_fits
from textbones.serialization import deserialize, register_keras_hub_aliases


class Task(TaskTraining, Quantizable, keras.Model):
    """Base class of the end-to-end models: ``MaskedLM`` and ``TextClassifier``.

    A task is a functional Keras model made of a ``backbone`` and a head, plus an
    optional ``preprocessor``. With a preprocessor, ``fit``, ``evaluate``, ``predict``
    and the ``*_on_batch`` methods take raw strings (or sentence pairs, a
    ``keras.utils.PyDataset``, a generator, or a ``tf.data.Dataset`` of them): the text is
    tokenized and packed in a data pipeline that runs beside the training step, on
    NumPy, on any backend. With ``preprocessor=None`` they take the preprocessed integer
    dicts the model itself takes.

    Every item of raw text must be a string (or UTF-8 bytes): ``None``, NaN, numbers and
    the like are refused naming their index (and, for pairs, their segment), never read
    as the text ``"None"`` or ``"nan"``; empty inputs (``predict([])``) are refused too.

    Padding: models with a padding mask (BERT, ALBERT) pad each batch only to its
    longest row, rounded up to 16, 32, 64, ... ``sequence_length`` (so compiled steps
    are reused), instead of always to ``sequence_length``; the outputs for real tokens
    are the same. Set ``task.dynamic_padding = False`` for fixed shapes. FNet mixes the
    padding into its outputs, so it always keeps its fixed length; so does every model
    on the TensorFlow backend, where Keras feeds batches through ``tf.data`` with one
    shape for all.

    A task compiles itself with the defaults of its kind when built; call ``compile``
    again with any Keras argument to change them, or pass ``compile=False``.

    Args:
        *args, **kwargs: passed to ``keras.Model`` by the subclasses.
        compile: compile with the defaults right away.

    Example:

    >>> import numpy as np, textbones
    >>> backbone = textbones.models.BertBackbone(
    ...     vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> classifier = textbones.models.BertTextClassifier(backbone, num_classes=3)
    >>> classifier.backbone is backbone, classifier.preprocessor is None
    (True, True)
    >>> logits = classifier.predict({
    ...     "token_ids": np.array([[2, 5, 6, 3]]), "segment_ids": np.zeros((1, 4), "int32"),
    ...     "padding_mask": np.ones((1, 4), "int32")}, verbose=0)
    >>> logits.shape
    (1, 3)
    """

    #: The backbone class this task is built on (set by each family).
    backbone_cls: ClassVar[type[Backbone] | None] = None
    #: The preprocessor class ``from_preset`` builds for this task (set by each family).
    preprocessor_cls: ClassVar[type[Preprocessor] | None] = None
    #: Whether the head reads only the backbone's per-token features (``sequence_features``),
    #: so that a pooler the backbone has gets no gradient (see ``TaskTraining``).
    reads_token_features_only: ClassVar[bool] = False
    _registry: ClassVar[Mapping[str, type[Task]]] = registry.classes("task")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.backbone_cls is not None:
            registry.register_class("task", cls)
        register_keras_hub_aliases(cls)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, keras.layers.Layer) and _INIT_STARTED not in self.__dict__:
            # A subclass builds its head (and names the backbone) before it calls
            # `keras.Model.__init__` with the graph's outputs, but the torch backend
            # refuses a module assigned before that, and Keras would track the layer
            # ahead of the graph's own. The layer is held aside; `__init__` assigns it
            # again once the model exists, as if it had been assigned then.
            self.__dict__[name] = value
            self.__dict__.setdefault(_ASSIGNED_EARLY, []).append(name)
            return
        super().__setattr__(name, value)

    def __init__(self, *args, compile: bool = True, **kwargs):
        early = {name: self.__dict__.pop(name) for name in self.__dict__.pop(_ASSIGNED_EARLY, ())}
        self.__dict__[_INIT_STARTED] = True
        super().__init__(*args, **kwargs)
        for name, layer in early.items():
            setattr(self, name, layer)
        self.dynamic_padding = True
        self._compile_when_attached = compile

    def _attach(self, backbone: Backbone, preprocessor: Preprocessor | None) -> None:
        """Keep the backbone and preprocessor, then compile with the defaults if asked.

        Subclasses call it last in ``__init__``: after ``keras.Model.__init__`` (the
        torch backend tracks modules only from then on) and after setting what the
        defaults depend on.
        """
        self._backbone = backbone
        self.preprocessor = preprocessor
        self.dtype_policy = backbone.head_dtype_policy
        if self._compile_when_attached:
            self.compile()

    def _kernel_initializer(self) -> keras.initializers.Initializer:
        """A fresh initializer for the head's kernels: the backbone's family's.

        That is ``registry.family_of(self.backbone).kernel_initializer()`` (the family's
        own layers start from it too), or ``TruncatedNormal(stddev=0.02)`` for a backbone
        of no registered family. Heads call it while they are built, after the subclass
        has set ``self._backbone``.
        """
        family = registry.family_of(self.backbone)
        if family is not None:
            return family.kernel_initializer()
        return keras.initializers.TruncatedNormal(stddev=0.02)

    @property
    def backbone(self) -> Backbone:
        """The ``Backbone`` inside this task.

        Set ``task.backbone.trainable = False`` to freeze it.
        """
        return self._backbone

    @property
    def preprocessor(self) -> Preprocessor | None:
        """The ``Preprocessor`` applied to raw inputs, or ``None`` for preprocessed inputs.

        Assign ``None`` to feed preprocessed integer dicts from then on. A preprocessor
        whose tokenizer has more tokens than the backbone's embedding has rows is refused.
        """
        return self._preprocessor

    @preprocessor.setter
    def preprocessor(self, value: Preprocessor | None) -> None:
        if value is not None and not isinstance(value, Preprocessor):
            raise TypeError(
                f"`preprocessor` must be a textbones Preprocessor or None, got a "
                f"{type(value).__name__}. Build one with e.g. "
                f"{(self.preprocessor_cls or Preprocessor).__name__}.from_preset(...)."
            )
        if value is not None:
            self._check_vocabulary_fits(value)
        self._preprocessor = value

    def _check_vocabulary_fits(self, preprocessor: Preprocessor) -> None:
        backbone = getattr(self, "_backbone", None)
        if backbone is not None:
            check_vocabulary_fits(
                preprocessor.tokenizer, backbone.vocabulary_size, type(backbone).__name__
            )

    @property
    def _uses_dynamic_length(self) -> bool:
        return bool(
            self.dynamic_padding
            and self.preprocessor is not None
            and self.preprocessor.has_padding_mask
            and self._batch_widths_may_vary
        )

    @property
    def _batch_widths_may_vary(self) -> bool:
        # Not on TensorFlow: Keras turns a PyDataset into a tf.data.Dataset there, with one
        # signature taken from the first batches, which a wider batch later breaks.
        return keras.backend.backend() != "tensorflow"

    # Compilation ---------------------------------------------------------------

    def _default_compile_arguments(self) -> dict[str, Any]:
        """``optimizer``, ``loss``, ``metrics`` and ``weighted_metrics`` of this task kind."""
        raise NotImplementedError

    def compile(
        self, optimizer="auto", loss="auto", *, metrics="auto", weighted_metrics="auto", **kwargs
    ) -> None:
        """Configure training; ``"auto"`` takes this task's default for that argument.

        Every other ``keras.Model.compile`` argument (``jit_compile``,
        ``steps_per_execution``, ...) passes through unchanged.

        Example:

        >>> import keras, textbones
        >>> backbone = textbones.models.FNetBackbone(50, 1, 8, 16)
        >>> model = textbones.models.FNetMaskedLM(backbone)
        >>> model.compile(optimizer=keras.optimizers.Adam(1e-4), jit_compile=True)
        >>> round(float(model.optimizer.learning_rate.numpy()), 6), type(model.loss).__name__
        (0.0001, 'SparseCategoricalCrossentropy')
        """
        defaults = self._default_compile_arguments()
        chosen = {
            "optimizer": optimizer,
            "loss": loss,
            "metrics": metrics,
            "weighted_metrics": weighted_metrics,
        }
        chosen = {
            name: defaults.get(name) if value == "auto" else value for name, value in chosen.items()
        }
        super().compile(**chosen, **kwargs)
        # On TensorFlow, Keras' optimizers mis-add a batch's repeated tokens in the
        # embeddings' gradients (see keras_internals): they are summed first.
        keras_internals.coalesce_sparse_gradients(self.optimizer)

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Keras ``.keras`` loading hook: compile as the saved model was compiled.

        Each saved argument (optimizer with its learning-rate schedule, loss, metrics, ...)
        is rebuilt; with a restored optimizer, ``keras.models.load_model`` then restores its
        state (step count, moments), as Keras does for its own models, so training picks up
        where it stopped. An argument that cannot be rebuilt because it names a class Keras
        cannot find (a custom ``LearningRateSchedule`` not registered with
        ``keras.saving.register_keras_serializable`` nor passed in ``custom_objects``)
        takes this task's default instead, with a warning naming it; a fresh default
        optimizer starts without the saved state. (KerasHub's tasks always take their
        defaults on loading.)
        """
        restored, failures = {}, {}
        for argument, value in config.items():
            try:
                restored[argument] = keras.saving.deserialize_keras_object(value)
            except TypeError as error:
                failures[argument] = _missing_class(error)
        if failures:
            details = "; ".join(f"`{argument}`: {why}" for argument, why in failures.items())
            warnings.warn(
                f"{type(self).__name__} could not rebuild the saved {', '.join(failures)} "
                f"({details}), so it is compiled with its default for "
                f"{'them' if len(failures) > 1 else 'it'}"
                + (
                    " and the saved optimizer state is not restored"
                    if "optimizer" in failures
                    else ""
                )
                + ". Pass the missing classes to `keras.models.load_model(..., custom_objects="
                "{...})` or register them with `@keras.saving.register_keras_serializable()`, "
                "or call `compile(...)` again after loading.",
                stacklevel=2,
            )
        self.compile(**restored)
        if self.built and "optimizer" not in failures:
            # Built now so that the saved optimizer state has variables to load into.
            self.optimizer.build(self.trainable_variables)

    # Serialization and presets ------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The backbone and preprocessor, serialized, plus the name.

        Subclasses add their own arguments.
        """
        from textbones.presets.saver import serialized_json

        config = {
            "backbone": serialized_json(self.backbone),
            "preprocessor": None
            if self.preprocessor is None
            else serialized_json(self.preprocessor),
            "name": self.name,
        }
        # The head's quantized layers (the backbone's config has its own); only when there
        # are some, so that KerasHub reads every other task config.
        quantized = keras_internals.quantized_layer_policies(self, leave_out=[self.backbone])
        if quantized:
            config[keras_internals.QUANTIZED_LAYERS_KEY] = quantized
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Task:
        """Rebuild a task from ``get_config()``: its backbone and preprocessor are always
        textbones' classes, even with ``keras_hub`` imported (see ``textbones.serialization``)."""
        config = dict(config)
        expected = {"backbone": Backbone, "preprocessor": Preprocessor}
        for key, base in expected.items():
            if key in config:
                config[key] = deserialize(config[key], base, f"the {key} of {cls.__name__}")
        quantized = config.pop(keras_internals.QUANTIZED_LAYERS_KEY, None)
        task = cls(**config)
        if quantized:
            keras_internals.quantize_layers(task, quantized)
        return task

    def save_assets(self, directory) -> None:
        """Keras ``.keras`` saving hook: the tokenizer's vocabulary goes in the archive."""
        if self.preprocessor is not None:
            self.preprocessor.tokenizer.save_assets(directory)

    def load_assets(self, directory) -> None:
        """Keras ``.keras`` loading hook: the tokenizer's vocabulary comes from the archive."""
        if self.preprocessor is not None:
            self.preprocessor.tokenizer.load_assets(directory)
            self._check_vocabulary_fits(self.preprocessor)

    @classproperty
    def presets(cls) -> dict[str, dict[str, Any]]:
        """The built-in presets this task can be built from, by name."""
        from textbones.presets.registry import presets_for_class

        names = {
            klass.backbone_cls.__name__
            for klass in Task._registry.values()
            if issubclass(klass, cls) and klass.backbone_cls is not None
        }
        return presets_for_class(names)

    @classmethod
    def from_preset(cls, preset: str, load_weights: bool = True, **kwargs) -> Task:
        """Build this task from a preset.

        A preset with a ``task.json`` of a matching class gives the saved task, trained
        head included (unless head arguments such as ``num_classes`` are given with other
        values: then the head is fresh). Otherwise the task is built around the preset's
        backbone and a preprocessor made from its tokenizer, with a fresh head. Called on
        a generic base (``MaskedLM``, ``TextClassifier``), the family's subclass is
        picked from the preset. ``preset`` takes the handles ``Backbone.from_preset``
        takes. From a Hugging Face ``transformers`` checkpoint, a ``*ForMaskedLM`` gives
        a masked LM with its trained head, a ``*ForSequenceClassification`` a classifier
        with its trained head and ``num_labels`` classes; called on ``Task`` itself, the
        checkpoint's head decides which.

        Args:
            preset: a built-in name, ``kaggle://`` or ``hf://`` handle, or a directory.
            load_weights: load the saved weights; ``False`` keeps random ones.
            **kwargs: task constructor arguments (``num_classes``, ``preprocessor=None``,
                ``activation``, ...); ``dtype`` goes to the backbone.

        Example:

        >>> import tempfile, textbones
        >>> backbone = textbones.models.FNetBackbone(50, 1, 8, 16)
        >>> folder = tempfile.mkdtemp()
        >>> backbone.save_to_preset(folder)
        >>> model = textbones.models.TextClassifier.from_preset(
        ...     folder, num_classes=4, preprocessor=None)
        >>> type(model).__name__, model.num_classes
        ('FNetTextClassifier', 4)
        """
        from textbones.presets.task_loader import load_task

        return load_task(cls, preset, load_weights=load_weights, **kwargs)

    def save_to_preset(self, preset_dir, format: str = "keras") -> None:
        """Write the whole task as a preset directory (KerasHub's layout), atomically.

        Writes the backbone's files, the preprocessor's and tokenizer's (if any),
        ``task.json``, and ``task.weights.h5`` with the weights outside the backbone.

        With ``format="transformers"`` it writes a Hugging Face checkpoint instead: a
        ``*ForMaskedLM`` or ``*ForSequenceClassification`` (``config.json``,
        ``model.safetensors``) plus the tokenizer's ``vocab.txt`` or ``spiece.model`` and
        ``tokenizer_config.json``, which ``transformers.AutoModelForMaskedLM`` /
        ``AutoModelForSequenceClassification`` and ``AutoTokenizer`` load.

        Example:

        >>> import tempfile, textbones
        >>> model = textbones.models.FNetMaskedLM(textbones.models.FNetBackbone(50, 1, 8, 16))
        >>> folder = tempfile.mkdtemp()
        >>> model.save_to_preset(folder)
        >>> type(textbones.models.MaskedLM.from_preset(folder)).__name__
        'FNetMaskedLM'
        """
        from textbones.presets.saver import save_task

        save_task(self, preset_dir, format=format)


#: Set in a task's ``__dict__`` once ``Task.__init__`` starts building the Keras model.
_INIT_STARTED = "_task_init_started"
#: The names of the layers a subclass assigned before that, in order.
_ASSIGNED_EARLY = "_task_layers_assigned_early"


def _missing_class(error: TypeError) -> str:
    """The short reason of a Keras deserialization error (whose message holds whole configs)."""
    found = re.search(r"Could not locate (?:class|function) '([^']+)'", str(error))
    if found:
        return f"Keras cannot find the class {found.group(1)!r}"
    return str(error).split("\n")[0][:200]
