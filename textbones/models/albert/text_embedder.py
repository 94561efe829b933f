"""Albert's text embedder: the generic ``TextEmbedder`` on a ``AlbertBackbone``."""

import keras

from textbones.models.albert.backbone import AlbertBackbone
from textbones.models.albert.text_embedder_preprocessor import AlbertTextEmbedderPreprocessor
from textbones.models.text_embedder import TextEmbedder


@keras.saving.register_keras_serializable(package="textbones")
class AlbertTextEmbedder(TextEmbedder):
    """A ``AlbertBackbone`` with a pooling head: one vector per text; see ``TextEmbedder``.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.AlbertBackbone.from_preset(
    ...     "albert_base_en_uncased",
    ...     load_weights=False)
    >>> embedder = textbones.models.AlbertTextEmbedder(backbone, preprocessor=None)
    >>> embedder.pooling_mode, embedder.normalize, embedder.embedding_dim
    ('mean', True, 768)
    """

    backbone_cls = AlbertBackbone
    preprocessor_cls = AlbertTextEmbedderPreprocessor
