"""LoRA on every backbone: enable, train, save and load adapters (KerasHub's ``.lora.h5``), merge.

LoRA (low-rank adaptation) freezes a backbone and learns, for a few of its kernels ``W``,
two thin factors ``A`` (``[..., rank]``) and ``B`` (``[rank, ...]``): the layer computes
with ``W + (lora_alpha / rank) * A @ B``. ``B`` starts at zero, so a freshly enabled
backbone computes exactly what it did. Keras' own ``enable_lora`` of ``Dense``,
``EinsumDense`` and ``Embedding`` does the arithmetic; :class:`LoraAdapters` (a base of
``Backbone``) chooses the layers, freezes the rest, and moves adapters in and out.
"""

from __future__ import annotations

import numbers
import os
import pathlib
from collections.abc import Sequence

import keras
import numpy as np

from textbones.keras_internals import fold_lora, lora_adapters, weighted_sublayers
from textbones.presets.lora_file import read_lora_file, write_lora_file

#: KerasHub's default targets: the query and value projections of every attention block
#: (textbones' attention names them ``query`` and ``value``).
DEFAULT_LORA_LAYER_NAMES = ("query_dense", "value_dense", "query", "value")


def _check_rank(rank) -> int:
    if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or rank < 1:
        raise ValueError(f"`rank` must be an integer >= 1, got {rank!r}.")
    return int(rank)


def _check_alpha(lora_alpha) -> float | None:
    if lora_alpha is None:
        return None
    if (
        isinstance(lora_alpha, bool)
        or not isinstance(lora_alpha, numbers.Real)
        or not np.isfinite(lora_alpha)
        or lora_alpha <= 0
    ):
        raise ValueError(
            f"`lora_alpha` must be a positive number (or None for the rank), got {lora_alpha!r}."
        )
    return float(lora_alpha)


class LoraAdapters:
    """LoRA for a Keras model made of Keras layers: the ``Backbone`` methods
    ``enable_lora``, ``save_lora_weights``, ``load_lora_weights`` and ``merge_lora``.

    The adapters of a backbone are the layers it numbers like KerasHub (its layers that
    have weights, depth first), so an adapter file written here loads into KerasHub's
    backbone of the same family and config, and the other way round.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.BertBackbone(100, 2, 2, 8, 16, max_sequence_length=16)
    >>> backbone.enable_lora(rank=2)
    >>> sorted({v.path.split("/")[-1] for v in backbone.trainable_weights})
    ['bias', 'lora_kernel_a', 'lora_kernel_b']
    >>> sorted(backbone.lora_layer_names())[:2]
    ['transformer_layer_0/self_attention_layer/query', \
'transformer_layer_0/self_attention_layer/value']
    """

    def default_lora_layer_names(self) -> list[str]:
        """The names of the layers ``enable_lora()`` adapts when given no names: the
        attention blocks' query and value projections (KerasHub's default).

        Example:

        >>> import textbones
        >>> textbones.models.BertBackbone(100, 1, 2, 8, 16).default_lora_layer_names()
        ['query_dense', 'value_dense', 'query', 'value']
        """
        return list(DEFAULT_LORA_LAYER_NAMES)

    @property
    def lora_rank(self) -> int | None:
        """The rank of the enabled adapters, or ``None`` when LoRA is not enabled."""
        return getattr(self, "_lora_rank", None) if self._lora_indices() else None

    def _lora_indices(self) -> list[int]:
        return list(getattr(self, "_lora_enabled_layers", None) or [])

    def lora_layer_names(self) -> list[str]:
        """The paths of the layers whose adapters are enabled (empty when none are).

        Example:

        >>> import textbones
        >>> textbones.models.FNetBackbone(100, 1, 8, 16).lora_layer_names()
        []
        """
        layers = weighted_sublayers(self)
        return [layers[index].path for index in self._lora_indices()]

    def enable_lora(
        self,
        rank: int,
        target_layer_names: Sequence[str] | None = None,
        lora_alpha: float | None = None,
    ) -> None:
        """Freeze the backbone and give the layers named ``target_layer_names`` LoRA
        adapters of rank ``rank``, scaled by ``lora_alpha / rank``.

        Everything but the adapters (and the adapted layers' biases) stops training;
        a task's head, outside the backbone, keeps training. Compile the model again
        afterwards. Saving a preset or a ``.keras`` file stores the merged kernels.

        Args:
            rank: the adapters' rank.
            target_layer_names: names of the layers to adapt (every layer of that name);
                ``None`` for ``default_lora_layer_names()``. Each name must match a
                layer that supports LoRA (a ``Dense``, ``EinsumDense`` or
                ``Embedding``).
            lora_alpha: the scale's numerator; ``None`` for ``rank`` (scale 1, as
                KerasHub computes).

        Example:

        >>> import textbones
        >>> backbone = textbones.models.FNetBackbone(100, 2, 8, 16)
        >>> backbone.enable_lora(4, lora_alpha=8)  # FNet: its feed-forward kernels
        >>> len(backbone.lora_layer_names()), backbone.lora_rank
        (4, 4)
        >>> backbone.enable_lora(4)
        Traceback (most recent call last):
        ...
        ValueError: LoRA is already enabled on this FNetBackbone (rank 4, 4 layers). ...
        """
        rank = _check_rank(rank)
        lora_alpha = _check_alpha(lora_alpha)
        if self._lora_indices():
            raise ValueError(
                f"LoRA is already enabled on this {type(self).__name__} (rank {self.lora_rank}, "
                f"{len(self._lora_indices())} layers). Call merge_lora() to fold those "
                "adapters into the kernels first, or start from a fresh backbone."
            )
        explicit = target_layer_names is not None
        if isinstance(target_layer_names, str):
            raise TypeError(
                "`target_layer_names` must be a list of layer names, got the string "
                f"{target_layer_names!r}: pass [{target_layer_names!r}]."
            )
        names = list(self.default_lora_layer_names() if not explicit else target_layer_names)
        if not all(isinstance(name, str) for name in names):
            raise TypeError(f"`target_layer_names` must hold strings, got {names!r}.")
        layers = weighted_sublayers(self)
        adaptable = sorted({layer.name for layer in layers if hasattr(layer, "enable_lora")})
        for name in names:
            matches = [layer for layer in layers if layer.name == name]
            if matches and not any(hasattr(layer, "enable_lora") for layer in matches):
                raise ValueError(
                    f"The layer {name!r} ({type(matches[0]).__name__}) does not support LoRA. "
                    f"Layers of this {type(self).__name__} that do: {', '.join(adaptable)}."
                )
            if explicit and not matches:
                raise ValueError(
                    f"This {type(self).__name__} has no layer named {name!r}. Layers that "
                    f"support LoRA: {', '.join(adaptable)}."
                )
        indices = [
            index
            for index, layer in enumerate(layers)
            if layer.name in names and hasattr(layer, "enable_lora")
        ]
        if not indices:
            raise ValueError(
                f"None of the layers {names} is in this {type(self).__name__}: pass "
                f"`target_layer_names` from {', '.join(adaptable)}."
            )
        self._enable_lora_at(indices, rank, lora_alpha)

    def _enable_lora_at(self, indices: list[int], rank: int, lora_alpha: float | None) -> None:
        layers = weighted_sublayers(self)
        every_layer = list(self._flatten_layers(include_self=True))
        # Flags only (a list holding layers would be tracked as sub-layers of the model).
        self._lora_trainable_before = tuple(bool(layer.trainable) for layer in every_layer)
        self.trainable = True
        every_layer = every_layer[1:]
        for layer in every_layer:
            layer.trainable = False
        for index in indices:
            layers[index].trainable = True
            layers[index].enable_lora(rank, lora_alpha=lora_alpha)
        self._lora_enabled_layers = list(indices)
        self._lora_rank = rank
        self._lora_alpha = float(lora_alpha if lora_alpha is not None else rank)

    def _require_lora(self, action: str) -> list[int]:
        indices = self._lora_indices()
        if not indices:
            raise ValueError(
                f"LoRA is not enabled on this {type(self).__name__}, so there is nothing to "
                f"{action}: call enable_lora(rank) first."
            )
        return indices

    def save_lora_weights(self, filepath: str | os.PathLike) -> None:
        """Write the adapters to ``filepath`` (a name ending in ``.lora.h5``), in KerasHub's
        layout (plus ``lora_alpha``, which KerasHub ignores).

        The file is written beside the target and renamed over it when complete; an
        existing adapter file is replaced, any other file refused.

        Example:

        >>> import pathlib, tempfile, textbones
        >>> backbone = textbones.models.BertBackbone(100, 1, 2, 8, 16)
        >>> backbone.enable_lora(2)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "adapters.lora.h5"
        >>> backbone.save_lora_weights(path)
        >>> fresh = textbones.models.BertBackbone(100, 1, 2, 8, 16)
        >>> fresh.load_lora_weights(path)  # enables LoRA on the same layers
        >>> fresh.lora_layer_names() == backbone.lora_layer_names()
        True
        """
        indices = self._require_lora("save")
        layers = weighted_sublayers(self)
        adapters = {}
        for index in indices:
            a, b = lora_adapters(layers[index])
            scale = layers[index].lora_alpha / layers[index].lora_rank
            adapters[index] = (
                keras.ops.convert_to_numpy(a),
                keras.ops.convert_to_numpy(b) * np.float32(scale),
            )
        write_lora_file(filepath, self._lora_rank, self._lora_alpha, adapters)

    def load_lora_weights(self, filepath: str | os.PathLike) -> None:
        """Load adapters from ``filepath`` (written here or by KerasHub's
        ``save_lora_weights`` for the same family and config).

        Without LoRA enabled, it is enabled on the layers the file adapts, with the file's
        rank and ``lora_alpha``. With LoRA enabled, the rank and the adapted layers must
        be the file's. Shapes are checked before anything is assigned.
        """
        rank, alpha, adapters = read_lora_file(filepath)
        shown = str(pathlib.Path(os.fspath(filepath)))
        layers = weighted_sublayers(self)
        unknown = [index for index in adapters if index >= len(layers)]
        if unknown or not adapters:
            raise ValueError(
                f"{shown!r} adapts layers {sorted(adapters)}, but this {type(self).__name__} "
                f"has {len(layers)} layers with weights: it was saved from another model."
            )
        if not self._lora_indices():
            not_adaptable = [i for i in adapters if not hasattr(layers[i], "enable_lora")]
            if not_adaptable:
                raise ValueError(
                    f"{shown!r} adapts layer {not_adaptable[0]} ({layers[not_adaptable[0]].path}"
                    "), which does not support LoRA: it was saved from another model."
                )
            for index, (a, b) in adapters.items():
                _check_shapes(layers[index], a, b, None, shown)
            self._enable_lora_at(sorted(adapters), rank, alpha)
        else:
            if rank != self._lora_rank:
                raise ValueError(
                    f"{shown!r} holds adapters of rank {rank}, but LoRA is enabled here with "
                    f"rank {self._lora_rank}: enable it with enable_lora({rank}) instead."
                )
            if sorted(adapters) != self._lora_indices():
                ours = [layers[index].path for index in self._lora_indices()]
                theirs = [layers[index].path for index in sorted(adapters)]
                raise ValueError(
                    f"{shown!r} adapts {theirs}, but LoRA is enabled here on {ours}: enable it "
                    "on the file's layers, or load the file into a backbone without LoRA."
                )
        for index, (a, b) in adapters.items():
            _check_shapes(layers[index], a, b, rank, shown)
        for index, (a, b) in adapters.items():
            layer = layers[index]
            variable_a, variable_b = lora_adapters(layer)
            scale = layer.lora_alpha / layer.lora_rank
            variable_a.assign(a)
            variable_b.assign(b / np.float32(scale))

    def merge_lora(self) -> None:
        """Fold the adapters into their kernels (``W + (lora_alpha / rank) * A @ B``) and
        make the backbone a plain one again, trainable as it was before ``enable_lora``.

        The backbone computes what it computed with its adapters; it then exports to
        transformers, saves, loads and quantizes like any other. Compile again before
        training.

        Example:

        >>> import numpy as np, textbones
        >>> backbone = textbones.models.BertBackbone(100, 1, 2, 8, 16)
        >>> backbone.enable_lora(2)
        >>> backbone.merge_lora()
        >>> backbone.lora_rank, len(backbone.trainable_weights) == len(backbone.weights)
        (None, True)
        """
        indices = self._require_lora("merge")
        layers = weighted_sublayers(self)
        for index in indices:
            fold_lora(layers[index])
        flags = getattr(self, "_lora_trainable_before", ())
        for layer, trainable in zip(self._flatten_layers(include_self=True), flags):
            layer.trainable = trainable
        self._lora_enabled_layers = []
        self._lora_rank = None
        self._lora_alpha = None
        self._lora_trainable_before = ()


def _check_shapes(layer, a: np.ndarray, b: np.ndarray, rank: int | None, shown: str) -> None:
    adapters = lora_adapters(layer)
    if adapters is not None:
        expected = (tuple(adapters[0].shape), tuple(adapters[1].shape))
    else:  # not enabled yet: the shapes enabling it would give
        weight = layer.kernel if hasattr(layer, "kernel") else layer.embeddings
        rank = a.shape[-1] if rank is None else rank
        expected = (tuple(weight.shape[:-1]) + (rank,), (rank, weight.shape[-1]))
    if (tuple(a.shape), tuple(b.shape)) != expected:
        raise ValueError(
            f"{shown!r} gives {layer.path} adapters of shapes {tuple(a.shape)} and "
            f"{tuple(b.shape)}, but it needs {expected[0]} and {expected[1]}: the file was "
            "saved from a backbone of another size."
        )
