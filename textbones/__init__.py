"""textbones: pretrained BERT, ALBERT and FNet text models for Keras 3.

The API is KerasHub's, so existing code runs after ``import textbones as keras_nlp``
(or ``as keras_hub``); preprocessing needs no TensorFlow, and any Keras backend works.

Example:

>>> import textbones as keras_nlp
>>> sorted(keras_nlp.models.FNetBackbone.presets)
['f_net_base_en', 'f_net_large_en']
"""

from textbones import layers, models, tokenizers
from textbones.version import __version__

__all__ = ["__version__", "layers", "models", "tokenizers"]
