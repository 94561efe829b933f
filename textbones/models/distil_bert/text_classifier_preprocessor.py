"""DistilBERT's text-classifier preprocessor: the generic one, without segment ids."""

import keras

from textbones.models.distil_bert.tokenizer import DistilBertTokenizer
from textbones.preprocessing.text_classifier_preprocessor import TextClassifierPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class DistilBertTextClassifierPreprocessor(TextClassifierPreprocessor):
    """Raw text (or sentence pairs) to DistilBertBackbone inputs; see
    ``TextClassifierPreprocessor``.

    The rows are packed as BERT's (``[CLS] a [SEP] (b [SEP])``), but the output holds
    only ``token_ids`` and ``padding_mask``: DistilBERT has no segment embedding.

    Example:

    >>> from textbones.models import DistilBertTokenizer
    >>> tokenizer = DistilBertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
    >>> preprocessor = DistilBertTextClassifierPreprocessor(tokenizer, sequence_length=7)
    >>> x, y = preprocessor((["the fox"], ["ran"]), [1])
    >>> sorted(x), x["token_ids"].tolist(), x["padding_mask"].astype(int).tolist(), y.tolist()
    (['padding_mask', 'token_ids'], [[2, 5, 6, 3, 7, 3, 0]], [[1, 1, 1, 1, 1, 1, 0]], [1])
    """

    tokenizer_cls = DistilBertTokenizer
    has_segment_ids = False
