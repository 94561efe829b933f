"""Raw text or pre-split words to token-classifier inputs, with per-word tags aligned to tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from textbones.preprocessing.preprocessor import Preprocessor
from textbones.preprocessing.text_inputs import as_texts

#: The label of a token the loss leaves out (special tokens, padding, later sub-tokens),
#: as in ``transformers``.
IGNORE_LABEL = -100


class TokenClassifierPreprocessor(Preprocessor):
    """Tokenize and pack text for a ``TokenClassifier``: ``[CLS] tokens [SEP]``, one row each.

    Input is raw strings (for ``predict``) or pre-split words: a list of words is one
    example, a list of such lists a batch (``is_split_into_words``, guessed from the
    input when left ``None``). With labels, the words' tags (one integer per word) are
    spread over the tokens: a word's first token takes its tag, its other tokens
    ``-100`` (or the same tag, with ``label_all_tokens``); ``[CLS]``, ``[SEP]`` and
    padding take ``-100``, which the loss ignores. Rows longer than ``sequence_length``
    are cut (their later words lose their tags).

    Args:
        tokenizer: the family's tokenizer.
        sequence_length: length of the packed rows.
        label_all_tokens: give every token of a word the word's tag, not only the first.
        truncate: kept for the config (one segment is always cut at its end).
        **kwargs: see ``Preprocessor``.

    Example:

    >>> from textbones.models import BertTokenizer, BertTokenClassifierPreprocessor
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "new", "york", "##er", "is"])
    >>> preprocessor = BertTokenClassifierPreprocessor(tokenizer, sequence_length=8)
    >>> x, y = preprocessor([["yorker", "is", "new"]], [[1, 0, 2]])
    >>> x["token_ids"].tolist(), y.tolist()
    ([[2, 6, 7, 8, 5, 3, 0, 0]], [[-100, 1, -100, 0, 2, -100, -100, -100]])
    """

    def __init__(
        self,
        tokenizer,
        sequence_length: int = 512,
        label_all_tokens: bool = False,
        truncate: str = "round_robin",
        **kwargs,
    ):
        super().__init__(tokenizer, sequence_length=sequence_length, truncate=truncate, **kwargs)
        self.label_all_tokens = bool(label_all_tokens)

    def preprocess_batch(
        self,
        x,
        y=None,
        sample_weight=None,
        *,
        dynamic_length: bool = False,
        rng=None,
        is_split_into_words: bool | None = None,
    ):
        """The packed inputs of ``x`` with the tags ``y`` aligned to the tokens; see the class
        and ``Preprocessor.preprocess_batch``. ``rng`` is unused: nothing here is random.

        Example:

        >>> from textbones.models import BertTokenizer, BertTokenClassifierPreprocessor
        >>> tokenizer = BertTokenizer(
        ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "new", "york", "##er"])
        >>> preprocessor = BertTokenClassifierPreprocessor(
        ...     tokenizer, sequence_length=64, label_all_tokens=True)
        >>> x, y = preprocessor.preprocess_batch([["new", "yorker"]], [[2, 1]], dynamic_length=True)
        >>> x["token_ids"].shape, y[0, :5].tolist()
        ((1, 16), [-100, 2, 1, 1, -100])
        """
        words = _looks_like_words(x) if is_split_into_words is None else is_split_into_words
        if not words:
            if y is not None:
                raise ValueError(
                    f"{type(self).__name__} aligns tags to the tokens of pre-split words: pass "
                    "`x` as lists of words (one list per example) with one tag per word, "
                    "e.g. `x=[['John', 'lives', 'here']], y=[[1, 0, 0]]`."
                )
            inputs = self._model_inputs(x, dynamic_length=dynamic_length)
            return keras.utils.pack_x_y_sample_weight(inputs, None, _weights(sample_weight))
        examples, single = word_examples(x, type(self).__name__)
        token_ids, word_index = self.pack_words(examples)
        labels = None
        if y is not None:
            tags = [y] if single else list(y)
            if len(tags) != len(examples):
                raise ValueError(
                    f"{type(self).__name__} got {len(examples)} examples but {len(tags)} rows "
                    "of tags; give one list of tags per example."
                )
            labels = self.align_labels(word_index, tags)
        inputs = self._packed_inputs(token_ids, dynamic_length)
        width = inputs["token_ids"].shape[1]
        if labels is not None:
            labels = labels[:, :width]
        if single:
            inputs = {name: value[0] for name, value in inputs.items()}
            labels = None if labels is None else labels[0]
        return keras.utils.pack_x_y_sample_weight(inputs, labels, _weights(sample_weight))

    def pack_words(self, examples: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids ``[batch, sequence_length]`` of each example of words, and each token's
        word index (``-1`` for ``[CLS]``, ``[SEP]`` and padding).

        Each word is tokenized on its own, as ``transformers`` tokenizes pre-split words.

        Example:

        >>> from textbones.models import BertTokenizer, BertTokenClassifierPreprocessor
        >>> tokenizer = BertTokenizer(
        ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "new", "york", "##er"])
        >>> ids, words = BertTokenClassifierPreprocessor(tokenizer, 6).pack_words([["yorker"]])
        >>> ids.tolist(), words.tolist()
        ([[2, 6, 7, 3, 0, 0]], [[-1, 0, 0, -1, -1, -1]])
        """
        flat = [word for example in examples for word in example]
        pieces = iter(self.tokenizer._tokenized_rows(flat)[0] if flat else [])
        rows, word_rows = [], []
        for example in examples:
            ids: list[int] = []
            owners: list[int] = []
            for index in range(len(example)):
                word = list(next(pieces))
                ids += word
                owners += [index] * len(word)
            rows.append(ids)
            word_rows.append(owners)
        return self.pack_rows(rows, word_rows)

    def pack_rows(
        self, rows: Sequence[Sequence[int]], word_rows: Sequence[Sequence[int]] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows of token ids packed as ``[CLS] ids [SEP]`` and padded to ``sequence_length``
        (longer rows cut), with each position's entry of ``word_rows`` (``-1`` elsewhere).

        Example:

        >>> from textbones.models import BertTokenizer, BertTokenClassifierPreprocessor
        >>> tokenizer = BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        >>> preprocessor = BertTokenClassifierPreprocessor(tokenizer, 4)
        >>> ids, words = preprocessor.pack_rows([[7, 8, 9]], [[0, 0, 1]])
        >>> ids.tolist(), words.tolist()
        ([[2, 7, 8, 3]], [[-1, 0, 0, -1]])
        """
        length = self.sequence_length
        content = length - 2
        if content < 0:
            raise ValueError(
                f"{type(self).__name__} needs sequence_length >= 2 for [CLS] and [SEP], got "
                f"{length}."
            )
        start, end = self.tokenizer.start_token_id, self.tokenizer.end_token_id
        if start is None or end is None:
            self.packer  # raises, naming the missing token
        token_ids = np.full((len(rows), length), self.tokenizer.pad_token_id, "int32")
        word_index = np.full((len(rows), length), -1, "int32")
        for row, ids in enumerate(rows):
            ids = list(ids)[:content]
            token_ids[row, 0] = start
            token_ids[row, 1 : 1 + len(ids)] = ids
            token_ids[row, 1 + len(ids)] = end
            if word_rows is not None:
                word_index[row, 1 : 1 + len(ids)] = list(word_rows[row])[: len(ids)]
        return token_ids, word_index

    def align_labels(self, word_index: np.ndarray, tags: Sequence[Sequence[int]]) -> np.ndarray:
        """Per-token labels ``[batch, length]`` from each example's per-word tags.

        A word's first token takes its tag, its later tokens ``-100`` (the same tag with
        ``label_all_tokens``); tokens of no word take ``-100``.

        Example:

        >>> from textbones.models import BertTokenizer, BertTokenClassifierPreprocessor
        >>> tokenizer = BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        >>> preprocessor = BertTokenClassifierPreprocessor(tokenizer, 6)
        >>> preprocessor.align_labels(np.array([[-1, 0, 0, 1, -1, -1]]), [[4, 5]]).tolist()
        [[-100, 4, -100, 5, -100, -100]]
        """
        labels = np.full(word_index.shape, IGNORE_LABEL, "int32")
        for row, row_tags in enumerate(tags):
            row_tags = np.asarray(row_tags, "int64").reshape(-1)
            words = word_index[row]
            real = words >= 0
            if not real.any():
                continue
            if int(words[real].max()) >= len(row_tags):
                raise ValueError(
                    f"Example {row} has tokens of word {int(words[real].max())} but only "
                    f"{len(row_tags)} tags; give one tag per word."
                )
            previous = np.concatenate([[-1], words[:-1]])
            keep = real if self.label_all_tokens else real & (words != previous)
            labels[row, keep] = row_tags[words[keep]]
        return labels

    def _packed_inputs(self, token_ids: np.ndarray, dynamic_length: bool) -> dict[str, Any]:
        padding_mask = token_ids != self.tokenizer.pad_token_id
        # The packer's [CLS]/[SEP] are never padding, even if an id coincides.
        padding_mask[:, 0] = True
        inputs: dict[str, Any] = {"token_ids": token_ids}
        if self.has_segment_ids:
            inputs["segment_ids"] = np.zeros_like(token_ids)
        if self.has_padding_mask:
            inputs["padding_mask"] = padding_mask
            if dynamic_length and token_ids.shape[0]:
                width = self._padded_length(padding_mask)
                inputs = {name: value[:, :width] for name, value in inputs.items()}
        return inputs

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_all_tokens": self.label_all_tokens}


def _weights(sample_weight):
    return None if sample_weight is None else np.asarray(sample_weight, "float32")


def _looks_like_words(x) -> bool:
    """Whether ``x`` reads as pre-split words: a list of lists (or tuples) of strings."""
    if isinstance(x, np.ndarray):
        return x.dtype == object and x.size > 0 and isinstance(x.flat[0], (list, tuple))
    return (
        isinstance(x, (list, tuple))
        and bool(x)
        and all(isinstance(item, (list, tuple, np.ndarray)) for item in x)
    )


def is_word_batch(x) -> bool:
    """Whether ``x`` is a batch of pre-split examples (a list of lists of words).

    Example:

    >>> is_word_batch([["John", "lives"], ["here"]]), is_word_batch(["John lives here"])
    (True, False)
    """
    return _looks_like_words(x)


def word_examples(x, owner: str = "The input") -> tuple[list[list[str]], bool]:
    """``x`` as a list of examples of words (each a list of ``str``), and whether it was one.

    A list of strings is one example; a list of lists a batch. A word that is not a
    string is refused naming its example and position.

    Example:

    >>> word_examples([["a", "b"], ["c"]])
    ([['a', 'b'], ['c']], False)
    >>> word_examples(["a", "b"])
    ([['a', 'b']], True)
    """
    if not _looks_like_words(x):
        return [as_texts(list(x), owner)[0]], True
    examples = []
    for index, example in enumerate(x):
        words = list(example)
        for position, word in enumerate(words):
            if not isinstance(word, (str, bytes, np.str_, np.bytes_)):
                raise ValueError(
                    f"{owner} takes words as strings, but word {position} of example {index} is "
                    f"a {type(word).__name__} ({word!r}). Pass each example as a list of strings."
                )
        examples.append(as_texts(words, owner)[0] if words else [])
    return examples, False
