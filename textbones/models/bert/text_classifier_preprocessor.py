"""Bert's text-classifier preprocessor: the generic one, with the Bert tokenizer."""

import keras

from textbones.models.bert.tokenizer import BertTokenizer
from textbones.preprocessing.text_classifier_preprocessor import TextClassifierPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class BertTextClassifierPreprocessor(TextClassifierPreprocessor):
    """Raw text (or sentence pairs) to BertBackbone inputs; see ``TextClassifierPreprocessor``.

    Example:

    >>> from textbones.models import BertTokenizer
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
    >>> inputs = BertTextClassifierPreprocessor(tokenizer, sequence_length=8)(["the fox ran"])
    >>> sorted(inputs), inputs["token_ids"].shape
    (['padding_mask', 'segment_ids', 'token_ids'], (1, 8))
    """

    tokenizer_cls = BertTokenizer
