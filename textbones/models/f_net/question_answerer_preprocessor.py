"""FNet's question-answerer preprocessor: the generic one, with the FNet tokenizer."""

import keras

from textbones.models.f_net.tokenizer import FNetTokenizer
from textbones.preprocessing.question_answerer_preprocessor import QuestionAnswererPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class FNetQuestionAnswererPreprocessor(QuestionAnswererPreprocessor):
    """Questions and contexts to FNetBackbone windows; see ``QuestionAnswererPreprocessor``.

    Example:

    >>> from textbones.models import FNetTokenizer
    >>> from textbones.tokenizers import compute_sentence_piece_proto
    >>> proto = compute_sentence_piece_proto(
    ...     ["the fox ran", "the dog sat"] * 20, 20, bos_id=-1, eos_id=-1,
    ...     control_symbols=["[CLS]", "[SEP]", "[MASK]"], pad_id=0, unk_id=1,
    ...     hard_vocab_limit=False)
    >>> preprocessor = FNetQuestionAnswererPreprocessor(FNetTokenizer(proto=proto))
    >>> preprocessor.sequence_length, preprocessor.doc_stride, preprocessor.max_question_len
    (384, 128, 64)
    """

    tokenizer_cls = FNetTokenizer
    has_padding_mask = False
