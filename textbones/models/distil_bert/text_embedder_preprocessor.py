"""DistilBert's text-embedder preprocessor: the generic one, with the DistilBert tokenizer."""

import keras

from textbones.models.distil_bert.tokenizer import DistilBertTokenizer
from textbones.preprocessing.text_embedder_preprocessor import TextEmbedderPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class DistilBertTextEmbedderPreprocessor(TextEmbedderPreprocessor):
    """Raw text to DistilBertBackbone inputs for embedding; see ``TextEmbedderPreprocessor``.

    Example:

    >>> from textbones.models import DistilBertTokenizer
    >>> tokenizer = DistilBertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
    >>> inputs = DistilBertTextEmbedderPreprocessor(tokenizer, sequence_length=8)(["the fox ran"])
    >>> sorted(inputs), inputs["token_ids"].shape
    (['padding_mask', 'token_ids'], (1, 8))
    """

    tokenizer_cls = DistilBertTokenizer
    has_segment_ids = False
