"""Bert's question-answerer preprocessor: the generic one, with the Bert tokenizer."""

import keras

from textbones.models.bert.tokenizer import BertTokenizer
from textbones.preprocessing.question_answerer_preprocessor import QuestionAnswererPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class BertQuestionAnswererPreprocessor(QuestionAnswererPreprocessor):
    """Questions and contexts to BertBackbone windows; see ``QuestionAnswererPreprocessor``.

    Example:

    >>> from textbones.models import BertTokenizer
    >>> tokenizer = BertTokenizer(vocabulary=[
    ...     "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "ran", "the", "fox", "?"])
    >>> x = BertQuestionAnswererPreprocessor(tokenizer, sequence_length=8)(("who?", "the fox"))
    >>> x["token_ids"].tolist()
    [[2, 5, 9, 3, 7, 8, 3, 0]]
    """

    tokenizer_cls = BertTokenizer
