"""Albert's question-answerer preprocessor: the generic one, with the Albert tokenizer."""

import keras

from textbones.models.albert.tokenizer import AlbertTokenizer
from textbones.preprocessing.question_answerer_preprocessor import QuestionAnswererPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class AlbertQuestionAnswererPreprocessor(QuestionAnswererPreprocessor):
    """Questions and contexts to AlbertBackbone windows; see ``QuestionAnswererPreprocessor``.

    Example:

    >>> from textbones.models import AlbertTokenizer
    >>> from textbones.tokenizers import compute_sentence_piece_proto
    >>> proto = compute_sentence_piece_proto(
    ...     ["the fox ran", "the dog sat"] * 20, 20, bos_id=-1, eos_id=-1,
    ...     control_symbols=["[CLS]", "[SEP]", "[MASK]"], pad_id=0, unk_id=1,
    ...     hard_vocab_limit=False)
    >>> preprocessor = AlbertQuestionAnswererPreprocessor(AlbertTokenizer(proto=proto))
    >>> preprocessor.sequence_length, preprocessor.doc_stride, preprocessor.max_question_len
    (384, 128, 64)
    """

    tokenizer_cls = AlbertTokenizer
