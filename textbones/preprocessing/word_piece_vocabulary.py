"""Train a WordPiece vocabulary on a corpus, with the learner KerasHub's trainer uses.

KerasHub's ``compute_word_piece_vocabulary`` counts the words of the corpus and hands
them to TensorFlow Text's WordPiece learner (the bottom-up algorithm of BERT's
vocabulary): a binary search for the count threshold whose vocabulary comes closest to,
without exceeding, the size asked for. This module implements the same algorithm on
Python strings, with the same settings, so the same corpus gives the same list of tokens,
in the same order, without TensorFlow.
"""

import collections
import functools
import numbers
import os
import pathlib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence

from textbones.preprocessing.training_corpus import dataset_strings, is_tf_dataset

#: What ``reserved_tokens=None`` reserves (KerasHub's default): BERT's special tokens.
DEFAULT_RESERVED_TOKENS = ("[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]")

# The learner's settings, as KerasHub calls it: the search starts between counts 10 and
# 10 million (clipped to the counts seen), runs 4 refinement rounds per threshold, keeps
# words (and pieces) of at most 50 characters, the 1000 most frequent characters and the
# 5 million most frequent words, and accepts a vocabulary up to 5% below the target size.
_LOWEST_THRESHOLD = 10
_HIGHEST_THRESHOLD = 10_000_000
_ROUNDS = 4
_LONGEST_PIECE = 50
_ALPHABET_SIZE = 1000
_MOST_WORDS = 5_000_000
_SLACK = 0.05

# CJK ideograph blocks (BERT's list), each one a word of its own when splitting.
_CJK_BLOCKS = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
# Unicode's Default_Ignorable_Code_Point ranges, which case folding drops.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def compute_word_piece_vocabulary(
    data: Iterable[str] | Iterable[Sequence[str]] | Sequence[str | os.PathLike] | os.PathLike,
    vocabulary_size: int,
    vocabulary_output_file: str | os.PathLike | None = None,
    lowercase: bool = False,
    strip_accents: bool = False,
    split: bool = True,
    split_on_cjk: bool = True,
    suffix_indicator: str = "##",
    reserved_tokens: Iterable[str] | None = None,
) -> list[str]:
    """Learn a WordPiece vocabulary of at most ``vocabulary_size`` tokens from a corpus.

    The words of the corpus are counted, then pieces are learned as KerasHub's trainer
    (TensorFlow Text's learner) learns them: every piece seen often enough, at the count
    threshold whose vocabulary comes closest to ``vocabulary_size`` (within 5% below it),
    after four rounds in which each word is split with the pieces of the round before.
    The list holds the reserved tokens (in the given order, each once), then every
    character of the corpus in code point order, then the pieces, most frequent first
    (ties alphabetically); it is cut at ``vocabulary_size``, even inside the reserved
    tokens. Words longer than 50 characters and words equal to a reserved token are not
    learned from. The same corpus gives KerasHub's list, token for token. As there, the
    threshold never drops below about 9 occurrences, so a small corpus may give a list
    well short of ``vocabulary_size``: its rarer pieces never qualify.

    The words are found as KerasHub's trainer finds them: accents are stripped (with
    ``strip_accents``), the text is split on ASCII whitespace, control and format
    characters, keeping punctuation (and, with ``split_on_cjk``, each CJK ideograph) as
    words of their own, and each word is case-folded (with ``lowercase``; NFKC case
    folding, without stripping accents). One difference: KerasHub's TensorFlow splitter
    stops reading a text at a NUL character; here the rest of the text counts too.

    Args:
        data: the corpus: a ``tf.data.Dataset`` of strings (scalar, batched or ragged
            elements, e.g. ``ds.map(tf.strings.split)`` with ``split=False``), texts (a
            list, NumPy array or any iterable of strings, read once), or text files (a
            list of paths, or one path). A list counts as files when every item is a
            ``pathlib.Path`` or a string naming an existing file. With ``split=False``
            each string is one word, and a list item may also be a list of words.
        vocabulary_size: the most tokens to return, reserved tokens included.
        vocabulary_output_file: also write the vocabulary there, one token per line.
        lowercase: case-fold each word before counting.
        strip_accents: strip accents (decompose, drop the combining marks) first.
        split: split texts on whitespace and punctuation before counting; files need it.
        split_on_cjk: make each CJK ideograph a word of its own (only with ``split``).
        suffix_indicator: the prefix of pieces that continue a word.
        reserved_tokens: tokens given the first ids whatever the corpus holds;
            ``None`` reserves ``[PAD] [CLS] [SEP] [UNK] [MASK]``, ``[]`` nothing.

    Returns:
        The tokens in id order, ready for ``WordPieceTokenizer(vocabulary=...)`` or
        ``BertTokenizer(vocabulary=...)`` (also when ``vocabulary_output_file`` is given,
        where KerasHub returns ``None``).

    Raises:
        ValueError: ``data`` is a dict, a single string naming no file, a dataset of
            anything but strings, or files with ``split=False``; or an argument is out of
            range.
        FileNotFoundError: a ``pathlib.Path`` in ``data`` names no file.

    Example:

    >>> vocabulary = compute_word_piece_vocabulary(["bat sat pat mat rat"], 13)
    >>> vocabulary
    ['[PAD]', '[CLS]', '[SEP]', '[UNK]', '[MASK]', 'a', 'b', 'm', 'p', 'r', 's', 't', '##at']
    >>> from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer
    >>> tokenizer = WordPieceTokenizer(vocabulary)
    >>> tokenizer("bat sat").tolist()
    [6, 12, 10, 12]
    >>> compute_word_piece_vocabulary(["bat sat"], 3)  # cut inside the reserved tokens
    ['[PAD]', '[CLS]', '[SEP]']
    """
    if (
        isinstance(vocabulary_size, bool)
        or not isinstance(vocabulary_size, numbers.Integral)
        or vocabulary_size <= 0
    ):
        raise ValueError(f"`vocabulary_size` must be a positive integer, got {vocabulary_size!r}.")
    vocabulary_size = int(vocabulary_size)
    reserved = _checked_reserved_tokens(reserved_tokens)
    if not isinstance(suffix_indicator, str) or not suffix_indicator:
        raise ValueError(
            f"`suffix_indicator` must be a non-empty string, got {suffix_indicator!r}."
        )

    words = functools.partial(
        _words,
        lowercase=lowercase,
        strip_accents=strip_accents,
        split=split,
        split_on_cjk=split_on_cjk,
    )
    counts: collections.Counter[str] = collections.Counter()
    for text in _corpus_texts(data, split):
        counts.update(words(text))

    learned = _learn(counts, vocabulary_size, reserved, suffix_indicator)
    # A piece holding a line break (possible without splitting) cannot be stored in a
    # one-token-per-line file, nor read back: it is left out.
    vocabulary = [token for token in learned if "\n" not in token and "\r" not in token]
    vocabulary = vocabulary[:vocabulary_size]
    if vocabulary_output_file is not None:
        pathlib.Path(vocabulary_output_file).write_text(
            "".join(token + "\n" for token in vocabulary), encoding="utf-8", newline="\n"
        )
    return vocabulary


# -- the corpus ---------------------------------------------------------------------------
def _corpus_texts(data, split: bool) -> Iterator[str | list[str]]:
    """The texts of ``data`` (with ``split=False``, items may be lists of words)."""
    if is_tf_dataset(data):
        return dataset_strings(data, "compute_word_piece_vocabulary")
    if isinstance(data, Mapping):
        raise ValueError(
            "`data` must be a tf.data.Dataset of strings, a list of texts or a list of text "
            f"file paths, not a {type(data).__name__}. Pass the texts themselves, e.g. "
            "`list(data.values())`."
        )
    files = _as_files(data)
    if files is not None:
        if not split:
            raise ValueError(
                "Training on files needs `split=True`: a file holds running text, not "
                "words. For custom word splitting, split the text yourself and pass the "
                "words (a tf.data.Dataset of them, or lists of strings) with `split=False`."
            )
        return (pathlib.Path(path).read_text(encoding="utf-8") for path in files)
    return _texts(data, split)


def _as_files(data) -> list | None:
    """``data`` as a list of file paths, or ``None`` if it holds texts."""
    if isinstance(data, os.PathLike) or (isinstance(data, str) and os.path.isfile(data)):
        return [data]
    if isinstance(data, str):
        raise ValueError(
            f"`data` is a single string that names no file ({data[:60]!r}). Pass a list of "
            "texts, or the paths of text files."
        )
    if data is None:
        raise ValueError("`data` is None; pass a list of texts or of text file paths.")
    if isinstance(data, Sequence) and data and all(_names_a_file(item) for item in data):
        for item in data:
            if not os.path.isfile(item):
                raise FileNotFoundError(
                    f"No text file at {item}; `data` lists it as a training file."
                )
        return list(data)
    return None


def _names_a_file(item) -> bool:
    return isinstance(item, os.PathLike) or (isinstance(item, str) and os.path.isfile(item))


def _texts(data, split: bool) -> Iterator[str | list[str]]:
    if not isinstance(data, Iterable):
        raise ValueError(
            "`data` must be a tf.data.Dataset of strings, or a list or iterable of texts or "
            f"of text file paths, got {type(data).__name__}."
        )
    for index, item in enumerate(data):
        if isinstance(item, bytes):
            item = item.decode("utf-8")
        if isinstance(item, str):
            yield item
        elif not split and isinstance(item, Sequence) and all(isinstance(w, str) for w in item):
            yield from item
        else:
            raise ValueError(
                f"Item {index} of `data` is a {type(item).__name__} ({item!r:.60}); the corpus "
                "must be strings (or, with `split=False`, lists of words)."
            )


def _checked_reserved_tokens(reserved_tokens) -> list[str]:
    """The reserved tokens, each once, in their first order (as KerasHub keeps them)."""
    if isinstance(reserved_tokens, str):
        raise ValueError(
            f"`reserved_tokens` must be a list of strings, got the string {reserved_tokens!r}."
        )
    reserved = list(DEFAULT_RESERVED_TOKENS if reserved_tokens is None else reserved_tokens)
    for token in reserved:
        if not isinstance(token, str) or not token or "\n" in token or "\r" in token:
            raise ValueError(
                f"`reserved_tokens` must hold non-empty strings without line breaks, got {token!r}."
            )
    return list(dict.fromkeys(reserved))


# -- words, as KerasHub's trainer finds them -----------------------------------------------
def _words(
    text: str, *, lowercase: bool, strip_accents: bool, split: bool, split_on_cjk: bool
) -> list[str]:
    if strip_accents:
        decomposed = unicodedata.normalize("NFD", text)
        text = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    words = _split(text, split_on_cjk) if split else [text]
    return [_case_fold(word) for word in words] if lowercase else words


def _split(text: str, split_on_cjk: bool) -> list[str]:
    """Words between separators; punctuation (and CJK ideographs) are words of their own."""
    words, start = [], 0
    for position, char in enumerate(text):
        kind = _kind(char, split_on_cjk)
        if kind is None:
            continue
        if position > start:
            words.append(text[start:position])
        if kind == "kept":
            words.append(char)
        start = position + 1
    if start < len(text):
        words.append(text[start:])
    return words


@functools.lru_cache(maxsize=65536)
def _kind(char: str, split_on_cjk: bool) -> str | None:
    """``"dropped"`` for a separator, ``"kept"`` for a one-character word, else ``None``.

    Separators are ASCII whitespace and control and format characters (KerasHub's
    pattern; other Unicode spaces stay inside words). Punctuation is every ASCII
    character that is neither a letter nor a digit, and Unicode's punctuation classes.
    """
    category = unicodedata.category(char)
    code = ord(char)
    ascii_symbol = 0x21 <= code <= 0x7E and not char.isalnum()
    if ascii_symbol or category.startswith("P"):
        return "kept"
    if split_on_cjk and any(low <= code <= high for low, high in _CJK_BLOCKS):
        return "kept"
    if char == " " or category in ("Cc", "Cf"):
        return "dropped"
    return None


def _case_fold(word: str) -> str:
    """Unicode's NFKC_Casefold mapping (what TensorFlow Text's ``case_fold_utf8`` applies)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", word).casefold())
    return "".join(c for c in folded if not _is_default_ignorable(c))


def _is_default_ignorable(char: str) -> bool:
    return any(low <= ord(char) <= high for low, high in _DEFAULT_IGNORABLE)


# -- the learner ---------------------------------------------------------------------------
def _learn(counts: Mapping[str, int], size: int, reserved: list[str], joiner: str) -> list[str]:
    """The vocabulary of the count threshold found by binary search (see the module doc)."""
    if not counts:
        return list(reserved)
    # The search range comes from every word's count, before any is set aside.
    high = min(max(counts.values()), _HIGHEST_THRESHOLD)
    low = max(min(counts.values()), _LOWEST_THRESHOLD)
    excluded = set(reserved)
    words = [
        (word, count)
        for word, count in counts.items()
        if len(word) <= _LONGEST_PIECE and word not in excluded
    ]
    alphabet = _frequent_characters(words)
    # Most frequent first (a stable sort), so that the word limit drops the rarest ones.
    words = sorted(words, key=lambda item: -item[1])
    words = [(word, count) for word, count in words if alphabet.issuperset(word)]
    words = words[:_MOST_WORDS]
    while True:
        threshold = (high + low) // 2
        vocabulary = _vocabulary_at(words, threshold, reserved, joiner)
        fits = len(vocabulary) <= size and size - len(vocabulary) <= _SLACK * size
        if fits or low >= high or threshold <= 1:
            return vocabulary
        if len(vocabulary) > size:
            low = threshold + 1
        else:
            high = threshold - 1


def _frequent_characters(words: list[tuple[str, int]]) -> set[str]:
    """The ``_ALPHABET_SIZE`` characters with the highest counts (ties alphabetically)."""
    totals: collections.Counter[str] = collections.Counter()
    for word, count in words:
        for char in word:
            totals[char] += count
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return {char for char, _ in ranked[:_ALPHABET_SIZE]}


def _vocabulary_at(
    words: list[tuple[str, int]], threshold: int, reserved: list[str], joiner: str
) -> list[str]:
    """The vocabulary of the pieces counted at least ``threshold`` times."""
    characters = {char for word, _ in words for char in word}
    pieces = _with_characters({}, characters, joiner)
    for round_index in range(_ROUNDS):
        # by_length[n]: the candidate pieces of n characters (joiner not counted) and counts.
        by_length: list[dict[str, int]] = [{} for _ in range(_LONGEST_PIECE + 1)]
        for word, count in words:
            if round_index == 0:
                starts = range(len(word))
            else:
                starts = _piece_starts(word, pieces, joiner)
                if starts is None:
                    continue
            for start in starts:
                for stop in range(start + 1, len(word) + 1):
                    table = by_length[stop - start]
                    piece = word[start:stop] if start == 0 else joiner + word[start:stop]
                    table[piece] = table.get(piece, 0) + count
        chosen: dict[str, int] = {}
        # Longest first: a piece kept for its own sake no longer counts for its prefixes.
        for length in range(_LONGEST_PIECE, 0, -1):
            for piece, count in by_length[length].items():
                if count >= threshold:
                    chosen[piece] = count
                prefix_start = len(piece) - length  # the joiner's length, or 0
                for prefix_length in range(1, length):
                    prefix = piece[: prefix_start + prefix_length]
                    table = by_length[prefix_length]
                    if prefix in table:
                        table[prefix] -= count
        pieces = _with_characters(chosen, characters, joiner)
    ranked = sorted(pieces.items(), key=lambda item: (-item[1], item[0]))
    ordered = [*reserved, *sorted(characters), *(piece for piece, _ in ranked)]
    return list(dict.fromkeys(ordered))


def _with_characters(pieces: dict[str, int], characters: set[str], joiner: str) -> dict[str, int]:
    """``pieces`` plus every character, alone and as a continuation (count 1 if new)."""
    for char in characters:
        pieces.setdefault(char, 1)
        pieces.setdefault(joiner + char, 1)
    return pieces


def _piece_starts(word: str, pieces: Mapping[str, int], joiner: str) -> list[int] | None:
    """Where the pieces of ``word`` start when split longest-first, or ``None`` if it cannot be."""
    starts, start = [], 0
    while start < len(word):
        for stop in range(len(word), start, -1):
            piece = word[start:stop] if start == 0 else joiner + word[start:stop]
            if piece in pieces:
                break
        else:
            return None
        starts.append(start)
        start = stop
    return starts
