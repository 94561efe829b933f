"""Batches whose row count a data-parallel distribution can split: a multiple of its size.

JAX splits a batch over the devices of a mesh's batch axis only when they divide its rows,
so under ``keras.distribution.DataParallel`` (or ``ModelParallel`` with a batch axis) of 8
devices a last batch of 5 rows, or a batch of question-answering windows of any count, would
fail. :class:`EvenBatches` fills each such batch up to the next multiple with copies of its own
rows that weigh nothing:

* in training and evaluation the copies get sample weight 0, and either their labels are
  the loss's ``ignore_class`` (a token classifier's ``-100``: the loss averages over the
  labels it keeps) or the real rows' weights are scaled by ``padded / real`` (a loss that
  averages over the whole batch, Keras' ``"sum_over_batch_size"``), so that the loss, its
  gradient and every weighted metric are the same as on the unpadded batch. Unweighted
  metrics (``metrics=``) count the copies, and so does the running mean of the loss Keras
  reports (``history``), which weighs each batch by its rows: the epoch's figure moves a
  little, the training does not;
* in prediction the copies' outputs are dropped (:meth:`EvenBatches.drop_padding`).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from textbones.preprocessing.wrapped_batches import WrappedBatches


def batch_rows(x: Any) -> int:
    """The number of rows of a batch's inputs (the first axis of its first array)."""
    return int(np.shape(keras.tree.flatten(x)[0])[0])


def even_batch(
    batch: Any, multiple: int, scale_weights: bool = True, ignore_label: int | None = None
) -> tuple[Any, int]:
    """``batch`` (``x``, ``(x, y)`` or ``(x, y, sample_weight)``) with its rows made a multiple
    of ``multiple`` by repeating its own rows, and its number of real rows.

    With labels, the copies weigh 0, and either their labels become ``ignore_label`` (for a
    loss that leaves such labels out and averages over the rest, e.g. ``ignore_class=``) or,
    with ``scale_weights``, the real rows weigh ``padded / real`` (for a loss that averages
    over the whole batch). A batch with labels always comes back with weights, shaped as its
    labels where it had none: Keras' JAX trainer wants the same structure from every batch.

    Example:

    >>> x = {"token_ids": np.arange(6).reshape(3, 2)}
    >>> (x2, y2, weights), real = even_batch((x, np.array([0, 1, 1])), 4)
    >>> x2["token_ids"][:, 0].tolist(), y2.tolist(), [round(float(w), 3) for w in weights], real
    ([0, 2, 4, 0], [0, 1, 1, 0], [1.333, 1.333, 1.333, 0.0], 3)
    >>> tags = np.array([[0, -100], [1, 2], [1, 1]])
    >>> (_, y2, weights), _ = even_batch((x, tags), 4, ignore_label=-100)
    >>> y2[-1].tolist(), weights.tolist()
    ([-100, -100], [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    """
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(
        batch if isinstance(batch, tuple) else (batch,)
    )
    rows = batch_rows(x)
    extra = (-rows) % multiple if rows else 0
    take = np.concatenate([np.arange(rows), np.arange(extra) % max(rows, 1)])

    def repeat(value):
        if value is None or not extra:
            return value
        return np.asarray(value)[take]

    x = keras.tree.map_structure(repeat, x)
    if y is None:
        return x, rows
    y = keras.tree.map_structure(repeat, y)
    factor = np.zeros(rows + extra, "float32")
    scale = scale_weights and ignore_label is None and rows
    factor[:rows] = (rows + extra) / rows if scale else 1.0
    if ignore_label is not None and extra:

        def ignored(labels):
            labels = np.array(labels)
            labels[rows:] = ignore_label
            return labels

        y = keras.tree.map_structure(ignored, y)

    def weigh(weight):
        weight = np.asarray(weight, "float32")
        return weight * factor.reshape((-1,) + (1,) * (weight.ndim - 1))

    if sample_weight is None:
        shape = np.shape(keras.tree.flatten(y)[0])
        sample_weight = weigh(np.ones(shape, "float32"))
    else:
        sample_weight = keras.tree.map_structure(
            lambda weight: weigh(repeat(weight)), sample_weight
        )
    return (x, y, sample_weight), rows


class EvenBatches(WrappedBatches):
    """A ``PyDataset`` giving the batches of another with their rows padded to a multiple of
    ``multiple`` (see :func:`even_batch`), keeping its length, epoch hooks and worker settings.

    Example:

    >>> class Three(keras.utils.PyDataset):
    ...     def __len__(self):
    ...         return 1
    ...     def __getitem__(self, index):
    ...         return {"token_ids": np.zeros((3, 4), "int32")}
    >>> even = EvenBatches(Three(), 4)
    >>> even[0]["token_ids"].shape
    (4, 4)
    >>> even.drop_padding(np.arange(4)).tolist()
    [0, 1, 2]
    """

    def __init__(
        self,
        dataset: keras.utils.PyDataset,
        multiple: int,
        scale_weights: bool = True,
        ignore_label: int | None = None,
    ):
        super().__init__(dataset)
        self.multiple = int(multiple)
        self.scale_weights = scale_weights
        self.ignore_label = ignore_label
        #: Batch index -> (real rows, rows given), for ``drop_padding``.
        self.rows: dict[int, tuple[int, int]] = {}

    def __len__(self) -> int:
        return self.dataset.num_batches or 0

    def __getitem__(self, index: int):
        batch, real = even_batch(
            self.dataset[index], self.multiple, self.scale_weights, self.ignore_label
        )
        self.rows[index] = (real, real + (-real) % self.multiple if real else 0)
        return batch

    def drop_padding(self, outputs):
        """``predict``'s outputs over these batches (concatenated in order) without the rows
        the padding added."""
        keep = np.concatenate(
            [np.arange(self.rows[index][1]) < self.rows[index][0] for index in sorted(self.rows)]
            or [np.zeros(0, bool)]
        )
        return keras.tree.map_structure(lambda value: np.asarray(value)[keep], outputs)


class ArrayBatches(keras.utils.PyDataset):
    """Preprocessed arrays (``x`` a dict or array, optional ``y`` and ``sample_weight``) as a
    ``PyDataset`` of ``batch_size`` rows, shuffled every epoch when ``shuffle`` is set (an
    order drawn from NumPy's global random state, which ``keras.utils.set_random_seed`` sets).

    Example:

    >>> batches = ArrayBatches({"token_ids": np.zeros((5, 2))}, np.arange(5), batch_size=2)
    >>> len(batches), batches[2][1].tolist()
    (3, [4])
    """

    def __init__(self, x, y=None, sample_weight=None, *, batch_size=None, shuffle=False):
        super().__init__()
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.num_rows = batch_rows(x)
        self.batch_size = int(batch_size or 32)
        self.shuffle = shuffle
        self.seed = int(np.random.randint(0, 2**31 - 1))
        self.epoch = 0
        self._order = self._order_for(0)

    def _order_for(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.num_rows)
        return np.random.default_rng((self.seed, epoch)).permutation(self.num_rows)

    def __len__(self) -> int:
        return -(-self.num_rows // self.batch_size)

    def __getitem__(self, index: int):
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]

        def take(value):
            return None if value is None else np.asarray(value)[rows]

        parts = [keras.tree.map_structure(take, self.x)]
        if self.y is not None:
            parts.append(keras.tree.map_structure(take, self.y))
            if self.sample_weight is not None:
                parts.append(keras.tree.map_structure(take, self.sample_weight))
        return parts[0] if len(parts) == 1 else tuple(parts)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = self._order_for(self.epoch)
