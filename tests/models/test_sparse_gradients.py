"""A token repeated in a batch moves its embedding by one Adam step, on every backend.

Adam's first step moves each weight by at most its learning rate (``m / sqrt(v)`` with
both moments taken from the one gradient). On TensorFlow an embedding's gradient is a
``tf.IndexedSlices`` with a row per looked-up token, and Keras' optimizers square those
rows before summing a token's repeats, so a token seen ``n`` times moved up to ``sqrt(n)``
times as far: 26 times the learning rate on the synthetic question-answering batches, which
kept the TensorFlow runs of the learning tests on their plateau. ``Task.compile`` has the
optimizer sum the repeats first (``keras_internals.coalesce_sparse_gradients``), and the
same step then gives the same weights on JAX, torch and TensorFlow. This file checks
something on TensorFlow: ``.ci/run``'s tensorflow stage runs it.
"""

from __future__ import annotations

import keras
import numpy as np

from textbones import keras_internals
from textbones.models import BertBackbone, BertTextClassifier

LEARNING_RATE = 1e-3
LENGTH = 16
#: Token 5 fills most of every row: 4 rows x 12 repeats in one batch.
INPUTS = {
    "token_ids": np.array([[2] + [5] * 12 + [6, 7, 3]] * 4),
    "segment_ids": np.zeros((4, LENGTH), "int32"),
    "padding_mask": np.ones((4, LENGTH), "int32"),
}
LABELS = np.array([0, 1, 0, 1])


def largest_step(model, x, y) -> dict[str, float]:
    before = {v.path: keras.ops.convert_to_numpy(v) for v in model.trainable_weights}
    model.train_on_batch(x, y)
    return {
        v.path: float(np.abs(keras.ops.convert_to_numpy(v) - before[v.path]).max())
        for v in model.trainable_weights
    }


def test_one_adam_step_moves_no_weight_beyond_the_learning_rate():
    keras.utils.set_random_seed(0)
    model = BertTextClassifier(
        BertBackbone(30, 1, 2, 8, 16, max_sequence_length=LENGTH), num_classes=2
    )
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
    steps = largest_step(model, INPUTS, LABELS)
    # The repeated token's row moves by the learning rate (less Adam's epsilon's share)...
    assert abs(steps["token_embedding/embeddings"] - LEARNING_RATE) <= 0.01 * LEARNING_RATE
    # ...and no weight moves further (rounding aside).
    assert max(steps.values()) <= LEARNING_RATE * (1 + 1e-4), sorted(steps.items())[:3]


def test_compile_coalesces_on_tensorflow_only_and_once():
    model = BertTextClassifier(BertBackbone(30, 1, 2, 8, 16, max_sequence_length=8), num_classes=2)
    model.compile(optimizer="adam")
    on_tensorflow = keras.config.backend() == "tensorflow"
    assert getattr(model.optimizer, "_textbones_coalesces_gradients", False) is on_tensorflow
    assert keras_internals.coalesce_sparse_gradients(model.optimizer) is False


def test_the_keras_behaviour_worked_around_is_still_there():
    """The same model compiled by ``keras.Model.compile``, without the workaround: on
    TensorFlow the repeated token's row moves beyond the learning rate, which Adam never
    does on a dense gradient (when this fails, Keras has fixed it and
    ``coalesce_sparse_gradients`` can go); elsewhere it moves by it."""
    keras.utils.set_random_seed(0)
    model = BertTextClassifier(
        BertBackbone(30, 1, 2, 8, 16, max_sequence_length=LENGTH), num_classes=2
    )
    keras.Model.compile(
        model,
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    embedding = largest_step(model, INPUTS, LABELS)["token_embedding/embeddings"]
    if keras.config.backend() == "tensorflow":
        assert embedding > 1.2 * LEARNING_RATE  # 1.37 times here
    else:
        assert abs(embedding - LEARNING_RATE) <= 0.01 * LEARNING_RATE
