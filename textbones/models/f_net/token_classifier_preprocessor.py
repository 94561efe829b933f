"""FNet's token-classifier preprocessor: the generic one, with the FNet tokenizer."""

import keras

from textbones.models.f_net.tokenizer import FNetTokenizer
from textbones.preprocessing.token_classifier_preprocessor import TokenClassifierPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class FNetTokenClassifierPreprocessor(TokenClassifierPreprocessor):
    """Raw text or pre-split words (with tags) to FNetBackbone inputs; see
    ``TokenClassifierPreprocessor``.

    Example:

    >>> from textbones.models import FNetTokenizer
    >>> from textbones.tokenizers import compute_sentence_piece_proto
    >>> proto = compute_sentence_piece_proto(
    ...     ["the fox ran", "the dog sat"] * 20, 20, bos_id=-1, eos_id=-1,
    ...     control_symbols=["[CLS]", "[SEP]", "[MASK]"], pad_id=0, unk_id=1,
    ...     hard_vocab_limit=False)
    >>> tokenizer = FNetTokenizer(proto=proto)
    >>> preprocessor = FNetTokenClassifierPreprocessor(tokenizer, sequence_length=8)
    >>> x, y = preprocessor([["the", "fox"]], [[0, 1]])
    >>> sorted(x), y.shape
    (['segment_ids', 'token_ids'], (1, 8))
    """

    tokenizer_cls = FNetTokenizer
    has_padding_mask = False
