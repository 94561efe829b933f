"""A ``PyDataset`` made from another: the shared part of the datasets textbones wraps."""

from __future__ import annotations

import keras


class WrappedBatches(keras.utils.PyDataset):
    """A ``PyDataset`` over another one's batches, with its length, epoch hooks and worker
    settings (``workers``, ``use_multiprocessing``, ``max_queue_size``); subclasses say what
    each batch becomes (``__getitem__``).

    Example:

    >>> import numpy as np
    >>> class Two(keras.utils.PyDataset):
    ...     def __len__(self):
    ...         return 2
    ...     def __getitem__(self, index):
    ...         return np.full((1, 2), index)
    >>> class Doubled(WrappedBatches):
    ...     def __getitem__(self, index):
    ...         return 2 * self.dataset[index]
    >>> doubled = Doubled(Two(workers=1))
    >>> doubled.num_batches, doubled[1].tolist(), doubled.workers
    (2, [[2, 2]], 1)
    """

    def __init__(self, dataset: keras.utils.PyDataset):
        super().__init__(
            workers=dataset.workers,
            use_multiprocessing=dataset.use_multiprocessing,
            max_queue_size=dataset.max_queue_size,
        )
        self.dataset = dataset

    @property
    def num_batches(self):
        return self.dataset.num_batches

    def on_epoch_begin(self) -> None:
        self.dataset.on_epoch_begin()

    def on_epoch_end(self) -> None:
        self.dataset.on_epoch_end()
