"""``TokenSpans``: the tokens of one text, each with the characters it came from."""

from __future__ import annotations

import dataclasses

import numpy as np

#: The word index of a token that belongs to no word of the text (a special token).
NO_WORD = -1


@dataclasses.dataclass(frozen=True, eq=False)
class TokenSpans:
    """The tokens of one text with, for each, its character span and its word.

    ``Tokenizer.tokenize_with_offsets`` returns one per text. Offsets index the text as
    given (Python ``str`` positions, so ``text[start:end]`` is what a token was read from,
    before any lowercasing or accent stripping); with pre-split words they index the word
    the token belongs to, as Hugging Face's fast tokenizers count them. A token that is no
    part of any word, such as ``[CLS]`` added by a packer, has the empty span ``(0, 0)``
    and word index ``NO_WORD`` (-1).

    Attributes:
        text: the string tokenized, or the list of words when the input was pre-split.
        ids: the token ids, int32 ``[n]``.
        offsets: int32 ``[n, 2]``: each token's ``(start, end)`` character offsets.
        word_ids: int32 ``[n]``: each token's word index (words split on whitespace and,
            for WordPiece, on punctuation; for SentencePiece a word starts at each piece
            beginning with ``"▁"``; a special token typed in the text is a word of its
            own), ``NO_WORD`` for a token of no word.
        special: bool ``[n]``: whether the token is a special token (``[MASK]`` typed in
            the text, or a packer's ``[CLS]`` and ``[SEP]``).

    Example:

    >>> from textbones.tokenizers import BertTokenizer
    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "##es", "!"]
    >>> spans = BertTokenizer(vocabulary, lowercase=True).tokenize_with_offsets("The foxes!")
    >>> spans.ids.tolist(), spans.offsets.tolist(), spans.word_ids.tolist()
    ([5, 6, 7, 8], [[0, 3], [4, 7], [7, 9], [9, 10]], [0, 1, 1, 2])
    >>> spans.span_text(2)
    'es'
    """

    text: str | list[str]
    ids: np.ndarray
    offsets: np.ndarray
    word_ids: np.ndarray
    special: np.ndarray

    @classmethod
    def from_lists(
        cls,
        text: str | list[str],
        ids,
        offsets,
        word_ids,
        special=None,
    ) -> TokenSpans:
        """Build from Python lists; ``None`` word ids become ``NO_WORD``.

        Example:

        >>> TokenSpans.from_lists("hi", [7], [(0, 2)], [None]).word_ids.tolist()
        [-1]
        """
        count = len(ids)
        offsets = np.asarray(offsets, "int32").reshape(count, 2)
        words = np.asarray(
            [NO_WORD if word is None else word for word in word_ids], "int32"
        ).reshape(count)
        special = np.zeros(count, bool) if special is None else np.asarray(special, bool)
        return cls(text, np.asarray(ids, "int32").reshape(count), offsets, words, special)

    def __len__(self) -> int:
        return len(self.ids)

    def span_text(self, index: int) -> str:
        """The characters token ``index`` was read from (``""`` for a token of no word).

        Example:

        >>> TokenSpans.from_lists("a cat", [1, 2], [(0, 1), (2, 5)], [0, 1]).span_text(1)
        'cat'
        """
        start, end = (int(value) for value in self.offsets[index])
        if isinstance(self.text, str):
            return self.text[start:end]
        word = int(self.word_ids[index])
        return "" if word == NO_WORD else self.text[word][start:end]
