"""Keras' safe mode for tokenizers: a config being deserialized may not name files to read.

``keras.models.load_model`` and ``keras.saving.deserialize_keras_object`` build objects
from configs that may come from anywhere, and run in *safe mode* unless told otherwise.
A tokenizer config naming a vocabulary or proto file (``"vocabulary": "/etc/passwd"``)
would make ``set_vocabulary``/``set_proto`` read any file on the machine, so in safe mode
they refuse paths, as KerasHub's do. The vocabulary of a saved task or preset still loads:
Keras and textbones read it from the archive's or preset's assets (``load_assets``) after
the config is deserialized, outside the safe-mode scope. Vocabularies given in memory
(lists of tokens, proto bytes) are always accepted.

Keras exposes the current mode only internally; ``textbones.keras_internals`` reads it.
"""

import base64
import binascii
import os

from textbones import keras_internals


def in_safe_mode() -> bool:
    """Whether Keras is deserializing in safe mode right now.

    ``True`` inside ``keras.saving.deserialize_keras_object(..., safe_mode=True)`` (the
    default, also used by ``keras.models.load_model``) unless
    ``keras.config.enable_unsafe_deserialization()`` was called; ``False`` outside any
    deserialization.

    Example:

    >>> in_safe_mode()
    False
    """
    return keras_internals.in_safe_mode()


def refuse_file_in_safe_mode(source: object, what: str, owner: object) -> None:
    """Raise a ``ValueError`` if ``source`` is a file to read while Keras is in safe mode.

    Args:
        source: what ``set_vocabulary``/``set_proto`` was given. Only a path (a string or
            ``os.PathLike``) is refused; for ``what="proto"`` a string holding a
            base64-encoded model (KerasHub's in-config form) is not a path, unless a file
            of that name exists.
        what: ``"vocabulary"`` or ``"proto"``, named in the message.
        owner: the tokenizer, whose class the message names.

    Example:

    >>> import keras
    >>> from textbones.models import BertTokenizer
    >>> config = {"module": "keras_hub.src.models.bert.bert_tokenizer",
    ...           "class_name": "BertTokenizer", "registered_name": "keras_hub>BertTokenizer",
    ...           "config": {"vocabulary": "/etc/hostname"}}
    >>> keras.saving.deserialize_keras_object(config)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: BertTokenizer will not read the vocabulary file '/etc/hostname': Keras is ...
    """
    if not isinstance(source, (str, os.PathLike)) or not in_safe_mode():
        return
    if what == "proto" and isinstance(source, str) and _is_inline_model(source):
        return
    owner_name = type(owner).__name__
    in_memory = "a list of tokens" if what == "vocabulary" else "the model's bytes"
    raise ValueError(
        f"{owner_name} will not read the {what} file {os.fspath(source)!r}: Keras is "
        "deserializing in safe mode, and a config that names a file outside the archive "
        "could make it read any file on this machine. Saved models and presets keep their "
        f"{what} in their assets, which still load. If you trust this config, load it with "
        "`safe_mode=False` (or call `keras.config.enable_unsafe_deserialization()` first); "
        f"otherwise pass the {what} itself ({in_memory})."
    )


def _is_inline_model(text: str) -> bool:
    """Whether ``text`` is base64 data (a model written into a config), not a file name."""
    if not text or os.path.lexists(text):
        return False
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
