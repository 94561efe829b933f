"""The ALBERT tokenizer: SentencePiece with BERT's special tokens."""

import keras

from textbones.models.albert.backbone import AlbertBackbone
from textbones.preprocessing.bert_style_sentence_piece_tokenizer import (
    BertStyleSentencePieceTokenizer,
)


@keras.saving.register_keras_serializable(package="textbones")
class AlbertTokenizer(BertStyleSentencePieceTokenizer):
    """Split text into ALBERT's SentencePiece ids.

    The model proto must hold ``[CLS]``, ``[SEP]``, ``<pad>``, ``[MASK]`` and ``<unk>``
    (a ``ValueError`` names any that is missing); ids equal those of
    ``sentencepiece.SentencePieceProcessor`` on the same model. Load a published
    vocabulary with ``AlbertTokenizer.from_preset("albert_base_en_uncased")``.

    Args:
        proto: the SentencePiece model: a file path, its bytes, or base64 text of them;
            ``None`` to load it later (``from_preset`` does).
        **kwargs: ``sequence_length``, ``add_bos``, ``add_eos`` and the other
            ``SentencePieceTokenizer`` arguments.

    Example:

    >>> from textbones.preprocessing.sentence_piece_vocabulary import (
    ...     compute_sentence_piece_proto)
    >>> proto = compute_sentence_piece_proto(
    ...     ["the quick brown fox", "the lazy dog"], vocabulary_size=27,
    ...     bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"])
    >>> tokenizer = AlbertTokenizer(proto)
    >>> tokenizer.detokenize(tokenizer("the lazy fox"))
    'the lazy fox'
    >>> tokenizer.pad_token_id, tokenizer.mask_token_id
    (0, 4)
    """

    backbone_cls = AlbertBackbone
