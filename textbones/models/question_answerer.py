"""The ``QuestionAnswerer`` base class: a backbone with a span head, for extractive QA."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import keras
import numpy as np

from textbones import registry
from textbones.models.backbone import Backbone
from textbones.models.task import Task
from textbones.preprocessing import text_batches
from textbones.preprocessing.preprocessor import Preprocessor
from textbones.preprocessing.question_answerer_preprocessor import (
    QuestionAnswererPreprocessor,
    QuestionWindows,
)
from textbones.preprocessing.token_spans import NO_WORD
from textbones.serialization import qualified_name

#: The names of the model's two outputs, which are also the keys of its labels.
OUTPUTS = ("start_logits", "end_logits")
#: Label keys accepted for the outputs' (``transformers``' names).
_LABEL_ALIASES = {"start_positions": "start_logits", "end_positions": "end_logits"}
#: The longest window ``answer`` reads, as ``transformers``' pipeline caps it.
MAX_WINDOW = 384
#: The logit given to positions that cannot hold an answer before the softmax.
MASKED_LOGIT = -10000.0


class QuestionAnswerer(Task):
    """Finds the answer to a question as a span of its context (extractive QA, SQuAD).

    The head is ``Dense(2)`` (``qa_outputs``) on the backbone's per-token features,
    split into ``start_logits`` and ``end_logits`` (``[batch, length]`` each): the model
    outputs a dict of the two. ``answer(questions, contexts)`` turns them into answer
    texts with their scores and character spans, as ``transformers`` 4.57's
    question-answering pipeline does.

    Training: with a ``QuestionAnswererPreprocessor``, ``fit`` takes
    ``x=(questions, contexts)`` and ``y`` one answer per question
    (``{"text": ..., "answer_start": ...}``, or SQuAD's lists form); long contexts give
    several windows, each labelled with the answer's start and end token (``[CLS]``,
    position 0, when the window does not hold it). Preprocessed labels are a dict
    ``{"start_logits": ..., "end_logits": ...}`` of token indices (``start_positions`` /
    ``end_positions`` are accepted too), or a tuple ``(starts, ends)``.

    Default ``compile()``: ``Adam(5e-5)`` and ``SparseCategoricalCrossentropy`` (from
    logits) on the start and on the end positions, the loss being their mean (each
    weighted 0.5), as ``transformers`` computes it.

    Raw text is windowed in full before the first step (one row per window, not per
    question), then batched as preprocessed arrays; ``predict`` on ``(questions,
    contexts)`` returns the logits of each window in that order (see
    ``QuestionAnswererPreprocessor.windows`` for which example each one belongs to).

    Args:
        backbone: the family's backbone.
        preprocessor: a ``QuestionAnswererPreprocessor`` of the family, or ``None``.
        **kwargs: ``name``, ``compile`` and other ``keras.Model`` arguments.

    Example:

    >>> import numpy as np, textbones
    >>> backbone = textbones.models.BertBackbone(
    ...     vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> model = textbones.models.BertQuestionAnswerer(backbone)
    >>> outputs = model.predict({
    ...     "token_ids": np.array([[2, 5, 3, 6, 7, 3]]),
    ...     "segment_ids": np.array([[0, 0, 0, 1, 1, 1]]),
    ...     "padding_mask": np.ones((1, 6), "int32")}, verbose=0)
    >>> sorted(outputs), outputs["start_logits"].shape
    (['end_logits', 'start_logits'], (1, 6))
    """

    reads_token_features_only: ClassVar[bool] = True

    def __init__(self, backbone: Backbone, preprocessor: Preprocessor | None = None, **kwargs):
        if self.backbone_cls is not None and not isinstance(backbone, self.backbone_cls):
            raise ValueError(
                f"{type(self).__name__} needs a {qualified_name(self.backbone_cls)}, got a "
                f"{qualified_name(type(backbone))}. Use the question answerer class of the "
                "backbone's family."
            )
        self._backbone = backbone
        inputs = dict(backbone.input)
        features = backbone.sequence_features(backbone(inputs))
        self.qa_outputs = keras.layers.Dense(
            2,
            kernel_initializer=self._kernel_initializer(),
            dtype=backbone.head_dtype_policy,
            name="qa_outputs",
        )
        logits = self.qa_outputs(features)
        outputs = {
            "start_logits": keras.ops.take(logits, 0, axis=-1),
            "end_logits": keras.ops.take(logits, 1, axis=-1),
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self._attach(backbone, preprocessor)

    # Compilation and data --------------------------------------------------------------

    def _default_compile_arguments(self) -> dict[str, Any]:
        return {
            "optimizer": keras.optimizers.Adam(5e-5),
            "loss": {
                name: keras.losses.SparseCategoricalCrossentropy(from_logits=True)
                for name in OUTPUTS
            },
            "metrics": None,
            "weighted_metrics": None,
        }

    def compile(
        self, optimizer="auto", loss="auto", *, metrics="auto", weighted_metrics="auto", **kwargs
    ) -> None:
        """As ``Task.compile``; the default loss is the mean of the start and end losses.

        Example:

        >>> import textbones
        >>> backbone = textbones.models.FNetBackbone(50, 1, 8, 16)
        >>> model = textbones.models.FNetQuestionAnswerer(backbone)
        >>> sorted(model.loss), model._compile_config.config["loss_weights"]
        (['end_logits', 'start_logits'], {'start_logits': 0.5, 'end_logits': 0.5})
        """
        if isinstance(loss, str) and loss == "auto":
            kwargs.setdefault("loss_weights", {name: 0.5 for name in OUTPUTS})
        super().compile(
            optimizer, loss, metrics=metrics, weighted_metrics=weighted_metrics, **kwargs
        )

    def _labels(self, y):
        """``y`` as the dict of int32 positions the outputs are trained on (or ``None``)."""
        if y is None:
            return None
        if isinstance(y, (tuple, list)) and len(y) == 2 and not isinstance(y[0], Mapping):
            y = dict(zip(OUTPUTS, y))
        if not isinstance(y, Mapping):
            raise ValueError(
                f"{type(self).__name__} takes preprocessed labels as a dict "
                "{'start_logits': starts, 'end_logits': ends} of token positions (or a tuple "
                f"(starts, ends)), got {type(y).__name__}. With raw text, pass the answers as "
                "dicts {'text': ..., 'answer_start': ...}."
            )
        labels = {_LABEL_ALIASES.get(key, key): value for key, value in y.items()}
        if sorted(labels) != sorted(OUTPUTS):
            raise ValueError(
                f"{type(self).__name__} labels need the keys {list(OUTPUTS)} (or "
                f"{list(_LABEL_ALIASES)}), got {sorted(y)}."
            )
        return {name: np.asarray(labels[name]).astype("int32") for name in OUTPUTS}

    def _check_position_labels(self, labels: dict[str, np.ndarray], length: int) -> None:
        for name, values in labels.items():
            if values.ndim != 1:
                raise ValueError(
                    f"{type(self).__name__} takes one {name} position per row, got shape "
                    f"{values.shape}."
                )
            bad = (values < 0) | (values >= length)
            if bad.any():
                raise ValueError(
                    f"{name} label {int(values[bad][0])} is no position of the "
                    f"{length}-token rows: positions lie in [0, {length})."
                )

    def _is_questions(self, x) -> bool:
        return (
            self.preprocessor is not None
            and isinstance(x, tuple)
            and len(x) == 2
            and text_batches.is_text_container(x)
        )

    def _adapt_data(self, x, y=None, sample_weight=None, **kwargs):
        purpose = kwargs.get("purpose", "predict")
        if self._is_questions(x):
            self._refuse_empty(x, purpose)
            if kwargs.get("needs_labels") and y is None:
                raise ValueError(
                    f"{type(self).__name__} needs answers to train or evaluate: pass `y`, one "
                    "{'text': ..., 'answer_start': ...} per question."
                )
            x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(
                self.preprocessor.preprocess_batch(
                    x, y, sample_weight, dynamic_length=self._uses_dynamic_length
                )
            )
        elif isinstance(x, dict) and y is not None:
            labels = self._labels(y)
            self._check_position_labels(labels, int(np.shape(next(iter(x.values())))[-1]))
            data, batches = super()._adapt_data(
                x, None, sample_weight, **{**kwargs, "needs_labels": False}
            )
            data["y"] = labels
            return data, batches
        elif text_batches.is_text(x) and self.preprocessor is not None:
            raise ValueError(
                f"{type(self).__name__} reads raw text as a tuple `(questions, contexts)` of "
                "two lists (or strings)."
            )
        if isinstance(x, dict) and y is not None:
            return self._adapt_data(x, y, sample_weight, **kwargs)
        return super()._adapt_data(x, y, sample_weight, **kwargs)

    def _preprocess_batch(self, x, y=None, sample_weight=None, purpose: str = "fit"):
        if self._is_questions(x):
            self._refuse_empty(x, purpose)
            return keras.utils.unpack_x_y_sample_weight(
                self.preprocessor.preprocess_batch(
                    x, y, sample_weight, dynamic_length=self._uses_dynamic_length
                )
            )
        labels = self._labels(y)
        x, _, sample_weight = super()._preprocess_batch(x, None, sample_weight, purpose)
        if labels is not None and isinstance(x, dict):
            self._check_position_labels(labels, int(np.shape(next(iter(x.values())))[-1]))
        return x, labels, sample_weight

    # Answers -----------------------------------------------------------------------

    def answer(
        self,
        questions,
        contexts,
        top_k: int = 1,
        max_answer_len: int = 15,
        doc_stride: int | None = None,
        handle_impossible_answer: bool = False,
        align_to_words: bool = True,
        batch_size: int | None = None,
    ):
        """The answers to ``questions`` in ``contexts``, as ``transformers``' (4.57)
        question-answering pipeline gives them.

        Each answer is a dict ``{"score", "start", "end", "answer"}``: the text
        ``context[start:end]``. For one question (strings) the result is one answer, or a
        list of up to ``top_k`` (best first) when there are several; for lists, one such
        result per question.

        Windows are ``min(sequence_length, 384)`` tokens long with ``doc_stride``
        (default ``min(window // 2, 128)``) tokens of overlap; in each window the logits
        of positions that hold no context token (but ``[CLS]``) are set to -10000, the
        start and end logits are softmaxed separately, and a span scores
        ``p_start * p_end`` for ``start <= end < start + max_answer_len``. Each window
        keeps its ``2 * top_k + 10`` best spans (``top_k`` without ``align_to_words``),
        which with ``align_to_words`` widen to the whole words of their first and last
        tokens; answers equal but for case add up their scores across windows. With
        ``handle_impossible_answer``, the empty answer (``""``, 0, 0) scores the lowest
        over windows of ``p_start[CLS] * p_end[CLS]``.

        Args:
            questions: a question or a list of them.
            contexts: its context, or one per question.
            top_k: answers kept per question.
            max_answer_len: tokens an answer spans at most.
            doc_stride: tokens shared by consecutive windows.
            handle_impossible_answer: also score the empty answer.
            align_to_words: widen spans to whole words.
            batch_size: windows per forward pass.

        Example:

        >>> import textbones
        >>> tokenizer = textbones.models.BertTokenizer(vocabulary=[
        ...     "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "ran", "the", "fox", "?"])
        >>> backbone = textbones.models.BertBackbone(10, 1, 2, 8, 16, max_sequence_length=32)
        >>> model = textbones.models.BertQuestionAnswerer(
        ...     backbone, textbones.models.BertQuestionAnswererPreprocessor(tokenizer, 32))
        >>> result = model.answer("who ran?", "the fox ran")
        >>> sorted(result), result["answer"] in ("the", "fox", "ran", "the fox", "fox ran",
        ...                                      "the fox ran")
        (['answer', 'end', 'score', 'start'], True)
        """
        if self.preprocessor is None:
            raise self._no_preprocessor_error()
        if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
            raise ValueError(f"`top_k` must be an integer >= 1, got {top_k!r}.")
        if (
            isinstance(max_answer_len, bool)
            or not isinstance(max_answer_len, (int, np.integer))
            or max_answer_len < 1
        ):
            raise ValueError(f"`max_answer_len` must be an integer >= 1, got {max_answer_len!r}.")
        window = min(self.preprocessor.sequence_length, MAX_WINDOW)
        if doc_stride is None:
            doc_stride = min(window // 2, 128)
        if doc_stride > window:
            raise ValueError(
                f"`doc_stride` ({doc_stride}) is larger than the window ({window} tokens): "
                "use a smaller one."
            )
        single = isinstance(questions, str)
        windows = self.preprocessor.windows(
            questions,
            contexts,
            doc_stride=doc_stride,
            max_seq_len=window,
            dynamic_length=self._uses_dynamic_length,
        )
        if len(windows):
            data, even = self._for_distribution(
                {"x": windows.inputs, "batch_size": batch_size or 32}, "predict"
            )
            logits = keras.Model.predict(self, **data, verbose=0)
            if even is not None:
                logits = even.drop_padding(logits)
            start_logits, end_logits = logits["start_logits"], logits["end_logits"]
        else:
            start_logits = end_logits = np.zeros((0, 0), "float32")
        results = decode_answers(
            windows,
            start_logits,
            end_logits,
            top_k=top_k,
            max_answer_len=max_answer_len,
            handle_impossible_answer=handle_impossible_answer,
            align_to_words=align_to_words,
        )
        return results[0] if single else results


def decode_answers(
    windows: QuestionWindows,
    start_logits,
    end_logits,
    *,
    top_k: int = 1,
    max_answer_len: int = 15,
    handle_impossible_answer: bool = False,
    align_to_words: bool = True,
) -> list:
    """The answers of each example of ``windows`` from its windows' logits; see
    ``QuestionAnswerer.answer`` for the rules (those of ``transformers`` 4.57's pipeline).

    Returns one result per example: an answer dict, or a list of them (best first) unless
    there is exactly one.

    Example:

    >>> import numpy as np
    >>> from textbones.models import BertQuestionAnswererPreprocessor, BertTokenizer
    >>> tokenizer = BertTokenizer(vocabulary=[
    ...     "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "ran", "the", "fox", "?"])
    >>> windows = BertQuestionAnswererPreprocessor(tokenizer, 8).windows("who?", "the fox ran")
    >>> windows.inputs["token_ids"].tolist()  # [CLS] who ? [SEP] the fox ran [SEP]
    [[2, 5, 9, 3, 7, 8, 6, 3]]
    >>> start = np.array([[0, 0, 0, 0, 5, 0, 0, 0]], "float32")  # on "the"
    >>> end = np.array([[0, 0, 0, 0, 0, 5, 0, 0]], "float32")  # on "fox"
    >>> answer = decode_answers(windows, start, end)[0]
    >>> answer["answer"], answer["start"], answer["end"], round(answer["score"], 4)
    ('the fox', 0, 7, 0.9608)
    """
    start_logits = np.asarray(start_logits)
    end_logits = np.asarray(end_logits)
    pre_top_k = 2 * top_k + 10 if align_to_words else top_k
    answers: list[list[dict[str, Any]]] = [[] for _ in windows.contexts]
    null_scores = [1000000.0] * len(windows.contexts)
    for row in range(len(windows)):
        example = int(windows.example[row])
        context = windows.contexts[example]
        # The window without its padding, as the pipeline (which pads nothing) sees it: the
        # spans that score 0 are then picked among the same positions.
        length = int(windows.lengths[row])
        allowed = windows.context_mask[row, :length].copy()
        allowed[0] = True  # the [CLS] token takes part in the softmax
        starts, ends, scores, null = _best_spans(
            start_logits[row, :length],
            end_logits[row, :length],
            allowed,
            pre_top_k,
            max_answer_len,
        )
        null_scores[example] = min(null_scores[example], null)
        for first, last, score in zip(starts, ends, scores):
            begin, finish = _characters(windows, row, int(first), int(last), align_to_words)
            text = context[begin:finish]
            found = next(
                (known for known in answers[example] if known["answer"].lower() == text.lower()),
                None,
            )
            if found is not None:
                found["score"] += score.item()
            else:
                answers[example].append(
                    {"score": score.item(), "start": begin, "end": finish, "answer": text}
                )
    results = []
    for example, found in enumerate(answers):
        if handle_impossible_answer:
            found.append({"score": null_scores[example], "start": 0, "end": 0, "answer": ""})
        found = sorted(found, key=lambda answer: answer["score"], reverse=True)[:top_k]
        results.append(found[0] if len(found) == 1 else found)
    return results


def _best_spans(start, end, allowed: np.ndarray, top_k: int, max_answer_len: int):
    """The ``top_k`` best spans of one window: starts, ends, scores and the null score."""
    start = np.where(allowed, start, MASKED_LOGIT)[None]
    end = np.where(allowed, end, MASKED_LOGIT)[None]
    start = np.exp(start - start.max(axis=-1, keepdims=True))
    start = start / start.sum()
    end = np.exp(end - end.max(axis=-1, keepdims=True))
    end = end / end.sum()
    null = (start[0, 0] * end[0, 0]).item()
    start[0, 0] = end[0, 0] = 0.0
    scores = np.matmul(start[..., None], end[:, None, :])
    scores = np.tril(np.triu(scores), max_answer_len - 1)
    flat = scores.flatten()
    if top_k == 1:
        order = np.array([np.argmax(flat)])
    elif len(flat) < top_k:
        order = np.argsort(-flat)
    else:
        chosen = np.argpartition(-flat, top_k)[:top_k]
        order = chosen[np.argsort(-flat[chosen])]
    starts, ends = np.unravel_index(order, scores.shape)[1:]
    positions = np.flatnonzero(allowed)
    keep = np.isin(starts, positions) & np.isin(ends, positions)
    starts, ends = starts[keep], ends[keep]
    return starts, ends, scores[0, starts, ends], null


def _characters(
    windows: QuestionWindows, row: int, first: int, last: int, align_to_words: bool
) -> tuple[int, int]:
    """The character span of tokens ``first..last`` of a window, widened to whole words
    (those parts of them in the window) with ``align_to_words``."""
    offsets, words = windows.offsets[row], windows.word_ids[row]
    if align_to_words and words[first] != NO_WORD and words[last] != NO_WORD:
        first_word = np.flatnonzero(words == words[first])
        last_word = np.flatnonzero(words == words[last])
        return int(offsets[first_word[0], 0]), int(offsets[last_word[-1], 1])
    return int(offsets[first, 0]), int(offsets[last, 1])


registry.register_task_kind(
    registry.TaskKind(
        name="question_answerer",
        task_base=QuestionAnswerer,
        preprocessor_base=QuestionAnswererPreprocessor,
        transformers_suffix="ForQuestionAnswering",
    )
)
