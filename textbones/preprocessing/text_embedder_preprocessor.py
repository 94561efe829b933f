"""Raw text to text-embedder inputs: one packed row per text, optionally behind a prompt."""

from __future__ import annotations

import keras
import numpy as np

from textbones.preprocessing.preprocessor import Preprocessor
from textbones.preprocessing.text_inputs import as_texts


class TextEmbedderPreprocessor(Preprocessor):
    """Tokenize and pack text for a ``TextEmbedder``: ``[CLS] text [SEP]``, 256 tokens at most.

    Called on one string, a list of strings, or a tuple of lists (segments packed into one
    row, as KerasHub packs them), it returns the backbone's inputs. The rows always carry a
    ``padding_mask`` (pooling needs to know the real tokens), also for a backbone that
    takes none (FNet); ``segment_ids`` where the backbone takes them.

    ``preprocess_batch`` takes the options a ``TextEmbedder`` uses:

    - ``prompt``: a string put before every text (e.g. ``"query: "``);
    - ``prompt_length``: also return ``prompt_length``, the number of leading tokens the
      prompt takes, the start token included (what a model that pools without its prompt
      leaves out); 0 without a prompt;
    - ``separate_columns``: read a tuple of lists as separate texts (anchors, positives,
      ...), each packed on its own row, the columns stacked one after the other; the
      labels are then each row's column as a one-hot row (contrastive training).

    Args:
        tokenizer: the family's tokenizer.
        sequence_length: length of the packed rows (256 by default).
        truncate: ``"round_robin"`` or ``"waterfall"``.
        **kwargs: see ``Preprocessor``.

    Example:

    >>> from textbones.models import BertTextEmbedderPreprocessor, BertTokenizer
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran", ":"])
    >>> preprocessor = BertTextEmbedderPreprocessor(tokenizer, sequence_length=8)
    >>> preprocessor("the fox")["token_ids"].tolist()
    [2, 5, 6, 3, 0, 0, 0, 0]
    >>> x = preprocessor.preprocess_batch(["ran"], prompt="the fox: ", prompt_length=True)
    >>> x["token_ids"].tolist(), x["prompt_length"].tolist()
    ([[2, 5, 6, 8, 7, 3, 0, 0]], [4])
    """

    def __init__(self, tokenizer, sequence_length: int = 256, truncate: str = "round_robin", **kw):
        super().__init__(tokenizer, sequence_length=sequence_length, truncate=truncate, **kw)

    # Pooling reads the mask, whatever the backbone takes.
    has_padding_mask = True

    def preprocess_batch(
        self,
        x,
        y=None,
        sample_weight=None,
        *,
        dynamic_length: bool = False,
        rng=None,
        prompt: str | None = None,
        prompt_length: bool = False,
        separate_columns: bool = False,
    ):
        """The packed inputs of ``x`` (see the class), with ``y`` and ``sample_weight`` as
        NumPy arrays; see ``Preprocessor.preprocess_batch``. ``rng`` is unused."""
        if separate_columns and isinstance(x, tuple):
            columns = [
                as_texts(column, type(self).__name__, (index, len(x)))[0]
                for index, column in enumerate(x)
            ]
            rows = len(columns[0])
            x = [text for column in columns for text in column]
            if y is None:
                y = np.repeat(np.eye(len(columns), dtype="float32"), rows, axis=0)
        if prompt:
            x = _with_prompt(x, prompt, type(self).__name__)
        inputs = self._model_inputs(x, dynamic_length=dynamic_length)
        if prompt_length:
            rows = inputs["token_ids"].shape[0] if inputs["token_ids"].ndim == 2 else None
            count = self.prompt_length(prompt)
            inputs["prompt_length"] = (
                np.int32(count) if rows is None else np.full((rows,), count, "int32")
            )
        if y is not None:
            y = np.asarray(y)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, "float32")
        return keras.utils.pack_x_y_sample_weight(inputs, y, sample_weight)

    def prompt_length(self, prompt: str | None) -> int:
        """The leading tokens ``prompt`` takes in a packed row: the start token and the
        prompt's own tokens (0 without a prompt), at most the row's length.

        Example:

        >>> from textbones.models import BertTextEmbedderPreprocessor, BertTokenizer
        >>> tokenizer = BertTokenizer(
        ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "query", ":"])
        >>> BertTextEmbedderPreprocessor(tokenizer).prompt_length("query: ")
        3
        """
        if not prompt:
            return 0
        return min(1 + len(self.tokenizer.tokenize(prompt)), self.sequence_length)


def _with_prompt(x, prompt: str, owner: str):
    """Every text of ``x`` with ``prompt`` in front (the first segment of a pair)."""
    if isinstance(x, tuple):
        return (_with_prompt(x[0], prompt, owner), *x[1:])
    if isinstance(x, (str, bytes)):
        return prompt + as_texts([x], owner)[0][0]
    return [prompt + text for text in as_texts(x, owner)[0]]
