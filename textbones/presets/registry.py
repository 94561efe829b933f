"""The built-in presets: their Kaggle handles, descriptions and shipped backbone configs.

The configs of every built-in preset ship inside the package (``builtin/*.json``), so
``from_preset(name, load_weights=False)`` builds the right architecture with no download.
"""

import functools
import importlib.resources
import json
from typing import Any


@functools.cache
def builtin_presets() -> dict[str, dict[str, Any]]:
    """Every built-in preset by name.

    Each entry holds ``family`` (``"bert"``, ``"albert"`` or ``"f_net"``), ``class_name``
    (the backbone class), ``parameter_count``, ``description``, ``kaggle_handle``, the
    backbone constructor arguments under ``config``, and ``task`` for task presets.

    Example:

    >>> builtin_presets()["bert_tiny_en_uncased"]["parameter_count"]
    4385920
    """
    presets = {}
    folder = importlib.resources.files("textbones.presets").joinpath("builtin")
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".json"):
            presets.update(json.loads(entry.read_text(encoding="utf-8")))
    return presets


def presets_for_class(class_names: set[str]) -> dict[str, dict[str, Any]]:
    """The built-in presets whose backbone class is one of ``class_names``, by name.

    Example:

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
