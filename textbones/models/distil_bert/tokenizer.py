"""DistilBERT's tokenizer: WordPiece with BERT's ``[CLS] [SEP] [PAD] [MASK] [UNK]`` tokens."""

import os
from collections.abc import Iterable
from typing import Any

import keras

from textbones.preprocessing.tokenizer import special_token_id
from textbones.preprocessing.word_piece_tokenizer import VOCABULARY_FILE, WordPieceTokenizer


@keras.saving.register_keras_serializable(package="textbones")
class DistilBertTokenizer(WordPieceTokenizer):
    """The WordPiece tokenizer of DistilBERT models (BERT's vocabularies and special tokens).

    A ``WordPieceTokenizer`` whose vocabulary must hold ``[CLS]``, ``[SEP]``, ``[PAD]``,
    ``[MASK]`` and the out-of-vocabulary token (``[UNK]`` unless ``oov_token`` says
    otherwise). Their strings and ids are attributes (``cls_token``, ``cls_token_id``,
    ...); ``start_token``/``end_token`` are ``[CLS]``/``[SEP]``, which the packers put
    around each sequence. Ids equal those of ``transformers.DistilBertTokenizerFast`` with
    the same vocabulary and ``do_lower_case=lowercase``, called with
    ``add_special_tokens=False``.

    Args:
        vocabulary: the tokens in id order, as a list or a one-token-per-line file path;
            ``None`` until ``load_assets`` or ``from_preset`` fills it.
        lowercase: lowercase the text and strip its accents (``True`` for
            ``distil_bert_base_en_uncased``).
        **kwargs: the other ``WordPieceTokenizer`` arguments (``sequence_length``,
            ``special_tokens_in_strings``, ``strip_accents``, ...).

    Example:

    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cat", "##s", "!"]
    >>> tokenizer = DistilBertTokenizer(vocabulary, lowercase=True)
    >>> tokenizer("A cats!").tolist()
    [5, 6, 7, 8]
    >>> tokenizer.start_token_id, tokenizer.end_token_id, tokenizer.pad_token_id
    (2, 3, 0)
    >>> tokenizer.detokenize([2, 5, 6, 7, 3])
    '[CLS] a cats [SEP]'
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
