"""Bert's text-embedder preprocessor: the generic one, with the Bert tokenizer."""

import keras

from textbones.models.bert.tokenizer import BertTokenizer
from textbones.preprocessing.text_embedder_preprocessor import TextEmbedderPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class BertTextEmbedderPreprocessor(TextEmbedderPreprocessor):
    """Raw text to BertBackbone inputs for embedding; see ``TextEmbedderPreprocessor``.

    Example:

    >>> from textbones.models import BertTokenizer
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
    >>> inputs = BertTextEmbedderPreprocessor(tokenizer, sequence_length=8)(["the fox ran"])
    >>> sorted(inputs), inputs["token_ids"].shape
    (['padding_mask', 'segment_ids', 'token_ids'], (1, 8))
    """

    tokenizer_cls = BertTokenizer
