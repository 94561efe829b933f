"""Where each SentencePiece piece came from in the text a ``SentencePieceTokenizer`` was given.

Two normalizations stand between a text and its pieces: the optional ``tokenizers``
normalizer of ``SentencePieceTokenizer`` (quotes, accents, case) and SentencePiece's own
(NFKC-style rules and whitespace). SentencePiece reports each piece's byte range in the
string it was given; ``normalized_alignment`` maps each character of that string back to
the original characters it came from, and ``piece_spans`` turns the byte ranges into
character ranges shaped as Hugging Face's SentencePiece tokenizers shape them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from tokenizers import PreTokenizedString, Regex, pre_tokenizers

#: SentencePiece's mark of a word start (it stands for the whitespace before a word).
WORD_START = "\u2581"

# Splits a normalized string into its characters, each keeping its alignment.
_EACH_CHARACTER = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
_QUOTE_PAIRS = ("``", "''")


def normalized_alignment(text: str, normalizer) -> tuple[str, np.ndarray, np.ndarray]:
    """``text`` as ``normalizer`` makes it, and where each of its characters came from.

    Returns ``(normalized, starts, ends)``: for character ``k`` of ``normalized``,
    ``text[starts[k]:ends[k]]`` are the original characters it was made from (several
    normalized characters may share one original, as ``"ﬁ"`` becomes ``"fi"``; removed
    characters, such as stripped accents, belong to none). ``normalizer`` is a
    ``tokenizers`` normalizer, or ``None`` for no change; the alignment is the one its Rust
    implementation keeps, except that a ``"`` made of a pair of quotes (````` or ``''``)
    covers both characters of the pair, not only the second.

    If the characters do not join up to ``normalizer.normalize_str(text)`` (which the
    ids are read from), each character is given the whole text: coarse, never wrong.

    Example:

    >>> from tokenizers import normalizers
    >>> strip = normalizers.Sequence([normalizers.NFKD(), normalizers.StripAccents()])
    >>> normalized, starts, ends = normalized_alignment("ﬁné", strip)
    >>> normalized, starts.tolist(), ends.tolist()
    ('fine', [0, 0, 1, 2], [1, 1, 2, 3])
    """
    if normalizer is None:
        positions = np.arange(len(text), dtype=np.int64)
        return text, positions, positions + 1
    expected = normalizer.normalize_str(text)
    pretokenized = PreTokenizedString(text)
    pretokenized.normalize(normalizer.normalize)
    _EACH_CHARACTER.pre_tokenize(pretokenized)
    splits = pretokenized.get_splits(offset_referential="original", offset_type="char")
    if "".join(split for split, _, _ in splits) != expected:
        count = len(expected)
        return expected, np.zeros(count, np.int64), np.full(count, len(text), np.int64)
    starts = np.asarray([offsets[0] for _, offsets, _ in splits], np.int64).reshape(-1)
    ends = np.asarray([offsets[1] for _, offsets, _ in splits], np.int64).reshape(-1)
    for index, (split, (start, end), _) in enumerate(splits):
        if split == '"' and text[start:end] != '"' and text[start - 1 : end] in _QUOTE_PAIRS:
            starts[index] = start - 1
    return expected, starts, ends


def char_positions_of_bytes(text: str) -> np.ndarray:
    """For each UTF-8 byte boundary ``b`` of ``text``, the character position it falls at.

    An array of ``len(text.encode("utf-8")) + 1`` entries; a byte inside a character maps
    to the position of that character's end.

    Example:

    >>> char_positions_of_bytes("aé").tolist()
    [0, 1, 2, 2]
    """
    points = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    lengths = 1 + (points >= 0x80) + (points >= 0x800) + (points >= 0x10000)
    boundaries = np.concatenate([[0], np.cumsum(lengths)])
    return np.searchsorted(boundaries, np.arange(boundaries[-1] + 1), side="left")


def piece_spans(
    pieces: Sequence, text: str, normalize: Callable[[str], str]
) -> list[tuple[int, int]]:
    """The character span in ``text`` of each SentencePiece piece encoded from it.

    ``pieces`` are the pieces of a SentencePiece proto encoding (``.piece``, ``.begin``,
    ``.end``, byte offsets into ``text``); ``normalize`` is SentencePiece's normalization of
    a string. SentencePiece hands the whitespace before a word, and characters its
    normalization deletes or merges away, to a neighbouring piece; here a span keeps only
    the characters that make the piece: a first or last character is dropped while the
    rest normalizes to the same string. So ``"▁world"`` covers ``"world"``, a piece that is
    only ``"▁"`` gets an empty span where the next word starts, and a deleted control
    character belongs to no piece. A piece spelled from part of one character (``"½"``
    normalized to ``"1⁄2"`` and cut in two) gets that whole character, as the other
    pieces from it do.

    Example:

    >>> from types import SimpleNamespace as Piece
    >>> pieces = [Piece(piece="▁a", begin=0, end=1), Piece(piece="▁b", begin=1, end=4)]
    >>> piece_spans(pieces, "a  b", lambda text: "▁".join(text.split()))
    [(0, 1), (3, 4)]
    """
    positions = char_positions_of_bytes(text)
    last = len(positions) - 1
    spans = []
    for piece in pieces:
        start = int(positions[min(piece.begin, last)])
        end = int(positions[min(piece.end, last)])
        if start < end:
            whole = normalize(text[start:end])
            while start < end and normalize(text[start + 1 : end]) == whole:
                start += 1
            while end > start and normalize(text[start : end - 1]) == whole:
                end -= 1
        if start == end and piece.piece.lstrip(WORD_START) and start < len(text):
            end = start + 1  # the piece is part of the expansion of the character at `start`
        spans.append((start, end))
    return spans


def original_span(
    span: tuple[int, int], starts: np.ndarray, ends: np.ndarray, length: int
) -> tuple[int, int]:
    """A span of normalized characters as a span of the original text (see
    ``normalized_alignment``); an empty one sits where its normalized position came from.

    Example:

    >>> import numpy as np
    >>> original_span((1, 3), np.array([0, 0, 1]), np.array([1, 1, 2]), 2)
    (0, 2)
    >>> original_span((3, 3), np.array([0, 0, 1]), np.array([1, 1, 2]), 2)
    (2, 2)
    """
    start, end = span
    if start < end:
        return int(starts[start:end].min()), int(ends[start:end].max())
    position = int(starts[start]) if start < len(starts) else length
    return position, position
