"""Tables that say which ``transformers`` tensor fills which Keras variable, and how.

A family's converter is a list of :class:`Rule`, each a source key (without the base
model's prefix), a target variable path (``variable.path`` inside the Keras model) and a
:class:`Layout` that turns the torch tensor into the Keras value and back. The same table
drives loading and exporting. Tables are written with the helpers below, one line per
torch module::

    module("encoder.layer.0.attention.self.query",
           "transformer_layer_0/self_attention_layer/query", HEADS_IN)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class Layout(NamedTuple):
    """How one tensor is laid out on each side.

    ``torch_input_axes`` is, for a kernel, how many leading Keras axes are the input
    (the torch ``Linear`` weight is ``[out, in]`` with both flattened); 0 means the
    tensor is stored as is, only reshaped (biases split over heads keep their values in
    order).
    """

    torch_input_axes: int

    def to_keras(self, array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        if self.torch_input_axes:
            array = array.T
        return array.reshape(shape)

    def to_torch(self, array: np.ndarray, torch_shape: tuple[int, ...] | None = None) -> np.ndarray:
        if self.torch_input_axes:
            rows = math.prod(array.shape[: self.torch_input_axes])
            return array.reshape(rows, -1).T
        return array.reshape(torch_shape if torch_shape is not None else array.shape)

    def torch_shape(self, keras_shape: tuple[int, ...], flatten: bool) -> tuple[int, ...]:
        if self.torch_input_axes:
            n = self.torch_input_axes
            return (math.prod(keras_shape[n:]), math.prod(keras_shape[:n]))
        return (math.prod(keras_shape),) if flatten else tuple(keras_shape)


#: A torch ``Linear`` weight ``[out, in]`` to a Keras kernel ``[in, ...out]``.
_LINEAR = Layout(1)
#: A torch ``Linear`` weight ``[out, heads * head_dim]`` to a kernel ``[heads, head_dim, out]``.
_LINEAR_FROM_HEADS = Layout(2)
#: Stored alike on both sides (possibly reshaped).
_AS_IS = Layout(0)


class Rule(NamedTuple):
    """One tensor: ``source`` key (no base prefix), ``target`` variable path, its layout.

    ``flatten``: the torch tensor is 1-D while the Keras one is not (a query bias
    ``[heads * head_dim]`` against ``[heads, head_dim]``).
    """

    source: str
    target: str
    layout: Layout
    flatten: bool = False


# Kinds of torch modules, each a list of (parameter, Keras variable, layout, flatten).
DENSE = (("weight", "kernel", _LINEAR, False), ("bias", "bias", _AS_IS, False))
HEADS_IN = (("weight", "kernel", _LINEAR, False), ("bias", "bias", _AS_IS, True))
HEADS_OUT = (("weight", "kernel", _LINEAR_FROM_HEADS, False), ("bias", "bias", _AS_IS, False))
LAYER_NORM = (("weight", "gamma", _AS_IS, False), ("bias", "beta", _AS_IS, False))
EMBEDDING = (("weight", "embeddings", _AS_IS, False),)
BIAS = (("", "", _AS_IS, False),)


def module(source: str, target: str, kind) -> list[Rule]:
    """The rules of one torch module (``kind``: ``DENSE``, ``LAYER_NORM``, ...).

    Example:

    >>> [rule.source for rule in module("pooler.dense", "pooled_dense", DENSE)]
    ['pooler.dense.weight', 'pooler.dense.bias']
    """
    return [
        Rule(
            f"{source}.{parameter}" if parameter else source,
            f"{target}/{variable}" if variable else target,
            layout,
            flatten,
        )
        for parameter, variable, layout, flatten in kind
    ]


def modules(source_prefix: str, target_prefix: str, table) -> list[Rule]:
    """The rules of a table of ``(source suffix, target suffix, kind)`` under two prefixes."""
    return [
        rule
        for source, target, kind in table
        for rule in module(source_prefix + source, target_prefix + target, kind)
    ]


def legacy_names(key: str) -> list[str]:
    """Other names older checkpoints use for ``key`` (TF-era layer norms: ``gamma``/``beta``).

    Example:

    >>> legacy_names("embeddings.LayerNorm.weight")
    ['embeddings.LayerNorm.gamma']
    """
    if key.endswith(".weight"):
        return [key[: -len("weight")] + "gamma"]
    if key.endswith(".bias"):
        return [key[: -len("bias")] + "beta"]
    return []
