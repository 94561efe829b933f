"""Build backbones from presets: pick the class, apply overrides, load the weights."""

import pathlib
import re
from typing import Any

from textbones.presets.consistent_read import consistent_read
from textbones.presets.handles import resolve_preset
from textbones.presets.preset_files import CONFIG_FILE, contained_file, read_json
from textbones.presets.registry import builtin_presets
from textbones.presets.transformers.checkpoint import is_transformers_config

# The weights-file readers live in weights_file.py; these names stay importable from here.
from textbones.presets.weights_file import (  # noqa: F401
    build_with_weights,
    load_h5_weights,
    load_weights_file,
    weights_path,
)
from textbones.serialization import textbones_class


def class_named(
    registry: dict[str, type], class_name: str, requested_cls: type, source: str
) -> type:
    """The class called ``class_name`` in ``registry``, checked against the class the caller used.

    ``class_name`` is read by ``textbones.serialization.textbones_class`` (so
    ``keras_hub>BertBackbone`` is textbones' class, whatever else is imported); ``registry``
    (a base class's ``_registry``) says which classes count (concrete ones of that kind).

    Example:

    >>> from textbones.models import Backbone
    >>> class_named(Backbone._registry, "FNetBackbone", Backbone, "a preset").__name__
    'FNetBackbone'
    """
    klass = textbones_class(class_name)
    if klass is None or registry.get(klass.__name__) is not klass:
        known = ", ".join(sorted(registry))
        raise ValueError(
            f"{source} holds a {class_name}, which textbones does not implement "
            f"(it implements {known}). Use a preset of one of those families."
        )
    if not issubclass(klass, requested_cls):
        raise ValueError(
            f"{requested_cls.__name__}.from_preset cannot load {source}: it holds a "
            f"{class_name}. Call {class_name}.from_preset, or the base class's from_preset "
            "to take whatever class the preset names."
        )
    return klass


def _class_name_of(config: dict[str, Any], config_path: pathlib.Path) -> str:
    registered = config.get("registered_name")
    if isinstance(registered, str) and registered:
        return registered.split(">")[-1]
    if "model_type" in config:
        raise ValueError(
            f"{config_path} describes a Hugging Face transformers checkpoint "
            f"(model_type={config['model_type']!r}), not a Keras object. Load the directory "
            "with `from_preset` (of a backbone, task, tokenizer or preprocessor class)."
        )
    raise ValueError(
        f"{config_path} is neither a Keras-format preset config (no 'registered_name') "
        "nor a Hugging Face transformers config (no 'model_type'). Point `from_preset` "
        "at a directory written by `save_to_preset` or KerasHub."
    )


#: A plain floating-point policy name (``float32``, ``bfloat16``, ``mixed_float16``, ...).
_FLOAT_POLICY = re.compile(r"^(mixed_)?b?float[0-9]*$")


def with_preset_dtype(saved: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A preset's backbone arguments with the caller's ``overrides``, its dtype chosen as
    KerasHub chooses it.

    A ``dtype`` the caller passes wins. Otherwise a saved floating-point policy
    (``float32``, ``bfloat16``, ``mixed_float16``) is dropped, so the model takes the
    global policy (``keras.config.set_dtype_policy("mixed_float16")``) and the weights are
    cast on loading; any other saved policy (a quantized one) is kept as saved.

    Example:

    >>> saved = {"num_layers": 2, "dtype": {"class_name": "DTypePolicy",
    ...                                     "config": {"name": "bfloat16"}}}
    >>> with_preset_dtype(saved, {})
    {'num_layers': 2}
    >>> with_preset_dtype(saved, {"dtype": "float16"})["dtype"]
    'float16'
    """
    arguments = {**saved, **overrides}
    if overrides.get("dtype") is None:
        arguments.pop("dtype", None)
        dtype = saved.get("dtype")
        name = dtype if isinstance(dtype, str) else (dtype or {}).get("config", {}).get("name")
        if dtype is not None and not (isinstance(name, str) and _FLOAT_POLICY.match(name)):
            arguments["dtype"] = dtype
    return arguments


def _instantiate(klass: type, config: dict[str, Any], source: str):
    try:
        return klass.from_config(config)
    except TypeError as error:
        raise ValueError(
            f"The config of {source} does not fit {klass.__name__}: {error}. "
            "Check the keyword arguments you passed to `from_preset`, or that the preset "
            "was written for this class."
        ) from None


@consistent_read
def load_backbone(cls: type, preset, load_weights: bool = True, **kwargs):
    """Build the backbone ``preset`` describes, as ``cls`` or one of its subclasses.

    See ``Backbone.from_preset`` for the accepted handles and arguments.

    Example:

    >>> from textbones.models import Backbone
    >>> load_backbone(Backbone, "albert_base_en_uncased", load_weights=False).num_layers
    12
    """
    from textbones.models.backbone import Backbone

    if not load_weights and isinstance(preset, str) and preset in builtin_presets():
        entry = builtin_presets()[preset]
        source = f"the built-in preset {preset!r}"
        klass = class_named(Backbone._registry, entry["class_name"], cls, source)
        return _instantiate(klass, with_preset_dtype(entry["config"], kwargs), source)

    preset_dir = resolve_preset(preset)
    config = read_json(preset_dir, CONFIG_FILE)
    if is_transformers_config(config):
        from textbones.presets.transformers.loading import (
            load_backbone as load_transformers_backbone,
        )

        return load_transformers_backbone(cls, preset_dir, load_weights, kwargs)
    source = f"the preset at {preset_dir}"
    klass = class_named(
        Backbone._registry, _class_name_of(config, preset_dir / CONFIG_FILE), cls, source
    )
    backbone_config = config.get("config")
    if not isinstance(backbone_config, dict):
        raise ValueError(
            f"{preset_dir / CONFIG_FILE} has no 'config' object with the constructor "
            "arguments; the preset is corrupt. Save or download it again."
        )
    arguments = with_preset_dtype(backbone_config, kwargs)
    if not load_weights:
        return _instantiate(klass, arguments, source)
    # Built with deferred variables, each taking its value from its dataset: never a
    # second (random) copy of the weights in memory.
    path = weights_path(preset_dir)
    return build_with_weights(lambda: _instantiate(klass, arguments, source), path, CONFIG_FILE)


@consistent_read
def load_tokenizer(cls: type, preset, **kwargs):
    """Build the tokenizer a preset describes, as ``cls`` or one of its subclasses.

    Reads ``tokenizer.json`` (KerasHub's layout) and the vocabulary in
    ``assets/tokenizer/``; ``kwargs`` override the saved config.

    Example:

    >>> import tempfile
    >>> from textbones.tokenizers import BertTokenizer, Tokenizer
    >>> folder = tempfile.mkdtemp()
    >>> BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"]).save_to_preset(folder)
    >>> load_tokenizer(Tokenizer, folder, sequence_length=3)("hi").tolist()
    [5, 0, 0]
    """
    from textbones.preprocessing.tokenizer import TOKENIZER_CONFIG_FILE

    preset_dir = resolve_preset(preset)
    transformers_config = read_transformers_config(preset_dir)
    if transformers_config is not None:
        from textbones.presets.transformers.loading import (
            load_tokenizer as load_transformers_tokenizer,
        )

        return load_transformers_tokenizer(cls, preset_dir, transformers_config, kwargs)
    config = read_json(preset_dir, TOKENIZER_CONFIG_FILE)
    return _tokenizer_from_json(config, cls, preset_dir, TOKENIZER_CONFIG_FILE, **kwargs)


def read_transformers_config(preset_dir: pathlib.Path) -> dict[str, Any] | None:
    """The ``config.json`` of a Hugging Face ``transformers`` checkpoint, or ``None`` when
    ``preset_dir`` holds none (a Keras-format preset, or no ``config.json``).

    Example:

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> read_transformers_config(folder) is None
    True
    >>> _ = (folder / "config.json").write_text('{"model_type": "bert"}')
    >>> read_transformers_config(folder)
    {'model_type': 'bert'}
    """
    if not (preset_dir / CONFIG_FILE).is_file():
        return None
    config = read_json(preset_dir, CONFIG_FILE)
    return config if is_transformers_config(config) else None


def _tokenizer_from_json(
    config: dict, cls: type, preset_dir: pathlib.Path, filename: str, **kwargs
):
    """A tokenizer from its serialized config, its vocabulary read from the preset's assets."""
    from textbones.preprocessing.tokenizer import TOKENIZER_ASSET_DIR, Tokenizer

    source = f"the preset at {preset_dir}"
    klass = class_named(
        Tokenizer._registry, _class_name_of(config, preset_dir / filename), cls, source
    )
    # The vocabulary lives in assets/tokenizer/; configs hold a null in its place.
    saved = {
        key: value
        for key, value in dict(config.get("config") or {}).items()
        if not (value is None and key in ("vocabulary", "proto"))
    }
    for key in ("vocabulary", "proto"):
        if isinstance(saved.get(key), str):  # a file name: it must lie inside the preset
            where = f"the {key!r} of {preset_dir / filename}"
            saved[key] = str(contained_file(preset_dir, saved[key], where))
    tokenizer = _instantiate(klass, {**saved, **kwargs}, source)
    tokenizer.load_assets(preset_dir.joinpath(*TOKENIZER_ASSET_DIR))
    return tokenizer


@consistent_read
def load_preprocessor(cls: type, preset, **kwargs):
    """Build the preprocessor a preset describes, as ``cls`` or one of its subclasses.

    With a ``preprocessor.json`` (KerasHub's layout) its class and config are used; without
    one, the subclass of ``cls`` made for the preset's tokenizer is built around it.
    ``kwargs`` override the saved config.

    Example:

    >>> import tempfile
    >>> from textbones.models import BertTokenizer, TextClassifierPreprocessor
    >>> folder = tempfile.mkdtemp()
    >>> BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"]).save_to_preset(folder)
    >>> preprocessor = load_preprocessor(TextClassifierPreprocessor, folder, sequence_length=4)
    >>> type(preprocessor).__name__, preprocessor("hi")["token_ids"].tolist()
    ('BertTextClassifierPreprocessor', [2, 5, 3, 0])
    """
    from textbones.preprocessing.preprocessor import PREPROCESSOR_CONFIG_FILE, Preprocessor
    from textbones.preprocessing.tokenizer import Tokenizer

    preset_dir = resolve_preset(preset)
    source = f"the preset at {preset_dir}"
    config = (
        read_json(preset_dir, PREPROCESSOR_CONFIG_FILE)
        if (preset_dir / PREPROCESSOR_CONFIG_FILE).is_file()
        else None
    )
    saved_class = (
        None
        if config is None
        else Preprocessor._registry.get(
            _class_name_of(config, preset_dir / PREPROCESSOR_CONFIG_FILE)
        )
    )
    other_kind_same_family = (
        saved_class is not None
        and not issubclass(saved_class, cls)
        and issubclass(saved_class.tokenizer_cls, cls.tokenizer_cls)
    )
    if config is None or other_kind_same_family:
        # No saved preprocessor, or one for another task (a classifier preset loaded
        # as a masked LM): build the requested kind around the preset's tokenizer.
        tokenizer = load_tokenizer(Tokenizer, preset_dir)
        candidates = [
            klass
            for klass in Preprocessor._registry.values()
            if issubclass(klass, cls) and klass.tokenizer_cls is type(tokenizer)
        ]
        if len(candidates) != 1:
            raise ValueError(
                f"{cls.__name__}.from_preset cannot pick a preprocessor for {source}: it "
                f"has no {PREPROCESSOR_CONFIG_FILE} and its {type(tokenizer).__name__} fits "
                f"{len(candidates)} preprocessor classes under {cls.__name__}. Call a "
                "family's preprocessor class instead, e.g. BertTextClassifierPreprocessor."
            )
        transformers_config = read_transformers_config(preset_dir)
        if transformers_config is not None:
            from textbones.presets.transformers.loading import preprocessor_defaults

            kwargs = {**preprocessor_defaults(preset_dir, transformers_config), **kwargs}
        return _instantiate(candidates[0], {"tokenizer": tokenizer, **kwargs}, source)
    klass = class_named(
        Preprocessor._registry,
        _class_name_of(config, preset_dir / PREPROCESSOR_CONFIG_FILE),
        cls,
        source,
    )
    preprocessor_config = dict(config.get("config") or {})
    tokenizer = _tokenizer_from_json(
        preprocessor_config.pop("tokenizer", None) or {},
        klass.tokenizer_cls,
        preset_dir,
        PREPROCESSOR_CONFIG_FILE,
    )
    return _instantiate(klass, {**preprocessor_config, "tokenizer": tokenizer, **kwargs}, source)
