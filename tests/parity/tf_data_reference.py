"""Tasks fed by ``tf.data``: the reference-environment side of ``test_tf_data.py``.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``), where TensorFlow
is installed: the main environment has none. ``tests/parity/conftest.py`` keeps it out of
the main suite's collection.

Usage: ``tf_data_reference.py BACKEND`` (``jax`` or ``tensorflow``: the Keras backend).
It trains tiny textbones tasks on ``tf.data.Dataset``s of raw strings and asserts, here,
that

* a ``BertTextClassifier`` fits on ``from_tensor_slices((texts, labels)).batch(4)`` for two
  epochs with a falling loss, and its ``predict`` on a ``tf.data`` of strings gives the
  shapes and values ``predict`` on the plain list gives;
* sentence pairs (``((firsts, seconds), labels)``) train too, and so does a dataset of
  unknown length (after ``filter``): every epoch reads all of it, and validation on one
  runs every epoch;
* a ``BertMaskedLM`` fits and evaluates on a ``tf.data`` of raw strings.

The last line of stdout is a JSON summary that the pytest side checks again.
"""

import json
import os
import sys

BACKEND = sys.argv[1] if len(sys.argv) > 1 else "tensorflow"
os.environ["KERAS_BACKEND"] = BACKEND
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from reference_shared import stderr_silenced  # noqa: E402

with stderr_silenced():
    import keras
    import tensorflow as tf

import textbones  # noqa: E402

assert keras.config.backend() == BACKEND, keras.config.backend()

FRUIT = "apple pear plum grape lemon".split()
MUSIC = "piano violin flute drum guitar".split()
RESERVED = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def sentences(rng: np.random.Generator, count: int) -> tuple[list[str], np.ndarray]:
    """Two to five words of one topic; the label is the topic (0 fruit, 1 music). Easy
    enough that two short epochs lower the loss well beyond noise."""
    texts, labels = [], []
    for _ in range(count):
        label = int(rng.integers(2))
        words = list(rng.choice(MUSIC if label else FRUIT, size=int(rng.integers(2, 6))))
        texts.append(" ".join(words))
        labels.append(label)
    return texts, np.array(labels, dtype="int32")


class BatchCounter(keras.callbacks.Callback):
    """Counts the training batches of a ``fit``."""

    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def tiny_backbone(vocabulary_size: int) -> textbones.models.BertBackbone:
    return textbones.models.BertBackbone(
        vocabulary_size=vocabulary_size,
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        dropout=0.0,
        max_sequence_length=16,
    )


def main() -> dict:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    texts, labels = sentences(rng, 32)
    # A word list: each of these words is one token, which the checks below rely on.
    vocabulary = RESERVED + sorted(FRUIT + MUSIC)
    tokenizer = textbones.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    summary = {"backend": BACKEND}

    # A classifier on (text, label) batches.
    classifier = textbones.models.BertTextClassifier(
        tiny_backbone(tokenizer.vocabulary_size()),
        num_classes=2,
        preprocessor=textbones.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=16),
    )
    classifier.compile(optimizer=keras.optimizers.Adam(1e-2))
    train = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(4)
    before = classifier.evaluate(train, verbose=0, return_dict=True)["loss"]
    counter = BatchCounter()
    history = classifier.fit(train, epochs=2, verbose=0, callbacks=[counter])
    assert counter.batches == 2 * 8, counter.batches
    after = classifier.evaluate(train, verbose=0, return_dict=True)["loss"]
    losses = history.history["loss"]
    assert len(losses) == 2 and np.isfinite(losses).all(), losses
    assert losses[1] < losses[0], f"the training loss did not fall: {losses}"
    assert after < before, f"the loss on the training data did not fall: {before} -> {after}"
    summary["classifier"] = {"epoch_losses": losses, "loss_before": before, "loss_after": after}

    strings = tf.data.Dataset.from_tensor_slices(texts).batch(4)
    from_dataset = np.asarray(classifier.predict(strings, verbose=0))
    from_list = np.asarray(classifier.predict(texts, verbose=0))
    assert from_dataset.shape == (len(texts), 2), from_dataset.shape
    assert np.isfinite(from_dataset).all()
    difference = float(np.abs(from_dataset - from_list).max())
    assert difference < 1e-4, f"predict on tf.data differs from predict on the list by {difference}"
    summary["classifier"].update(
        predict_shape=list(from_dataset.shape), predict_max_difference=difference
    )

    # Sentence pairs: ((first, second), label).
    pairs = tf.data.Dataset.from_tensor_slices(((texts, texts[::-1]), labels)).batch(4)
    pair_history = classifier.fit(pairs, epochs=1, verbose=0)
    # A dataset of unknown length (after `filter`, as a TextLineDataset is): every epoch
    # must read all of it again, and validation on one must run every epoch.
    unknown_length = (
        tf.data.Dataset.from_tensor_slices((texts, labels))
        .filter(lambda text, label: True)
        .batch(4)
    )
    assert int(unknown_length.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    counter = BatchCounter()
    unknown_history = classifier.fit(
        unknown_length, epochs=2, verbose=0, callbacks=[counter], validation_data=unknown_length
    )
    assert counter.batches == 2 * 8, f"{counter.batches} batches in 2 epochs of 8"
    assert len(unknown_history.history["val_loss"]) == 2, unknown_history.history
    pair_predictions = np.asarray(
        classifier.predict(tf.data.Dataset.from_tensor_slices((texts, texts)).batch(8), verbose=0)
    )
    assert pair_predictions.shape == (len(texts), 2), pair_predictions.shape
    summary["pairs_loss"] = pair_history.history["loss"][0]
    summary["unknown_length_loss"] = unknown_history.history["loss"][0]
    assert np.isfinite([summary["pairs_loss"], summary["unknown_length_loss"]]).all(), summary

    # A masked LM on raw strings.
    masked_lm = textbones.models.BertMaskedLM(
        tiny_backbone(tokenizer.vocabulary_size()),
        preprocessor=textbones.models.BertMaskedLMPreprocessor(
            tokenizer, sequence_length=16, mask_selection_rate=0.3, mask_selection_length=4
        ),
    )
    masked_lm.compile(optimizer=keras.optimizers.Adam(3e-3))
    raw = tf.data.Dataset.from_tensor_slices(texts).batch(4)
    mlm_history = masked_lm.fit(raw, epochs=2, verbose=0)
    mlm_losses = mlm_history.history["loss"]
    assert len(mlm_losses) == 2 and np.isfinite(mlm_losses).all(), mlm_losses
    assert mlm_losses[1] < mlm_losses[0], f"the masked LM's loss did not fall: {mlm_losses}"
    evaluated = masked_lm.evaluate(raw, verbose=0, return_dict=True)
    assert 0.0 <= evaluated["sparse_categorical_accuracy"] <= 1.0 and np.isfinite(
        evaluated["loss"]
    ), evaluated
    summary["masked_lm"] = {"epoch_losses": mlm_losses, "evaluate": evaluated}
    return summary


if __name__ == "__main__":
    print(json.dumps(main(), default=float))
