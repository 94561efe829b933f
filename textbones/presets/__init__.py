"""Where models come from and go to: handles, downloads, preset files and formats.

The formats a preset can be in register here, in the order ``preset_format`` asks them:
a Keras preset (KerasHub's layout), then a ``transformers`` checkpoint.
"""

from textbones.presets import keras_preset  # noqa: F401  (registers the Keras format)
from textbones.presets.conversion import convert
from textbones.presets.transformers import checkpoint_format  # noqa: F401  (and transformers')

__all__ = ["convert"]
