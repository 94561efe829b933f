"""A token classifier learns a synthetic named-entity task with ``fit`` on words and tags.

The task: sentences of filler words with one or two entities of one or two name words. A
name's first word (``B-``) is made of a first-name stem and an ending, two word pieces
(``ka`` + ``##do``), its second word (``I-``) of a surname stem and an ending; only the
first token of each word carries a tag. The same names are people in a sentence about
people (each entity after ``mr``/``mrs``) and places in a sentence about places (after
``in``/``from``/``to``): the type comes from the rest of the sentence, never from the name.
Tags are ``B-PER``/``I-PER``/``B-LOC``/``I-LOC``/``O`` per word.

The held-out sentences are new ones, checked through ``predict_entities`` on the joined text
(``aggregation_strategy="first"``): an entity counts when its type and its character span
equal a true one; F1 is the harmonic mean of precision and recall. A tiny model must reach
0.95. The main suite (JAX) trains on 600 sentences for 12 epochs; ``.ci/run``'s torch and
tensorflow runs of ``tests/models`` on 400 for 18, with the same threshold. The scores are
printed (``-s``).
"""

from __future__ import annotations

import random

import keras
import pytest

from tests.helpers import families
from tests.models.test_task_learning import (  # noqa: F401 (one_torch_thread: a fixture)
    RESERVED,
    WORD_PIECE_FAMILIES,
    one_torch_thread,
)

FULL = keras.config.backend() == "jax"
FILLERS = "the a today said that we saw went met one big old and then".split()
PEOPLE = ["mr", "mrs"]
PLACES = ["in", "from", "to"]
FIRST_STEMS = "ka lo mi zu".split()
LAST_STEMS = "te ra no vi".split()
ENDINGS = "do ne si ta".split()
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def sentence(rng: random.Random) -> tuple[list[str], list[str]]:
    """One sentence of words and its tags: one or two entities of one type among fillers."""
    kind = rng.choice(["PER", "LOC"])
    words, tags = [], []
    for _ in range(rng.randint(1, 2)):
        for _ in range(rng.randint(0, 3)):
            words.append(rng.choice(FILLERS))
            tags.append("O")
        words.append(rng.choice(PEOPLE if kind == "PER" else PLACES))
        tags.append("O")
        words.append(rng.choice(FIRST_STEMS) + rng.choice(ENDINGS))
        tags.append("B-" + kind)
        if rng.random() < 0.5:
            words.append(rng.choice(LAST_STEMS) + rng.choice(ENDINGS))
            tags.append("I-" + kind)
    for _ in range(rng.randint(0, 2)):
        words.append(rng.choice(FILLERS))
        tags.append("O")
    return words, tags


def char_spans(words: list[str], tags: list[str]) -> set[tuple[str, int, int]]:
    """The entities of tagged words as ``(type, start, end)`` in ``" ".join(words)``."""
    spans, position, current = set(), 0, None
    for word, tag in zip(words, tags):
        start, end = position, position + len(word)
        position = end + 1
        if tag.startswith("I-") and current is not None and current[0] == tag[2:]:
            current = (current[0], current[1], end)
            continue
        if current is not None:
            spans.add(current)
        current = (tag[2:], start, end) if tag != "O" else None
    if current is not None:
        spans.add(current)
    return spans


def entity_f1(tagger, examples) -> float:
    texts = [" ".join(words) for words, _ in examples]
    found = tagger.predict_entities(texts, aggregation_strategy="first")
    true_positives = predicted = expected = 0
    for (words, tags), entities in zip(examples, found):
        gold = char_spans(words, tags)
        guessed = {(e["entity_group"], e["start"], e["end"]) for e in entities}
        true_positives += len(gold & guessed)
        predicted += len(guessed)
        expected += len(gold)
    if not true_positives:
        return 0.0
    precision, recall = true_positives / predicted, true_positives / expected
    return 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("family", WORD_PIECE_FAMILIES)
def test_token_classifier_learns_entities_from_their_context(family):
    keras.utils.set_random_seed(0)
    rng = random.Random(0)
    train = [sentence(rng) for _ in range(600 if FULL else 400)]
    seen = {tuple(words) for words, _ in train}
    held_rng = random.Random(1)
    held = []
    while len(held) < 200:
        example = sentence(held_rng)
        if tuple(example[0]) not in seen:
            held.append(example)
    vocabulary = RESERVED + FILLERS + PEOPLE + PLACES + FIRST_STEMS + LAST_STEMS
    vocabulary += [f"##{ending}" for ending in ENDINGS]
    tokenizer = families.tiny_tokenizer(family, vocabulary=vocabulary, lowercase=True)
    assert tokenizer.tokenize("kado").tolist() == [vocabulary.index("ka"), vocabulary.index("##do")]
    heads = {"num_heads": 4} if "num_heads" in family.tiny_config else {}
    backbone = family.backbone(
        **families.tiny_config(
            family,
            vocabulary_size=len(vocabulary),
            num_layers=1,
            **heads,
            hidden_dim=32,
            intermediate_dim=64,
            dropout=0.0,
            max_sequence_length=32,
        )
    )
    preprocessor = family.preprocessors["token_classifier"](tokenizer, sequence_length=32)
    tagger = family.tasks["token_classifier"](backbone, preprocessor=preprocessor, id2label=LABELS)
    before = entity_f1(tagger, held)
    # A constant rate: the type, read from the context, is learnt in a jump after about
    # 120 steps (the names' first-token tags come first).
    epochs = 12 if FULL else 18
    tagger.compile(optimizer=keras.optimizers.Adam(5e-3))
    history = tagger.fit(
        [words for words, _ in train],
        [tags for _, tags in train],
        batch_size=32,
        epochs=epochs,
        verbose=0,
    )
    after = entity_f1(tagger, held)
    losses = [round(loss, 3) for loss in history.history["loss"]]
    print(
        f"\n[{keras.config.backend()}] {type(tagger).__name__} held-out entity F1: "
        f"{before:.3f} before, {after:.3f} after {epochs} epochs (losses {losses})"
    )
    assert before < 0.3
    assert after >= 0.95
