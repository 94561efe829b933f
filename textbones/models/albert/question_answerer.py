"""Albert's question answerer: the generic ``QuestionAnswerer`` on a ``AlbertBackbone``."""

import keras

from textbones.models.albert.backbone import AlbertBackbone
from textbones.models.albert.question_answerer_preprocessor import (
    AlbertQuestionAnswererPreprocessor,
)
from textbones.models.question_answerer import QuestionAnswerer


@keras.saving.register_keras_serializable(package="textbones")
class AlbertQuestionAnswerer(QuestionAnswerer):
    """A ``AlbertBackbone`` with a span head (``qa_outputs``); see ``QuestionAnswerer``.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.AlbertBackbone.from_preset(
    ...     "albert_base_en_uncased",
    ...     load_weights=False)
    >>> model = textbones.models.AlbertQuestionAnswerer(backbone, preprocessor=None)
    >>> model.qa_outputs.units, sorted(model.output)
    (2, ['end_logits', 'start_logits'])
    """

    backbone_cls = AlbertBackbone
    preprocessor_cls = AlbertQuestionAnswererPreprocessor
