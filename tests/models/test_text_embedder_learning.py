"""A text embedder learns paraphrase retrieval with ``fit`` on raw pairs and the default loss.

The synthetic task: 40 concepts, each with two words (``c7a`` and ``c7b``, say). A sentence is
3 to 6 concepts, each written with one of its words; its paraphrase writes the same concepts
with the other word of each, in another order. So an anchor and its paraphrase share no
token, and only a model that has learnt which words mean the same thing can match them. The
held-out pairs are sentences of concept combinations no training pair has.

Retrieval: each held-out anchor is scored (``similarity``) against all 100 held-out
paraphrases; top-1 accuracy is the share whose own paraphrase scores highest. Chance is 1%.
A tiny embedder starts at chance and, after ``fit((anchors, positives))`` with the
in-batch-negatives loss, must reach 90% on the held-out pairs. The main suite (JAX) trains
the full run; ``.ci/run``'s torch and tensorflow runs of ``tests/models`` train fewer steps
with the same threshold. The accuracies are printed (``-s``).
"""

from __future__ import annotations

import random

import keras
import numpy as np
import pytest

from tests.helpers import families
from tests.models.test_task_learning import (  # noqa: F401 (one_torch_thread: a fixture)
    RESERVED,
    WORD_PIECE_FAMILIES,
    adam,
    one_torch_thread,
    tiny_bert,
)

FULL = keras.config.backend() == "jax"
CONCEPTS = 40


def paraphrase_pairs(rng: random.Random, count: int, excluded=frozenset()):
    """``count`` (sentence, paraphrase) pairs of distinct concept sets not in ``excluded``."""
    anchors, positives, seen = [], [], set(excluded)
    while len(anchors) < count:
        concepts = rng.sample(range(CONCEPTS), rng.randint(3, 6))
        key = frozenset(concepts)
        if key in seen:
            continue
        seen.add(key)
        sides = [rng.randrange(2) for _ in concepts]
        anchor = [f"c{c}{'ab'[side]}" for c, side in zip(concepts, sides)]
        positive = [f"c{c}{'ba'[side]}" for c, side in zip(concepts, sides)]
        rng.shuffle(positive)
        anchors.append(" ".join(anchor))
        positives.append(" ".join(positive))
    return anchors, positives, seen


def top1_accuracy(embedder, anchors: list[str], positives: list[str]) -> float:
    scores = embedder.similarity(embedder.encode_text(anchors), embedder.encode_text(positives))
    return float((scores.argmax(axis=1) == np.arange(len(anchors))).mean())


@pytest.mark.parametrize("family", WORD_PIECE_FAMILIES)
def test_text_embedder_learns_paraphrase_retrieval(family):
    keras.utils.set_random_seed(0)
    rng = random.Random(0)
    train_anchors, train_positives, seen = paraphrase_pairs(rng, 1000 if FULL else 500)
    held_anchors, held_positives, _ = paraphrase_pairs(random.Random(1), 100, seen)
    vocabulary = RESERVED + [f"c{c}{side}" for c in range(CONCEPTS) for side in "ab"]
    tokenizer = families.tiny_tokenizer(family, vocabulary=vocabulary, lowercase=True)
    backbone = tiny_bert(len(vocabulary), num_layers=1, hidden_dim=32, family=family)
    preprocessor = family.preprocessors["text_embedder"](tokenizer, sequence_length=16)
    embedder = family.tasks["text_embedder"](backbone, preprocessor)
    before = top1_accuracy(embedder, held_anchors, held_positives)

    epochs = 2
    steps = epochs * len(train_anchors) // 32
    embedder.compile(optimizer=adam(3e-3, steps))
    history = embedder.fit(
        (train_anchors, train_positives), batch_size=32, epochs=epochs, verbose=0
    )
    after = top1_accuracy(embedder, held_anchors, held_positives)
    losses = [round(loss, 3) for loss in history.history["loss"]]
    print(
        f"\n[{keras.config.backend()}] {type(embedder).__name__} paraphrase retrieval top-1: "
        f"{before:.2f} before, {after:.2f} after {epochs} epochs (losses {losses})"
    )
    assert before <= 0.1
    assert after >= 0.9
    assert history.history["loss"][-1] < history.history["loss"][0]
