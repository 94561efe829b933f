"""``EmbeddingPooling``: per-token features to one vector per text (sentence embeddings)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

#: Every pooling mode, in the order their vectors are concatenated when several are asked
#: for (the order sentence-transformers' ``Pooling`` module uses).
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")


def pooling_modes(pooling_mode: str | Sequence[str]) -> tuple[str, ...]:
    """The modes ``pooling_mode`` asks for, checked, in concatenation order.

    ``pooling_mode`` is one mode or a sequence of them; each of ``POOLING_MODES`` may appear
    once. A ``ValueError`` names an unknown mode and lists the known ones.

    Example:

    >>> pooling_modes("mean")
    ('mean',)
    >>> pooling_modes(["mean", "cls"])
    ('cls', 'mean')
    >>> pooling_modes("avg")
    Traceback (most recent call last):
    ...
    ValueError: Unknown pooling_mode 'avg'. Use one of 'cls', 'max', 'mean', \
'mean_sqrt_len_tokens', 'weightedmean', 'lasttoken', or a list of several.
    """
    modes = (pooling_mode,) if isinstance(pooling_mode, str) else tuple(pooling_mode)
    known = ", ".join(map(repr, POOLING_MODES))
    for mode in modes:
        if mode not in POOLING_MODES:
            raise ValueError(
                f"Unknown pooling_mode {mode!r}. Use one of {known}, or a list of several."
            )
    if not modes:
        raise ValueError(f"`pooling_mode` names no mode. Use one of {known}, or a list of several.")
    if len(set(modes)) != len(modes):
        raise ValueError(f"`pooling_mode` names a mode twice: {list(modes)}.")
    return tuple(mode for mode in POOLING_MODES if mode in modes)


@keras.saving.register_keras_serializable(package="textbones")
class EmbeddingPooling(keras.layers.Layer):
    """Pools a sequence's token features into one vector, then optionally L2-normalizes it.

    Only the tokens whose mask is 1 count. With ``prompt_length`` (one integer per row),
    the first ``prompt_length`` positions are left out too: the start token and the
    prompt's tokens, for a model that pools without its prompt.

    The modes, with ``m`` the mask and ``h`` the features:

    - ``"cls"``: ``h`` at the first position whose mask is 1;
    - ``"max"``: the largest value of each feature over the kept tokens;
    - ``"mean"``: ``sum(h * m) / max(sum(m), 1e-9)``;
    - ``"mean_sqrt_len_tokens"``: ``sum(h * m) / sqrt(max(sum(m), 1e-9))``;
    - ``"weightedmean"``: the mean weighted by positions 1, 2, ..., T;
    - ``"lasttoken"``: ``h`` at the last position whose mask is 1.

    Several modes give their vectors concatenated, in ``POOLING_MODES`` order.
    ``truncate_dim`` keeps the first dimensions of the (normalized) result, for
    Matryoshka models, as sentence-transformers truncates after its modules run.

    Args:
        pooling_mode: a mode, or a list of modes.
        normalize: divide each vector by its L2 norm.
        truncate_dim: keep only this many leading dimensions; ``None`` keeps all.
        **kwargs: ``name``, ``dtype`` and other ``keras.layers.Layer`` arguments.

    Example:

    >>> import keras, numpy as np
    >>> features = np.array([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]])
    >>> mask = np.array([[1, 1, 0]])
    >>> pool = lambda mode, **kwargs: keras.ops.convert_to_numpy(
    ...     EmbeddingPooling(mode)(features, mask, **kwargs)).tolist()
    >>> pool("mean")
    [[2.0, 3.0]]
    >>> pool(["cls", "max"])
    [[1.0, 2.0, 3.0, 4.0]]
    >>> pool("cls", prompt_length=np.array([1]))
    [[3.0, 4.0]]
    """

    def __init__(
        self,
        pooling_mode: str | Sequence[str] = "mean",
        normalize: bool = False,
        truncate_dim: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.modes = pooling_modes(pooling_mode)
        self.pooling_mode = pooling_mode if isinstance(pooling_mode, str) else list(pooling_mode)
        self.normalize = bool(normalize)
        if truncate_dim is not None and (
            isinstance(truncate_dim, bool) or not isinstance(truncate_dim, int) or truncate_dim < 1
        ):
            raise ValueError(
                f"`truncate_dim` must be a positive integer or None, got {truncate_dim!r}."
            )
        self.truncate_dim = truncate_dim
        self.supports_masking = False

    def call(self, sequence_features, padding_mask, prompt_length=None):
        features = sequence_features
        mask = ops.cast(padding_mask, features.dtype)
        length = ops.shape(features)[1]
        if prompt_length is not None:
            positions = ops.expand_dims(ops.arange(length, dtype="int32"), 0)
            kept = positions >= ops.expand_dims(ops.cast(prompt_length, "int32"), -1)
            mask = mask * ops.cast(kept, features.dtype)
        expanded = ops.expand_dims(mask, -1)
        pooled = []
        for mode in self.modes:
            if mode == "cls":
                pooled.append(_take_position(features, ops.argmax(mask, axis=1)))
            elif mode == "max":
                lowest = ops.cast(float("-inf"), features.dtype)
                pooled.append(ops.max(ops.where(expanded > 0, features, lowest), axis=1))
            elif mode == "lasttoken":
                reversed_first = ops.argmax(ops.flip(mask, axis=1), axis=1)
                has_token = ops.max(mask, axis=1) > 0
                last = ops.where(has_token, length - 1 - reversed_first, 0)
                pooled.append(_take_position(features, last))
            else:
                weights = expanded
                if mode == "weightedmean":
                    steps = ops.arange(1, length + 1, dtype=features.dtype)
                    weights = expanded * ops.reshape(steps, (1, -1, 1))
                total = ops.sum(features * weights, axis=1)
                count = ops.maximum(ops.sum(weights, axis=1), ops.cast(1e-9, features.dtype))
                pooled.append(
                    total / (ops.sqrt(count) if mode == "mean_sqrt_len_tokens" else count)
                )
        output = pooled[0] if len(pooled) == 1 else ops.concatenate(pooled, axis=-1)
        if self.normalize:
            norm = ops.sqrt(ops.sum(ops.square(output), axis=-1, keepdims=True))
            output = output / ops.maximum(norm, ops.cast(1e-12, output.dtype))
        if self.truncate_dim is not None:
            output = output[:, : self.truncate_dim]
        return output

    def compute_output_shape(self, sequence_features_shape, padding_mask_shape=None, *args):
        width = sequence_features_shape[-1]
        width = None if width is None else width * len(self.modes)
        if self.truncate_dim is not None and width is not None:
            width = min(width, self.truncate_dim)
        return (sequence_features_shape[0], width)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pooling_mode": self.pooling_mode,
            "normalize": self.normalize,
            "truncate_dim": self.truncate_dim,
        }


def _take_position(features, positions):
    """``features[b, positions[b], :]`` for every row ``b``."""
    index = ops.reshape(ops.cast(positions, "int32"), (-1, 1, 1))
    return ops.squeeze(ops.take_along_axis(features, index, axis=1), axis=1)
