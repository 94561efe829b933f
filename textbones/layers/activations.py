"""Activation functions named in model configs.

KerasHub's BERT, ALBERT and FNet weights were trained with the tanh approximation of
GELU, while Hugging Face's ``hidden_act="gelu"`` means the exact (erf) form. Both are
registered here under stable names so that a layer config can say which one it uses.
"""

import keras


@keras.saving.register_keras_serializable(package="textbones")
def gelu_approximate(x):
    """GELU with the tanh approximation, ``0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³)))``.

    Example:

    >>> import numpy as np
    >>> float(gelu_approximate(np.array(1.0, "float32")))  # doctest: +ELLIPSIS
    0.841...
    """
    return keras.activations.gelu(x, approximate=True)


def get_activation(identifier):
    """Resolve an activation given by name, serialized config or callable.

    ``"gelu_approximate"`` resolves to :func:`gelu_approximate`; every other name is
    looked up with ``keras.activations.get``.

    Example:

    >>> get_activation("gelu_approximate") is gelu_approximate
    True
    """
    if identifier == "gelu_approximate":
        return gelu_approximate
    return keras.activations.get(identifier)


def serialize_activation(activation) -> str | dict:
    """Return the name (or Keras config) that :func:`get_activation` turns back into ``activation``.

    Example:

    >>> serialize_activation(gelu_approximate), serialize_activation(get_activation("relu"))
    ('gelu_approximate', 'relu')
    """
    if activation is gelu_approximate:
        return "gelu_approximate"
    return keras.activations.serialize(activation)
