"""How textbones names its classes in saved configs, and how it reads those names back.

Presets and nested configs name their classes as KerasHub does (``keras_hub>BertBackbone``;
KerasNLP wrote ``keras_nlp>BertTokenizer``), so that KerasHub reads what textbones writes.
Those names are also registered with Keras for textbones' classes, so that
``keras.saving.deserialize_keras_object`` builds textbones objects from KerasHub's configs,
but only while nobody else holds them: once ``keras_hub`` is imported (before or after
textbones), Keras' global registry maps them to KerasHub's classes.

textbones' own loading therefore never asks Keras' global registry about these names:
``deserialize`` (used by every ``from_config`` of a textbones class that holds nested
objects) and ``textbones_class`` (used by the preset loaders) read them from textbones' own
table, whichever library was imported first. ``keras.models.load_model`` follows the
archive's top-level name: a ``.keras`` file that textbones wrote names its task
``textbones>BertTextClassifier`` (a name only textbones registers), so it loads as textbones
throughout; one KerasHub wrote (``keras_hub>...``) loads as KerasHub's classes when
``keras_hub`` is imported and as textbones' otherwise.
"""

from typing import Any

import keras

#: The packages whose class names textbones reads as its own classes of the same name.
KERAS_HUB_PACKAGES = ("keras_hub", "keras_nlp")
_OWN_PACKAGES = ("textbones", *KERAS_HUB_PACKAGES)

#: Set (in the class's own namespace) on the classes registered under KerasHub's names.
_KERAS_HUB_NAMED = "_textbones_keras_hub_named"


def register_keras_hub_aliases(cls: type) -> type:
    """Record ``cls`` as the class textbones builds for its name (``textbones>Name`` in
    Keras' registry), and make ``keras_hub>Name`` and ``keras_nlp>Name`` resolve to it
    there too unless already taken.

    The table lives in Keras' registry, under names only textbones registers, rather than
    in this module: it is then one table however often this module is imported.

    Example:

    >>> import keras
    >>> from textbones.serialization import textbones_class
    >>> class Demo:
    ...     pass
    >>> _ = register_keras_hub_aliases(Demo)
    >>> keras.saving.get_custom_objects()["keras_hub>Demo"] is Demo
    True
    >>> textbones_class("keras_hub>Demo") is Demo
    True
    """
    setattr(cls, _KERAS_HUB_NAMED, cls)
    custom_objects = keras.saving.get_custom_objects()
    custom_objects.setdefault(f"textbones>{cls.__name__}", cls)
    for package in KERAS_HUB_PACKAGES:
        custom_objects.setdefault(f"{package}>{cls.__name__}", cls)
    return cls


def _keras_hub_named(klass: Any) -> bool:
    return isinstance(klass, type) and getattr(klass, _KERAS_HUB_NAMED, None) is klass


def qualified_name(cls: type) -> str:
    """``module.ClassName`` of ``cls``: tells textbones' and KerasHub's classes of one name apart.

    Example:

    >>> import textbones
    >>> qualified_name(textbones.models.BertTokenizer)
    'textbones.models.bert.tokenizer.BertTokenizer'
    """
    return f"{cls.__module__}.{cls.__qualname__}"


def textbones_class(name: str) -> type | None:
    """The textbones class that a saved class name means, or ``None`` if textbones has none.

    ``name`` is a registered name (``keras_hub>BertTokenizer``, ``keras_nlp>...``,
    ``textbones>...``) or a bare class name. Names of other packages give ``None``.

    Example:

    >>> import textbones
    >>> from textbones.serialization import textbones_class
    >>> textbones_class("keras_hub>BertBackbone") is textbones.models.BertBackbone
    True
    >>> textbones_class("keras_hub>GemmaBackbone") is None, textbones_class("my_pkg>BertBackbone")
    (True, None)
    """
    package, _, class_name = name.rpartition(">")
    if package and package not in _OWN_PACKAGES:
        return None
    klass = keras.saving.get_custom_objects().get(f"textbones>{class_name}")
    if klass is None or (package != "textbones" and not _keras_hub_named(klass)):
        return None  # a textbones layer, say: KerasHub's class of that name is another one
    return klass


def _class_of_config(config: dict[str, Any]) -> type | None:
    registered = config.get("registered_name")
    if isinstance(registered, str) and registered:
        return textbones_class(registered)
    module = config.get("module") or ""
    if module.split(".")[0] in _OWN_PACKAGES and isinstance(config.get("class_name"), str):
        return textbones_class(config["class_name"])
    return None


def deserialize(config: Any, expected: type | None = None, what: str = "a nested object") -> Any:
    """Build the object a serialized config describes, as textbones' class for any name
    textbones implements.

    A config (``module``, ``class_name``, ``config``, ``registered_name``) naming a class
    textbones has, under KerasHub's, KerasNLP's or textbones' name, is built with that
    textbones class, even when ``keras_hub`` is imported and holds the name in Keras'
    registry. Other configs go to ``keras.saving.deserialize_keras_object``; an object
    that is not a config (already built) is returned as it is.

    Args:
        config: the serialized object (or an object already built).
        expected: the base class the result must be an instance of; a config of another
            class raises a ``TypeError`` naming both classes with their modules.
        what: how errors call the object (``"the backbone of BertTextClassifier"``).

    Example:

    >>> import textbones
    >>> from textbones.presets.saver import serialized_json
    >>> from textbones.serialization import deserialize
    >>> tokenizer = textbones.models.BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"])
    >>> config = serialized_json(tokenizer)
    >>> config["registered_name"]
    'keras_hub>BertTokenizer'
    >>> type(deserialize(config, textbones.tokenizers.Tokenizer)).__module__
    'textbones.models.bert.tokenizer'
    >>> deserialize(  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    ...     config, textbones.models.Backbone, "the backbone")
    Traceback (most recent call last):
    ...
    TypeError: the backbone must be a textbones.models.backbone.Backbone, but its config
    describes a textbones.models.bert.tokenizer.BertTokenizer. ...
    """
    if config is None:
        return None
    if not isinstance(config, dict):
        if isinstance(config, (str, list)):
            config = keras.saving.deserialize_keras_object(config)
        return _checked(config, expected, what)
    klass = _class_of_config(config)
    if klass is None:
        if expected is not None and (config.get("module") or "").split(".")[0] in _OWN_PACKAGES:
            name = config.get("registered_name") or config.get("class_name")
            raise ValueError(
                f"{what} is a {name}, which textbones does not implement. Use a config "
                f"written for one of textbones' {expected.__name__} classes."
            )
        return _checked(keras.saving.deserialize_keras_object(config), expected, what)
    if expected is not None and not issubclass(klass, expected):
        raise TypeError(
            f"{what} must be a {qualified_name(expected)}, but its config describes a "
            f"{qualified_name(klass)}. Check that the config was saved from the same kind "
            "of object."
        )
    return klass.from_config(config.get("config") or {})


def _checked(value: Any, expected: type | None, what: str) -> Any:
    if expected is not None and value is not None and not isinstance(value, expected):
        raise TypeError(
            f"{what} must be a {qualified_name(expected)}, got a "
            f"{qualified_name(type(value))}. Build it with textbones' classes."
        )
    return value
