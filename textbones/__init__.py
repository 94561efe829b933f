"""textbones: pretrained BERT, ALBERT and FNet text models for Keras 3.

The API is KerasHub's, so existing code runs after ``import textbones as keras_nlp``
(or ``as keras_hub``); preprocessing needs no TensorFlow, and any Keras backend works.
If no backend was chosen (``KERAS_BACKEND`` or ``~/.keras/keras.json``), the first
installed of JAX, PyTorch and TensorFlow is used.

Example:

>>> import textbones as keras_nlp
>>> sorted(keras_nlp.models.FNetBackbone.presets)
['f_net_base_en', 'f_net_large_en']
"""

from textbones.backend_choice import choose_default_backend

choose_default_backend()

from textbones import layers, losses, models, tokenizers  # noqa: E402
from textbones.presets.upload import upload_preset  # noqa: E402
from textbones.version import __version__  # noqa: E402

__all__ = ["__version__", "layers", "losses", "models", "tokenizers", "upload_preset"]
