"""Keras quantization (``quantize("int8")``, ``quantize("int4")``) for backbones and tasks, and
quantized models that save and load.

Keras' ``Model.quantize`` replaces the kernels of ``Dense``, ``EinsumDense`` and
``Embedding`` layers by quantized ones; what stays in floating point (layer norms, position
embeddings, dropout) it reports with one ``UserWarning`` per layer, which :class:`Quantizable`
keeps quiet: those layers are meant to stay as they are.

Saving: a quantized backbone's config gives its ``dtype`` as a ``DTypePolicyMap`` of each
quantized layer's policy by path (KerasHub's format, see ``Backbone.get_config``), so it is
built quantized again. A task's head is outside its backbone: a task's config lists its own
quantized layers' policies under ``"quantized_layers"``, and building the task from that
config quantizes those layers (through Keras' public ``dtype_policy`` setter) before the
weights load. KerasHub 0.32 has no such entry, and fails to reload a task whose head it
quantized.
"""

from __future__ import annotations

import re
import warnings

#: Keras' per-layer message for layers without a ``quantize`` method.
_NOT_QUANTIZABLE = re.compile(r"Layer \w+ does not have a `quantize` method implemented")


class Quantizable:
    """``quantize`` without Keras' warnings about the layers that stay in floating point.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.BertBackbone(100, 1, 2, 8, 16)
    >>> backbone.quantize("int8")  # no warnings
    >>> sorted({layer.quantization_mode for layer in backbone._flatten_layers()} - {None})
    ['int8']
    """

    def quantize(self, mode=None, config=None, filters=None, **kwargs) -> None:
        """Quantize the model's ``Dense``, ``EinsumDense`` and ``Embedding`` layers, as
        ``keras.Model.quantize`` does (``mode``: ``"int8"``, ``"int4"``, ...; ``filters``:
        a regex, list of regexes or callable choosing the layers).
        """
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_NOT_QUANTIZABLE.pattern)
            super().quantize(mode, config=config, filters=filters, **kwargs)
