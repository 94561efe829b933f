"""``StartEndPacker``: frame one sequence of tokens with start/end values and pad it, in NumPy.

Sequence-to-sequence and generative models read a single segment per example: ``<s> text
</s>``, padded to a fixed length. This is that step for ids and for token strings, on a
single row or a batch; KerasHub's ``StartEndPacker`` called eagerly is the reference.
"""

from typing import Any

import keras
import numpy as np

from textbones.preprocessing.tf_tensors import accepts_tf_tensors
from textbones.serialization import register_keras_hub_aliases

PADDING_SIDES = ("left", "right")
# Keys KerasHub writes into every layer config; they mean nothing to a NumPy packer.
_IGNORED_LAYER_KWARGS = frozenset({"trainable", "dtype"})


@keras.saving.register_keras_serializable(package="textbones")
class StartEndPacker:
    """Adds start and end values to each sequence, then pads (or truncates) it to a length.

    A row becomes ``start_value, tokens..., end_value``, followed by ``pad_value`` up to
    ``sequence_length``. Tokens are cut first, so that the start and end values always
    fit. Ids and token strings are both packed: ids come back as an int32 NumPy array
    (``[batch, sequence_length]``, or ``[sequence_length]`` for one row), token strings
    as Python lists of rows, as KerasHub returns them.

    Args:
        sequence_length: length of every packed row.
        start_value: id or token string, or a list of them, put before the tokens;
            ``None`` adds nothing.
        end_value: id or token string, or a list of them, put after the tokens; ``None``
            adds nothing.
        pad_value: id or token string filling the unused positions; ``None`` means 0
            for ids and ``""`` for strings.
        return_padding_mask: also return a boolean mask, ``True`` where a position holds
            a token or a start/end value and ``False`` on padding.
        name: a name kept in the config, as Keras layers have.
        padding_side: ``"right"`` (padding after the tokens) or ``"left"``.
        **kwargs: ``trainable`` and ``dtype``, as found in KerasHub configs; ignored.

    Example:

    >>> packer = StartEndPacker(sequence_length=6, start_value=1, end_value=2)
    >>> packer([[5, 6, 7], [8]])
    array([[1, 5, 6, 7, 2, 0],
           [1, 8, 2, 0, 0, 0]], dtype=int32)
    >>> packer([5, 6, 7, 8, 9, 10])
    array([1, 5, 6, 7, 8, 2], dtype=int32)
    >>> strings = StartEndPacker(5, start_value="<s>", end_value="</s>", return_padding_mask=True)
    >>> strings(["the", "fox"])
    (['<s>', 'the', 'fox', '</s>', ''], array([ True,  True,  True,  True, False]))
    """

    def __init__(
        self,
        sequence_length: int,
        start_value: int | str | list[int] | list[str] | None = None,
        end_value: int | str | list[int] | list[str] | None = None,
        pad_value: int | str | None = None,
        return_padding_mask: bool = False,
        name: str | None = None,
        padding_side: str = "right",
        **kwargs: Any,
    ):
        unexpected = set(kwargs) - _IGNORED_LAYER_KWARGS
        if unexpected:
            raise TypeError(f"StartEndPacker got unexpected argument(s) {sorted(unexpected)}.")
        self.sequence_length = _checked_length(sequence_length)
        self.start_value = _checked_value(start_value, "start_value")
        self.end_value = _checked_value(end_value, "end_value")
        if pad_value is not None and not (_is_int(pad_value) or isinstance(pad_value, str)):
            raise ValueError(
                f"`pad_value` must be an integer id, a token string or None, got {pad_value!r}."
            )
        if padding_side not in PADDING_SIDES:
            raise ValueError(
                f"`padding_side` must be one of {PADDING_SIDES}, got {padding_side!r}."
            )
        if _is_int(pad_value):
            pad_value = int(pad_value)
        self.pad_value = pad_value
        self.return_padding_mask = bool(return_padding_mask)
        self.name = name or "start_end_packer"
        self.padding_side = padding_side
        kinds = {_kind(token) for token in _tokens(self.start_value) + _tokens(self.end_value)}
        if self.pad_value is not None:
            kinds.add(_kind(self.pad_value))
        if len(kinds) > 1:
            raise ValueError(
                f"The special values mix integer ids and token strings (start_value="
                f"{self.start_value!r}, end_value={self.end_value!r}, pad_value="
                f"{self.pad_value!r}); use ids to pack ids, token strings to pack strings."
            )
        self._special_kind = kinds.pop() if kinds else None

    @accepts_tf_tensors
    def __call__(
        self,
        inputs: Any,
        sequence_length: int | None = None,
        add_start_value: bool = True,
        add_end_value: bool = True,
    ):
        """Packs one row (a list or 1-D array of tokens) or a batch (a list of rows or a
        2-D array).

        Args:
            inputs: the tokens, ids or strings.
            sequence_length: the output length for this call; ``None`` uses the packer's.
            add_start_value: whether to put ``start_value`` first.
            add_end_value: whether to put ``end_value`` last.

        Returns:
            The packed tokens, and with ``return_padding_mask`` a tuple of them and the
            boolean mask (a NumPy array of the same shape).

        Example:

        >>> packer = StartEndPacker(6, start_value=1, end_value=2, padding_side="left")
        >>> packer([[5, 6], [7]], sequence_length=4, add_start_value=False)
        array([[0, 5, 6, 2],
               [0, 0, 7, 2]], dtype=int32)
        """
        length = self.sequence_length
        if sequence_length is not None:
            length = _checked_length(sequence_length)
        rows, batched = _rows(inputs)
        kind = self._token_kind(rows)
        start = _tokens(self.start_value) if add_start_value else []
        end = _tokens(self.end_value) if add_end_value else []
        room = length - len(start) - len(end)
        if room < 0:
            raise ValueError(
                f"`sequence_length={length}` is too short for {len(start)} start and "
                f"{len(end)} end value(s). Use `sequence_length >= {len(start) + len(end)}`, or "
                "fewer start/end values."
            )
        framed = [start + row[:room] + end for row in rows]
        pad = self.pad_value if self.pad_value is not None else ("" if kind == "string" else 0)
        if self.padding_side == "right":
            packed = [row + [pad] * (length - len(row)) for row in framed]
            mask = [[True] * len(row) + [False] * (length - len(row)) for row in framed]
        else:
            packed = [[pad] * (length - len(row)) + row for row in framed]
            mask = [[False] * (length - len(row)) + [True] * len(row) for row in framed]
        outputs = packed
        if kind != "string":
            outputs = np.array(packed, dtype=np.int32).reshape(len(rows), length)
        mask = np.array(mask, dtype=bool).reshape(len(rows), length)
        if not batched:
            outputs, mask = outputs[0], mask[0]
        return (outputs, mask) if self.return_padding_mask else outputs

    def _token_kind(self, rows: list[list]) -> str:
        """``"int"`` or ``"string"``: what the rows hold, which the special values must match."""
        kinds = {_kind(token) for row in rows for token in row}
        if len(kinds) > 1:
            raise ValueError(
                "StartEndPacker got a mix of ids and token strings; pack one kind at a time."
            )
        kind = kinds.pop() if kinds else (self._special_kind or "int")
        if self._special_kind not in (None, kind):
            raise ValueError(
                f"StartEndPacker's start/end/pad values are {self._special_kind} tokens "
                f"(start_value={self.start_value!r}, end_value={self.end_value!r}), but the "
                f"input holds {kind} tokens. Give the packer values of the input's kind."
            )
        return kind

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as given (KerasHub's keys).

        Example:

        >>> packer = StartEndPacker(8, start_value=[1, 1], end_value=2, return_padding_mask=True)
        >>> StartEndPacker.from_config(packer.get_config()).get_config() == packer.get_config()
        True
        """
        return {
            "name": self.name,
            "sequence_length": self.sequence_length,
            "start_value": self.start_value,
            "end_value": self.end_value,
            "pad_value": self.pad_value,
            "return_padding_mask": self.return_padding_mask,
            "padding_side": self.padding_side,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "StartEndPacker":
        """Builds a packer from ``get_config()`` output (KerasHub's config too)."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"StartEndPacker({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


register_keras_hub_aliases(StartEndPacker)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _kind(token: Any) -> str:
    if isinstance(token, (str, np.str_)):
        return "string"
    if _is_int(token):
        return "int"
    raise ValueError(
        f"StartEndPacker packs integer ids or token strings, got {token!r} "
        f"({type(token).__name__})."
    )


def _checked_length(sequence_length: Any) -> int:
    if not _is_int(sequence_length) or sequence_length <= 0:
        raise ValueError(f"`sequence_length` must be a positive integer, got {sequence_length!r}.")
    return int(sequence_length)


def _checked_value(value: Any, name: str):
    """A start or end value as a JSON-friendly int, str, list, or ``None``."""
    if value is None or isinstance(value, str):
        return value
    if _is_int(value):
        return int(value)
    if isinstance(value, (list, tuple)) and all(_is_int(v) or isinstance(v, str) for v in value):
        return [v if isinstance(v, str) else int(v) for v in value]
    raise ValueError(
        f"`{name}` must be an integer id, a token string, a list of them, or None; got {value!r}."
    )


def _tokens(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _rows(inputs: Any) -> tuple[list[list], bool]:
    """``inputs`` as a list of rows of Python tokens, and whether it was a batch."""
    if isinstance(inputs, np.ndarray):
        if inputs.ndim not in (1, 2):
            raise ValueError(
                "StartEndPacker takes one row (1-D) or a batch of rows (2-D), got shape "
                f"{inputs.shape}."
            )
        listed = inputs.tolist()
        return (listed, True) if inputs.ndim == 2 else ([listed], False)
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(
            "StartEndPacker takes a list of tokens, a list of such lists, or a NumPy array; got "
            f"{type(inputs).__name__}."
        )
    if not inputs or not isinstance(inputs[0], (list, tuple, np.ndarray)):
        return [list(inputs)], False
    rows = []
    for row in inputs:
        if isinstance(row, np.ndarray) and row.ndim == 1:
            rows.append(row.tolist())
        elif isinstance(row, (list, tuple)):
            rows.append(list(row))
        else:
            raise ValueError(
                f"Each row of a batch must be a list or 1-D array of tokens, got {row!r}."
            )
    return rows, True
