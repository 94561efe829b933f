"""Picking the class a preset names and building it: the steps every format shares.

Classes are found by name in the registry (``textbones.registry.classes``), through
``textbones.serialization.textbones_class`` (so ``keras_hub>BertBackbone`` is textbones'
class, whatever else is imported), and checked against the class the caller used.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

from textbones import registry
from textbones.serialization import textbones_class


def checked_class(klass: type, requested_cls: type, source: str) -> type:
    """``klass`` (what ``source`` holds), if ``requested_cls.from_preset`` may build it.

    Example:

    >>> import textbones
    >>> from textbones.models import BertBackbone, FNetBackbone
    >>> checked_class(FNetBackbone, BertBackbone, "a preset")
    Traceback (most recent call last):
    ...
    ValueError: BertBackbone.from_preset cannot load a preset: it holds a FNetBackbone. ...
    """
    if not issubclass(klass, requested_cls):
        raise ValueError(
            f"{requested_cls.__name__}.from_preset cannot load {source}: it holds a "
            f"{klass.__name__}. Call {klass.__name__}.from_preset, or the base class's "
            "from_preset to take whatever class the preset names."
        )
    return klass


def class_named(kind: str, class_name: str, requested_cls: type, source: str) -> type:
    """The registered class of ``kind`` (``"backbone"``, ``"tokenizer"``, ...) called
    ``class_name``, checked against the class the caller used.

    Example:

    >>> import textbones
    >>> from textbones.models import Backbone
    >>> class_named("backbone", "keras_hub>FNetBackbone", Backbone, "a preset").__name__
    'FNetBackbone'
    >>> class_named("backbone", "GPT2Backbone", Backbone, "a preset")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: a preset holds a GPT2Backbone, which textbones does not implement ...
    """
    known = registry.classes(kind)
    klass = textbones_class(class_name)
    if klass is None or known.get(klass.__name__) is not klass:
        raise ValueError(
            f"{source} holds a {class_name}, which textbones does not implement "
            f"(it implements {', '.join(sorted(known))}). Use a preset of one of those families."
        )
    return checked_class(klass, requested_cls, source)


def class_name_of(config: dict[str, Any], config_path: pathlib.Path) -> str:
    """The class a Keras-format JSON file names (its ``registered_name``, without package).

    Example:

    >>> import pathlib
    >>> class_name_of({"registered_name": "keras_hub>BertTokenizer"}, pathlib.Path("t.json"))
    'BertTokenizer'
    """
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


def instantiate(klass: type, config: dict[str, Any], source: str):
    """``klass.from_config(config)``, a ``TypeError`` turned into a message naming ``source``.

    Example:

    >>> import textbones
    >>> instantiate(textbones.models.FNetBackbone, {"width": 3}, "a preset")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The config of a preset does not fit FNetBackbone: ...
    """
    try:
        return klass.from_config(config)
    except TypeError as error:
        raise ValueError(
            f"The config of {source} does not fit {klass.__name__}: {error}. "
            "Check the keyword arguments you passed to `from_preset`, or that the preset "
            "was written for this class."
        ) from None
