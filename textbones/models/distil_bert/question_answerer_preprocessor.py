"""DistilBert's question-answerer preprocessor: the generic one, with the DistilBert tokenizer."""

import keras

from textbones.models.distil_bert.tokenizer import DistilBertTokenizer
from textbones.preprocessing.question_answerer_preprocessor import QuestionAnswererPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class DistilBertQuestionAnswererPreprocessor(QuestionAnswererPreprocessor):
    """Questions and contexts to DistilBertBackbone windows; see ``QuestionAnswererPreprocessor``.

    Example:

    >>> from textbones.models import DistilBertTokenizer
    >>> tokenizer = DistilBertTokenizer(vocabulary=[
    ...     "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "ran", "the", "fox", "?"])
    >>> preprocessor = DistilBertQuestionAnswererPreprocessor(tokenizer, sequence_length=8)
    >>> x = preprocessor(("who?", "the fox"))
    >>> x["token_ids"].tolist()
    [[2, 5, 9, 3, 7, 8, 3, 0]]
    """

    tokenizer_cls = DistilBertTokenizer
    has_segment_ids = False
