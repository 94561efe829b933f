"""A question answerer learns a synthetic extractive task with ``fit`` on SQuAD-style answers.

The synthetic task: 16 people, each with a first and a last name (``p3`` ... ``q3``); each
context lists 4 to 6 of them with what each owns, as ``p3 owns v7 t2 q3 .`` (a colour word
and a thing word drawn at random); the question ``what does p3 q3 own ?`` asks for one of
them and its answer is that person's whole entry, ``p3 owns v7 t2 q3``. So the answer is
wherever the asked person is, never at a fixed place: the model must match the question's
names with the context's to find where the answer starts and ends (the loss first sits at
about ln 5, one entry picked at random, until it learns to). Held-out examples are
contexts of person sets no training example has.

Exact match: the share of held-out questions whose ``answer`` (top 1, the pipeline's rules)
is the answer text exactly. A tiny BERT-style model (2 layers, hidden 64) starts near 0 and,
after ``fit((questions, contexts), answers)`` with the default loss, must reach 90% within
16 epochs on every backend. The loss sits on its plateau for a number of epochs that
depends on the initial weights (3 to 5 seen), which each backend draws differently, so the
fit stops at the end of the first epoch whose held-out exact match reaches 90%
(``StopAtExactMatch``): a quick start costs fewer epochs, a slow one is not cut short. The
figures are printed (``-s``).
"""

from __future__ import annotations

import random

import keras
import pytest

from tests.helpers import families
from tests.models.test_task_learning import (  # noqa: F401 (one_torch_thread: a fixture)
    RESERVED,
    WORD_PIECE_FAMILIES,
    adam,
    one_torch_thread,
)

MAX_EPOCHS = 16
TARGET = 0.9
PEOPLE, COLOURS, THINGS = 16, 12, 12
VOCABULARY = (
    RESERVED
    + [f"p{i}" for i in range(PEOPLE)]
    + [f"q{i}" for i in range(PEOPLE)]
    + [f"v{i}" for i in range(COLOURS)]
    + [f"t{i}" for i in range(THINGS)]
    + ["what", "does", "own", "owns", "?", "."]
)


def examples(rng: random.Random, count: int, excluded=frozenset()):
    """``count`` (question, context, answer) triples over person sets not in ``excluded``."""
    questions, contexts, answers, seen = [], [], [], set(excluded)
    while len(questions) < count:
        people = rng.sample(range(PEOPLE), rng.randint(4, 6))
        if frozenset(people) in seen:
            continue
        seen.add(frozenset(people))
        facts = [(p, f"v{rng.randrange(COLOURS)} t{rng.randrange(THINGS)}") for p in people]
        context = " ".join(f"p{p} owns {owned} q{p} ." for p, owned in facts)
        asked, owned = rng.choice(facts)
        text = f"p{asked} owns {owned} q{asked}"
        questions.append(f"what does p{asked} q{asked} own ?")
        contexts.append(context)
        answers.append({"text": text, "answer_start": context.index(text)})
    return questions, contexts, answers, seen


def exact_match(model, questions, contexts, answers) -> float:
    found = model.answer(questions, contexts)
    return sum(result["answer"] == answer["text"] for result, answer in zip(found, answers)) / len(
        answers
    )


class StopAtExactMatch(keras.callbacks.Callback):
    """Stops ``fit`` after the first epoch whose held-out exact match reaches ``target``."""

    def __init__(self, held_out, target: float):
        super().__init__()
        self.held_out, self.target, self.scores = held_out, target, []

    def on_epoch_end(self, epoch, logs=None):
        self.scores.append(exact_match(self.model, *self.held_out))
        if self.scores[-1] >= self.target:
            self.model.stop_training = True


@pytest.mark.parametrize("family", WORD_PIECE_FAMILIES)
def test_question_answerer_learns_to_find_the_asked_persons_things(family):
    keras.utils.set_random_seed(0)
    train_q, train_c, train_a, seen = examples(random.Random(0), 3000)
    held_q, held_c, held_a, _ = examples(random.Random(1), 100, seen)
    tokenizer = families.tiny_tokenizer(family, vocabulary=VOCABULARY, lowercase=True)
    heads = {"num_heads": 4} if "num_heads" in family.tiny_config else {}
    backbone = family.backbone(
        **families.tiny_config(
            family,
            vocabulary_size=len(VOCABULARY),
            num_layers=2,
            **heads,
            hidden_dim=64,
            intermediate_dim=128,
            dropout=0.0,
            max_sequence_length=64,
        )
    )
    preprocessor = family.preprocessors["question_answerer"](tokenizer, sequence_length=64)
    model = family.tasks["question_answerer"](backbone, preprocessor)
    before = exact_match(model, held_q, held_c, held_a)

    steps = MAX_EPOCHS * len(train_q) // 32
    model.compile(optimizer=adam(1e-3, steps))
    stop = StopAtExactMatch((held_q, held_c, held_a), TARGET)
    history = model.fit(
        (train_q, train_c), train_a, batch_size=32, epochs=MAX_EPOCHS, verbose=0, callbacks=[stop]
    )
    after = exact_match(model, held_q, held_c, held_a)
    losses = [round(loss, 3) for loss in history.history["loss"]]
    print(
        f"\n[{keras.config.backend()}] {type(model).__name__} synthetic QA exact match: "
        f"{before:.2f} before, {after:.2f} after {len(losses)} epochs (per epoch "
        f"{[round(score, 2) for score in stop.scores]}; losses {losses})"
    )
    assert before <= 0.1
    assert after == stop.scores[-1] >= TARGET
    assert history.history["loss"][-1] < history.history["loss"][0]
