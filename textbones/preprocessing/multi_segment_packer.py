"""``MultiSegmentPacker``: join token segments into fixed-length model inputs, in NumPy.

BERT-style models read one row per example: ``[start] a [sep] b [end]``, padded to a fixed
length, with a second row of segment ids saying which segment each position came from.
This module builds both rows for a whole batch at once, truncating the segments to fit.
"""

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from textbones.preprocessing.segments import (
    RaggedBatch,
    as_ids,
    canonicalize_segments,
    holds_strings,
    is_int,
    listed,
    numbered_segment,
    round_robin_lengths,
    waterfall_lengths,
)
from textbones.preprocessing.tf_tensors import accepts_tf_tensors
from textbones.serialization import register_keras_hub_aliases

TRUNCATE_STRATEGIES = ("round_robin", "waterfall")
PADDING_SIDES = ("left", "right")
# Keys KerasHub writes into every layer config; they mean nothing to a NumPy packer.
_IGNORED_LAYER_KWARGS = frozenset({"name", "trainable", "dtype"})


@keras.saving.register_keras_serializable(package="textbones")
class MultiSegmentPacker:
    """Packs one or more segments of token ids into dense ``token_ids`` and ``segment_ids``.

    Each example becomes ``start_value, segment 0, sep_value, segment 1, ..., end_value``,
    padded with ``pad_value`` to ``sequence_length``. ``sep_value`` goes after every
    segment but the last and defaults to ``end_value``; ``end_value`` goes after the last.
    Each special value may be one id or a list of ids (an empty list adds nothing).

    Segments of token strings (what a tokenizer with ``dtype="string"`` gives) are packed
    the same way when the special values are strings too (``start_value="[CLS]"``); the
    padding is then ``""`` unless ``pad_value`` names a token. As in KerasHub, the packed
    strings come back as Python lists (one list per row) and the segment ids as an array.

    The segment id of a position is the index of the segment it belongs to; the start
    values count as segment 0, a separator counts with the segment before it, and padding
    gets segment id 0.

    When the segments do not fit, they are truncated (always at their ends) by
    ``truncate``:

    - ``"round_robin"``: the free room is dealt out one token at a time, to segment 0,
      segment 1, ... in turn, skipping segments that have run out.
    - ``"waterfall"``: segment 0 keeps as much as fits, then segment 1 gets what is
      left, and so on.

    Inputs and outputs are NumPy; no Keras backend op runs, so a packer can live in
    data-loading workers on any backend. The behaviour matches KerasHub's
    ``MultiSegmentPacker`` on integer ids.

    Args:
        sequence_length: length of every packed row.
        start_value: id or token string, or a list of them, put at the start of every row.
        end_value: id or token string, or a list of them, put after the last segment.
        sep_value: id or token string, or a list of them, put between segments; ``None``
            means ``end_value``.
        pad_value: id or token string filling the unused positions; ``None`` means 0
            for ids and ``""`` for strings.
        truncate: ``"round_robin"`` or ``"waterfall"``.
        padding_side: ``"right"`` (padding after the tokens) or ``"left"``.
        **kwargs: ``name``, ``trainable`` and ``dtype``, as found in KerasHub configs;
            ignored.

    Example:

    >>> packer = MultiSegmentPacker(sequence_length=8, start_value=101, end_value=102)
    >>> token_ids, segment_ids = packer(([[1, 2, 3, 4], [5]], [[11, 12, 13], [15, 16]]))
    >>> token_ids
    array([[101,   1,   2,   3, 102,  11,  12, 102],
           [101,   5, 102,  15,  16, 102,   0,   0]], dtype=int32)
    >>> segment_ids
    array([[0, 0, 0, 0, 0, 1, 1, 1],
           [0, 0, 0, 1, 1, 1, 0, 0]], dtype=int32)
    >>> strings = MultiSegmentPacker(6, start_value="[CLS]", end_value="[SEP]")
    >>> strings((["the", "fox"], ["ran"]))
    (['[CLS]', 'the', 'fox', '[SEP]', 'ran', '[SEP]'], array([0, 0, 0, 0, 1, 1], dtype=int32))
    """

    def __init__(
        self,
        sequence_length: int,
        start_value: int | str | Sequence[int] | Sequence[str],
        end_value: int | str | Sequence[int] | Sequence[str],
        sep_value: int | str | Sequence[int] | Sequence[str] | None = None,
        pad_value: int | str | None = None,
        truncate: str = "round_robin",
        padding_side: str = "right",
        **kwargs: Any,
    ):
        unexpected = set(kwargs) - _IGNORED_LAYER_KWARGS
        if unexpected:
            raise TypeError(f"MultiSegmentPacker got unexpected argument(s) {sorted(unexpected)}.")
        if truncate not in TRUNCATE_STRATEGIES:
            raise ValueError(f"`truncate` must be one of {TRUNCATE_STRATEGIES}, got {truncate!r}.")
        if padding_side not in PADDING_SIDES:
            raise ValueError(
                f"`padding_side` must be one of {PADDING_SIDES}, got {padding_side!r}."
            )
        if pad_value is not None and not (is_int(pad_value) or isinstance(pad_value, str)):
            raise TypeError(
                f"`pad_value` must be an integer id, a token string or None, got {pad_value!r}."
            )

        self.sequence_length = _check_sequence_length(sequence_length)
        self.start_value = _config_value(start_value, "start_value")
        self.end_value = _config_value(end_value, "end_value")
        self.sep_value = None if sep_value is None else _config_value(sep_value, "sep_value")
        self.pad_value = (
            pad_value if pad_value is None or isinstance(pad_value, str) else int(pad_value)
        )
        self.truncate = truncate
        self.padding_side = padding_side

        self._start_ids = as_ids(self.start_value)
        self._end_ids = as_ids(self.end_value)
        self._sep_ids = self._end_ids if self.sep_value is None else as_ids(self.sep_value)
        kinds = {
            "string" if isinstance(value, str) else "int"
            for value in (
                *listed(self.start_value),
                *listed(self.end_value),
                *listed(self.sep_value),
                *listed(self.pad_value),
            )
        }
        if len(kinds) > 1:
            raise TypeError(
                "The special values mix integer ids and token strings (start_value="
                f"{self.start_value!r}, end_value={self.end_value!r}, sep_value="
                f"{self.sep_value!r}, pad_value={self.pad_value!r}); use ids to pack ids, "
                "token strings to pack token strings."
            )
        #: ``"int"`` or ``"string"`` when the special values say which tokens this packs.
        self._token_kind = kinds.pop() if kinds else None
        # Fail at construction where even one segment could never fit.
        self._check_room(
            self.sequence_length, num_segments=1, add_start_value=True, add_end_value=True
        )

    @accepts_tf_tensors
    def __call__(
        self,
        inputs: Any,
        sequence_length: int | None = None,
        add_start_value: bool = True,
        add_end_value: bool = True,
    ) -> tuple[np.ndarray | list, np.ndarray]:
        """Packs a segment, or a tuple of segments, into ``(token_ids, segment_ids)``.

        Only a ``tuple`` holds several segments; anything else is one segment. A segment
        is a batch (a list of 1-D int arrays or lists, or a 2-D int array) or a single
        example (a 1-D int array or a list of ints). All segments must agree on that and,
        when batched, on the batch size.

        Args:
            inputs: one segment, or a tuple of segments.
            sequence_length: the output length for this call; ``None`` uses the
                packer's own.
            add_start_value: whether to put ``start_value`` at the start.
            add_end_value: whether to put ``end_value`` after the last segment.

        Returns:
            ``(token_ids, segment_ids)``, int32 arrays of shape
            ``[batch, sequence_length]``, or ``[sequence_length]`` for a single example.
            For token strings, ``token_ids`` is a list of rows of strings (one list
            for a single example).

        Example:

        >>> packer = MultiSegmentPacker(6, start_value=1, end_value=2, padding_side="left")
        >>> packer(np.array([7, 8, 9]))
        (array([0, 1, 7, 8, 9, 2], dtype=int32), array([0, 0, 0, 0, 0, 0], dtype=int32))
        >>> packer([[7, 8, 9]], sequence_length=4, add_end_value=False)
        (array([[1, 7, 8, 9]], dtype=int32), array([[0, 0, 0, 0]], dtype=int32))
        """
        length = (
            self.sequence_length
            if sequence_length is None
            else _check_sequence_length(sequence_length)
        )
        raw_segments = inputs if isinstance(inputs, tuple) else (inputs,)
        if self._token_kind == "string" or (
            self._token_kind is None and holds_strings(raw_segments)
        ):
            return self._pack_strings(raw_segments, length, add_start_value, add_end_value)
        segments, batched = canonicalize_segments(inputs)
        specials = (
            self._start_ids,
            self._end_ids,
            self._sep_ids,
            0 if self.pad_value is None else self.pad_value,
        )
        token_ids, segment_ids = self._pack(
            segments, length, add_start_value, add_end_value, specials
        )
        if not batched:
            return token_ids[0], segment_ids[0]
        return token_ids, segment_ids

    def _pack_strings(self, raw_segments, length, add_start_value, add_end_value):
        """Packs token strings: they are numbered, packed as ids, and named again."""
        numbering: dict[str, int] = {}

        def number(tokens) -> list[int]:
            return [numbering.setdefault(token, len(numbering)) for token in tokens]

        numbered = tuple(
            numbered_segment(segment, index, number) for index, segment in enumerate(raw_segments)
        )
        specials = (
            np.array(number(listed(self.start_value)), dtype=np.int32),
            np.array(number(listed(self.end_value)), dtype=np.int32),
            np.array(
                number(listed(self.end_value if self.sep_value is None else self.sep_value)),
                dtype=np.int32,
            ),
            number(["" if self.pad_value is None else self.pad_value])[0],
        )
        segments, batched = canonicalize_segments(numbered)
        token_ids, segment_ids = self._pack(
            segments, length, add_start_value, add_end_value, specials
        )
        tokens = np.array(list(numbering), dtype=object)[token_ids].tolist()
        if not batched:
            return tokens[0], segment_ids[0]
        return tokens, segment_ids

    def _pack(self, segments, length, add_start_value, add_end_value, specials):
        budget = self._check_room(length, len(segments), add_start_value, add_end_value)

        lengths = np.stack([segment.lengths for segment in segments])
        if self.truncate == "round_robin":
            kept = round_robin_lengths(lengths, budget)
        else:
            kept = waterfall_lengths(lengths, budget)
        return self._assemble(segments, kept, length, add_start_value, add_end_value, specials)

    def _check_room(
        self, sequence_length: int, num_segments: int, add_start_value: bool, add_end_value: bool
    ) -> int:
        """The number of segment tokens that fit beside the special ones; raises if negative."""
        num_start = len(self._start_ids) if add_start_value else 0
        num_end = len(self._end_ids) if add_end_value else 0
        num_special = num_start + (num_segments - 1) * len(self._sep_ids) + num_end
        if sequence_length < num_special:
            raise ValueError(
                f"`sequence_length={sequence_length}` is too short for the special tokens of "
                f"{num_segments} segment(s): {num_start} start + {num_segments - 1} x "
                f"{len(self._sep_ids)} separator + {num_end} end = {num_special} ids. "
                f"Use `sequence_length >= {num_special}`, or fewer segments or special ids."
            )
        return sequence_length - num_special

    def _assemble(
        self,
        segments: list["RaggedBatch"],
        kept: np.ndarray,
        sequence_length: int,
        add_start_value: bool,
        add_end_value: bool,
        specials: tuple[np.ndarray, np.ndarray, np.ndarray, int],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Writes the kept tokens and the special ids of every row into dense arrays."""
        num_segments, batch_size = kept.shape
        start_ids, end_ids, sep_ids, pad_value = specials
        start_ids = start_ids if add_start_value else start_ids[:0]
        end_ids = end_ids if add_end_value else end_ids[:0]
        delimiters = [sep_ids] * (num_segments - 1) + [end_ids]
        delimiter_lengths = np.array([len(ids) for ids in delimiters])[:, None]

        # Column where each segment's tokens begin, per row (moved right for left padding).
        spans = kept + delimiter_lengths
        segment_starts = len(start_ids) + np.cumsum(spans, axis=0) - spans
        row_lengths = len(start_ids) + spans.sum(axis=0)
        if self.padding_side == "left":
            segment_starts += sequence_length - row_lengths

        token_ids = np.full((batch_size, sequence_length), pad_value, dtype=np.int32)
        rows = np.arange(batch_size)[:, None]

        first_columns = segment_starts[0] - len(start_ids)
        token_ids[rows, first_columns[:, None] + np.arange(len(start_ids))] = start_ids
        for index, (segment, delimiter) in enumerate(zip(segments, delimiters)):
            keep = segment.positions < np.repeat(kept[index], segment.lengths)
            columns = (
                np.repeat(segment_starts[index], segment.lengths)[keep] + segment.positions[keep]
            )
            token_ids[segment.rows[keep], columns] = segment.values[keep]
            after = segment_starts[index] + kept[index]
            token_ids[rows, after[:, None] + np.arange(len(delimiter))] = delimiter

        # A position's segment id is the number of later segments' starts at or before it.
        columns = np.arange(sequence_length)
        segment_ids = (columns[None, None, :] >= segment_starts[1:, :, None]).sum(axis=0)
        filled = (columns >= first_columns[:, None]) & (
            columns < (first_columns + row_lengths)[:, None]
        )
        segment_ids = np.where(filled, segment_ids, 0).astype(np.int32)
        return token_ids, segment_ids

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as given.

        Example:

        >>> packer = MultiSegmentPacker(16, start_value=[1, 1], end_value=2)
        >>> MultiSegmentPacker.from_config(packer.get_config()).get_config() == packer.get_config()
        True
        """
        return {
            "sequence_length": self.sequence_length,
            "start_value": self.start_value,
            "end_value": self.end_value,
            "sep_value": self.sep_value,
            "pad_value": self.pad_value,
            "truncate": self.truncate,
            "padding_side": self.padding_side,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "MultiSegmentPacker":
        """Builds a packer from ``get_config()`` output (KerasHub's config too).

        Example:

        >>> config = {"sequence_length": 4, "start_value": 1, "end_value": 2, "name": "packer"}
        >>> MultiSegmentPacker.from_config(config)([5, 6, 7])
        (array([1, 5, 6, 2], dtype=int32), array([0, 0, 0, 0], dtype=int32))
        """
        return cls(**config)

    def __repr__(self) -> str:
        return (
            f"MultiSegmentPacker({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"
        )


register_keras_hub_aliases(MultiSegmentPacker)


def _check_sequence_length(sequence_length: Any) -> int:
    if not is_int(sequence_length) or sequence_length <= 0:
        raise ValueError(f"`sequence_length` must be a positive integer, got {sequence_length!r}.")
    return int(sequence_length)


def _config_value(value: Any, name: str) -> int | str | list[int] | list[str]:
    """A special value as a JSON-friendly int, str or list of them, after checking its type."""
    if is_int(value):
        return int(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(is_int(item) for item in value):
        return [int(item) for item in value]
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    raise TypeError(
        f"`{name}` must be an integer id, a token string, or a list of ids or of token "
        f"strings, got {value!r}."
    )
