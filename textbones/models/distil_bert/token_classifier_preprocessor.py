"""DistilBert's token-classifier preprocessor: the generic one, with the DistilBert tokenizer."""

import keras

from textbones.models.distil_bert.tokenizer import DistilBertTokenizer
from textbones.preprocessing.token_classifier_preprocessor import TokenClassifierPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class DistilBertTokenClassifierPreprocessor(TokenClassifierPreprocessor):
    """Raw text or pre-split words (with tags) to DistilBertBackbone inputs; see
    ``TokenClassifierPreprocessor``.

    Example:

    >>> from textbones.models import DistilBertTokenizer
    >>> tokenizer = DistilBertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
    >>> preprocessor = DistilBertTokenClassifierPreprocessor(tokenizer, sequence_length=6)
    >>> x, y = preprocessor([["the", "fox"]], [[0, 1]])
    >>> sorted(x), y.tolist()
    (['padding_mask', 'token_ids'], [[-100, 0, 1, -100, -100, -100]])
    """

    tokenizer_cls = DistilBertTokenizer
    has_segment_ids = False
