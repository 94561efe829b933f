"""Albert's token-classifier preprocessor: the generic one, with the Albert tokenizer."""

import keras

from textbones.models.albert.tokenizer import AlbertTokenizer
from textbones.preprocessing.token_classifier_preprocessor import TokenClassifierPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class AlbertTokenClassifierPreprocessor(TokenClassifierPreprocessor):
    """Raw text or pre-split words (with tags) to AlbertBackbone inputs; see
    ``TokenClassifierPreprocessor``.

    Example:

    >>> from textbones.models import AlbertTokenizer
    >>> from textbones.tokenizers import compute_sentence_piece_proto
    >>> proto = compute_sentence_piece_proto(
    ...     ["the fox ran", "the dog sat"] * 20, 20, bos_id=-1, eos_id=-1,
    ...     control_symbols=["[CLS]", "[SEP]", "[MASK]"], pad_id=0, unk_id=1,
    ...     hard_vocab_limit=False)
    >>> tokenizer = AlbertTokenizer(proto=proto)
    >>> preprocessor = AlbertTokenClassifierPreprocessor(tokenizer, sequence_length=8)
    >>> x, y = preprocessor([["the", "fox"]], [[0, 1]])
    >>> sorted(x), y.shape
    (['padding_mask', 'segment_ids', 'token_ids'], (1, 8))
    """

    tokenizer_cls = AlbertTokenizer
