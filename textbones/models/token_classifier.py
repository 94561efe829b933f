"""The ``TokenClassifier`` base class: one label per token (named entities, parts of speech)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import keras
import numpy as np

from textbones import registry
from textbones.layers.dropout import Dropout
from textbones.models.backbone import Backbone
from textbones.models.task import Task
from textbones.models.task_inputs import DEFAULT_BATCH_SIZE
from textbones.models.token_entities import AGGREGATION_STRATEGIES, window_entities
from textbones.models.token_entities import merge_overlapping as _merge_overlapping
from textbones.preprocessing import text_batches
from textbones.preprocessing.preprocessor import Preprocessor
from textbones.preprocessing.text_inputs import as_texts
from textbones.preprocessing.token_classifier_preprocessor import (
    IGNORE_LABEL,
    TokenClassifierPreprocessor,
    is_word_batch,
    word_examples,
)
from textbones.serialization import qualified_name


@keras.saving.register_keras_serializable(package="textbones")
class TokenAccuracy(keras.metrics.Mean):
    """The share of labelled tokens whose highest-scoring class is their label.

    Tokens labelled ``ignore_class`` (``-100``: special tokens, padding, a word's later
    sub-tokens) are left out, as ``transformers``' loss leaves them out.

    Example:

    >>> import numpy as np
    >>> metric = TokenAccuracy()
    >>> metric.update_state(np.array([[1, 0, -100]]),
    ...                     np.array([[[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]]]))
    >>> float(metric.result())
    0.5
    """

    def __init__(self, name: str = "accuracy", ignore_class: int = IGNORE_LABEL, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.ignore_class = int(ignore_class)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = keras.ops.cast(keras.ops.convert_to_tensor(y_true), "int32")
        predicted = keras.ops.cast(keras.ops.argmax(y_pred, axis=-1), "int32")
        if len(y_true.shape) == len(predicted.shape) + 1:
            y_true = keras.ops.squeeze(y_true, -1)
        weights = keras.ops.cast(keras.ops.not_equal(y_true, self.ignore_class), self.dtype)
        if sample_weight is not None:
            sample_weight = keras.ops.cast(sample_weight, self.dtype)
            while len(sample_weight.shape) < len(weights.shape):
                sample_weight = keras.ops.expand_dims(sample_weight, -1)
            weights = weights * sample_weight
        correct = keras.ops.cast(keras.ops.equal(y_true, predicted), self.dtype)
        return super().update_state(correct, sample_weight=weights)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "ignore_class": self.ignore_class}


class TokenClassifier(Task):
    """Gives every token of a text one of ``num_classes`` labels (NER, POS tagging, ...).

    The head is ``Dropout(dropout)`` then ``Dense(num_classes)`` (logits) on the
    backbone's per-token features, as ``transformers``' ``*ForTokenClassification``.
    Labels have names: ``id2label`` (a list, or a dict from class index to name; by
    default ``LABEL_0``, ``LABEL_1``, ...) and the derived ``label2id``.

    Training: ``fit(words, tags)`` takes pre-split examples (a list of lists of words)
    and one tag per word, as class indices or label names. Each word's first token takes
    its tag and the later ones ``-100`` (``label_all_tokens=True`` on the preprocessor
    labels them all); special tokens and padding are ``-100`` too, and the default loss,
    ``SparseCategoricalCrossentropy(from_logits=True, ignore_class=-100)``, skips them,
    as does the default metric, ``TokenAccuracy``. Default optimizer: ``Adam(5e-5)``.

    Prediction: ``predict`` on raw strings (or on pre-split words) returns the logits
    ``[n, sequence_length, num_classes]``, position 0 being ``[CLS]``;
    ``predict_entities`` returns the entities found in each text, as ``transformers``'
    token-classification pipeline does.

    Use a family's class (``BertTokenClassifier``, ...), or ``TokenClassifier.from_preset``
    to pick it from a preset (a ``transformers`` ``*ForTokenClassification`` included).

    Args:
        backbone: the family's backbone.
        num_classes: the number of labels (may be left out when ``id2label`` is given).
        preprocessor: a ``TokenClassifierPreprocessor`` of the family, or ``None``.
        id2label: the label names, a list or a dict ``{index: name}`` over ``0..n-1``.
        dropout: dropout rate on the per-token features during training.
        **kwargs: ``name``, ``compile`` and other ``keras.Model`` arguments.

    Example:

    >>> import numpy as np, textbones
    >>> backbone = textbones.models.BertBackbone(
    ...     vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> tagger = textbones.models.BertTokenClassifier(backbone, id2label=["O", "B-PER", "I-PER"])
    >>> tagger.num_classes, tagger.label2id["B-PER"]
    (3, 1)
    >>> tagger.predict({
    ...     "token_ids": np.array([[2, 5, 6, 3]]), "segment_ids": np.zeros((1, 4), "int32"),
    ...     "padding_mask": np.ones((1, 4), "int32")}, verbose=0).shape
    (1, 4, 3)
    """

    reads_token_features_only: ClassVar[bool] = True

    def __init__(
        self,
        backbone: Backbone,
        num_classes: int | None = None,
        preprocessor: Preprocessor | None = None,
        id2label: Sequence[str] | Mapping[Any, str] | None = None,
        dropout: float = 0.1,
        **kwargs,
    ):
        if self.backbone_cls is not None and not isinstance(backbone, self.backbone_cls):
            raise ValueError(
                f"{type(self).__name__} needs a {qualified_name(self.backbone_cls)}, got a "
                f"{qualified_name(type(backbone))}. Use the token classifier class of the "
                "backbone's family."
            )
        labels = _label_names(id2label, num_classes)
        self._backbone = backbone
        self.num_classes = len(labels)
        self.id2label = dict(enumerate(labels))
        self.label2id = {name: index for index, name in self.id2label.items()}
        self.dropout = dropout
        inputs = dict(backbone.input)
        features = backbone.sequence_features(backbone(inputs))
        self.output_dropout = Dropout(
            dropout, dtype=backbone.head_dtype_policy, name="output_dropout"
        )
        self.output_dense = keras.layers.Dense(
            self.num_classes,
            kernel_initializer=self._kernel_initializer(),
            dtype=backbone.head_dtype_policy,
            name="logits",
        )
        outputs = self.output_dense(self.output_dropout(features))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self._fixed_width = False
        self._attach(backbone, preprocessor)

    # Compilation ------------------------------------------------------------------------

    def _default_compile_arguments(self) -> dict[str, Any]:
        return {
            "optimizer": keras.optimizers.Adam(5e-5),
            "loss": keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, ignore_class=IGNORE_LABEL
            ),
            "metrics": [TokenAccuracy()],
        }

    # Data -------------------------------------------------------------------------------

    @property
    def _uses_dynamic_length(self) -> bool:
        # `predict` concatenates the logits of all batches: they must have one width.
        return super()._uses_dynamic_length and not self._fixed_width

    def predict(self, x, batch_size=None, *args, **kwargs):
        """Per-token logits ``[n, sequence_length, num_classes]`` of raw strings, pre-split
        words (a list of lists) or preprocessed inputs; see ``Task.predict``.

        Example:

        >>> import textbones
        >>> tokenizer = textbones.models.BertTokenizer(
        ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "new", "york"])
        >>> backbone = textbones.models.BertBackbone(7, 1, 2, 8, 16, max_sequence_length=8)
        >>> tagger = textbones.models.BertTokenClassifier(
        ...     backbone, num_classes=2,
        ...     preprocessor=textbones.models.BertTokenClassifierPreprocessor(tokenizer, 8))
        >>> tagger.predict(["new york", "york"], verbose=0).shape
        (2, 8, 2)
        """
        self._fixed_width = True
        try:
            return super().predict(x, batch_size, *args, **kwargs)
        finally:
            self._fixed_width = False

    def _adapt_data(self, x, y=None, sample_weight=None, **kwargs):
        if self.preprocessor is None or not is_word_batch(x):
            if self.preprocessor is not None and y is not None and text_batches.is_text(x):
                raise ValueError(
                    f"{type(self).__name__} trains on pre-split words: pass `x` as a list of "
                    "examples, each a list of words, and `y` as one tag per word (e.g. "
                    "`fit([['John', 'lives', 'here']], [['B-PER', 'O', 'O']])`)."
                )
            return super()._adapt_data(x, y, sample_weight, **kwargs)
        purpose = kwargs.get("purpose", "predict")
        self._refuse_empty(x, purpose)
        examples, _ = word_examples(x, type(self).__name__)
        if kwargs.get("needs_labels") and y is None:
            raise ValueError(
                f"{type(self).__name__} needs tags to train or evaluate: pass `y` with one "
                "list of tags (one per word) for each example."
            )
        tags = None if y is None else self.tags_as_ids(examples, y)
        workers = kwargs.get("workers")
        batches = text_batches.TextBatches(
            examples,
            tags,
            sample_weight,
            preprocessor=self.preprocessor,
            batch_size=kwargs.get("batch_size") or DEFAULT_BATCH_SIZE,
            shuffle=kwargs.get("shuffle", False),
            dynamic_length=self._uses_dynamic_length,
            sort_by_length=kwargs.get("sort_by_length", False) and self._uses_dynamic_length,
            seed=kwargs.get("seed"),
            preprocess_options={"is_split_into_words": True},
            workers=text_batches.DEFAULT_WORKERS if workers is None else workers,
            use_multiprocessing=kwargs.get("use_multiprocessing", False),
            max_queue_size=kwargs.get("max_queue_size", 10),
            presplit=True,
        )
        return {"x": batches}, batches

    def _preprocess_batch(self, x, y=None, sample_weight=None, purpose: str = "fit"):
        if self.preprocessor is None or not is_word_batch(x):
            return super()._preprocess_batch(x, y, sample_weight, purpose)
        examples, _ = word_examples(x, type(self).__name__)
        tags = None if y is None else self.tags_as_ids(examples, y)
        batch = self.preprocessor.preprocess_batch(
            examples,
            tags,
            sample_weight,
            dynamic_length=self._uses_dynamic_length,
            is_split_into_words=True,
        )
        return keras.utils.unpack_x_y_sample_weight(batch)

    def tags_as_ids(self, examples: Sequence[Sequence[str]], tags) -> np.ndarray:
        """Each example's tags as an int array of class indices (an object array of them).

        Tags are class indices or label names (``label2id``); each example needs exactly
        one tag per word.

        Example:

        >>> import textbones
        >>> backbone = textbones.models.FNetBackbone(30, 1, 8, 16)
        >>> tagger = textbones.models.FNetTokenClassifier(backbone, id2label=["O", "B-LOC"])
        >>> [row.tolist() for row in tagger.tags_as_ids([["in", "Paris"]], [["O", "B-LOC"]])]
        [[0, 1]]
        """
        tags = list(tags)
        if len(tags) != len(examples):
            raise ValueError(
                f"{type(self).__name__} got {len(examples)} examples of words but {len(tags)} "
                "rows of tags; give one list of tags per example."
            )
        rows = np.empty(len(examples), dtype=object)
        for index, (words, row) in enumerate(zip(examples, tags)):
            row = list(row) if not isinstance(row, (str, bytes)) else [row]
            if len(row) != len(words):
                raise ValueError(
                    f"Example {index} has {len(words)} words but {len(row)} tags; give one "
                    "tag per word."
                )
            rows[index] = np.asarray([self._tag_id(tag, index) for tag in row], "int32")
        return rows

    def _tag_id(self, tag, example: int) -> int:
        if isinstance(tag, (str, np.str_)):
            if tag not in self.label2id:
                known = ", ".join(map(repr, self.label2id))
                raise ValueError(
                    f"Example {example} has the tag {str(tag)!r}, which is not one of the "
                    f"labels of {type(self).__name__} ({known}). Fix the tag, or build the "
                    "model with `id2label` listing every tag."
                )
            return self.label2id[str(tag)]
        if isinstance(tag, (bool, np.bool_)) or not isinstance(tag, (int, np.integer)):
            raise ValueError(
                f"Example {example} has the tag {tag!r} ({type(tag).__name__}); tags are class "
                "indices (int) or label names (str)."
            )
        if tag != IGNORE_LABEL and not 0 <= tag < self.num_classes:
            raise ValueError(
                f"Example {example} has the tag {int(tag)}, out of range for "
                f"num_classes={self.num_classes}: tags must lie in [0, {self.num_classes}) "
                f"(or be {IGNORE_LABEL}, ignored)."
            )
        return int(tag)

    def _check_labels(self, y: np.ndarray) -> None:
        if y.dtype == object:
            return  # per-example tag arrays, already checked by `tags_as_ids`
        if y.dtype.kind not in "iu":
            raise ValueError(
                f"{type(self).__name__} takes integer labels per token in [0, "
                f"{self.num_classes}) or {IGNORE_LABEL}, got dtype {y.dtype}."
            )
        bad = (y != IGNORE_LABEL) & ((y < 0) | (y >= self.num_classes))
        if bad.any():
            raise ValueError(
                f"Label {int(y[bad].flat[0])} is out of range for num_classes={self.num_classes}: "
                f"labels must lie in [0, {self.num_classes}) or be {IGNORE_LABEL} (ignored)."
            )

    # Entities ---------------------------------------------------------------------------

    def predict_entities(
        self,
        texts,
        aggregation_strategy: str = "simple",
        ignore_labels: Sequence[str] = ("O",),
        stride: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ):
        """The entities in each text, as ``transformers``' token-classification pipeline
        finds them.

        Each token's logits are softmaxed; special tokens are skipped. ``aggregation_strategy``:

        - ``"none"``: one entity per token: ``entity`` (its label), ``score``, ``index``
          (its position in the packed row, ``[CLS]`` being 0), ``word``, ``start``, ``end``;
        - ``"simple"``: adjacent tokens join while the tag after ``B-``/``I-`` stays the
          same and the next one is not ``B-``; ``score`` is the mean;
        - ``"first"``, ``"average"``, ``"max"``: each word first takes the label of its
          first sub-token, of its mean scores, or of its highest-scoring sub-token; words
          then join as for ``"simple"``.

        Grouped entities have ``entity_group`` (the tag), ``score``, ``word``, ``start``
        and ``end`` (character offsets into the text). Entities whose label is in
        ``ignore_labels`` are dropped. A text longer than the preprocessor's
        ``sequence_length`` is cut, unless ``stride`` is given: it is then read in windows
        that overlap by ``stride`` tokens, and of two overlapping entities the longer
        (then the higher-scoring) one is kept.

        Returns a list of entity dicts for a string, a list of them for a list of strings,
        with plain Python ``str``, ``float`` and ``int`` values.

        Example:

        >>> import textbones
        >>> tokenizer = textbones.models.BertTokenizer(
        ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "new", "york"])
        >>> backbone = textbones.models.BertBackbone(7, 1, 2, 8, 16, max_sequence_length=8)
        >>> tagger = textbones.models.BertTokenClassifier(
        ...     backbone, id2label=["B-LOC", "I-LOC"],
        ...     preprocessor=textbones.models.BertTokenClassifierPreprocessor(tokenizer, 8))
        >>> entities = tagger.predict_entities("new york", aggregation_strategy="none")
        >>> [(entity["word"], entity["start"], entity["end"]) for entity in entities]
        [('new', 0, 3), ('york', 4, 8)]
        """
        strategy = str(aggregation_strategy).lower()
        if strategy not in AGGREGATION_STRATEGIES:
            raise ValueError(
                f"Unknown aggregation_strategy {aggregation_strategy!r}; use one of "
                f"{', '.join(map(repr, AGGREGATION_STRATEGIES))}."
            )
        preprocessor = self.preprocessor
        if preprocessor is None:
            raise self._no_preprocessor_error()
        content = preprocessor.sequence_length - 2
        if stride is not None:
            if isinstance(stride, bool) or not isinstance(stride, int) or not 0 <= stride < content:
                raise ValueError(
                    f"`stride` must be an integer in [0, {content}) (the tokens a window of "
                    f"sequence_length={preprocessor.sequence_length} holds besides [CLS] and "
                    f"[SEP]), got {stride!r}."
                )
            if strategy == "none":
                raise ValueError(
                    "`stride` reads a long text in overlapping windows, whose per-token "
                    'entities cannot be merged: choose an aggregation_strategy other than "none".'
                )
        single = isinstance(texts, (str, bytes))
        texts, _ = as_texts([texts] if single else list(texts), type(self).__name__)
        if not texts:
            return []
        tokenizer = preprocessor.tokenizer
        all_spans = tokenizer.tokenize_with_offsets(texts)
        windows = []  # (text index, first token, last token)
        for index, spans in enumerate(all_spans):
            for start, stop in _windows(len(spans), content, stride):
                windows.append((index, start, stop))
        scores = self._window_scores(all_spans, windows, batch_size)
        found: list[list[dict]] = [[] for _ in texts]
        counts = [0] * len(texts)
        for (index, start, stop), window_scores in zip(windows, scores):
            counts[index] += 1
            found[index].extend(
                window_entities(
                    texts[index],
                    all_spans[index],
                    start,
                    stop,
                    window_scores,
                    self.id2label,
                    tokenizer,
                    strategy,
                    tuple(ignore_labels),
                )
            )
        results = [
            _merge_overlapping(entities) if count > 1 else entities
            for entities, count in zip(found, counts)
        ]
        return results[0] if single else results

    def _window_scores(self, all_spans, windows, batch_size: int) -> list[np.ndarray]:
        """Softmaxed scores ``[stop - start, num_classes]`` of each window's tokens."""
        preprocessor = self.preprocessor
        order = sorted(range(len(windows)), key=lambda i: windows[i][2] - windows[i][1])
        scores: list[np.ndarray | None] = [None] * len(windows)
        dynamic = super()._uses_dynamic_length
        for first in range(0, len(order), batch_size):
            chosen = order[first : first + batch_size]
            rows = [all_spans[windows[i][0]].ids[windows[i][1] : windows[i][2]] for i in chosen]
            token_ids, _ = preprocessor.pack_rows(rows)
            inputs = preprocessor._packed_inputs(token_ids, dynamic_length=dynamic)
            logits = keras.ops.convert_to_numpy(self.predict_on_batch(inputs)).astype("float32")
            for position, i in enumerate(chosen):
                length = windows[i][2] - windows[i][1]
                row = logits[position, 1 : 1 + length]
                shifted = np.exp(row - row.max(axis=-1, keepdims=True))
                scores[i] = shifted / shifted.sum(axis=-1, keepdims=True)
        return scores

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "id2label": [self.id2label[index] for index in range(self.num_classes)],
            "dropout": self.dropout,
        }


def _windows(count: int, content: int, stride: int | None) -> list[tuple[int, int]]:
    """The token ranges of a text's windows: one cut at ``content`` tokens without
    ``stride``, else windows of ``content`` tokens that start ``content - stride`` apart
    until one reaches the end (as Hugging Face tokenizers cut overflowing tokens).

    Example:

    >>> _windows(10, 4, None), _windows(10, 4, 1)
    ([(0, 4)], [(0, 4), (3, 7), (6, 10)])
    >>> _windows(0, 4, 2)
    [(0, 0)]
    """
    if count <= content or stride is None:
        return [(0, min(count, content))]
    ranges = []
    for start in range(0, count, content - stride):
        stop = min(start + content, count)
        ranges.append((start, stop))
        if stop == count:
            break
    return ranges


def _label_names(id2label, num_classes) -> list[str]:
    """The label names, in class order, from ``id2label`` and/or ``num_classes``.

    Example:

    >>> _label_names({"1": "B", "0": "O"}, None), _label_names(None, 2)
    (['O', 'B'], ['LABEL_0', 'LABEL_1'])
    """
    if num_classes is not None and (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, (int, np.integer))
        or num_classes < 1
    ):
        hint = (
            " (the second argument is `num_classes`: pass the preprocessor by name, "
            "`preprocessor=...`)"
            if isinstance(num_classes, Preprocessor)
            else ""
        )
        raise ValueError(f"`num_classes` must be a positive integer, got {num_classes!r}{hint}.")
    if id2label is None:
        if num_classes is None:
            raise ValueError(
                "A token classifier needs `num_classes` or `id2label` (the label names, e.g. "
                "`id2label=['O', 'B-PER', 'I-PER']`)."
            )
        return [f"LABEL_{index}" for index in range(int(num_classes))]
    if isinstance(id2label, Mapping):
        try:
            named = {int(key): value for key, value in id2label.items()}
        except (TypeError, ValueError):
            raise ValueError(
                f"`id2label` must map class indices (0, 1, ...) to names, got keys "
                f"{sorted(map(repr, id2label))}."
            ) from None
        if sorted(named) != list(range(len(named))):
            raise ValueError(
                f"`id2label` must name every class index from 0 to {len(named) - 1} once, got "
                f"the indices {sorted(named)}."
            )
        labels = [named[index] for index in range(len(named))]
    elif isinstance(id2label, (str, bytes)):
        raise ValueError(f"`id2label` must be a list or dict of label names, got {id2label!r}.")
    else:
        labels = list(id2label)
    if not labels or not all(isinstance(label, str) for label in labels):
        raise ValueError(
            f"`id2label` must hold at least one label, each a string, got {id2label!r}."
        )
    if len(set(labels)) != len(labels):
        raise ValueError(f"`id2label` names a label twice: {labels}. Give each class its own name.")
    if num_classes is not None and int(num_classes) != len(labels):
        raise ValueError(
            f"`num_classes`={num_classes} but `id2label` names {len(labels)} labels; give one "
            "of them, or make them agree."
        )
    return labels


registry.register_task_kind(
    registry.TaskKind(
        name="token_classifier",
        task_base=TokenClassifier,
        preprocessor_base=TokenClassifierPreprocessor,
        transformers_suffix="ForTokenClassification",
    )
)
