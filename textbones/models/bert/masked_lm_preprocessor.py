"""Bert's masked-LM preprocessor: the generic one, with the Bert tokenizer."""

import keras

from textbones.models.bert.tokenizer import BertTokenizer
from textbones.preprocessing.masked_lm_preprocessor import MaskedLMPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class BertMaskedLMPreprocessor(MaskedLMPreprocessor):
    """Raw text to masked BertBackbone inputs, labels and weights; see ``MaskedLMPreprocessor``.

    Example:

    >>> from textbones.models import BertTokenizer
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
    >>> preprocessor = BertMaskedLMPreprocessor(
    ...     tokenizer, sequence_length=8, mask_selection_length=2)
    >>> x, y, weights = preprocessor(["the fox ran", "the dog sat"])
    >>> x["mask_positions"].shape, y.shape, weights.shape
    ((2, 2), (2, 2), (2, 2))
    """

    tokenizer_cls = BertTokenizer
