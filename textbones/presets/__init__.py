"""Where models come from and go to: handles, downloads, preset files and formats.

The formats a preset can be in register here, in the order ``preset_format`` asks them:
a sentence-transformers folder (a ``transformers`` checkpoint with a ``modules.json``),
a ``transformers`` checkpoint, then a Keras preset (KerasHub's layout).
"""

from textbones.presets import keras_preset  # noqa: F401  (registers the Keras format)
from textbones.presets.conversion import convert
from textbones.presets.sentence_transformers import st_format  # noqa: F401  (sentence-transformers')
from textbones.presets.transformers import checkpoint_format  # noqa: F401  (and transformers')

__all__ = ["convert"]
