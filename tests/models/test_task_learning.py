"""Tasks learn, not just run: tiny models trained with ``fit`` on raw strings reach high accuracy.

Each test builds a synthetic corpus with a pattern a tiny model can learn, takes a
tokenizer's vocabulary from it, fits a task on the raw strings (through the preprocessor and
the ``PyDataset`` pipeline of ``Task.fit``), and measures accuracy on held-out text the
model never saw:

* masked LM: sentences made of two "phrases" ``the <adj> <noun> <verb> <adverb>`` joined
  by ``and``; the four content words of a phrase always come together, so every masked
  word follows from its unmasked neighbours. The held-out sentences join pairs of
  phrases that no training sentence joins, so only that local rule, not memorised
  sentences, gives the masked words.
* text classifier: filler sentences with one topic word from set A or set B; the label
  is the set. The sentence-pair variant puts the topic word in one segment of two, and the
  label says which segment, so the model must read the segment ids.

They run for every registered family whose tokenizer is a WordPiece one (a word list is a
WordPiece vocabulary; BERT's, ...), the sentence-pair one for those whose backbone reads
segment ids. The main suite (JAX) runs the full version; ``.ci/run`` also runs
``tests/models`` on the torch and tensorflow backends, where the masked LM, the slowest,
trains for fewer steps (120 instead of 200), with the same thresholds. The classifiers train
as long everywhere (80 and 100 steps: cheap). The accuracies reached are printed (``-s``).
"""

from __future__ import annotations

import random

import keras
import numpy as np
import pytest

from tests.conftest import to_numpy
from tests.helpers import families

#: The JAX main suite trains longer; the torch and tensorflow runs are kept short.
FULL = keras.config.backend() == "jax"
RESERVED = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
#: The families whose tokenizer takes a word list as its vocabulary.
WORD_PIECE_FAMILIES = families.family_params(families.uses_word_piece)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models on torch run far faster on one thread, most of all on a busy machine
    (two threads spin against each other and against other processes)."""
    if keras.config.backend() != "torch":
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def word_list_tokenizer(corpus: list[str], words: set[str], family=None):
    """A tokenizer of ``family`` (BERT's by default) whose vocabulary is the words of
    ``corpus`` (each of ``words`` one token).

    A word list rather than a trained vocabulary: each of ``words`` must be one token, so
    that what the tests teach is a word, not a piece.
    """
    vocabulary = RESERVED + sorted({word for text in corpus for word in text.lower().split()})
    family = family or families.family("bert")
    tokenizer = families.tiny_tokenizer(family, vocabulary=vocabulary, lowercase=True)
    assert words <= set(vocabulary), f"not in the corpus: {sorted(words - set(vocabulary))}"
    return tokenizer


def tiny_bert(
    vocabulary_size: int, num_layers: int, hidden_dim: int, dropout: float = 0.0, family=None
) -> keras.Model:
    """A small backbone of ``family`` (BERT's by default): 4 heads where it has heads."""
    family = family or families.family("bert")
    heads = {"num_heads": 4} if "num_heads" in family.tiny_config else {}
    return family.backbone(
        **families.tiny_config(
            family,
            vocabulary_size=vocabulary_size,
            num_layers=num_layers,
            **heads,
            hidden_dim=hidden_dim,
            intermediate_dim=2 * hidden_dim,
            dropout=dropout,
            max_sequence_length=16,
        )
    )


def adam(learning_rate: float, steps: int) -> keras.optimizers.Optimizer:
    """Adam with a cosine decay to 2% of ``learning_rate`` over ``steps``."""
    return keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.02)
    )


# Masked LM -----------------------------------------------------------------------------

ADJECTIVES = "red blue green tall small quick lazy happy sad old".split()
NOUNS = "fox dog cat bird horse mouse sheep goat duck frog".split()
VERBS = "runs sleeps jumps sings eats hides swims reads walks waits".split()
ADVERBS = "quickly softly loudly early often again alone today slowly twice".split()


def phrase(topic: int) -> str:
    return f"the {ADJECTIVES[topic]} {NOUNS[topic]} {VERBS[topic]} {ADVERBS[topic]}"


def phrase_corpus() -> tuple[list[str], list[str]]:
    """Training and held-out sentences: ``phrase(i) and phrase(j)``, 20 of the 100 pairs held
    out."""
    pairs = [(i, j) for i in range(len(NOUNS)) for j in range(len(NOUNS))]
    random.Random(0).shuffle(pairs)
    held_out, train = pairs[:20], pairs[20:]
    sentence = lambda pair: f"{phrase(pair[0])} and {phrase(pair[1])}"  # noqa: E731
    return [sentence(pair) for pair in train], [sentence(pair) for pair in held_out]


def masked_token_accuracy(masked_lm, texts: list[str], preprocessor) -> float:
    """Argmax accuracy at the masked positions of ``texts`` masked by ``preprocessor``."""
    x, y, weights = preprocessor(texts)
    logits = to_numpy(masked_lm.predict(x, batch_size=len(texts), verbose=0))
    correct = (logits.argmax(-1) == to_numpy(y)) * to_numpy(weights)
    return float(correct.sum() / to_numpy(weights).sum())


@pytest.mark.parametrize("family", WORD_PIECE_FAMILIES)
def test_masked_lm_learns_words_from_their_neighbours(family):
    keras.utils.set_random_seed(0)
    train, held_out = phrase_corpus()
    # 20 steps an epoch. (Wider models find the rule in fewer steps: at width 64 the
    # accuracy stays near 35% for 100 to 200 steps before it rises; at 192 for about 40.)
    copies, epochs = 8, (10 if FULL else 6)
    train = train * copies
    tokenizer = word_list_tokenizer(
        train, set(ADJECTIVES + NOUNS + VERBS + ADVERBS + ["the", "and"]), family
    )
    preprocessor_class = family.preprocessors["masked_lm"]
    preprocessor = preprocessor_class(
        tokenizer, sequence_length=16, mask_selection_rate=0.25, mask_selection_length=6
    )
    masked_lm = family.tasks["masked_lm"](
        tiny_bert(tokenizer.vocabulary_size(), num_layers=2, hidden_dim=192, family=family),
        preprocessor=preprocessor,
    )
    batch_size = 32
    steps = epochs * -(-len(train) // batch_size)
    masked_lm.compile(optimizer=adam(2e-3, steps))

    history = masked_lm.fit(train, batch_size=batch_size, epochs=epochs, verbose=0)

    losses = history.history["loss"]
    # Held-out sentences, masked afresh (80% [MASK], 10% random, 10% kept) by the pipeline.
    evaluated = masked_lm.evaluate(held_out * 20, batch_size=200, verbose=0, return_dict=True)
    # The same sentences with every selected token replaced by [MASK], scored by hand.
    only_mask = preprocessor_class(
        tokenizer,
        sequence_length=16,
        mask_selection_rate=0.25,
        mask_selection_length=6,
        mask_token_rate=1.0,
        random_token_rate=0.0,
    )
    by_hand = masked_token_accuracy(masked_lm, held_out * 20, only_mask)
    print(
        f"\n[{keras.config.backend()}] {type(masked_lm).__name__}, {steps} steps: "
        f"loss {losses[0]:.2f} -> {losses[-1]:.2f}; "
        "held-out masked-token accuracy "
        f"{evaluated['sparse_categorical_accuracy']:.3f} (evaluate), "
        f"{by_hand:.3f} (all [MASK], argmax)"
    )
    assert losses[-1] < 0.5 * losses[0]
    assert evaluated["sparse_categorical_accuracy"] >= 0.9
    assert by_hand >= 0.9


# Text classifier ---------------------------------------------------------------------

FILLER = "we saw a very long day at the old house near our small town by the sea".split()
TOPIC_A = "apple pear plum grape lemon".split()
TOPIC_B = "piano violin flute drum guitar".split()


def topic_sentences(rng: random.Random, count: int) -> tuple[list[str], np.ndarray]:
    """Filler sentences with one topic word each, and its topic (0: fruit, 1: instrument)."""
    texts, labels = [], []
    for _ in range(count):
        label = rng.randrange(2)
        words = rng.choices(FILLER, k=rng.randint(3, 8))
        words.insert(rng.randint(0, len(words)), rng.choice(TOPIC_B if label else TOPIC_A))
        texts.append(" ".join(words))
        labels.append(label)
    return texts, np.array(labels)


def unseen(texts: list[str], labels: np.ndarray, train: list[str]) -> tuple[list[str], np.ndarray]:
    """The ``texts`` (and their labels) that are not in ``train``."""
    seen = set(train)
    keep = [text not in seen for text in texts]
    return [text for text, kept in zip(texts, keep) if kept], labels[keep]


def classifier_tokenizer(family):
    texts, _ = topic_sentences(random.Random(1), 200)
    return word_list_tokenizer(texts, set(FILLER + TOPIC_A + TOPIC_B), family)


def fit_classifier(x, y, tokenizer, epochs: int, family):
    preprocessor = family.preprocessors["classifier"](tokenizer, sequence_length=16)
    classifier = family.tasks["classifier"](
        tiny_bert(
            tokenizer.vocabulary_size(), num_layers=1, hidden_dim=64, dropout=0.1, family=family
        ),
        num_classes=2,
        preprocessor=preprocessor,
    )
    batch_size = 32
    classifier.compile(optimizer=adam(3e-3, epochs * -(-len(y) // batch_size)))
    classifier.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return classifier


@pytest.mark.parametrize("family", WORD_PIECE_FAMILIES)
def test_text_classifier_learns_topic_words(family):
    keras.utils.set_random_seed(0)
    tokenizer = classifier_tokenizer(family)
    train, train_labels = topic_sentences(random.Random(2), 320)
    held_out, held_out_labels = unseen(*topic_sentences(random.Random(3), 200), train)

    classifier = fit_classifier(train, train_labels, tokenizer, epochs=8, family=family)

    # One batch each: a single compiled step.
    predicted = to_numpy(classifier.predict(held_out, batch_size=256, verbose=0)).argmax(-1)
    accuracy = float((predicted == held_out_labels).mean())
    evaluated = classifier.evaluate(
        held_out, held_out_labels, batch_size=256, verbose=0, return_dict=True
    )
    print(
        f"\n[{keras.config.backend()}] {type(classifier).__name__}: "
        f"held-out accuracy {accuracy:.3f} (predict), "
        f"{evaluated['sparse_categorical_accuracy']:.3f} (evaluate)"
    )
    assert accuracy >= 0.95
    assert evaluated["sparse_categorical_accuracy"] >= 0.95


def topic_pairs(rng: random.Random, count: int) -> tuple[tuple[list[str], list[str]], np.ndarray]:
    """Sentence pairs where one segment holds a topic word; the label is that segment (0 or 1)."""
    firsts, seconds, labels = [], [], []
    for _ in range(count):
        label = rng.randrange(2)
        segments = [rng.choices(FILLER, k=rng.randint(2, 5)) for _ in range(2)]
        segments[label].insert(rng.randint(0, len(segments[label])), rng.choice(TOPIC_A + TOPIC_B))
        firsts.append(" ".join(segments[0]))
        seconds.append(" ".join(segments[1]))
        labels.append(label)
    return (firsts, seconds), np.array(labels)


@pytest.mark.parametrize(
    "family",
    families.family_params(lambda f: families.uses_word_piece(f) and families.has_segment_ids(f)),
)
def test_text_classifier_learns_which_segment_of_a_pair_holds_the_topic_word(family):
    keras.utils.set_random_seed(0)
    tokenizer = classifier_tokenizer(family)
    train, train_labels = topic_pairs(random.Random(4), 320)
    held_out, held_out_labels = topic_pairs(random.Random(5), 200)
    seen = set(zip(*train))
    keep = [pair not in seen for pair in zip(*held_out)]
    held_out = tuple([text for text, kept in zip(column, keep) if kept] for column in held_out)
    held_out_labels = held_out_labels[keep]

    classifier = fit_classifier(train, train_labels, tokenizer, epochs=10, family=family)

    predicted = to_numpy(classifier.predict(held_out, batch_size=256, verbose=0)).argmax(-1)
    accuracy = float((predicted == held_out_labels).mean())
    print(
        f"\n[{keras.config.backend()}] {type(classifier).__name__} on pairs: "
        f"held-out accuracy {accuracy:.3f}"
    )
    assert accuracy >= 0.95
