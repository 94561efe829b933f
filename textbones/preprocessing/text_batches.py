"""Raw text to model-ready batches, as a ``keras.utils.PyDataset`` that ``fit`` can consume.

This is where a task's raw-string inputs meet its preprocessor: the text is cut into
batches, each batch is tokenized, packed (and, for masked LM, masked) in one NumPy call,
and Keras pulls the batches from worker threads while the previous step runs. Every
batch of every epoch draws its random numbers from a generator seeded by
``(seed, epoch, batch)``, so masks are fresh each epoch yet reproducible, whichever
worker happens to prepare a batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from textbones.preprocessing.text_inputs import as_texts
from textbones.preprocessing.wrapped_batches import WrappedBatches

#: Threads that prepare batches ahead of the training step, unless the caller says.
DEFAULT_WORKERS = 2


def is_text(x: Any) -> bool:
    """Whether ``x`` is raw text: a string, a sequence or array of strings, or a tuple of them.

    A tuple of text columns is a batch of segment pairs (or triples).

    Example:

    >>> (is_text(["a", "b"]), is_text((["a"], ["b"])),
    ...  is_text({"token_ids": [[1]]}), is_text([[1, 2]]))
    (True, True, False, False)
    """
    if isinstance(x, (str, bytes)):
        return True
    if isinstance(x, tuple):
        return bool(x) and all(_is_text_column(column) for column in x)
    return _is_text_column(x)


def _is_text_column(column: Any) -> bool:
    if isinstance(column, (str, bytes)):
        return True
    if isinstance(column, np.ndarray):
        return column.dtype.kind in "USO" and (
            column.dtype.kind != "O" or _first_is_str(column.ravel())
        )
    if isinstance(column, Sequence) and not isinstance(column, tuple):
        return _first_is_str(column)
    return False


def _first_is_str(values) -> bool:
    # Any item, not only the first: `[None, "text"]` is text with a bad item (refused by
    # `as_text_columns` with its index), not some other kind of input.
    return any(isinstance(value, (str, bytes, np.str_, np.bytes_)) for value in values)


def is_text_container(x: Any) -> bool:
    """Whether ``x`` is shaped like raw text (a string, list or array, or a tuple of them),
    whatever its items are: what a task with a preprocessor reads as text.

    Example:

    >>> is_text_container([None, 1]), is_text_container(([], [])), is_text_container({"a": 1})
    (True, True, False)
    """
    if isinstance(x, tuple):
        return bool(x) and all(is_text_container(column) for column in x)
    return isinstance(x, (str, bytes, list, np.ndarray))


def as_text_columns(x: Any, owner: str = "The text input") -> tuple[list[str], ...]:
    """``x`` (see ``is_text``) as a tuple of equally long lists of ``str``, one per segment.

    Every item must be a string (or UTF-8 bytes); anything else is refused with its index
    and segment (see ``text_inputs.as_texts``), never read as text like ``"None"``.

    Example:

    >>> as_text_columns("one")
    (['one'],)
    >>> as_text_columns((["a", "b"], np.array([b"c", b"d"])))
    (['a', 'b'], ['c', 'd'])
    >>> as_text_columns(["a", float("nan")], "Demo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Demo takes strings, but item 1 of the batch is a float (nan). ...
    """
    columns = x if isinstance(x, tuple) else (x,)
    converted = tuple(
        _as_str_list(column, owner, (index, len(columns)) if len(columns) > 1 else None)
        for index, column in enumerate(columns)
    )
    lengths = {len(column) for column in converted}
    if len(lengths) > 1:
        raise ValueError(
            f"The text segments have different numbers of rows ({sorted(lengths)}); a "
            "sentence pair needs one first and one second sentence per example. Give "
            "every segment the same length."
        )
    return converted


def _as_str_list(column: Any, owner: str, segment: tuple[int, int] | None) -> list[str]:
    if isinstance(column, (str, bytes)):
        column = [column]
    elif isinstance(column, np.ndarray):
        column = column.ravel()
    return as_texts(column, owner, segment)[0]


def _characters(item) -> int:
    """The characters of a text, or of the words of a pre-split example."""
    return len(item) if isinstance(item, str) else sum(len(word) for word in item)


def _take(values, indices: np.ndarray):
    if values is None:
        return None
    if isinstance(values, dict):
        return {key: _take(value, indices) for key, value in values.items()}
    return values[indices]


class TextBatches(keras.utils.PyDataset):
    """Batches of raw text, preprocessed on demand, in the order a task's ``fit`` needs.

    Args:
        x: raw text, as accepted by ``as_text_columns`` (one column, or a tuple of
            columns for sentence pairs).
        y: labels, one per row, or ``None``.
        sample_weight: weights, one per row, or ``None``.
        preprocessor: a ``Preprocessor``; its ``preprocess_batch`` makes each batch.
        batch_size: rows per batch (the last batch may be smaller).
        shuffle: draw a new order of the rows every epoch.
        dynamic_length: pad each batch only to a bucket of its longest row.
        sort_by_length: group rows of similar length into the same batch (for
            ``predict``: less padding); ``restore_order`` undoes it on the outputs.
        seed: seed of the orders and of the masks; ``None`` draws one from NumPy's
            global random state (which ``keras.utils.set_random_seed`` sets).
        preprocess_options: extra keyword arguments for ``preprocess_batch``.
        workers, use_multiprocessing, max_queue_size: as for ``keras.utils.PyDataset``.
        presplit: ``x`` is a list of examples of pre-split words (lists of strings, checked
            by the caller), one column; ``y`` may then hold one array of tags per example.

    Example:

    >>> from textbones.models import BertTextClassifierPreprocessor, BertTokenizer
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
    >>> batches = TextBatches(
    ...     ["the fox", "the fox ran", "ran"], y=[0, 1, 0],
    ...     preprocessor=BertTextClassifierPreprocessor(tokenizer), batch_size=2, workers=1)
    >>> len(batches)
    2
    >>> x, y = batches[0]
    >>> x["token_ids"].shape, y.tolist()
    ((2, 16), [0, 1])
    """

    def __init__(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        *,
        preprocessor,
        batch_size: int = 32,
        shuffle: bool = False,
        dynamic_length: bool = True,
        sort_by_length: bool = False,
        seed: int | None = None,
        preprocess_options: dict[str, Any] | None = None,
        workers: int = DEFAULT_WORKERS,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
        presplit: bool = False,
    ):
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}.")
        self.columns = (list(x),) if presplit else as_text_columns(x)
        self.num_rows = len(self.columns[0])
        self.y = None if y is None else rows_per_example(y, self.num_rows, "y")
        self.sample_weight = (
            None
            if sample_weight is None
            else rows_per_example(sample_weight, self.num_rows, "sample_weight", "float32")
        )
        self.preprocessor = preprocessor
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.dynamic_length = dynamic_length
        self.preprocess_options = dict(preprocess_options or {})
        self.seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else int(seed)
        self.epoch = 0
        self.no_duplicate_texts = False
        #: Rows each epoch uses: all, or a multiple of a data-parallel size (``drop_remainder``).
        self.rows_per_epoch = self.num_rows
        if sort_by_length:
            # Characters are a good enough proxy for tokens to group rows, and cost no tokenizing.
            lengths = np.array(
                [
                    sum(_characters(column[i]) for column in self.columns)
                    for i in range(self.num_rows)
                ]
            )
            self.order = np.argsort(lengths, kind="stable")
        else:
            self.order = np.arange(self.num_rows)
        self._epoch_order = self._order_for(self.epoch)

    def _order_for(self, epoch: int) -> np.ndarray:
        order = self.order
        if self.shuffle:
            order = np.random.default_rng((self.seed, epoch)).permutation(self.order)
        if self.no_duplicate_texts:
            order = without_duplicate_texts(order, self.columns, self.batch_size)
        return order

    def avoid_duplicate_texts(self) -> None:
        """Arrange every epoch's rows so that no batch holds one text twice, in any column.

        For in-batch negatives: a text met twice in a batch would be taken as its own
        negative. See ``without_duplicate_texts``.
        """
        self.no_duplicate_texts = True
        self._epoch_order = self._order_for(self.epoch)

    def drop_remainder(self, multiple: int) -> None:
        """Use, each epoch, only a multiple of ``multiple`` rows: the last few of the epoch's
        order (fewer than ``multiple``, other rows every epoch when shuffled) are left out.

        For a data-parallel distribution and a loss in which the rows of a batch meet (in-batch
        negatives), where no row can be added to even out the last batch.
        """
        if self.batch_size % multiple:
            suggestion = math.ceil(self.batch_size / multiple) * multiple
            raise ValueError(
                f"`batch_size={self.batch_size}` does not split evenly over the {multiple} "
                "data-parallel devices of the current keras.distribution: pass a multiple of "
                f"{multiple} (e.g. `batch_size={suggestion}`)."
            )
        self.rows_per_epoch = self.num_rows - self.num_rows % multiple
        if not self.rows_per_epoch:
            raise ValueError(
                f"{self.num_rows} rows are too few for the {multiple} data-parallel devices of "
                f"the current keras.distribution: pass at least {multiple}."
            )

    def __len__(self) -> int:
        return math.ceil(self.rows_per_epoch / self.batch_size)

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"Batch {index} is out of range for {len(self)} batches.")
        end = min((index + 1) * self.batch_size, self.rows_per_epoch)
        rows = self._epoch_order[index * self.batch_size : end]
        texts = tuple([column[i] for i in rows] for column in self.columns)
        return self.preprocessor.preprocess_batch(
            texts if len(texts) > 1 else texts[0],
            _take(self.y, rows),
            _take(self.sample_weight, rows),
            dynamic_length=self.dynamic_length,
            rng=np.random.default_rng((self.seed, self.epoch, index + 1)),
            **self.preprocess_options,
        )

    def on_epoch_end(self) -> None:
        # Keras stops the worker threads before calling this, so no batch of the
        # finished epoch is prepared with the next epoch's order or masks.
        self.epoch += 1
        self._epoch_order = self._order_for(self.epoch)

    def restore_order(self, outputs):
        """Outputs of ``predict`` over these batches, put back in the caller's row order."""
        inverse = np.empty_like(self.order)
        inverse[self.order] = np.arange(self.num_rows)
        return keras.tree.map_structure(lambda value: np.asarray(value)[inverse], outputs)


def without_duplicate_texts(
    order: np.ndarray, columns: Sequence[Sequence[str]], batch_size: int
) -> np.ndarray:
    """``order`` rearranged so that each run of ``batch_size`` rows holds no text twice.

    Rows are taken in ``order``; a row that shares a text (in any column) with the batch
    being filled waits for a later batch, and is placed as soon as one has room for it.
    Every row is kept and the batches keep their size; where no arrangement exists (a text
    on more rows than there are batches), the last batches take the remaining rows as
    they are.

    Example:

    >>> columns = (["a", "a", "b", "c"], ["x", "y", "z", "w"])
    >>> without_duplicate_texts(np.arange(4), columns, 2).tolist()
    [0, 2, 1, 3]
    """
    pending = [int(row) for row in order]
    arranged: list[int] = []
    while pending:
        batch: list[int] = []
        seen: set[str] = set()
        waiting: list[int] = []
        for position, row in enumerate(pending):
            if len(batch) == batch_size:
                waiting.extend(pending[position:])
                break
            texts = {column[row] for column in columns}
            if texts & seen:
                waiting.append(row)
                continue
            batch.append(row)
            seen |= texts
        if not batch or (len(batch) < batch_size and waiting):
            # No room without a repeat: fill the batch up in order.
            room = batch_size - len(batch)
            batch.extend(waiting[:room])
            waiting = waiting[room:]
        arranged.extend(batch)
        pending = waiting
    return np.asarray(arranged, dtype=np.asarray(order).dtype)


def rows_per_example(values: Any, num_rows: int, name: str, dtype=None) -> np.ndarray:
    """``values`` (labels or weights) as an array, refused unless it has ``num_rows`` rows.

    Example:

    >>> rows_per_example([0, 1], 2, "y").tolist()
    [0, 1]
    >>> rows_per_example([0, 1, 1], 2, "y")
    Traceback (most recent call last):
    ...
    ValueError: `y` has 3 rows but the text has 2; give one y entry per example.
    """
    array = np.asarray(values, dtype=dtype)
    if array.ndim == 0 or array.shape[0] != num_rows:
        raise ValueError(
            f"`{name}` has {array.shape[0] if array.ndim else 'no'} rows but the text has "
            f"{num_rows}; give one {name} entry per example."
        )
    return array


class MappedBatches(WrappedBatches):
    """A ``PyDataset`` of raw-text batches, preprocessed batch by batch.

    Wraps a dataset the caller built (each item ``x``, ``(x, y)`` or ``(x, y, sample_weight)``
    with raw text in ``x``) and keeps its length, epoch hooks and worker settings.

    Example:

    >>> from textbones.models import BertTextClassifierPreprocessor, BertTokenizer
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
    >>> class Raw(keras.utils.PyDataset):
    ...     def __len__(self):
    ...         return 1
    ...     def __getitem__(self, index):
    ...         return ["the fox"], np.array([1])
    >>> mapped = MappedBatches(Raw(), BertTextClassifierPreprocessor(tokenizer))
    >>> mapped[0][0]["token_ids"].shape
    (1, 16)
    """

    def __init__(
        self,
        dataset: keras.utils.PyDataset,
        preprocessor,
        dynamic_length: bool = True,
        seed: int | None = None,
    ):
        super().__init__(dataset)
        self.preprocessor = preprocessor
        self.dynamic_length = dynamic_length
        self.seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else int(seed)
        self.epoch = 0

    def __getitem__(self, index: int):
        rng = np.random.default_rng((self.seed, self.epoch, index + 1))
        return preprocess_item(self.dataset[index], self.preprocessor, self.dynamic_length, rng)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        super().on_epoch_end()


def preprocess_item(item, preprocessor, dynamic_length: bool, rng: np.random.Generator):
    """One ``x`` / ``(x, y)`` / ``(x, y, sample_weight)`` item with its text preprocessed.

    Items whose ``x`` is not text (already preprocessed dicts) pass through unchanged.

    Example:

    >>> from textbones.models import BertTextClassifierPreprocessor, BertTokenizer
    >>> tokenizer = BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"])
    >>> x, y = preprocess_item((["hi"], [1]), BertTextClassifierPreprocessor(tokenizer), True, None)
    >>> x["token_ids"].tolist(), y.tolist()
    ([[2, 5, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], [1])
    """
    if isinstance(item, list) and not is_text(item):
        # `[x, y]` as a tuple; a list of strings is a batch of text, not a pair.
        item = tuple(item)
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(
        item if isinstance(item, tuple) and not is_text(item) else (item,)
    )
    if not is_text(x):
        return item
    columns = as_text_columns(x)
    return preprocessor.preprocess_batch(
        columns if len(columns) > 1 else columns[0],
        None if y is None else np.asarray(y),
        None if sample_weight is None else np.asarray(sample_weight, "float32"),
        dynamic_length=dynamic_length,
        rng=rng,
    )


def preprocessed_generator(
    items, preprocessor, dynamic_length: bool = True, seed: int | None = None
):
    """A generator of batches from an iterable of raw-text batches, each preprocessed as it comes.

    Like any generator given to ``fit``, it is consumed once.

    Example:

    >>> from textbones.models import BertTextClassifierPreprocessor, BertTokenizer
    >>> tokenizer = BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"])
    >>> batches = preprocessed_generator(
    ...     iter([(["hi"], [0])]), BertTextClassifierPreprocessor(tokenizer))
    >>> next(batches)[0]["token_ids"].shape
    (1, 16)
    """
    seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else int(seed)
    for index, item in enumerate(items):
        yield preprocess_item(
            item, preprocessor, dynamic_length, np.random.default_rng((seed, index + 1))
        )


class IterableBatches(keras.utils.PyDataset):
    """A re-iterable source of raw-text batches of known length (a finite
    ``tf.data.Dataset``), preprocessed batch by batch, read afresh every epoch.

    Batches are read in order from one iterator, so they are prepared on one thread.

    Example:

    >>> from textbones.models import BertTextClassifierPreprocessor, BertTokenizer
    >>> tokenizer = BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"])
    >>> batches = IterableBatches(
    ...     lambda: iter([(["hi"], [0])]), 1, BertTextClassifierPreprocessor(tokenizer))
    >>> batches[0][0]["token_ids"].shape
    (1, 16)
    """

    def __init__(
        self,
        make_iterator,
        num_batches: int,
        preprocessor,
        dynamic_length: bool = True,
        seed: int | None = None,
    ):
        super().__init__(workers=1)
        self.make_iterator = make_iterator
        self._num_batches = int(num_batches)
        self.preprocessor = preprocessor
        self.dynamic_length = dynamic_length
        self.seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else int(seed)
        self.epoch = 0
        self._iterator = None

    @property
    def num_batches(self) -> int:
        return self._num_batches

    def __getitem__(self, index: int):
        if index == 0 or self._iterator is None:
            self._iterator = iter(self.make_iterator())
        item = next(self._iterator)
        rng = np.random.default_rng((self.seed, self.epoch, index + 1))
        return preprocess_item(item, self.preprocessor, self.dynamic_length, rng)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._iterator = None
