"""Training options Keras gives every model work on raw strings: gradient accumulation
(``optimizer.gradient_accumulation_steps``) and mixed precision (``mixed_bfloat16``,
``mixed_float16`` with loss scaling).

* Accumulating 2 batches of 8 gives, with SGD, the weights of one batch of 16 (Keras
  averages the accumulated gradients), for the WordPiece families, to 1e-5.
* A classifier trained with accumulation, in ``mixed_bfloat16`` and in ``mixed_float16``
  learns the topic-word task of ``test_task_learning`` to the float32 test's threshold
  (held-out accuracy >= 0.95).
"""

from __future__ import annotations

import random

import keras
import numpy as np
import pytest

from tests.conftest import to_numpy
from tests.helpers import families
from tests.models.test_task_learning import (
    classifier_tokenizer,
    topic_sentences,
    unseen,
)

FAMILIES = families.family_params(families.uses_word_piece)


def classifier(family, tokenizer, dtype=None, dropout=0.0):
    keras.utils.set_random_seed(0)
    heads = {"num_heads": 4} if "num_heads" in family.tiny_config else {}
    backbone = family.backbone(
        **families.tiny_config(
            family,
            vocabulary_size=tokenizer.vocabulary_size(),
            num_layers=1,
            **heads,
            hidden_dim=64,
            intermediate_dim=128,
            dropout=dropout,
            max_sequence_length=16,
        ),
        dtype=dtype,
    )
    preprocessor = family.preprocessors["classifier"](tokenizer, sequence_length=16)
    return family.tasks["classifier"](
        backbone, num_classes=2, preprocessor=preprocessor, dropout=dropout, dtype=dtype
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_accumulating_two_batches_equals_one_twice_as_large(family):
    tokenizer = classifier_tokenizer(family)
    texts, labels = topic_sentences(random.Random(0), 32)
    weights = {}
    for batch_size, steps in ((16, None), (8, 2)):
        model = classifier(family, tokenizer)
        optimizer = keras.optimizers.SGD(0.5, gradient_accumulation_steps=steps)
        model.compile(optimizer=optimizer)
        model.fit(texts, labels, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        weights[steps] = {weight.path: to_numpy(weight) for weight in model.weights}
    moved = 0.0
    start = {w.path: to_numpy(w) for w in classifier(family, tokenizer).weights}
    for path, value in weights[None].items():
        np.testing.assert_allclose(weights[2][path], value, rtol=0, atol=1e-5, err_msg=path)
        moved = max(moved, float(np.abs(value - start[path]).max()))
    assert moved > 1e-2  # the two updates did move the weights


@pytest.mark.parametrize("option", ["gradient_accumulation", "mixed_bfloat16", "mixed_float16"])
def test_classifier_learns_with(option):
    family = families.family("bert")
    tokenizer = classifier_tokenizer(family)
    dtype = option if option.startswith("mixed") else None
    model = classifier(family, tokenizer, dtype=dtype, dropout=0.1)
    train, train_labels = topic_sentences(random.Random(2), 320)
    held_out, held_out_labels = unseen(*topic_sentences(random.Random(3), 200), train)
    accumulate = 2 if option == "gradient_accumulation" else None
    model.compile(optimizer=keras.optimizers.Adam(3e-3, gradient_accumulation_steps=accumulate))
    if option == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    if dtype:
        compute = dtype.split("_")[1]
        assert model.backbone.transformer_layers[0].compute_dtype == compute
        assert {weight.dtype for weight in model.weights} == {"float32"}
    model.fit(train, train_labels, batch_size=16 if accumulate else 32, epochs=10, verbose=0)
    logits = model.predict(held_out, batch_size=256, verbose=0)
    accuracy = float((np.argmax(logits, axis=-1) == held_out_labels).mean())
    print(f"{option}: held-out accuracy {accuracy:.3f}")
    assert accuracy >= 0.95
