"""How a ``Task`` trains, evaluates and predicts on raw text: Keras' entry points, adapted.

``fit``, ``evaluate``, ``predict`` and the ``*_on_batch`` methods take every argument of
their ``keras.Model`` counterparts, read only the ones textbones adapts (the data, its
batch size, validation data), turn raw text into batches (``TaskInputs``) and hand the
rest to Keras unchanged.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import warnings
from typing import Any

import keras
import numpy as np

from textbones import keras_internals
from textbones.models.backbone import Backbone
from textbones.models.distribution import data_parallel_size
from textbones.models.task_inputs import (
    TaskInputs,
    as_validation,
    split_text,
    unpack_validation,
)
from textbones.preprocessing import text_batches
from textbones.preprocessing.even_batches import ArrayBatches, EvenBatches


class TaskTraining(TaskInputs):
    """The Keras entry points of ``Task`` on raw text or preprocessed inputs.

    A mixin of ``Task``, placed before ``keras.Model`` in its bases: each method adapts
    its data and calls ``keras.Model``'s method of the same name.
    """

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        *args,
        workers: int | None = None,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
        **kwargs,
    ):
        """Train on raw text (with a preprocessor) or preprocessed dicts; see ``keras.Model.fit``.

        Every argument of ``keras.Model.fit`` is taken, by position (in Keras' order) or by
        name, and passed to it; textbones reads only the ones it adapts. ``x``, ``y``,
        ``sample_weight`` and ``batch_size`` become batches prepared beside the training
        step. Raw text is shuffled row by row each epoch (``shuffle=True``), and a masked
        LM draws new masks every epoch. ``validation_split`` on raw text keeps the last
        rows for validation, as Keras does for arrays; ``validation_data`` (with
        ``validation_batch_size``) is adapted as ``x`` is, masked with a fixed seed.

        ``workers`` (2 threads by default), ``use_multiprocessing`` and ``max_queue_size``
        set how batches are prepared ahead of the training step.

        Example:

        >>> import numpy as np, textbones
        >>> backbone = textbones.models.FNetBackbone(30, 1, 8, 16, max_sequence_length=8)
        >>> classifier = textbones.models.FNetTextClassifier(backbone, num_classes=2)
        >>> x = {"token_ids": np.full((4, 8), 5), "segment_ids": np.zeros((4, 8), "int32")}
        >>> history = classifier.fit(x, np.array([0, 1, 0, 1]), 2, 3, 0)  # batch 2, 3 epochs
        >>> len(history.history["loss"])
        3
        """
        arguments = _keras_arguments(
            keras.Model.fit, self._named("fit"), (x, y, batch_size, *args), kwargs
        )
        x, y, batch_size = (arguments.pop(name, None) for name in ("x", "y", "batch_size"))
        sample_weight = arguments.pop("sample_weight", None)
        validation_data = arguments.pop("validation_data", None)
        validation_split = arguments.pop("validation_split", 0.0)
        shuffle = arguments.pop("shuffle", True)
        validation_batch_size = arguments.pop("validation_batch_size", None)
        pipeline = {
            "workers": workers,
            "use_multiprocessing": use_multiprocessing,
            "max_queue_size": max_queue_size,
        }
        if validation_split and text_batches.is_text(x) and validation_data is None:
            x, y, sample_weight, validation_data = split_text(
                x, y, sample_weight, validation_split, type(self).__name__
            )
            validation_split = 0.0
        data, _ = self._adapt_data(
            x,
            y,
            sample_weight,
            batch_size=batch_size,
            shuffle=shuffle,
            needs_labels=True,
            purpose="fit",
            **pipeline,
        )
        # Keras's `shuffle` reorders a PyDataset's batches: as asked for the caller's own;
        # never for raw text (TextBatches shuffles its rows itself, or keeps them in order)
        # nor for a tf.data.Dataset (IterableBatches must be read in order).
        ordered = isinstance(data["x"], (text_batches.TextBatches, text_batches.IterableBatches))
        data.setdefault("shuffle", shuffle and not ordered)
        if validation_data is not None:
            val_x, val_y, val_weight = unpack_validation(validation_data)
            # A fixed seed: the validation masks stay the same from epoch to epoch, so
            # the validation loss of different epochs can be compared.
            val_arguments, _ = self._adapt_data(
                val_x,
                val_y,
                val_weight,
                batch_size=validation_batch_size or batch_size,
                needs_labels=True,
                seed=0,
                purpose="evaluate",
                **pipeline,
            )
            val_arguments, _ = self._for_distribution(val_arguments, "evaluate")
            validation_data = as_validation(val_arguments)
            if "y" not in val_arguments:
                validation_batch_size = None
        data, even = self._for_distribution(data, "fit")
        made_here = (text_batches.TextBatches, ArrayBatches)
        if (
            isinstance(data["x"], made_here)
            or (even is not None and isinstance(even.dataset, made_here))
        ) and len(data["x"]):
            # A batch is a function of its index and epoch alone: building from one here
            # keeps Keras from taking one of the epoch's own (see keras_internals).
            keras_internals.build_for_training(self, lambda: data["x"][0])
        with self._unread_variables_quiet():
            return super().fit(
                **data,
                validation_split=validation_split,
                validation_data=validation_data,
                validation_batch_size=validation_batch_size,
                **arguments,
            )

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        *args,
        workers: int | None = None,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
        **kwargs,
    ):
        """Evaluate on raw text (with a preprocessor) or preprocessed dicts; see
        ``keras.Model.evaluate``.

        Every argument of ``keras.Model.evaluate`` is taken, by position or by name, and
        passed to it; ``x``, ``y``, ``sample_weight`` and ``batch_size`` are adapted as
        ``fit`` adapts them (a masked LM draws its masks with a fresh seed), and the
        pipeline options are ``fit``'s.
        """
        if kwargs.get("_use_cached_eval_dataset"):
            # Called by `fit` for validation, on data `fit` has already adapted.
            return super().evaluate(x, y, batch_size, *args, **kwargs)
        arguments = _keras_arguments(
            keras.Model.evaluate, self._named("evaluate"), (x, y, batch_size, *args), kwargs
        )
        x, y, batch_size = (arguments.pop(name, None) for name in ("x", "y", "batch_size"))
        data, _ = self._adapt_data(
            x,
            y,
            arguments.pop("sample_weight", None),
            batch_size=batch_size,
            needs_labels=True,
            purpose="evaluate",
            workers=workers,
            use_multiprocessing=use_multiprocessing,
            max_queue_size=max_queue_size,
        )
        data.pop("shuffle", None)
        data, _ = self._for_distribution(data, "evaluate")
        return super().evaluate(**data, **arguments)

    def predict(
        self,
        x,
        batch_size=None,
        *args,
        workers: int | None = None,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
        **kwargs,
    ):
        """Predict on raw text (with a preprocessor) or preprocessed dicts; see
        ``keras.Model.predict``.

        Every argument of ``keras.Model.predict`` is taken, by position or by name, and
        passed to it; ``x`` and ``batch_size`` are adapted. Raw text is grouped into
        batches of similar length (less padding) and the outputs come back in the order
        of ``x``. The pipeline options are ``fit``'s.
        """
        arguments = _keras_arguments(
            keras.Model.predict, self._named("predict"), (x, batch_size, *args), kwargs
        )
        x, batch_size = arguments.pop("x"), arguments.pop("batch_size", None)
        data, batches = self._adapt_data(
            x,
            batch_size=batch_size,
            sort_by_length=True,
            purpose="predict",
            workers=workers,
            use_multiprocessing=use_multiprocessing,
            max_queue_size=max_queue_size,
        )
        for unused in ("y", "sample_weight", "shuffle"):
            data.pop(unused, None)
        data, even = self._for_distribution(data, "predict")
        outputs = super().predict(**data, **arguments)
        if even is not None:
            outputs = even.drop_padding(outputs)
        return batches.restore_order(outputs) if batches is not None else outputs

    def _for_distribution(
        self, data: dict[str, Any], purpose: str
    ) -> tuple[dict[str, Any], EvenBatches | None]:
        """``data`` (the arguments of a Keras entry point) in batches a data-parallel
        ``keras.distribution`` can split, and the ``EvenBatches`` that padded them (whose
        ``drop_padding`` cleans ``predict``'s outputs), if any.

        With no distribution (or one device on the batch axis) nothing changes. Otherwise
        raw text and preprocessed arrays come in batches padded to a multiple of the
        data-parallel size (``textbones.preprocessing.even_batches``), except when the
        rows of a training batch meet in the loss (an embedder's in-batch negatives): then
        each epoch leaves out its last few rows instead. Generators and ``tf.data``
        datasets are given to Keras as they are.
        """
        multiple = data_parallel_size()
        x = data.get("x")
        if multiple == 1 or x is None:
            return data, None
        data = dict(data)
        if isinstance(x, (dict, np.ndarray)):
            data["x"] = x = ArrayBatches(
                x,
                data.pop("y", None),
                data.pop("sample_weight", None),
                batch_size=data.pop("batch_size", None),
                shuffle=data.pop("shuffle", False) and purpose == "fit",
            )
            if purpose == "fit":
                data["shuffle"] = False  # the rows are shuffled: Keras keeps the batches' order
        if not isinstance(x, keras.utils.PyDataset):
            return data, None
        if (
            purpose != "predict"
            and self._rows_meet_in_loss()
            and isinstance(x, text_batches.TextBatches)
        ):
            x.drop_remainder(multiple)
            return data, None
        scale, ignore_label = self._loss_averaging()
        data["x"] = even = EvenBatches(x, multiple, scale, ignore_label)
        return data, even

    def _rows_meet_in_loss(self) -> bool:
        """Whether a row's loss depends on the other rows of its batch (in-batch negatives)."""
        return False

    def _loss_averaging(self) -> tuple[bool, int | None]:
        """How the compiled loss averages, for padding a batch without changing it: (whether
        it divides by the batch's size, Keras' default ``"sum_over_batch_size"``, so that
        the real rows' weights must be scaled; the ``ignore_class`` it leaves out and
        averages without, if it has one, which padded rows then take as labels)."""
        losses = [loss for loss in keras.tree.flatten(getattr(self, "loss", None)) if loss]
        configs = [
            loss.get_config() if isinstance(loss, keras.losses.Loss) else {} for loss in losses
        ]
        ignored = {config.get("ignore_class") for config in configs} - {None}
        if len(ignored) == 1 and all(config.get("ignore_class") is not None for config in configs):
            return False, int(ignored.pop())
        reductions = {config.get("reduction", "sum_over_batch_size") for config in configs}
        return bool(reductions & {"sum_over_batch_size", "mean"}) or not configs, None

    def _named(self, method: str) -> str:
        return f"{type(self).__name__}.{method}"

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch of raw text or preprocessed inputs."""
        x, y, sample_weight = self._preprocess_batch(x, y, sample_weight, "fit")
        with self._unread_variables_quiet():
            return super().train_on_batch(
                x,
                y,
                sample_weight=sample_weight,
                class_weight=class_weight,
                return_dict=return_dict,
            )

    @contextlib.contextmanager
    def _unread_variables_quiet(self):
        # A head on the per-token features (an embedder's pooling, a token classifier, a
        # question answerer) leaves the backbone's pooler (BERT's `pooled_dense`) without a
        # gradient, and Keras warns about it on every step on torch and TensorFlow. That
        # one expected message is silenced; any other is shown.
        if not self.reads_token_features_only:
            yield
            return
        if "_unread_paths" not in self.__dict__:
            # Found once: finding them builds a model, too slow for every train_on_batch.
            self.__dict__["_unread_paths"] = frozenset(unread_backbone_variables(self.backbone))
        unread = self.__dict__["_unread_paths"]
        # As Keras lists them: the trainable ones, in order (a frozen pooler is not listed).
        paths = [v.path for v in self.backbone.trainable_weights if v.path in unread]
        with warnings.catch_warnings():
            if paths:
                warnings.filterwarnings(
                    "ignore",
                    message=re.escape(f"Gradients do not exist for variables {paths} when"),
                )
            yield

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch of raw text or preprocessed inputs."""
        x, y, sample_weight = self._preprocess_batch(x, y, sample_weight, "evaluate")
        return super().test_on_batch(x, y, sample_weight=sample_weight, return_dict=return_dict)

    def predict_on_batch(self, x):
        """Outputs for one batch of raw text or preprocessed inputs."""
        x, _, _ = self._preprocess_batch(x, purpose="predict")
        return super().predict_on_batch(x)


def _keras_arguments(method, name: str, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments of a call to Keras' ``method`` as keywords: ``args`` named in the order
    of its parameters, then ``kwargs``. Keras itself refuses names it does not take.

    Example:

    >>> def fit(self, x=None, y=None, batch_size=None, epochs=1):
    ...     pass
    >>> _keras_arguments(fit, "Task.fit", ([1], None, 32, 2), {"verbose": 0})
    {'x': [1], 'y': None, 'batch_size': 32, 'epochs': 2, 'verbose': 0}
    >>> _keras_arguments(fit, "Task.fit", ([1], None, 32), {"batch_size": 8})
    Traceback (most recent call last):
    ...
    TypeError: Task.fit() got multiple values for argument 'batch_size'
    """
    order = [
        parameter.name
        for parameter in list(inspect.signature(method).parameters.values())[1:]
        if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    if len(args) > len(order):
        raise TypeError(
            f"{name}() takes at most {len(order)} positional arguments ({', '.join(order)}), "
            f"got {len(args)}."
        )
    arguments = dict(zip(order, args))
    for key, value in kwargs.items():
        if key in arguments:
            raise TypeError(f"{name}() got multiple values for argument {key!r}")
        arguments[key] = value
    return arguments


def unread_backbone_variables(backbone: Backbone) -> list[str]:
    """The paths of the backbone's trainable variables its per-token features do not read
    (a pooler's), in the backbone's order.

    Example:

    >>> import textbones
    >>> backbone = textbones.models.BertBackbone(30, 1, 2, 8, 16, max_sequence_length=8)
    >>> unread_backbone_variables(backbone)
    ['pooled_dense/kernel', 'pooled_dense/bias']
    """
    features = backbone.sequence_features(backbone.output)
    read = {id(variable) for variable in keras.Model(backbone.input, features).weights}
    return [variable.path for variable in backbone.trainable_weights if id(variable) not in read]
