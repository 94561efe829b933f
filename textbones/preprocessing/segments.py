"""Token segments as the packer reads them: ragged batches, and how they are truncated.

``MultiSegmentPacker`` takes each segment as a list of rows, a 2-D array, or one row, of
ids or of token strings. This module turns each into a :class:`RaggedBatch`, checks it
(integers, or strings the vocabulary maps), and says how many tokens of each segment a
row keeps under the ``round_robin`` and ``waterfall`` truncation strategies.
"""

from typing import Any

import numpy as np


class RaggedBatch:
    """One segment of a batch: all rows' ids end to end, with per-token row and position.

    Example:

    >>> batch = RaggedBatch([np.array([7, 8]), np.array([], "int64"), np.array([9])])
    >>> batch.values.tolist(), batch.lengths.tolist(), batch.rows.tolist()
    ([7, 8, 9], [2, 0, 1], [0, 0, 2])
    >>> batch.positions.tolist()
    [0, 1, 0]
    """

    def __init__(self, rows: list[np.ndarray]):
        self.lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
        nonempty = [row for row in rows if len(row)]
        self.values = np.concatenate(nonempty) if nonempty else np.zeros(0, dtype=np.int64)
        self.rows = np.repeat(np.arange(len(rows)), self.lengths)
        row_offsets = np.cumsum(self.lengths) - self.lengths
        self.positions = np.arange(len(self.values)) - np.repeat(row_offsets, self.lengths)

    @classmethod
    def from_dense(cls, array: np.ndarray) -> "RaggedBatch":
        """A ``[batch, width]`` array as a ragged batch of rows of ``width`` ids each."""
        batch = cls.__new__(cls)
        batch_size, width = array.shape
        batch.lengths = np.full(batch_size, width, dtype=np.int64)
        batch.values = array.reshape(-1)
        batch.rows = np.repeat(np.arange(batch_size), width)
        batch.positions = np.tile(np.arange(width), batch_size)
        return batch


def round_robin_lengths(lengths: np.ndarray, budget: int) -> np.ndarray:
    """How many leading tokens each segment keeps when room is dealt out in turn.

    Dealing one token at a time to the segments in turn hands out token ``k`` of segment
    ``s`` at step ``k * num_segments + s``; the kept tokens are the ``budget`` earliest.
    A vectorised binary search over all rows finds the step where that count is reached.

    Args:
        lengths: ``[num_segments, batch]`` segment lengths.
        budget: tokens that fit in one row.

    Returns:
        ``[num_segments, batch]`` kept lengths.

    Example:

    >>> round_robin_lengths(np.array([[5, 1], [5, 9]]), budget=6).tolist()
    [[3, 1], [3, 5]]
    """
    num_segments, batch_size = lengths.shape
    segment_index = np.arange(num_segments)[:, None]
    target = np.minimum(lengths.sum(axis=0), budget)

    def dealt_before(step: np.ndarray) -> np.ndarray:
        return np.minimum(
            lengths, np.maximum(step - segment_index + num_segments - 1, 0) // num_segments
        )

    low = np.zeros(batch_size, dtype=np.int64)
    high = np.full(batch_size, num_segments * int(lengths.max(initial=0)), dtype=np.int64)
    while np.any(low < high):
        middle = (low + high) // 2
        enough = dealt_before(middle).sum(axis=0) >= target
        high = np.where(enough, middle, high)
        low = np.where(enough, low, middle + 1)
    return dealt_before(low)


def waterfall_lengths(lengths: np.ndarray, budget: int) -> np.ndarray:
    """How many leading tokens each segment keeps when earlier segments fill up first.

    Example:

    >>> waterfall_lengths(np.array([[5, 1], [5, 9]]), budget=6).tolist()
    [[5, 1], [1, 5]]
    """
    used_before = np.cumsum(lengths, axis=0) - lengths
    return np.clip(budget - used_before, 0, lengths)


def canonicalize_segments(inputs: Any) -> tuple[list[RaggedBatch], bool]:
    """The segments of ``inputs`` (one segment, or a tuple of them) as ragged batches, and
    whether the input was batched.

    Example:

    >>> segments, batched = canonicalize_segments(([[1, 2], [3]], [[4], [5, 6]]))
    >>> [segment.lengths.tolist() for segment in segments], batched
    ([[2, 1], [1, 2]], True)
    >>> canonicalize_segments([1, 2, 3])[1]
    False
    """
    raw_segments = inputs if isinstance(inputs, tuple) else (inputs,)
    if not raw_segments:
        raise ValueError("MultiSegmentPacker needs at least one segment; got an empty tuple.")
    converted = [
        _canonicalize_segment(segment, index) for index, segment in enumerate(raw_segments)
    ]
    if len({batched for _, batched in converted}) > 1:
        kinds = ", ".join(
            f"segment {i}: {'batched' if b else 'single example'}"
            for i, (_, b) in enumerate(converted)
        )
        raise ValueError(f"All segments must be batched, or all single examples; got {kinds}.")
    segments = [segment for segment, _ in converted]
    batch_sizes = [len(segment.lengths) for segment in segments]
    if len(set(batch_sizes)) > 1:
        raise ValueError(
            f"All segments must have the same batch size; got batch sizes {batch_sizes}."
        )
    return segments, converted[0][1]


def _canonicalize_segment(segment: Any, index: int) -> tuple[RaggedBatch, bool]:
    if isinstance(segment, (list, tuple)):
        if not segment or _is_scalar(segment[0]):
            return RaggedBatch([_as_row(segment, index)]), False
        return RaggedBatch([_as_row(row, index) for row in segment]), True
    array = np.asarray(segment)
    _check_integer(array, index)
    if array.ndim == 1:
        return RaggedBatch([array]), False
    if array.ndim == 2:
        return RaggedBatch.from_dense(array), True
    raise ValueError(
        f"Segment {index} must be 1-D (one example) or 2-D (a batch); "
        f"got an array of shape {array.shape}."
    )


def _as_row(row: Any, index: int) -> np.ndarray:
    array = np.asarray(row)
    if array.ndim != 1:
        hint = " Several segments go in a tuple, not a list." if array.ndim == 2 else ""
        raise ValueError(
            f"Each example of segment {index} must be a 1-D sequence of ids; got {row!r} "
            f"(shape {array.shape}).{hint}"
        )
    _check_integer(array, index)
    return array


def _check_integer(array: np.ndarray, index: int) -> None:
    # An empty list becomes a float array in NumPy; it holds no ids, so it is fine.
    if array.size and array.dtype.kind not in "iu":
        raise TypeError(
            f"Segment {index} must hold integer token ids; got dtype {array.dtype}. "
            "Tokenize strings first (or, to pack token strings, give the packer string "
            'special values such as `start_value="[CLS]"`); cast integral floats with '
            "`.astype('int32')`."
        )


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float, str, bytes, np.generic))


def is_int(value: Any) -> bool:
    """Whether ``value`` is a Python or NumPy integer (``bool`` is not).

    >>> is_int(3), is_int(np.int8(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def listed(value: Any) -> list:
    """A special value as a list of its tokens (``None`` gives none).

    >>> listed(None), listed("[SEP]"), listed(["[SEP]", "[SEP]"])
    ([], ['[SEP]'], ['[SEP]', '[SEP]'])
    """
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def as_ids(value: Any) -> np.ndarray:
    """The ids of an integer special value (an empty placeholder for token strings, whose
    ids are given per call).

    >>> as_ids(3).tolist(), as_ids([3, 3]).tolist(), as_ids("[SEP]").tolist()
    ([3], [3, 3], [0])
    """
    tokens = listed(value)
    if any(isinstance(token, str) for token in tokens):
        return np.zeros(len(tokens), dtype=np.int32)
    return np.array(tokens, dtype=np.int32).reshape(-1)


def holds_strings(raw_segments: Any) -> bool:
    """Whether the first token found in the segments is a string.

    >>> holds_strings(([["the", "cat"]],)), holds_strings(([[], [5, 6]],))
    (True, False)
    """
    for segment in raw_segments:
        if isinstance(segment, np.ndarray):
            if segment.size:
                return segment.dtype.kind in "USO" and isinstance(segment.flat[0], (str, np.str_))
            continue
        if isinstance(segment, (list, tuple)):
            for item in segment:
                if isinstance(item, (str, np.str_)):
                    return True
                if isinstance(item, (list, tuple, np.ndarray)) and len(item):
                    return isinstance(item[0], (str, np.str_))
                if not isinstance(item, (list, tuple, np.ndarray)):
                    return False
    return False


def numbered_segment(segment, index: int, number):
    """A segment of token strings (one row or a batch) with each token replaced by its number.

    >>> numbered = numbered_segment([["a", "b"], ["b"]], 0, lambda t: [ord(c) for c in t])
    >>> [row.tolist() for row in numbered]
    [[97, 98], [98]]
    """
    if isinstance(segment, np.ndarray):
        if segment.ndim not in (1, 2):
            raise ValueError(
                f"Segment {index} must be 1-D (one example) or 2-D (a batch); got an array of "
                f"shape {segment.shape}."
            )
        segment = segment.tolist()
    if not isinstance(segment, (list, tuple)):
        raise ValueError(
            f"Segment {index} must be a list of token strings or a batch of such lists, got "
            f"{type(segment).__name__}."
        )
    if not segment or not isinstance(segment[0], (list, tuple, np.ndarray)):
        return np.array(number(_checked_strings(segment, index)), dtype=np.int64)
    return [np.array(number(_checked_strings(row, index)), dtype=np.int64) for row in segment]


def _checked_strings(row, index: int) -> list[str]:
    tokens = row.tolist() if isinstance(row, np.ndarray) else list(row)
    for token in tokens:
        if not isinstance(token, str):
            raise TypeError(
                f"Segment {index} holds {token!r} among token strings; a packer with string "
                'special values packs token strings only (tokenize with `dtype="string"`), '
                "and one with integer special values packs ids."
            )
    return tokens
