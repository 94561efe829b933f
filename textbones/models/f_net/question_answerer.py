"""FNet's question answerer: the generic ``QuestionAnswerer`` on a ``FNetBackbone``."""

import keras

from textbones.models.f_net.backbone import FNetBackbone
from textbones.models.f_net.question_answerer_preprocessor import (
    FNetQuestionAnswererPreprocessor,
)
from textbones.models.question_answerer import QuestionAnswerer


@keras.saving.register_keras_serializable(package="textbones")
class FNetQuestionAnswerer(QuestionAnswerer):
    """A ``FNetBackbone`` with a span head (``qa_outputs``); see ``QuestionAnswerer``.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.FNetBackbone.from_preset(
    ...     "f_net_base_en",
    ...     load_weights=False)
    >>> model = textbones.models.FNetQuestionAnswerer(backbone, preprocessor=None)
    >>> model.qa_outputs.units, sorted(model.output)
    (2, ['end_logits', 'start_logits'])
    """

    backbone_cls = FNetBackbone
    preprocessor_cls = FNetQuestionAnswererPreprocessor
