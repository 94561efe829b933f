"""BERT's tokenizer: WordPiece with the ``[CLS] [SEP] [PAD] [MASK] [UNK]`` special tokens."""

import keras

from textbones.preprocessing.bert_style_word_piece_tokenizer import BertStyleWordPieceTokenizer


@keras.saving.register_keras_serializable(package="textbones")
class BertTokenizer(BertStyleWordPieceTokenizer):
    """The WordPiece tokenizer of BERT models, with BERT's special tokens.

    A ``WordPieceTokenizer`` whose vocabulary must hold ``[CLS]``, ``[SEP]``, ``[PAD]``,
    ``[MASK]`` and the out-of-vocabulary token (``[UNK]`` unless ``oov_token`` says
    otherwise). Their strings and ids are attributes (``cls_token``, ``cls_token_id``,
    ...); ``start_token``/``end_token`` name ``[CLS]``/``[SEP]`` too, as KerasHub's
    packers expect. Rows are padded with the ``[PAD]`` id. Ids equal those of
    ``transformers.BertTokenizerFast(vocab_file, do_lower_case=lowercase)`` called with
    ``add_special_tokens=False`` (with ``special_tokens_in_strings=True``, Hugging Face's
    default of keeping special tokens typed in the text whole).

    Args:
        vocabulary: the tokens in id order, as a list or a one-token-per-line file path;
            ``None`` until ``load_assets`` or ``from_preset`` fills it.
        lowercase: lowercase the text and strip its accents, as uncased BERT models
            expect (``True`` for ``*_uncased`` presets).
        **kwargs: the other ``WordPieceTokenizer`` arguments (``sequence_length``,
            ``special_tokens_in_strings``, ``strip_accents``, ...).

    Example:

    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "##es", "."]
    >>> tokenizer = BertTokenizer(vocabulary, lowercase=True)
    >>> tokenizer("The foxes.")
    array([5, 6, 7, 8], dtype=int32)
    >>> tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.mask_token_id
    (2, 3, 4)
    >>> BertTokenizer(vocabulary, special_tokens_in_strings=True)("the [MASK].").tolist()
    [5, 4, 8]
    """
