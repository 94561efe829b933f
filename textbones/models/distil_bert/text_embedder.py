"""DistilBert's text embedder: the generic ``TextEmbedder`` on a ``DistilBertBackbone``."""

import keras

from textbones.models.distil_bert.backbone import DistilBertBackbone
from textbones.models.distil_bert.text_embedder_preprocessor import (
    DistilBertTextEmbedderPreprocessor,
)
from textbones.models.text_embedder import TextEmbedder


@keras.saving.register_keras_serializable(package="textbones")
class DistilBertTextEmbedder(TextEmbedder):
    """A ``DistilBertBackbone`` with a pooling head: one vector per text; see ``TextEmbedder``.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.DistilBertBackbone.from_preset(
    ...     "distil_bert_base_en_uncased",
    ...     load_weights=False)
    >>> embedder = textbones.models.DistilBertTextEmbedder(backbone, preprocessor=None)
    >>> embedder.pooling_mode, embedder.normalize, embedder.embedding_dim
    ('mean', True, 768)
    """

    backbone_cls = DistilBertBackbone
    preprocessor_cls = DistilBertTextEmbedderPreprocessor
