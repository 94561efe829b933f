"""The WordPiece tokenizer with BERT's special tokens, shared by BERT and DistilBERT."""

import os
from collections.abc import Iterable
from typing import Any

from textbones.preprocessing.tokenizer import special_token_id
from textbones.preprocessing.word_piece_tokenizer import VOCABULARY_FILE, WordPieceTokenizer


class BertStyleWordPieceTokenizer(WordPieceTokenizer):
    """A WordPiece tokenizer whose vocabulary holds ``[CLS] [SEP] [PAD] [MASK] [UNK]``.

    The packers frame inputs as ``[CLS] a [SEP] b [SEP]`` (``start_token`` and
    ``end_token`` name ``[CLS]`` and ``[SEP]``) and pad rows with the id of ``[PAD]``;
    ``unk_token`` is the out-of-vocabulary token. A vocabulary lacking one of them is
    refused, naming it. A family subclasses this and adds only its documentation; see
    ``BertTokenizer`` and ``DistilBertTokenizer``.

    Args:
        vocabulary: a ``vocab.txt``-style file (one token per line) or a list of tokens,
            or ``None`` to load it later.
        lowercase: lowercase the text and strip its accents (uncased models).
        **kwargs: the ``WordPieceTokenizer`` arguments (``sequence_length``, ...).

    Example:

    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi", "there"]
    >>> tokenizer = BertStyleWordPieceTokenizer(vocabulary, sequence_length=4)
    >>> tokenizer(["hi there"]).tolist()
    [[5, 6, 0, 0]]
    >>> tokenizer.start_token, tokenizer.end_token_id, tokenizer.unk_token_id
    ('[CLS]', 3, 1)
    """

    special_token_names = ("cls_token", "sep_token", "pad_token", "mask_token", "unk_token")
    asset_file = VOCABULARY_FILE

    def __init__(
        self,
        vocabulary: str | os.PathLike | Iterable[str] | None = None,
        lowercase: bool = False,
        **kwargs: Any,
    ):
        self.cls_token = "[CLS]"
        self.sep_token = "[SEP]"
        self.pad_token = "[PAD]"
        self.mask_token = "[MASK]"
        super().__init__(vocabulary=vocabulary, lowercase=lowercase, **kwargs)

    @property
    def unk_token(self) -> str:
        """The out-of-vocabulary token (``oov_token``)."""
        return self.oov_token

    @property
    def start_token(self) -> str:
        """The token that starts a packed sequence: ``[CLS]``."""
        return self.cls_token

    @property
    def end_token(self) -> str:
        """The token that ends each packed segment: ``[SEP]``."""
        return self.sep_token

    cls_token_id = special_token_id("cls_token")
    sep_token_id = special_token_id("sep_token")
    pad_token_id = special_token_id("pad_token")
    mask_token_id = special_token_id("mask_token")
    unk_token_id = special_token_id("unk_token")
    start_token_id = special_token_id("start_token")
    end_token_id = special_token_id("end_token")
