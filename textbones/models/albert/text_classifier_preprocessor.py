"""Albert's text-classifier preprocessor: the generic one, with the Albert tokenizer."""

import keras

from textbones.models.albert.tokenizer import AlbertTokenizer
from textbones.preprocessing.text_classifier_preprocessor import TextClassifierPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class AlbertTextClassifierPreprocessor(TextClassifierPreprocessor):
    """Raw text (or sentence pairs) to AlbertBackbone inputs; see ``TextClassifierPreprocessor``.

    Example:

    >>> from textbones.models import AlbertTokenizer
    >>> from textbones.tokenizers import compute_sentence_piece_proto
    >>> proto = compute_sentence_piece_proto(
    ...     ["the fox ran", "the dog sat"] * 20, 20, bos_id=-1, eos_id=-1,
    ...     control_symbols=["[CLS]", "[SEP]", "[MASK]"], pad_id=0, unk_id=1,
    ...     hard_vocab_limit=False)
    >>> tokenizer = AlbertTokenizer(proto=proto)
    >>> inputs = AlbertTextClassifierPreprocessor(tokenizer, sequence_length=8)(["the fox ran"])
    >>> sorted(inputs), inputs["token_ids"].shape
    (['padding_mask', 'segment_ids', 'token_ids'], (1, 8))
    """

    tokenizer_cls = AlbertTokenizer
