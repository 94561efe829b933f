"""Where models come from and go to: handles, downloads, preset files and formats."""

from textbones.presets.conversion import convert

__all__ = ["convert"]
