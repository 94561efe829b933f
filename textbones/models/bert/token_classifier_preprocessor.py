"""Bert's token-classifier preprocessor: the generic one, with the Bert tokenizer."""

import keras

from textbones.models.bert.tokenizer import BertTokenizer
from textbones.preprocessing.token_classifier_preprocessor import TokenClassifierPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class BertTokenClassifierPreprocessor(TokenClassifierPreprocessor):
    """Raw text or pre-split words (with tags) to BertBackbone inputs; see
    ``TokenClassifierPreprocessor``.

    Example:

    >>> from textbones.models import BertTokenizer
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
    >>> preprocessor = BertTokenClassifierPreprocessor(tokenizer, sequence_length=6)
    >>> x, y = preprocessor([["the", "fox"]], [[0, 1]])
    >>> sorted(x), y.tolist()
    (['padding_mask', 'segment_ids', 'token_ids'], [[-100, 0, 1, -100, -100, -100]])
    """

    tokenizer_cls = BertTokenizer
