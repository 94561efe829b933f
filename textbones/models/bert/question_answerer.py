"""Bert's question answerer: the generic ``QuestionAnswerer`` on a ``BertBackbone``."""

import keras

from textbones.models.bert.backbone import BertBackbone
from textbones.models.bert.question_answerer_preprocessor import (
    BertQuestionAnswererPreprocessor,
)
from textbones.models.question_answerer import QuestionAnswerer


@keras.saving.register_keras_serializable(package="textbones")
class BertQuestionAnswerer(QuestionAnswerer):
    """A ``BertBackbone`` with a span head (``qa_outputs``); see ``QuestionAnswerer``.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.BertBackbone.from_preset(
    ...     "bert_tiny_en_uncased",
    ...     load_weights=False)
    >>> model = textbones.models.BertQuestionAnswerer(backbone, preprocessor=None)
    >>> model.qa_outputs.units, sorted(model.output)
    (2, ['end_logits', 'start_logits'])
    """

    backbone_cls = BertBackbone
    preprocessor_cls = BertQuestionAnswererPreprocessor
