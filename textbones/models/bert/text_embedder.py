"""Bert's text embedder: the generic ``TextEmbedder`` on a ``BertBackbone``."""

import keras

from textbones.models.bert.backbone import BertBackbone
from textbones.models.bert.text_embedder_preprocessor import BertTextEmbedderPreprocessor
from textbones.models.text_embedder import TextEmbedder


@keras.saving.register_keras_serializable(package="textbones")
class BertTextEmbedder(TextEmbedder):
    """A ``BertBackbone`` with a pooling head: one vector per text; see ``TextEmbedder``.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.BertBackbone.from_preset(
    ...     "bert_tiny_en_uncased",
    ...     load_weights=False)
    >>> embedder = textbones.models.BertTextEmbedder(backbone, preprocessor=None)
    >>> embedder.pooling_mode, embedder.normalize, embedder.embedding_dim
    ('mean', True, 128)
    """

    backbone_cls = BertBackbone
    preprocessor_cls = BertTextEmbedderPreprocessor
