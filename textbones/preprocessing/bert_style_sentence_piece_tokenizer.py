"""The SentencePiece tokenizer with BERT's special tokens, shared by ALBERT and FNet."""

from typing import ClassVar

from textbones.preprocessing.sentence_piece_tokenizer import SentencePieceTokenizer
from textbones.preprocessing.tokenizer import special_token_id


class BertStyleSentencePieceTokenizer(SentencePieceTokenizer):
    """A SentencePiece tokenizer whose model must hold ``[CLS] [SEP] <pad> [MASK] <unk>``.

    Inputs are framed as ``[CLS] a [SEP] b [SEP]`` and padded with ``<pad>``, as in BERT,
    but split into pieces by SentencePiece. The constructor (and any later
    ``set_proto``/``load_assets``) refuses a model lacking one of those pieces, naming it.
    ``start_token``/``end_token`` are aliases of ``[CLS]``/``[SEP]`` for code written
    against other tokenizers. Padding uses the id of ``<pad>``.

    A family subclasses this and names nothing but its backbone; see ``AlbertTokenizer``.

    Args:
        proto: the SentencePiece model (path, bytes or base64 text), or ``None`` to load
            it later.
        **kwargs: the ``SentencePieceTokenizer`` arguments (``sequence_length``, ...).

    Example:

    >>> from textbones.preprocessing.sentence_piece_vocabulary import (
    ...     compute_sentence_piece_proto)
    >>> proto = compute_sentence_piece_proto(
    ...     ["the quick brown fox", "the lazy dog"], vocabulary_size=27,
    ...     bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"])
    >>> tokenizer = BertStyleSentencePieceTokenizer(proto, sequence_length=16)
    >>> tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.mask_token_id
    (2, 3, 4)
    >>> ids = tokenizer(["the fox"])
    >>> ids.shape, int(ids[0, -1]) == tokenizer.pad_token_id
    ((1, 16), True)
    """

    special_token_names: ClassVar[tuple[str, ...]] = (
        "cls_token",
        "sep_token",
        "pad_token",
        "mask_token",
        "unk_token",
    )
    cls_token: ClassVar[str] = "[CLS]"
    sep_token: ClassVar[str] = "[SEP]"
    pad_token: ClassVar[str] = "<pad>"
    mask_token: ClassVar[str] = "[MASK]"
    unk_token: ClassVar[str] = "<unk>"
    start_token: ClassVar[str] = "[CLS]"
    end_token: ClassVar[str] = "[SEP]"

    cls_token_id = special_token_id("cls_token")
    sep_token_id = special_token_id("sep_token")
    pad_token_id = special_token_id("pad_token")
    mask_token_id = special_token_id("mask_token")
    unk_token_id = special_token_id("unk_token")
    start_token_id = special_token_id("start_token")
    end_token_id = special_token_id("end_token")
