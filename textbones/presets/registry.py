"""The built-in presets: their Kaggle handles, descriptions and shipped backbone configs.

Each family ships its presets in its own folder (``models/<family>/presets.json``, read by
its ``family.py``), so ``from_preset(name, load_weights=False)`` builds the right
architecture with no download; this module reads them from ``textbones.registry``.
"""

from collections.abc import Mapping
from typing import Any

from textbones import registry


def builtin_presets() -> dict[str, Mapping[str, Any]]:
    """Every built-in preset by name, over the registered families.

    Each entry holds ``family`` (the family's name, such as ``"f_net"``), ``class_name``
    (the backbone class), ``parameter_count``, ``description``, ``kaggle_handle``, the
    backbone constructor arguments under ``config``, and for task presets ``task`` (the
    task's base class, such as ``"TextEmbedder"``) and optionally ``task_config`` (head
    arguments that task is built with, such as an embedder's ``pooling_mode``).

    Example:

    >>> import textbones
    >>> builtin_presets()["bert_tiny_en_uncased"]["parameter_count"]
    4385920
    >>> builtin_presets()["f_net_base_en"]["family"]
    'f_net'
    >>> builtin_presets()["bge_small_en"]["task_config"]
    {'pooling_mode': 'cls', 'normalize': True}
    """
    return registry.builtin_presets()


def presets_for_class(class_names: set[str]) -> dict[str, dict[str, Any]]:
    """The built-in presets whose backbone class is one of ``class_names``, by name.

    Example:

    >>> import textbones
    >>> sorted(presets_for_class({"FNetBackbone"}))
    ['f_net_base_en', 'f_net_large_en']
    """
    return {
        name: {
            "description": entry["description"],
            "parameter_count": entry["parameter_count"],
            "kaggle_handle": entry["kaggle_handle"],
            "family": entry["family"],
        }
        for name, entry in builtin_presets().items()
        if entry["class_name"] in class_names
    }
