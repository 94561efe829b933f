"""The ``Backbone`` base class: what every encoder family shares."""

import difflib
import functools
import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

import keras

from textbones import registry
from textbones.classproperty import classproperty
from textbones.models import config_checks, distribution
from textbones.models.input_checks import check_backbone_inputs
from textbones.models.lora import LoraAdapters
from textbones.models.quantization import Quantizable
from textbones.serialization import register_keras_hub_aliases


class Backbone(LoraAdapters, Quantizable, keras.Model):
    """Base class of the encoder networks (``BertBackbone``, ``AlbertBackbone``, ``FNetBackbone``).

    A backbone is a functional Keras model from a dict of integer arrays (``token_ids``,
    plus ``segment_ids`` and ``padding_mask`` where the family takes them) to its outputs:
    by default ``{"sequence_output": [batch, T, hidden], "pooled_output": [batch, hidden]}``.
    The base class adds what all families share: input checks with readable errors, the
    ``token_embedding`` property, config serialization, loading and saving presets, and
    LoRA (``enable_lora``, ``save_lora_weights``, ``load_lora_weights``, ``merge_lora``; see
    ``textbones.models.lora``).

    Subclasses build their graph in ``__init__``, set ``input_names``, store their
    constructor arguments as attributes named like the arguments, and implement
    ``parameter_parts`` (their parameter count, computed from the arguments alone).

    What a backbone takes and gives is declared, so that tasks and preprocessors need not
    assume BERT: ``has_segment_ids`` and ``has_padding_mask`` say which optional inputs it
    takes (``input_names`` must agree, which defining the class checks), and
    ``sequence_features`` / ``pooled_features`` pick the per-token and per-sequence
    features out of its outputs, which the task heads read. A backbone whose output is one
    tensor overrides both.

    Config checks: before a family's ``__init__`` allocates anything, ``check_config``
    refuses counts that are not integers >= 1 (``num_layers=-1``, ``num_heads=0``,
    ``hidden_dim=True``, ``num_layers=12.0``), a ``dropout`` outside [0, 1), and
    inconsistent fields (``num_heads`` not dividing ``hidden_dim``), naming the field. It
    also refuses absurd sizes, naming the field responsible and the parameters and bytes
    (at the variable dtype) it implies: more than 20 billion parameters (BERT-large has
    335 million), or more than 1024 blocks in depth (a deeper graph takes Keras hours to
    build). Lift these bounds with the environment variables
    ``TEXTBONES_MAX_PARAMETERS`` and ``TEXTBONES_MAX_LAYERS`` (a larger count, or
    ``none``); see ``textbones.models.config_checks``.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.Backbone.from_preset(
    ...     "bert_tiny_en_uncased", load_weights=False)
    >>> type(backbone).__name__, backbone.count_params()
    ('BertBackbone', 4385920)
    >>> textbones.models.BertBackbone(
    ...     vocabulary_size=10**12, num_layers=2, num_heads=2, hidden_dim=128,
    ...     intermediate_dim=512)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: BertBackbone would hold 128,000,000,... parameters (512.0 TB as float32), ...
    """

    #: The keys of the input dict, in the order the model declares its inputs.
    input_names: ClassVar[tuple[str, ...]] = ()
    #: Whether the model takes a ``segment_ids`` input (which sentence of a pair a token
    #: is in); ``input_names`` holds ``"segment_ids"`` exactly when this is true.
    has_segment_ids: ClassVar[bool] = True
    #: Whether the model takes a ``padding_mask`` input (FNet does not: its Fourier
    #: mixing sees the padding); ``input_names`` holds ``"padding_mask"`` exactly when
    #: this is true.
    has_padding_mask: ClassVar[bool] = True
    #: Every concrete backbone class by name, for presets and deserialization.
    _registry: ClassVar[Mapping[str, type["Backbone"]]] = registry.classes("backbone")
    #: Constructor arguments KerasHub's class does not have: ``get_config`` writes them
    #: only when they differ from their default, so KerasHub still reads the config.
    _keras_hub_unknown_arguments: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.input_names:
            _check_declared_inputs(cls)
            registry.register_class("backbone", cls)
            register_keras_hub_aliases(cls)
        if "parameter_parts" in cls.__dict__ and "__init__" in cls.__dict__:
            cls.__init__ = _checking_config_first(cls, cls.__init__)

    def __init__(self, *args, dtype=None, **kwargs):
        unexpected = sorted(set(kwargs) - {"inputs", "outputs", "name", "trainable"})
        if unexpected:
            # keras.Model would silently drop these, so a typo such as `dropot=0.0`
            # in `from_preset(...)` would go unnoticed.
            arguments = [
                name
                for name in inspect.signature(type(self).__init__).parameters
                if name not in ("self", "kwargs")
            ] + ["name", "trainable"]
            hints = [
                f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                for key in unexpected
                for close in [difflib.get_close_matches(key, arguments, n=1)]
            ]
            raise TypeError(
                f"{type(self).__name__} got unexpected argument(s) {', '.join(hints)}. "
                f"It accepts: {', '.join(arguments)}."
            )
        trainable = kwargs.pop("trainable", True)
        super().__init__(*args, **kwargs)
        if dtype is not None:
            self.dtype_policy = keras.dtype_policies.get(dtype)
        if not trainable:
            # Through the setter, which freezes every inner layer too; the constructor
            # argument alone would leave them trainable inside an enclosing task.
            self.trainable = False

    # Config checks ----------------------------------------------------------------

    @classmethod
    def parameter_parts(cls, config: Mapping[str, Any]) -> list[config_checks.ParameterPart]:
        """The parameters the backbone of ``config`` would hold, part by part, without building it.

        Each part names the config field that scales it (``vocabulary_size`` for the token
        embedding, ``num_layers`` for the blocks, ...); their sum equals
        ``count_params()`` of the built model. ``config`` holds every constructor
        argument (defaults included), already checked by ``check_config``.
        """
        raise NotImplementedError(f"{cls.__name__} does not implement `parameter_parts`.")

    @classmethod
    def _depth(cls, config: Mapping[str, Any]) -> tuple[int, str]:
        """How many blocks the model applies in depth, and the field(s) that set it."""
        return config["num_layers"], f"`num_layers`={config['num_layers']}"

    @classmethod
    def _check_consistency(cls, config: Mapping[str, Any]) -> None:
        """Family-specific rules between fields (the base checks each field alone)."""

    @classmethod
    def _config_with_defaults(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        parameters = inspect.signature(cls.__init__).parameters
        full = {
            name: parameter.default
            for name, parameter in parameters.items()
            if name not in ("self", "kwargs") and parameter.default is not inspect.Parameter.empty
        }
        full.update(config)
        missing = [
            name
            for name, parameter in parameters.items()
            if name not in ("self", "kwargs") and name not in full
        ]
        if missing:
            raise TypeError(f"{cls.__name__} config lacks {', '.join(map(repr, missing))}.")
        return full

    @classmethod
    def estimate_parameter_count(cls, config: Mapping[str, Any]) -> int:
        """The ``count_params()`` a backbone built from ``config`` would have, without building it.

        ``config`` is a dict of constructor arguments (missing ones take their defaults).

        Example:

        >>> import textbones
        >>> textbones.models.BertBackbone.estimate_parameter_count({
        ...     "vocabulary_size": 30522, "num_layers": 2, "num_heads": 2,
        ...     "hidden_dim": 128, "intermediate_dim": 512})
        4385920
        """
        config = cls._config_with_defaults(config)
        config_checks.check_argument_values(cls.__name__, config)
        return sum(part.parameters for part in cls.parameter_parts(config))

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        """Raise a ``ValueError`` naming the field if ``config`` can't make a sound backbone.

        Runs automatically before every family's constructor; see the class docstring
        for the rules and the bounds on size.

        Example:

        >>> import textbones
        >>> textbones.models.FNetBackbone.check_config(
        ...     {"vocabulary_size": 50, "num_layers": 0, "hidden_dim": 8, "intermediate_dim": 16})
        Traceback (most recent call last):
        ...
        ValueError: FNetBackbone: `num_layers` must be an integer >= 1, got 0.
        """
        config = cls._config_with_defaults(config)
        config_checks.check_argument_values(cls.__name__, config)
        cls._check_consistency(config)
        config_checks.check_backbone_size(
            cls.__name__,
            cls.parameter_parts(config),
            cls._depth(config),
            _variable_dtype(config.get("dtype")),
        )

    #: How ``get_layout_map`` splits this family's variables (``textbones.models.distribution``).
    layout_rules: ClassVar[tuple[distribution.Rule, ...]] = distribution.TRANSFORMER_RULES

    @classmethod
    def get_layout_map(
        cls,
        device_mesh: keras.distribution.DeviceMesh,
        model_parallel_dim_name: str = "model",
        data_parallel_dim_name: str = "batch",
    ) -> keras.distribution.LayoutMap:
        """A ``keras.distribution.LayoutMap`` that shards this family's models over
        ``device_mesh``, for ``keras.distribution.ModelParallel``.

        It splits the embedding tables' hidden axis, the attention heads of the query, key,
        value and output kernels (FNet has no attention), the feed-forward's intermediate
        units, the pooler and every task head (a masked LM's transform, the output kernels
        of classifiers, token classifiers and question answerers) over the model-parallel
        axis, and the other axis of those kernels over the data-parallel axis. Biases and
        layer norms are copied to every device. The mesh's model axis must divide the
        number of heads, the intermediate and hidden sizes, and its data axis the hidden
        size. Set the distribution before building the model: its variables are created
        sharded.

        Args:
            device_mesh: a ``keras.distribution.DeviceMesh``.
            model_parallel_dim_name: the mesh axis the weights are split over.
            data_parallel_dim_name: the mesh axis the batch is split over.

        Example:

        >>> import keras, textbones
        >>> mesh = keras.distribution.DeviceMesh((1, 1), ["batch", "model"], ["cpu:0"])
        >>> layout_map = textbones.models.BertBackbone.get_layout_map(mesh)
        >>> layout_map["transformer_layer_0/self_attention_layer/query/kernel"].axes
        ('batch', 'model', None)
        >>> keras.distribution.set_distribution(keras.distribution.ModelParallel(
        ...     layout_map=layout_map, batch_dim_name="batch"))
        >>> backbone = textbones.models.BertBackbone(100, 1, 2, 8, 16)
        >>> keras.distribution.set_distribution(None)
        """
        return distribution.layout_map(
            cls.layout_rules, device_mesh, model_parallel_dim_name, data_parallel_dim_name
        )

    @property
    def token_embedding(self) -> keras.layers.Embedding:
        """The ``keras.layers.Embedding`` that maps token ids to vectors.

        It is a ``ReversibleEmbedding``: a masked-LM head multiplies by its transpose to
        turn hidden states back into vocabulary logits.
        """
        return self._token_embedding

    def _keep_layers(self, layers: dict[str, Any]) -> None:
        """Keep the graph's layers as attributes, named as in KerasHub's models.

        Call it after ``keras.Model.__init__``: the torch backend cannot track modules
        assigned before that.
        """
        for name, layer in layers.items():
            setattr(self, "_token_embedding" if name == "token_embedding" else name, layer)

    def sequence_features(self, outputs) -> Any:
        """The per-token features ``[batch, T, hidden]`` in the model's ``outputs``.

        A masked-LM head reads them. The default is ``outputs["sequence_output"]``; a
        family whose model returns other outputs overrides it.

        Example:

        >>> import numpy as np, textbones
        >>> backbone = textbones.models.FNetBackbone(
        ...     vocabulary_size=30, num_layers=1, hidden_dim=8, intermediate_dim=16)
        >>> outputs = backbone(
        ...     {"token_ids": np.array([[2, 5, 3]]), "segment_ids": np.zeros((1, 3), "int32")})
        >>> tuple(backbone.sequence_features(outputs).shape)
        (1, 3, 8)
        """
        return outputs["sequence_output"]

    def pooled_features(self, outputs) -> Any:
        """The per-sequence features ``[batch, hidden]`` in the model's ``outputs``.

        A text classifier's head reads them. The default is ``outputs["pooled_output"]``
        (the first token's vector through the family's pooler); a family without a pooler
        overrides it, e.g. to take the first token of ``sequence_features``.

        Example:

        >>> import numpy as np, textbones
        >>> backbone = textbones.models.FNetBackbone(
        ...     vocabulary_size=30, num_layers=1, hidden_dim=8, intermediate_dim=16)
        >>> outputs = backbone(
        ...     {"token_ids": np.array([[2, 5, 3]]), "segment_ids": np.zeros((1, 3), "int32")})
        >>> tuple(backbone.pooled_features(outputs).shape)
        (1, 8)
        """
        return outputs["pooled_output"]

    def _id_ranges(self) -> dict[str, int]:
        ranges = {"token_ids": self.vocabulary_size}
        if self.has_segment_ids:
            ranges["segment_ids"] = self.num_segments
        return ranges

    def check_inputs(self, inputs) -> None:
        """Raise a ``ValueError`` that says what to fix if ``inputs`` can't be fed to this model."""
        check_backbone_inputs(
            inputs,
            model_name=type(self).__name__,
            input_names=list(self.input_names),
            max_sequence_length=self.max_sequence_length,
            id_ranges=self._id_ranges(),
        )

    def __call__(self, inputs, *args, **kwargs):
        self.check_inputs(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        if isinstance(x, dict):
            self.check_inputs(x)
        return super().predict(x, *args, **kwargs)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (read back from the attributes of the same names),
        plus ``name``, ``trainable`` and the serialized ``dtype`` policy.

        Arguments that KerasHub's class lacks (``activation``, ``layer_norm_epsilon``)
        are left out while they hold their default, so KerasHub can read the config of
        any backbone it could have built itself.
        """
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self._saved_dtype_policy()),
        }
        for argument, parameter in inspect.signature(type(self).__init__).parameters.items():
            if argument in ("self", "dtype", "kwargs"):
                continue
            value = getattr(self, argument)
            if argument in self._keras_hub_unknown_arguments and value == parameter.default:
                continue
            config[argument] = value
        return config

    @property
    def head_dtype_policy(self) -> keras.DTypePolicy:
        """The dtype policy for the layers a task puts on this backbone: the backbone's
        own, or the default of its ``DTypePolicyMap`` once it is quantized (a head shares
        no entries with the backbone's map; a task quantizes and saves its own layers).

        Example:

        >>> import textbones
        >>> backbone = textbones.models.BertBackbone(100, 1, 2, 8, 16, dtype="bfloat16")
        >>> backbone.quantize("int8")
        >>> rebuilt = textbones.models.BertBackbone.from_config(backbone.get_config())
        >>> type(rebuilt.dtype_policy).__name__, rebuilt.head_dtype_policy.name
        ('DTypePolicyMap', 'bfloat16')
        """
        policy = self.dtype_policy
        if isinstance(policy, keras.dtype_policies.DTypePolicyMap):
            return policy.default_policy
        return policy

    def _saved_dtype_policy(self):
        """The backbone's dtype policy, or, once some layers are quantized
        (``quantize("int8")``), a ``DTypePolicyMap`` giving each of those its policy by
        path (KerasHub's config): built from it, the same layers come out quantized."""
        policy = self.dtype_policy
        if isinstance(policy, keras.dtype_policies.DTypePolicyMap):
            return policy
        quantized = keras.dtype_policies.DTypePolicyMap(default_policy=policy)
        for layer in self._flatten_layers(include_self=False):
            if layer.quantization_mode is not None:
                quantized[layer.path] = layer.dtype_policy
        return quantized if len(quantized) else policy

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Backbone":
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)

    @classproperty
    def presets(cls) -> dict[str, dict[str, Any]]:
        """The built-in presets this class can load, by name.

        Each value holds ``description``, ``parameter_count``, ``kaggle_handle`` and
        ``family``.
        """
        from textbones.presets.registry import presets_for_class

        names = {name for name, klass in Backbone._registry.items() if issubclass(klass, cls)}
        return presets_for_class(names)

    @classmethod
    def from_preset(cls, preset: str, load_weights: bool = True, **kwargs) -> "Backbone":
        """Build a backbone from a preset, with its pretrained weights unless told otherwise.

        ``preset`` is one of: a built-in name (see ``cls.presets``), a Kaggle handle
        ``kaggle://org/model/keras/variation[/version]``, a Hugging Face handle
        ``hf://org/name``, or the path of a local preset directory. Called on
        ``Backbone`` itself, the class is read from the preset; called on a family's
        class, a preset of another family is refused.

        The directory (or ``hf://`` repository) may hold a Keras-format preset or a
        Hugging Face ``transformers`` checkpoint of BERT, ALBERT or FNet (``config.json``
        with ``model_type``, and ``model.safetensors``, sharded safetensors or
        ``pytorch_model.bin``); see the README's "Hugging Face checkpoints".

        Args:
            preset: the preset handle.
            load_weights: load the saved weights (``True``) or keep the random
                initialisation (``False``; a built-in name then needs no download).
            **kwargs: constructor arguments that override the preset's config, such
                as ``dtype="bfloat16"`` or ``dropout=0.0``.

        Example:

        >>> import textbones
        >>> model = textbones.models.BertBackbone.from_preset(
        ...     "bert_tiny_en_uncased", load_weights=False, dropout=0.0)
        >>> model.num_layers, model.dropout
        (2, 0.0)
        """
        from textbones.presets.loader import load_backbone

        return load_backbone(cls, preset, load_weights=load_weights, **kwargs)

    def save_to_preset(self, preset_dir, format: str = "keras") -> None:
        """Write this backbone as a preset directory that KerasHub can load too.

        Writes ``config.json``, ``metadata.json`` and ``model.weights.h5``. The write is
        atomic: the files are staged beside ``preset_dir`` and swapped in at the end, so
        an interrupted save leaves the previous preset as it was. Other files already in
        the directory (a tokenizer's, say) are kept.

        With ``format="transformers"`` it writes a Hugging Face checkpoint instead
        (``config.json`` and ``model.safetensors`` of a ``BertModel``, ``AlbertModel`` or
        ``FNetModel``) that ``transformers.AutoModel.from_pretrained`` loads and that
        ``from_preset`` reads back.

        Example:

        >>> import tempfile, textbones
        >>> model = textbones.models.FNetBackbone(
        ...     vocabulary_size=50, num_layers=1, hidden_dim=8, intermediate_dim=16)
        >>> path = tempfile.mkdtemp() + "/tiny_fnet"
        >>> model.save_to_preset(path)
        >>> textbones.models.Backbone.from_preset(path).count_params() == model.count_params()
        True
        """
        from textbones.presets.saver import save_backbone

        save_backbone(self, preset_dir, format=format)


def _check_declared_inputs(cls: type[Backbone]) -> None:
    """Refuse a backbone class whose ``input_names`` and input flags disagree."""
    names = tuple(cls.input_names)
    if "token_ids" not in names:
        raise TypeError(f"{cls.__name__}.input_names must hold 'token_ids', got {names}.")
    for name, flag in (("segment_ids", "has_segment_ids"), ("padding_mask", "has_padding_mask")):
        declared = bool(getattr(cls, flag))
        if (name in names) != declared:
            raise TypeError(
                f"{cls.__name__} sets {flag} = {declared}, but its input_names {names} "
                f"{'lack' if declared else 'hold'} {name!r}. Make them agree."
            )


def _variable_dtype(dtype) -> str:
    """The name of the dtype the variables of a model built with ``dtype`` are stored in."""
    try:
        if dtype is None:
            policy = keras.config.dtype_policy()
        else:
            policy = keras.dtype_policies.get(dtype)
        return str(policy.variable_dtype)
    except (ValueError, TypeError):
        return "float32"  # the constructor reports a bad dtype itself


def _checking_config_first(cls: type[Backbone], init):
    """``init`` preceded by ``cls.check_config`` on its arguments (defaults filled in)."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def checked_init(self, *args, **kwargs):
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            bound = None  # a missing or unknown argument: the constructor says which
        if bound is not None:
            arguments = dict(bound.arguments)
            arguments.pop("self")
            arguments.pop("kwargs", None)
            cls.check_config(arguments)
        init(self, *args, **kwargs)

    return checked_init
