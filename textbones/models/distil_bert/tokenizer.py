"""DistilBERT's tokenizer: WordPiece with BERT's ``[CLS] [SEP] [PAD] [MASK] [UNK]`` tokens."""

import keras

from textbones.preprocessing.bert_style_word_piece_tokenizer import BertStyleWordPieceTokenizer


@keras.saving.register_keras_serializable(package="textbones")
class DistilBertTokenizer(BertStyleWordPieceTokenizer):
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
