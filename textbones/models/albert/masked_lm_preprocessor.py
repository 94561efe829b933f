"""Albert's masked-LM preprocessor: the generic one, with the Albert tokenizer."""

import keras

from textbones.models.albert.tokenizer import AlbertTokenizer
from textbones.preprocessing.masked_lm_preprocessor import MaskedLMPreprocessor


@keras.saving.register_keras_serializable(package="textbones")
class AlbertMaskedLMPreprocessor(MaskedLMPreprocessor):
    """Raw text to masked AlbertBackbone inputs, labels and weights; see ``MaskedLMPreprocessor``.

    Example:

    >>> from textbones.models import AlbertTokenizer
    >>> from textbones.tokenizers import compute_sentence_piece_proto
    >>> proto = compute_sentence_piece_proto(
    ...     ["the fox ran", "the dog sat"] * 20, 20, bos_id=-1, eos_id=-1,
    ...     control_symbols=["[CLS]", "[SEP]", "[MASK]"], pad_id=0, unk_id=1,
    ...     hard_vocab_limit=False)
    >>> tokenizer = AlbertTokenizer(proto=proto)
    >>> preprocessor = AlbertMaskedLMPreprocessor(
    ...     tokenizer, sequence_length=8, mask_selection_length=2)
    >>> x, y, weights = preprocessor(["the fox ran", "the dog sat"])
    >>> x["mask_positions"].shape, y.shape, weights.shape
    ((2, 2), (2, 2), (2, 2))
    """

    tokenizer_cls = AlbertTokenizer
