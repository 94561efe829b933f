"""Heads on the per-token features train without a warning about the pooler they leave unread.

BERT's backbone has a pooler (``pooled_dense``) that only a text classifier reads. A masked
LM, a text embedder, a token classifier or a question answerer gives it no gradient, and
Keras' optimizer warns about that on every step on torch and TensorFlow (on JAX the
gradient is zeros, not missing). ``Task`` silences that one message, and only for those
kinds: the run of ``tests/models`` on the torch and tensorflow backends is where this
file checks something.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from textbones.models import (
    BertBackbone,
    BertMaskedLM,
    BertQuestionAnswerer,
    BertTextClassifier,
    BertTextEmbedder,
    BertTokenClassifier,
)
from textbones.models.task_training import unread_backbone_variables

LENGTH = 8
INPUTS = {
    "token_ids": np.array([[2, 5, 6, 7, 3, 0, 0, 0], [2, 8, 9, 3, 0, 0, 0, 0]]),
    "segment_ids": np.zeros((2, LENGTH), "int32"),
    "padding_mask": np.array([[1] * 5 + [0] * 3, [1] * 4 + [0] * 4]),
}


def backbone() -> BertBackbone:
    keras.utils.set_random_seed(0)
    return BertBackbone(30, 1, 2, 8, 16, max_sequence_length=LENGTH)


def tagger():
    return BertTokenClassifier(backbone(), num_classes=3), INPUTS, np.zeros((2, LENGTH), "int32")


def answerer():
    return BertQuestionAnswerer(backbone()), INPUTS, (np.array([1, 2]), np.array([2, 2]))


def masked_lm():
    x = dict(INPUTS, mask_positions=np.array([[1, 2], [1, 0]]))
    return BertMaskedLM(backbone()), x, np.array([[5, 6], [8, 0]])


def embedder():
    # A regression fit of the embeddings (their first value to 0): any loss with a gradient.
    model = BertTextEmbedder(backbone(), normalize=False)
    return model, INPUTS, np.zeros((2, model.embedding_dim), "float32")


BUILDERS = {"tagger": tagger, "answerer": answerer, "masked_lm": masked_lm, "embedder": embedder}


def test_the_unread_variables_are_the_pooler_s():
    assert unread_backbone_variables(backbone()) == ["pooled_dense/kernel", "pooled_dense/bias"]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_training_on_token_features_warns_nothing(name):
    model, x, y = BUILDERS[name]()
    assert model.reads_token_features_only is True
    model.compile(optimizer="adam", **({"loss": "mse"} if name == "embedder" else {}))
    before = keras.ops.convert_to_numpy(model.backbone.get_layer("pooled_dense").kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.train_on_batch(x, y)
        history = model.fit(x, y, batch_size=2, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    # The pooler is left as it was (no gradient, and Adam's update of a zero gradient is 0).
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model.backbone.get_layer("pooled_dense").kernel), before
    )


def test_a_classifier_reads_the_pooler_and_so_trains_it():
    model = BertTextClassifier(backbone(), num_classes=2)
    assert model.reads_token_features_only is False
    model.compile(optimizer="adam")
    before = keras.ops.convert_to_numpy(model.backbone.get_layer("pooled_dense").kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(INPUTS, np.array([0, 1]), batch_size=2, epochs=1, verbose=0)
    after = keras.ops.convert_to_numpy(model.backbone.get_layer("pooled_dense").kernel)
    assert np.abs(after - before).max() > 0
