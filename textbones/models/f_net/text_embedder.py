"""FNet's text embedder: the generic ``TextEmbedder`` on a ``FNetBackbone``."""

import keras

from textbones.models.f_net.backbone import FNetBackbone
from textbones.models.f_net.text_embedder_preprocessor import FNetTextEmbedderPreprocessor
from textbones.models.text_embedder import TextEmbedder


@keras.saving.register_keras_serializable(package="textbones")
class FNetTextEmbedder(TextEmbedder):
    """A ``FNetBackbone`` with a pooling head: one vector per text; see ``TextEmbedder``.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.FNetBackbone.from_preset(
    ...     "f_net_base_en",
    ...     load_weights=False)
    >>> embedder = textbones.models.FNetTextEmbedder(backbone, preprocessor=None)
    >>> embedder.pooling_mode, embedder.normalize, embedder.embedding_dim
    ('mean', True, 768)
    """

    backbone_cls = FNetBackbone
    preprocessor_cls = FNetTextEmbedderPreprocessor
