"""Batch lengths rounded up to a few buckets, so short text is not padded to the maximum."""

import numpy as np

#: The shortest padded length a batch gets; each bucket above it doubles.
SMALLEST_BUCKET = 16


def bucket_length(longest: int, maximum: int, smallest: int = SMALLEST_BUCKET) -> int:
    """The padded length for a batch whose longest row has ``longest`` items.

    Lengths are powers of two times ``smallest``, capped at ``maximum``: a batch is
    padded at most to twice its longest row, and a compiled training step sees only a
    handful of shapes (16, 32, 64, 128, 256, 512 for BERT's usual maximum).

    Example:

    >>> [bucket_length(n, 512) for n in (1, 16, 17, 40, 300, 512)]
    [16, 16, 32, 64, 512, 512]
    >>> bucket_length(90, 100)
    100
    """
    length = smallest
    while length < longest:
        length *= 2
    return int(min(length, maximum))


def trim_columns(
    arrays: dict[str, np.ndarray], names: tuple[str, ...], length: int
) -> dict[str, np.ndarray]:
    """``arrays`` with the entries called ``names`` cut to their first ``length`` columns.

    Example:

    >>> trimmed = trim_columns({"a": np.zeros((2, 8)), "b": np.ones(2)}, ("a",), 3)
    >>> trimmed["a"].shape, trimmed["b"].shape
    ((2, 3), (2,))
    """
    return {name: value[..., :length] if name in names else value for name, value in arrays.items()}
