"""Register textbones classes with Keras under their own and KerasHub's names.

Presets written by KerasHub (or KerasNLP before it) name their classes
``keras_hub>BertBackbone`` or ``keras_nlp>BertTokenizer``. Registering our classes under
those names too lets ``keras.saving.deserialize_keras_object`` build textbones objects from
such configs. The KerasHub names are only claimed if nobody (KerasHub itself, say) holds them.
"""

import keras


def register_keras_hub_aliases(cls: type) -> type:
    """Make ``keras_hub>Name`` and ``keras_nlp>Name`` resolve to ``cls`` unless already taken.

    Example:

    >>> import keras
    >>> class Demo:
    ...     pass
    >>> _ = register_keras_hub_aliases(Demo)
    >>> keras.saving.get_custom_objects()["keras_hub>Demo"] is Demo
    True
    """
    custom_objects = keras.saving.get_custom_objects()
    for package in ("keras_hub", "keras_nlp"):
        custom_objects.setdefault(f"{package}>{cls.__name__}", cls)
    return cls
