"""Losses for training text embedders on raw text pairs.

Example:

>>> import textbones
>>> textbones.losses.MultipleNegativesRankingLoss().scale
20.0
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

__all__ = ["MultipleNegativesRankingLoss"]


@keras.saving.register_keras_serializable(package="textbones")
class MultipleNegativesRankingLoss(keras.losses.Loss):
    """Contrastive loss with in-batch negatives, for ``(anchor, positive[, negative])`` rows.

    The batch holds ``k`` columns of ``B`` embeddings each, stacked: the ``B`` anchors,
    then their ``B`` positives, then (for ``k = 3``) one hard negative each. Every anchor
    is scored against every positive and negative of the batch (``scale`` times their
    cosine similarity), and the loss is the cross-entropy of picking its own positive:
    the other rows' positives serve as negatives for free. A batch should therefore hold
    no text twice (``TextEmbedder.fit`` arranges its batches so).

    ``y_true`` says which column each row belongs to, one one-hot row of ``k`` values per
    embedding (a ``TextEmbedderPreprocessor`` makes it from the tuple of texts); only its
    width ``k`` is read.

    Args:
        scale: the factor on the similarities (an inverse temperature), 20 by default.
        similarity: ``"cosine"`` (the default) or ``"dot"``.
        **kwargs: ``name``, ``reduction`` and other ``keras.losses.Loss`` arguments.

    Example:

    >>> import numpy as np
    >>> anchors = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> positives = np.array([[0.9, 0.1], [0.1, 0.9]])
    >>> columns = np.repeat(np.eye(2, dtype="float32"), 2, axis=0)
    >>> loss = MultipleNegativesRankingLoss()
    >>> round(float(loss(columns, np.concatenate([anchors, positives]))), 4)
    0.0
    >>> round(float(loss(columns, np.concatenate([anchors, positives[::-1]]))), 2)
    17.67
    """

    def __init__(self, scale: float = 20.0, similarity: str = "cosine", **kwargs):
        if similarity not in ("cosine", "dot"):
            raise ValueError(f"`similarity` must be 'cosine' or 'dot', got {similarity!r}.")
        kwargs.setdefault("name", "multiple_negatives_ranking_loss")
        super().__init__(**kwargs)
        self.scale = float(scale)
        self.similarity = similarity

    def call(self, y_true, y_pred):
        columns = y_true.shape[-1]
        if columns is None:  # a graph traced with the labels' width unknown (TensorFlow)
            columns = ops.shape(y_true)[-1]
        elif columns < 2:
            raise ValueError(
                "MultipleNegativesRankingLoss needs at least two columns of texts (anchors and "
                f"positives), but the labels name {columns}. Train on a tuple "
                "`(anchors, positives)` or `(anchors, positives, negatives)` of lists of texts."
            )
        embeddings = ops.cast(y_pred, "float32")
        if self.similarity == "cosine":
            norms = ops.sqrt(ops.sum(ops.square(embeddings), axis=-1, keepdims=True))
            embeddings = embeddings / ops.maximum(norms, 1e-12)
        rows = ops.shape(embeddings)[0] // columns
        anchors, candidates = embeddings[:rows], embeddings[rows:]
        scores = self.scale * ops.matmul(anchors, ops.transpose(candidates))
        # The anchor of row i has its positive at column i of the candidates.
        own = ops.sum(anchors * candidates[:rows], axis=-1) * self.scale
        return ops.logsumexp(scores, axis=-1) - own

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "similarity": self.similarity}
