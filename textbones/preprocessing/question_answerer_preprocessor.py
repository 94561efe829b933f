"""Questions and contexts to extractive question-answering windows, with span labels."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

from textbones.preprocessing.padding_buckets import bucket_length
from textbones.preprocessing.preprocessor import Preprocessor
from textbones.preprocessing.text_batches import as_text_columns
from textbones.preprocessing.token_spans import NO_WORD

#: Special tokens a window holds around the question and its context part:
#: ``start question end context end``.
SPECIAL_TOKENS_PER_WINDOW = 3


@dataclasses.dataclass(frozen=True, eq=False)
class QuestionWindows:
    """The windows of a batch of (question, context) examples, and how to read them back.

    Each example gives one window per stretch of its context that fits beside the question
    (consecutive windows overlap by ``doc_stride`` tokens). Row ``i`` is
    ``start question end context-part end`` then padding.

    Attributes:
        inputs: the backbone's inputs, ``[windows, length]`` each.
        example: int32 ``[windows]``: the example each window belongs to.
        context_mask: bool ``[windows, length]``: the positions holding context tokens.
        offsets: int32 ``[windows, length, 2]``: each context token's character span in
            its context (``(0, 0)`` elsewhere).
        word_ids: int32 ``[windows, length]``: each context token's word in its context
            (``-1`` elsewhere).
        lengths: int32 ``[windows]``: each window's tokens before the padding.
        window_start: int32 ``[windows]``: the index, among its context's tokens, of
            each window's first context token.
        contexts: the contexts, by example.
    """

    inputs: dict[str, np.ndarray]
    example: np.ndarray
    context_mask: np.ndarray
    offsets: np.ndarray
    word_ids: np.ndarray
    lengths: np.ndarray
    window_start: np.ndarray
    contexts: list[str]

    def __len__(self) -> int:
        return len(self.example)


class QuestionAnswererPreprocessor(Preprocessor):
    """Pack ``(questions, contexts)`` for a ``QuestionAnswerer``: ``[CLS] q [SEP] c [SEP]``.

    The question comes first, cut to ``max_question_len`` tokens; the context is cut into
    windows of the tokens that fit in ``sequence_length`` beside it, each window starting
    ``doc_stride`` tokens before the previous one ended, so one example may give several
    rows. ``windows`` returns the rows with what decoding an answer needs (each window's
    example, context mask, character offsets and word of each token).

    Called with answers (``preprocess_batch((questions, contexts), answers)``), each row is
    labelled with the token where the answer starts and the one where it ends, as
    ``y = {"start_logits": [...], "end_logits": [...]}``; a window that does not hold the
    whole answer (or an example without one) points both at position 0, the ``[CLS]``
    token. An answer is ``{"text": str, "answer_start": int}`` (the character where it
    starts in the context), or SQuAD's ``{"text": [str, ...], "answer_start": [int, ...]}``
    (the first is taken; empty lists mean no answer).

    Args:
        tokenizer: the family's tokenizer; it must give token offsets
            (``tokenize_with_offsets``).
        sequence_length: length of the packed rows (384 by default).
        doc_stride: tokens consecutive windows of a context share.
        max_question_len: the question's tokens kept at most (``None``: all).
        **kwargs: see ``Preprocessor``.

    Example:

    >>> from textbones.models import BertQuestionAnswererPreprocessor, BertTokenizer
    >>> tokenizer = BertTokenizer(vocabulary=[
    ...     "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "ran", "the", "fox", "?"])
    >>> preprocessor = BertQuestionAnswererPreprocessor(
    ...     tokenizer, sequence_length=8, doc_stride=1)
    >>> x, y = preprocessor(("who ran?", "the fox ran"), [{"text": "fox", "answer_start": 4}])
    >>> x["token_ids"].tolist()
    [[2, 5, 6, 9, 3, 7, 8, 3], [2, 5, 6, 9, 3, 8, 6, 3]]
    >>> y["start_logits"].tolist(), y["end_logits"].tolist()
    ([6, 5], [6, 5])
    """

    def __init__(
        self,
        tokenizer,
        sequence_length: int = 384,
        doc_stride: int = 128,
        max_question_len: int | None = 64,
        truncate: str = "round_robin",
        **kwargs,
    ):
        super().__init__(tokenizer, sequence_length=sequence_length, truncate=truncate, **kwargs)
        self.doc_stride = _positive_int(doc_stride, "doc_stride", allow_zero=True)
        self.max_question_len = (
            None
            if max_question_len is None
            else _positive_int(max_question_len, "max_question_len")
        )

    def windows(
        self,
        questions,
        contexts,
        *,
        doc_stride: int | None = None,
        max_seq_len: int | None = None,
        dynamic_length: bool = False,
    ) -> QuestionWindows:
        """The windows of ``(questions[i], contexts[i])`` pairs (strings or lists of them).

        Args:
            questions: a question or a list of them.
            contexts: its context, or one per question.
            doc_stride: tokens shared by consecutive windows (the preprocessor's when
                ``None``).
            max_seq_len: tokens per window at most, specials included
                (``sequence_length`` when ``None``); rows are still ``sequence_length``
                long.
            dynamic_length: pad the rows only to a bucket of the longest window (models
                with a padding mask).

        Example:

        >>> from textbones.models import BertQuestionAnswererPreprocessor, BertTokenizer
        >>> tokenizer = BertTokenizer(vocabulary=[
        ...     "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d", "e"])
        >>> preprocessor = BertQuestionAnswererPreprocessor(
        ...     tokenizer, sequence_length=7, doc_stride=1)
        >>> windows = preprocessor.windows("a", "b c d e")
        >>> windows.inputs["token_ids"].tolist(), windows.example.tolist()
        ([[2, 5, 3, 6, 7, 8, 3], [2, 5, 3, 8, 9, 3, 0]], [0, 0])
        >>> windows.offsets[1, 3:5].tolist(), windows.context_mask[1].tolist()
        ([[4, 5], [6, 7]], [False, False, False, True, True, False, False])
        """
        questions, contexts = self._columns(questions, contexts)
        stride = (
            self.doc_stride
            if doc_stride is None
            else _positive_int(doc_stride, "doc_stride", allow_zero=True)
        )
        window_length = (
            self.sequence_length
            if max_seq_len is None
            else min(_positive_int(max_seq_len, "max_seq_len"), self.sequence_length)
        )
        tokenizer = self.tokenizer
        question_ids = [list(np.asarray(ids).tolist()) for ids in tokenizer.tokenize(questions)]
        spans = tokenizer.tokenize_with_offsets(contexts)
        start, end, pad = tokenizer.start_token_id, tokenizer.end_token_id, tokenizer.pad_token_id
        if start is None or end is None:
            raise ValueError(
                f"{type(self).__name__} packs `start question end context end`, but its "
                f"{type(tokenizer).__name__} has no start or end token."
            )
        rows, segments, examples, masks, offsets, words, firsts = [], [], [], [], [], [], []
        for index, (question, context) in enumerate(zip(question_ids, spans)):
            if self.max_question_len is not None:
                question = question[: self.max_question_len]
            room = window_length - len(question) - SPECIAL_TOKENS_PER_WINDOW
            count = len(context)
            if room < 1 or (count > room and stride >= room):
                raise ValueError(
                    f"Question {index} ({questions[index][:80]!r}) takes {len(question)} tokens, "
                    f"which leaves {max(room, 0)} of the {window_length}-token window for its "
                    f"context{'' if room < 1 else f', not more than doc_stride={stride}'}. "
                    "Shorten the question, lower `max_question_len` or `doc_stride`, or raise "
                    "`sequence_length`."
                )
            for first in _window_starts(count, room, stride):
                last = min(first + room, count)
                head = [start, *question, end]
                row = [*head, *context.ids[first:last].tolist(), end]
                row_mask = np.zeros(len(row), bool)
                row_mask[len(head) : len(head) + last - first] = True
                row_offsets = np.zeros((len(row), 2), "int32")
                row_offsets[row_mask] = context.offsets[first:last]
                row_words = np.full(len(row), NO_WORD, "int32")
                row_words[row_mask] = context.word_ids[first:last]
                rows.append(row)
                segments.append([0] * len(head) + [1] * (last - first + 1))
                examples.append(index)
                firsts.append(first)
                masks.append(row_mask)
                offsets.append(row_offsets)
                words.append(row_words)
        longest = max((len(row) for row in rows), default=1)
        width = (
            bucket_length(longest, self.sequence_length)
            if dynamic_length and self.has_padding_mask
            else self.sequence_length
        )
        n = len(rows)
        token_ids = np.full((n, width), pad, "int32")
        segment_ids = np.zeros((n, width), "int32")
        context_mask = np.zeros((n, width), bool)
        offset_array = np.zeros((n, width, 2), "int32")
        word_array = np.full((n, width), NO_WORD, "int32")
        for i, row in enumerate(rows):
            size = len(row)
            token_ids[i, :size] = row
            segment_ids[i, :size] = segments[i]
            context_mask[i, :size] = masks[i]
            offset_array[i, :size] = offsets[i]
            word_array[i, :size] = words[i]
        inputs = {"token_ids": token_ids}
        if self.has_segment_ids:
            inputs["segment_ids"] = segment_ids
        if self.has_padding_mask:
            lengths = np.array([len(row) for row in rows], "int32").reshape(n, 1)
            inputs["padding_mask"] = np.arange(width)[None, :] < lengths
        return QuestionWindows(
            inputs,
            np.asarray(examples, "int32"),
            context_mask,
            offset_array,
            word_array,
            np.array([len(row) for row in rows], "int32"),
            np.asarray(firsts, "int32"),
            contexts,
        )

    def labels(self, windows: QuestionWindows, answers) -> dict[str, np.ndarray]:
        """The start and end token of each window's answer (0, the ``[CLS]`` token, when the
        window does not hold it all), as ``{"start_logits": [...], "end_logits": [...]}``.

        Example:

        >>> from textbones.models import BertQuestionAnswererPreprocessor, BertTokenizer
        >>> tokenizer = BertTokenizer(vocabulary=[
        ...     "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d", "e"])
        >>> preprocessor = BertQuestionAnswererPreprocessor(
        ...     tokenizer, sequence_length=7, doc_stride=1)
        >>> windows = preprocessor.windows("a", "b c d e")
        >>> labels = preprocessor.labels(windows, [{"text": "d e", "answer_start": 4}])
        >>> labels["start_logits"].tolist(), labels["end_logits"].tolist()
        ([0, 3], [0, 4])
        """
        answers = list(answers) if not isinstance(answers, Mapping) else [answers]
        if len(answers) != len(windows.contexts):
            raise ValueError(
                f"{type(self).__name__} got {len(answers)} answers for "
                f"{len(windows.contexts)} questions: give one answer per question."
            )
        spans = [
            _answer_span(answer, context, index)
            for index, (answer, context) in enumerate(zip(answers, windows.contexts))
        ]
        n = len(windows)
        # Each row's context tokens as indices into its context's tokens, and which of them
        # overlap the answer's characters.
        overlapping = []
        for row in range(n):
            span = spans[windows.example[row]]
            positions = np.flatnonzero(windows.context_mask[row])
            if span is None:
                overlapping.append((positions, positions[:0]))
                continue
            token_starts = windows.offsets[row, positions, 0]
            token_ends = windows.offsets[row, positions, 1]
            hit = (token_ends > span[0]) & (token_starts < span[1])
            overlapping.append((positions, windows.window_start[row] + np.flatnonzero(hit)))
        answer_tokens: dict[int, set[int]] = {}
        for row in range(n):
            answer_tokens.setdefault(int(windows.example[row]), set()).update(
                overlapping[row][1].tolist()
            )
        starts, ends = np.zeros(n, "int32"), np.zeros(n, "int32")
        for row in range(n):
            positions, tokens = overlapping[row]
            wanted = answer_tokens[int(windows.example[row])]
            # The whole answer must lie in the window: a cut answer is no answer here.
            if wanted and len(tokens) == len(wanted):
                shift = positions[0] - windows.window_start[row]
                starts[row], ends[row] = min(wanted) + shift, max(wanted) + shift
        return {"start_logits": starts, "end_logits": ends}

    def preprocess_batch(
        self, x, y=None, sample_weight=None, *, dynamic_length: bool = False, rng=None
    ):
        """The windows of ``x = (questions, contexts)`` as model inputs and, with answers
        ``y``, their labels (``sample_weight``, one per example, is repeated over its
        windows); see ``Preprocessor.preprocess_batch``. ``rng`` is unused."""
        if not isinstance(x, tuple) or len(x) != 2:
            raise ValueError(
                f"{type(self).__name__} takes a tuple `(questions, contexts)`, got "
                f"{type(x).__name__}{f' of {len(x)} columns' if isinstance(x, tuple) else ''}."
            )
        windows = self.windows(*x, dynamic_length=dynamic_length)
        if y is not None:
            y = self.labels(windows, y)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, "float32").reshape(-1)[windows.example]
        return keras.utils.pack_x_y_sample_weight(windows.inputs, y, sample_weight)

    def _columns(self, questions, contexts) -> tuple[list[str], list[str]]:
        if isinstance(questions, str) != isinstance(contexts, str):
            raise ValueError(
                f"{type(self).__name__} got "
                f"{'one question' if isinstance(questions, str) else 'a list of questions'} and "
                f"{'one context' if isinstance(contexts, str) else 'a list of contexts'}: "
                "pass a string for each, or one context per question."
            )
        if not isinstance(questions, str) and len(questions) != len(contexts):
            raise ValueError(
                f"{type(self).__name__} got {len(questions)} questions and {len(contexts)} "
                "contexts: give one context per question."
            )
        columns = as_text_columns(
            ([questions], [contexts]) if isinstance(questions, str) else (questions, contexts),
            type(self).__name__,
        )
        return columns[0], columns[1]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "doc_stride": self.doc_stride,
            "max_question_len": self.max_question_len,
        }


def _window_starts(count: int, room: int, stride: int) -> list[int]:
    """The first context token of each window: every ``room - stride`` tokens, until a
    window reaches the end (as Hugging Face's tokenizers cut overflowing tokens).

    Example:

    >>> _window_starts(10, 4, 1), _window_starts(3, 4, 1), _window_starts(0, 4, 1)
    ([0, 3, 6], [0], [0])
    """
    if count <= room:
        return [0]
    starts, first = [], 0
    while True:
        starts.append(first)
        if first + room >= count:
            return starts
        first += room - stride


def _answer_span(answer, context: str, index: int) -> tuple[int, int] | None:
    """The answer's ``(first, end)`` characters in ``context``; ``None`` for no answer."""
    if not isinstance(answer, Mapping) or "text" not in answer or "answer_start" not in answer:
        raise ValueError(
            f"Answer {index} must be a dict with 'text' and 'answer_start' (the character "
            f"where the answer starts in the context), got {answer!r}."
        )
    text, first = answer["text"], answer["answer_start"]
    if isinstance(text, Sequence) and not isinstance(text, str):
        if not len(text):
            return None
        text, first = text[0], first[0]
    if (
        not isinstance(text, str)
        or isinstance(first, bool)
        or not isinstance(first, (int, np.integer))
    ):
        raise ValueError(
            f"Answer {index} needs a string 'text' and an integer 'answer_start', got {answer!r}."
        )
    if not text:
        return None
    first = int(first)
    found = context[first : first + len(text)]
    if first < 0 or found != text:
        raise ValueError(
            f"Answer {index} says {text!r} starts at character {first} of its context, but "
            f"the context holds {found!r} there. Fix 'answer_start' (the text is at "
            f"{context.find(text) if text in context else 'no position'} of the context)."
        )
    return first, first + len(text)


def _positive_int(value, name: str, allow_zero: bool = False) -> int:
    lowest = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lowest:
        raise ValueError(f"`{name}` must be an integer >= {lowest}, got {value!r}.")
    return int(value)
