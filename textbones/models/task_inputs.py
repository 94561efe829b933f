"""How a ``Task`` reads its data: raw text, preprocessed dicts, datasets and generators."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import keras
import numpy as np

from textbones.preprocessing import text_batches
from textbones.preprocessing.tf_tensors import eager_tensors_as_numpy

#: Rows per batch when the caller gives no ``batch_size`` (as Keras does).
DEFAULT_BATCH_SIZE = 32


class TaskInputs:
    """The input side of ``Task``: checks what the caller gave and turns it into batches.

    A mixin of ``Task`` (it reads the task's ``preprocessor``, ``backbone``, ``input``
    and ``_uses_dynamic_length``), kept apart from the Keras entry points that use it.
    Each task kind overrides ``_check_labels``, ``_labels_from_caller`` and
    ``_preprocess_options``.
    """

    def _check_labels(self, y: np.ndarray) -> None:
        """Raise a ``ValueError`` if the labels can't be targets of this task."""

    def _check_preprocessed(self, x: dict) -> None:
        expected = (
            [name for name in self.input if name not in x] if isinstance(self.input, dict) else []
        )
        if expected:
            raise ValueError(
                f"{type(self).__name__} needs the inputs {sorted(self.input)}, but "
                f"{', '.join(map(repr, expected))} {'is' if len(expected) == 1 else 'are'} missing "
                f"(got {sorted(x)}). Add {'it' if len(expected) == 1 else 'them'}, or pass raw "
                "text with a preprocessor."
            )
        self.backbone.check_inputs(
            {name: x[name] for name in self.backbone.input_names if name in x}
        )

    def _refuse_empty(self, x, purpose: str) -> None:
        """Raise a ``ValueError`` if ``x`` is a container of no examples (``predict([])``)."""
        if isinstance(x, dict):
            values = list(x.values())
            empty = bool(values) and all(_rows(value) == 0 for value in values)
        elif isinstance(x, tuple) and x and all(isinstance(c, (list, np.ndarray)) for c in x):
            empty = all(_rows(column) == 0 for column in x)
        else:
            empty = isinstance(x, (list, np.ndarray)) and _rows(x) == 0
        if empty:
            doing = {"fit": "train on", "evaluate": "evaluate"}.get(purpose, purpose)
            raise ValueError(
                f"{type(self).__name__} got no examples to {doing}: `x` is an empty "
                f"{type(x).__name__}. Pass at least one text (or sentence pair), or "
                "preprocessed arrays with at least one row."
            )

    def _no_preprocessor_error(self) -> ValueError:
        return ValueError(
            f"{type(self).__name__} got raw text but has no preprocessor (preprocessor=None). "
            "Give it one (e.g. `model.preprocessor = "
            f"{self.preprocessor_cls.__name__ if self.preprocessor_cls else 'Preprocessor'}"
            ".from_preset(...)`) or pass the preprocessed integer dict the model takes "
            f"({', '.join(sorted(self.input))})."
        )

    def _adapt_data(
        self,
        x,
        y=None,
        sample_weight=None,
        *,
        batch_size=None,
        shuffle: bool = False,
        needs_labels: bool = False,
        purpose: str = "predict",
        seed: int | None = None,
        sort_by_length: bool = False,
        preprocess_options: dict[str, Any] | None = None,
        workers: int | None = None,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
    ) -> tuple[dict[str, Any], Any]:
        """The arguments for ``keras.Model.fit``/``evaluate``/``predict`` that carry ``x``.

        Returns the keyword arguments (``x`` and, for arrays, ``y``, ``sample_weight``,
        ``batch_size``, ``shuffle``) and the ``TextBatches`` made (or ``None``).
        ``purpose`` (``"fit"``, ``"evaluate"`` or ``"predict"``) picks the preprocessor
        options unless ``preprocess_options`` is given, and words the errors.

        With a preprocessor, every list, array or tuple of them is read as raw text, so a
        ``None``, NaN or number among the texts is refused with its index (see
        ``text_batches.as_text_columns``) rather than mistaken for another kind of input.
        """
        preprocessor = self.preprocessor
        if preprocess_options is None:
            preprocess_options = self._preprocess_options(purpose)
        # Eager TensorFlow tensors (a batch taken from a tf.data.Dataset) read as NumPy.
        x, y, sample_weight = eager_tensors_as_numpy((x, y, sample_weight))
        self._refuse_empty(x, purpose)
        if isinstance(x, keras.utils.PyDataset):
            if preprocessor is not None:
                x = text_batches.MappedBatches(x, preprocessor, self._uses_dynamic_length, seed)
            return {"x": x}, None
        if _is_tf_dataset(x):
            if preprocessor is None:
                return {"x": x}, None
            cardinality = int(x.cardinality())
            if (
                cardinality == -2
            ):  # tf.data.UNKNOWN_CARDINALITY (after `filter`, a TextLineDataset, ...)
                # Counted once, so that each epoch reads the dataset afresh: a generator
                # would be used up by the first epoch.
                cardinality = int(x.reduce(np.int64(0), lambda count, *_: count + 1))
            if cardinality >= 0:
                return {
                    "x": text_batches.IterableBatches(
                        x.as_numpy_iterator,
                        cardinality,
                        preprocessor,
                        self._uses_dynamic_length,
                        seed,
                    )
                }, None
            return {
                "x": text_batches.preprocessed_generator(
                    x.as_numpy_iterator(), preprocessor, self._uses_dynamic_length, seed
                )
            }, None
        if inspect.isgenerator(x) or (
            hasattr(x, "__next__") and not isinstance(x, (list, tuple, dict, np.ndarray))
        ):
            if preprocessor is None:
                return {"x": x}, None
            return {
                "x": text_batches.preprocessed_generator(
                    x, preprocessor, self._uses_dynamic_length, seed
                )
            }, None
        read_as_text = text_batches.is_text(x) or (
            preprocessor is not None and text_batches.is_text_container(x)
        )
        if read_as_text:
            if preprocessor is None:
                raise self._no_preprocessor_error()
            columns = text_batches.as_text_columns(x, type(self).__name__)
            x = columns if len(columns) > 1 else columns[0]
            if not self._labels_from_caller and (y is not None or sample_weight is not None):
                # Checked before Keras's loop starts: an error raised from a batch inside it
                # can leave a JAX model's variables without their values.
                raise ValueError(
                    f"{type(self).__name__} makes its own labels and weights from raw text; pass "
                    "the text alone (or set `preprocessor=None` and pass preprocessed inputs, "
                    "labels and weights)."
                )
            if needs_labels and y is None and self._labels_from_caller:
                raise ValueError(
                    f"{type(self).__name__} needs labels to train or evaluate: pass `y` "
                    "(one label per text) alongside `x`."
                )
            if y is not None:
                self._check_labels(np.asarray(y))
            batches = text_batches.TextBatches(
                x,
                y,
                sample_weight,
                preprocessor=preprocessor,
                batch_size=batch_size or DEFAULT_BATCH_SIZE,
                shuffle=shuffle,
                dynamic_length=self._uses_dynamic_length,
                sort_by_length=sort_by_length and self._uses_dynamic_length,
                seed=seed,
                preprocess_options=preprocess_options,
                workers=text_batches.DEFAULT_WORKERS if workers is None else workers,
                use_multiprocessing=use_multiprocessing,
                max_queue_size=max_queue_size,
            )
            return {"x": batches}, batches
        if isinstance(x, dict):
            x = {
                name: np.asarray(value) if isinstance(value, (list, tuple)) else value
                for name, value in x.items()
            }
            self._check_preprocessed(x)
            if needs_labels and y is None:
                raise ValueError(
                    f"{type(self).__name__} got preprocessed inputs without labels: pass `y` "
                    "(for a masked LM, the original ids at `mask_positions`), or pass raw text "
                    "with a preprocessor to make them."
                )
            if y is not None:
                y = np.asarray(y)
                self._check_labels(y)
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight, "float32")
            return {
                "x": x,
                "y": y,
                "sample_weight": sample_weight,
                "batch_size": batch_size,
                "shuffle": shuffle,
            }, None
        raise ValueError(
            f"{type(self).__name__} can't read `x` of type {type(x).__name__}. Pass raw text "
            "(a string, a list or array of strings, or a tuple of two lists for sentence "
            "pairs), a dict of preprocessed integer arrays, a keras.utils.PyDataset, a "
            "generator, or a tf.data.Dataset."
        )

    #: Whether training needs labels from the caller (a masked LM makes its own).
    _labels_from_caller: ClassVar[bool] = True

    def _preprocess_options(self, purpose: str) -> dict[str, Any]:
        """Extra keyword arguments for the preprocessor when the data is for ``purpose``."""
        return {}

    def _preprocess_batch(self, x, y=None, sample_weight=None, purpose: str = "fit"):
        """One batch of raw text preprocessed (for the ``*_on_batch`` methods)."""
        x, y, sample_weight = eager_tensors_as_numpy((x, y, sample_weight))
        self._refuse_empty(x, purpose)
        is_text = text_batches.is_text(x) or (
            self.preprocessor is not None and text_batches.is_text_container(x)
        )
        if not is_text:
            if isinstance(x, dict):
                self._check_preprocessed(x)
            if y is not None:
                self._check_labels(np.asarray(y))
            return x, y, sample_weight
        if self.preprocessor is None:
            raise self._no_preprocessor_error()
        columns = text_batches.as_text_columns(x, type(self).__name__)
        if y is not None:
            self._check_labels(np.asarray(y))
            y = text_batches.rows_per_example(y, len(columns[0]), "y")
        if sample_weight is not None:
            sample_weight = text_batches.rows_per_example(
                sample_weight, len(columns[0]), "sample_weight", "float32"
            )
        rng = np.random.default_rng(np.random.randint(0, 2**31 - 1))
        batch = self.preprocessor.preprocess_batch(
            columns if len(columns) > 1 else columns[0],
            y,
            sample_weight,
            dynamic_length=self._uses_dynamic_length,
            rng=rng,
            **self._preprocess_options(purpose),
        )
        return keras.utils.unpack_x_y_sample_weight(batch)


def _rows(value) -> int | None:
    """The length of the first axis of a list or array, ``None`` if it has none."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return shape[0] if len(shape) else None
    return len(value) if isinstance(value, (list, tuple)) else None


def _is_tf_dataset(x) -> bool:
    return any(
        klass.__module__.startswith("tensorflow") and klass.__name__.endswith("Dataset")
        for klass in type(x).__mro__
    )


def unpack_validation(validation_data):
    if text_batches.is_text(validation_data) or isinstance(validation_data, dict):
        return validation_data, None, None
    if isinstance(validation_data, (tuple, list)):
        return keras.utils.unpack_x_y_sample_weight(tuple(validation_data))
    return validation_data, None, None


def as_validation(arguments: dict[str, Any]):
    if "y" not in arguments:
        return arguments["x"]
    return keras.utils.pack_x_y_sample_weight(
        arguments["x"], arguments["y"], arguments["sample_weight"]
    )


def split_text(x, y, sample_weight, fraction: float, owner: str = "The text input"):
    """The last ``fraction`` of the rows of raw text (and labels) as validation data."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"`validation_split` must be between 0 and 1, got {fraction}.")
    columns = text_batches.as_text_columns(x, owner)
    split = int(len(columns[0]) * (1.0 - fraction))

    def cut(values, part):
        if values is None:
            return None
        values = np.asarray(values)
        return values[:split] if part == 0 else values[split:]

    train_x = tuple(column[:split] for column in columns)
    val_x = tuple(column[split:] for column in columns)
    unwrap = (lambda value: value) if len(columns) > 1 else (lambda value: value[0])
    validation = keras.utils.pack_x_y_sample_weight(unwrap(val_x), cut(y, 1), cut(sample_weight, 1))
    if not isinstance(validation, tuple) or text_batches.is_text(validation):
        validation = (validation,)
    return unwrap(train_x), cut(y, 0), cut(sample_weight, 0), validation
