"""DistilBert's question answerer: the generic ``QuestionAnswerer`` on a ``DistilBertBackbone``."""

import keras

from textbones.models.distil_bert.backbone import DistilBertBackbone
from textbones.models.distil_bert.question_answerer_preprocessor import (
    DistilBertQuestionAnswererPreprocessor,
)
from textbones.models.question_answerer import QuestionAnswerer


@keras.saving.register_keras_serializable(package="textbones")
class DistilBertQuestionAnswerer(QuestionAnswerer):
    """A ``DistilBertBackbone`` with a span head (``qa_outputs``); see ``QuestionAnswerer``.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.DistilBertBackbone.from_preset(
    ...     "distil_bert_base_en_uncased",
    ...     load_weights=False)
    >>> model = textbones.models.DistilBertQuestionAnswerer(backbone, preprocessor=None)
    >>> model.qa_outputs.units, sorted(model.output)
    (2, ['end_logits', 'start_logits'])
    """

    backbone_cls = DistilBertBackbone
    preprocessor_cls = DistilBertQuestionAnswererPreprocessor
