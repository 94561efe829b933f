"""Raw text (single sentences or pairs) to classifier inputs."""

import keras
import numpy as np

from textbones.preprocessing.preprocessor import Preprocessor


class TextClassifierPreprocessor(Preprocessor):
    """Tokenize and pack text for a ``TextClassifier``: ``[CLS] a [SEP] (b [SEP])``.

    Call it on one string, a list of strings, or a tuple of two lists for sentence pairs;
    with labels (and sample weights) it returns ``(x, y)`` (or ``(x, y, sample_weight)``)
    so it can sit in a ``fit`` pipeline. ``x`` holds ``token_ids``, plus ``segment_ids``
    and ``padding_mask`` where the family's backbone takes them (``has_segment_ids``,
    ``has_padding_mask``; FNet takes no padding mask), each ``[batch, sequence_length]``.

    Args:
        tokenizer: the family's tokenizer.
        sequence_length: length of the packed rows.
        truncate: ``"round_robin"`` or ``"waterfall"``.
        **kwargs: see ``Preprocessor``.

    Example:

    >>> from textbones.models import BertTokenizer
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
    >>> from textbones.models import BertTextClassifierPreprocessor
    >>> preprocessor = BertTextClassifierPreprocessor(tokenizer, sequence_length=7)
    >>> x, y = preprocessor((["the fox"], ["ran"]), [1])
    >>> x["token_ids"].tolist(), x["segment_ids"].tolist(), y.tolist()
    ([[2, 5, 6, 3, 7, 3, 0]], [[0, 0, 0, 0, 1, 1, 0]], [1])
    """

    def preprocess_batch(
        self, x, y=None, sample_weight=None, *, dynamic_length: bool = False, rng=None
    ):
        """The packed inputs of ``x``, with ``y`` and ``sample_weight`` as NumPy arrays; see
        ``Preprocessor.preprocess_batch``. ``rng`` is unused: nothing here is random."""
        inputs = self._model_inputs(x, dynamic_length=dynamic_length)
        if y is not None:
            y = np.asarray(y)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, "float32")
        return keras.utils.pack_x_y_sample_weight(inputs, y, sample_weight)
