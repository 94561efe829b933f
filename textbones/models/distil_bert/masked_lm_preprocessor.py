"""DistilBERT's masked-LM preprocessor: the generic one, without segment ids."""

import keras

from textbones.models.distil_bert.tokenizer import DistilBertTokenizer
from textbones.preprocessing.masked_lm_preprocessor import MaskedLMPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class DistilBertMaskedLMPreprocessor(MaskedLMPreprocessor):
    """Raw text to masked DistilBertBackbone inputs, labels and weights; see
    ``MaskedLMPreprocessor``.

    The inputs are ``token_ids``, ``padding_mask`` and ``mask_positions`` (no segment ids).

    Example:

    >>> from textbones.models import DistilBertTokenizer
    >>> tokenizer = DistilBertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
    >>> preprocessor = DistilBertMaskedLMPreprocessor(
    ...     tokenizer, sequence_length=8, mask_selection_length=2)
    >>> x, y, weights = preprocessor(["the fox ran", "the dog sat"])
    >>> sorted(x), x["token_ids"].shape, y.shape, weights.shape
    (['mask_positions', 'padding_mask', 'token_ids'], (2, 8), (2, 2), (2, 2))
    """

    tokenizer_cls = DistilBertTokenizer
    has_segment_ids = False
