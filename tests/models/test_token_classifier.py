"""TokenClassifier of every family: the head's values, label alignment, training on words,
serialization and presets, bad input, and the entity aggregation strategies.

One tiny model per family (module-scoped); tests that train or change weights build their
own around the shared tokenizer. ``predict_entities`` needs the tokenizer's offsets
(``tokenize_with_offsets``): WordPiece gives them; the SentencePiece families' entity tests
need SentencePiece offsets.
"""

from __future__ import annotations

import types

import keras
import numpy as np
import pytest

import textbones
from tests.helpers import families
from textbones.models import TokenClassifier
from textbones.models.token_classifier import _windows
from textbones.models.token_entities import join_tokens, merge_overlapping, pre_entities
from textbones.preprocessing.token_spans import TokenSpans

SEQUENCE_LENGTH = 16
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "john lives in new york ##er the a fox dog sat on mat . , and paris mary".split()
)
WORDS = [
    ["John", "lives", "in", "New", "Yorker", "."],
    ["Mary", "sat", "on", "the", "mat"],
    ["the", "fox"],
]
TAGS = [
    ["B-PER", "O", "O", "B-LOC", "I-LOC", "O"],
    ["B-PER", "O", "O", "O", "O"],
    ["O", "O"],
]
TEXTS = ["john lives in new york", "the fox", "mary sat on the mat ."]


def make_tokenizer(family):
    if families.uses_word_piece(family):
        return families.tiny_tokenizer(family, vocabulary=VOCABULARY, lowercase=True)
    return families.tiny_tokenizer(family)


def make_tagger(family, tokenizer, seed: int = 0, **kwargs):
    layers = {
        key: 1
        for key in ("num_layers", "num_groups", "num_inner_repetitions")
        if key in family.tiny_config
    }
    backbone = families.tiny_backbone(
        family,
        seed,
        vocabulary_size=max(families.TINY_VOCABULARY_SIZE, tokenizer.vocabulary_size()),
        **layers,
    )
    preprocessor = family.preprocessors["token_classifier"](
        tokenizer, sequence_length=SEQUENCE_LENGTH
    )
    kwargs.setdefault("id2label", LABELS)
    tagger = family.tasks["token_classifier"](backbone, preprocessor=preprocessor, **kwargs)
    families.perturb_weights(tagger, seed)
    return tagger


@pytest.fixture(scope="module", params=families.family_params())
def kit(request):
    family = request.param
    tokenizer = make_tokenizer(family)
    return types.SimpleNamespace(
        family=family, tokenizer=tokenizer, tagger=make_tagger(family, tokenizer)
    )


def logits_by_hand(tagger, inputs) -> np.ndarray:
    """The head computed in NumPy on the backbone's per-token features."""
    backbone = tagger.backbone
    outputs = backbone({name: inputs[name] for name in backbone.input_names})
    features = keras.ops.convert_to_numpy(backbone.sequence_features(outputs)).astype("float64")
    kernel = keras.ops.convert_to_numpy(tagger.output_dense.kernel).astype("float64")
    bias = keras.ops.convert_to_numpy(tagger.output_dense.bias).astype("float64")
    return features @ kernel + bias


# The head -----------------------------------------------------------------------------


def test_the_task_kind_and_the_family_classes(kit):
    kind = textbones.registry.task_kind("token_classifier")
    assert kind.task_base is TokenClassifier
    assert kind.transformers_suffix == "ForTokenClassification"
    klass = kit.family.tasks["token_classifier"]
    assert klass.__name__ == f"{kit.family.display_name}TokenClassifier"
    assert getattr(textbones.models, klass.__name__) is klass
    assert textbones.registry.task_kind_of(kit.tagger) is kind


def test_logits_are_a_dense_layer_on_every_token(kit):
    tagger = kit.tagger
    inputs = tagger.preprocessor(TEXTS)
    assert inputs["token_ids"].shape == (3, SEQUENCE_LENGTH)
    expected = logits_by_hand(tagger, inputs)
    assert expected.shape == (3, SEQUENCE_LENGTH, len(LABELS))
    eager = keras.ops.convert_to_numpy(tagger(inputs, training=False))
    np.testing.assert_allclose(eager, expected, atol=1e-5, rtol=0)
    # `predict` on raw strings: the same rows, padded to the full length, in order.
    predicted = tagger.predict(TEXTS, batch_size=2, verbose=0)
    assert predicted.shape == (3, SEQUENCE_LENGTH, len(LABELS))
    np.testing.assert_allclose(predicted, expected, atol=1e-5, rtol=0)
    # On pre-split words: each word tokenized on its own.
    words_inputs = tagger.preprocessor(WORDS)
    by_words = tagger.predict(WORDS, verbose=0)
    np.testing.assert_allclose(by_words, logits_by_hand(tagger, words_inputs), atol=1e-5, rtol=0)


def test_the_labels():
    family = families.family("bert")
    tokenizer = make_tokenizer(family)
    tagger = make_tagger(family, tokenizer, id2label={"1": "B-X", "0": "O"}, compile=False)
    assert (tagger.num_classes, tagger.id2label, tagger.label2id) == (
        2,
        {0: "O", 1: "B-X"},
        {"O": 0, "B-X": 1},
    )
    plain = make_tagger(family, tokenizer, id2label=None, num_classes=3, compile=False)
    assert plain.id2label == {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    backbone = plain.backbone
    klass = family.tasks["token_classifier"]
    cases = {
        "A token classifier needs `num_classes` or `id2label`": {},
        r"`num_classes`=3 but `id2label` names 2 labels": dict(num_classes=3, id2label=["O", "X"]),
        r"`id2label` must name every class index from 0 to 1 once, got the indices \[0, 2\]": dict(
            id2label={0: "O", 2: "X"}
        ),
        r"`id2label` names a label twice: \['O', 'O'\]": dict(id2label=["O", "O"]),
        r"`num_classes` must be a positive integer, got 0": dict(num_classes=0),
    }
    for message, arguments in cases.items():
        with pytest.raises(ValueError, match=message):
            klass(backbone, **arguments)
    other = families.other_family(family)
    with pytest.raises(ValueError, match="Use the token classifier class of the backbone's family"):
        klass(families.tiny_backbone(other), num_classes=2)


# Label alignment ----------------------------------------------------------------------


def test_word_tags_go_to_the_first_token_of_each_word():
    family = families.family("bert")
    tokenizer = make_tokenizer(family)
    preprocessor = family.preprocessors["token_classifier"](tokenizer, sequence_length=10)
    ids = {token: index for index, token in enumerate(VOCABULARY)}
    x, y = preprocessor([["John", "Yorker", "."], ["paris"]], [[1, 4, 0], [3]])
    assert x["token_ids"].tolist() == [
        [2, ids["john"], ids["york"], ids["##er"], ids["."], 3, 0, 0, 0, 0],
        [2, ids["paris"], 3, 0, 0, 0, 0, 0, 0, 0],
    ]
    assert y.tolist() == [
        [-100, 1, 4, -100, 0, -100, -100, -100, -100, -100],
        [-100, 3, -100, -100, -100, -100, -100, -100, -100, -100],
    ]
    assert x["padding_mask"].sum(1).tolist() == [6, 3]
    everything = family.preprocessors["token_classifier"](
        tokenizer, sequence_length=10, label_all_tokens=True
    )
    _, y = everything([["John", "Yorker", "."]], [[1, 4, 0]])
    assert y.tolist() == [[-100, 1, 4, 4, 0, -100, -100, -100, -100, -100]]
    # Cut rows lose the tags of the words cut off; a one-example call gives 1-D rows.
    short = family.preprocessors["token_classifier"](tokenizer, sequence_length=4)
    x, y = short.preprocess_batch(["John", "Yorker", "."], [1, 4, 0], is_split_into_words=True)
    assert x["token_ids"].tolist() == [2, ids["john"], ids["york"], 3]
    assert y.tolist() == [-100, 1, 4, -100]
    # Dynamic length: padded to a bucket of the longest row, labels alike.
    long = family.preprocessors["token_classifier"](tokenizer, sequence_length=64)
    x, y = long.preprocess_batch([["John"]], [[2]], dynamic_length=True)
    assert x["token_ids"].shape == y.shape == (1, 16)


def test_alignment_follows_each_word_s_own_tokens(kit):
    preprocessor = kit.tagger.preprocessor
    x, y = preprocessor(WORDS[:2], kit.tagger.tags_as_ids(WORDS[:2], TAGS[:2]))
    for row, (words, tags) in enumerate(zip(WORDS[:2], TAGS[:2])):
        pieces = [list(np.atleast_1d(kit.tokenizer.tokenize(word))) for word in words]
        expected_ids, expected_labels = [], []
        for word, tag in zip(pieces, tags):
            expected_ids += [int(piece) for piece in word]
            expected_labels += [LABELS.index(tag)] + [-100] * (len(word) - 1)
        # Rows longer than the sequence are cut before [SEP].
        content = SEQUENCE_LENGTH - 2
        expected_ids = [kit.tokenizer.start_token_id, *expected_ids[:content]]
        expected_labels = [-100, *expected_labels[:content]]
        expected_ids.append(kit.tokenizer.end_token_id)
        expected_labels.append(-100)
        count = len(expected_ids)
        assert x["token_ids"][row, :count].tolist() == expected_ids
        assert y[row, :count].tolist() == expected_labels
        assert (y[row, count:] == -100).all()


# Training -----------------------------------------------------------------------------


def test_the_loss_and_metric_skip_the_ignored_tokens(kit):
    tagger = kit.tagger
    assert type(tagger.loss).__name__ == "SparseCategoricalCrossentropy"
    assert tagger.loss.ignore_class == -100
    results = tagger.evaluate(WORDS, TAGS, verbose=0, return_dict=True)
    x, y = tagger.preprocessor(WORDS, tagger.tags_as_ids(WORDS, TAGS))
    logits = logits_by_hand(tagger, x)
    labelled = y != -100
    log_probabilities = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_probabilities, np.where(labelled, y, 0)[..., None], -1)[..., 0]
    assert results["loss"] == pytest.approx(-picked[labelled].mean(), abs=1e-5)
    accuracy = (logits.argmax(-1) == y)[labelled].mean()
    assert results["accuracy"] == pytest.approx(accuracy, abs=1e-6)


def test_fit_on_words_and_tags_learns_them(kit):
    tagger = make_tagger(kit.family, kit.tokenizer, seed=1)
    tagger.compile(optimizer=keras.optimizers.Adam(1e-2))
    integer_tags = [[LABELS.index(tag) for tag in row] for row in TAGS]
    before = tagger.evaluate(WORDS, integer_tags, verbose=0, return_dict=True)["loss"]
    history = tagger.fit(WORDS, TAGS, batch_size=3, epochs=30, verbose=0)
    assert history.history["loss"][-1] < before / 3
    assert history.history["accuracy"][-1] == 1.0
    x, y = tagger.preprocessor(WORDS, tagger.tags_as_ids(WORDS, TAGS))
    predicted = tagger.predict(WORDS, verbose=0).argmax(-1)
    np.testing.assert_array_equal(predicted[y != -100], y[y != -100])


def test_bad_training_input(kit):
    tagger = kit.tagger
    name = type(tagger).__name__
    with pytest.raises(ValueError, match=r"^Example 1 has 5 words but 4 tags; give one tag per"):
        tagger.fit(WORDS, [TAGS[0], TAGS[1][:4], TAGS[2]], verbose=0)
    with pytest.raises(ValueError) as error:
        tagger.fit(WORDS, [TAGS[0], TAGS[1], ["O", "B-ORG"]], verbose=0)
    assert str(error.value).startswith(
        f"Example 2 has the tag 'B-ORG', which is not one of the labels of {name} ('O', "
        "'B-PER', 'I-PER', 'B-LOC', 'I-LOC')."
    )
    with pytest.raises(ValueError, match=r"Example 0 has the tag 7, out of range for num_classes"):
        tagger.fit([["John"]], [[7]], verbose=0)
    with pytest.raises(ValueError, match=r"got 3 examples of words but 2 rows of tags"):
        tagger.fit(WORDS, TAGS[:2], verbose=0)
    with pytest.raises(ValueError, match=r"trains on pre-split words: pass `x` as a list"):
        tagger.fit(TEXTS, [[0]] * 3, verbose=0)
    with pytest.raises(ValueError, match=r"needs tags to train or evaluate"):
        tagger.fit(WORDS, verbose=0)
    with pytest.raises(ValueError, match=r"word 1 of example 0 is a int \(3\)"):
        tagger.predict([["John", 3]], verbose=0)
    with pytest.raises(ValueError, match=r"Label 9 is out of range for num_classes=5"):
        tagger.fit(tagger.preprocessor(WORDS[:1]), np.full((1, SEQUENCE_LENGTH), 9), verbose=0)
    with pytest.raises(ValueError, match=r"Unknown aggregation_strategy 'longest'"):
        tagger.predict_entities(TEXTS, aggregation_strategy="longest")
    with pytest.raises(ValueError, match=r"`stride` must be an integer in \[0, 14\)"):
        tagger.predict_entities(TEXTS, stride=14)
    with pytest.raises(ValueError, match='choose an aggregation_strategy other than "none"'):
        tagger.predict_entities(TEXTS, stride=2, aggregation_strategy="none")


# Serialization and presets ----------------------------------------------------------


def assert_same_model(model, reference, inputs, expected):
    """Every weight bit for bit, and the logits to float32 rounding.

    The logits are not compared bit for bit: TensorFlow compiles ``predict`` on a
    preprocessed batch and on raw strings into different graphs, whose sums round apart
    (up to 2e-7 here). The weights are what a round trip must keep exactly.
    """
    assert len(model.weights) == len(reference.weights)
    for weight, kept in zip(model.weights, reference.weights):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(weight), keras.ops.convert_to_numpy(kept)
        )
    np.testing.assert_allclose(model.predict(inputs, verbose=0), expected, rtol=0, atol=1e-6)


def test_config_keras_file_and_preset_round_trips(kit, tmp_path):
    tagger = kit.tagger
    klass = type(tagger)
    config = tagger.get_config()
    assert (config["num_classes"], config["id2label"], config["dropout"]) == (5, LABELS, 0.1)
    assert config["preprocessor"]["config"]["label_all_tokens"] is False
    expected = tagger.predict(TEXTS, verbose=0)
    rebuilt = klass.from_config(config)  # the tokenizer's vocabulary is an asset, not config
    rebuilt.set_weights(tagger.get_weights())
    assert rebuilt.id2label == tagger.id2label
    assert_same_model(rebuilt, tagger, tagger.preprocessor(TEXTS), expected)
    tagger.save(tmp_path / "tagger.keras")
    restored = keras.saving.load_model(tmp_path / "tagger.keras")
    assert type(restored) is klass and restored.id2label == tagger.id2label
    assert_same_model(restored, tagger, TEXTS, expected)
    tagger.save_to_preset(tmp_path / "preset")
    loaded = TokenClassifier.from_preset(tmp_path / "preset")
    assert type(loaded) is klass and loaded.label2id == tagger.label2id
    assert_same_model(loaded, tagger, TEXTS, expected)
    # The trained head is kept for the same labels (renamed ones included)...
    renamed = [label.lower() for label in LABELS]
    relabelled = TokenClassifier.from_preset(tmp_path / "preset", id2label=renamed)
    assert relabelled.id2label[1] == "b-per"
    assert_same_model(relabelled, tagger, TEXTS, expected)
    # ...and only replaced when asked for another number of labels.
    fresh = TokenClassifier.from_preset(tmp_path / "preset", id2label=["O", "B-ORG", "I-ORG"])
    assert fresh.num_classes == 3 and fresh.id2label[2] == "I-ORG"
    assert fresh.predict(TEXTS[:1], verbose=0).shape == (1, SEQUENCE_LENGTH, 3)
    # A backbone preset gives a fresh head, which needs its size.
    tagger.backbone.save_to_preset(tmp_path / "backbone")
    with pytest.raises(ValueError, match="needs `num_classes` or `id2label`"):
        TokenClassifier.from_preset(tmp_path / "backbone", preprocessor=None)


def test_transformers_round_trip(kit, tmp_path):
    tagger = kit.tagger
    tagger.save_to_preset(tmp_path / "hf", format="transformers")
    import json

    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["architectures"] == [
        kit.family.transformers.architecture("token_classifier", "ForTokenClassification")
    ]
    assert config["id2label"] == {str(index): label for index, label in enumerate(LABELS)}
    assert config["label2id"] == {label: index for index, label in enumerate(LABELS)}
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")  # no pooler warning for this head
        loaded = TokenClassifier.from_preset(tmp_path / "hf")
        generic = textbones.models.Task.from_preset(tmp_path / "hf", preprocessor=None)
    assert type(loaded) is type(tagger) and type(generic) is type(tagger)
    assert loaded.id2label == tagger.id2label
    inputs = tagger.preprocessor(TEXTS)
    np.testing.assert_allclose(
        loaded.predict(inputs, verbose=0), tagger.predict(inputs, verbose=0), atol=1e-6, rtol=0
    )


# Entities ------------------------------------------------------------------------------

#: Hand-made probabilities of the tokens of "John lives in New Yorker." (BERT, lowercased):
#: john, lives, in, new, york, ##er, .
HAND_SCORES = np.array(
    [
        [0.10, 0.80, 0.05, 0.03, 0.02],
        [0.90, 0.02, 0.02, 0.03, 0.03],
        [0.70, 0.10, 0.10, 0.05, 0.05],
        [0.10, 0.05, 0.05, 0.60, 0.20],
        [0.10, 0.00, 0.00, 0.10, 0.80],
        [0.82, 0.00, 0.00, 0.00, 0.18],
        [0.95, 0.01, 0.01, 0.01, 0.02],
    ],
    "float32",
)
HAND_TEXT = "John lives in New Yorker."
HAND_EXPECTED = {
    "none": [
        {"entity": "B-PER", "score": 0.8, "index": 1, "word": "john", "start": 0, "end": 4},
        {"entity": "B-LOC", "score": 0.6, "index": 4, "word": "new", "start": 14, "end": 17},
        {"entity": "I-LOC", "score": 0.8, "index": 5, "word": "york", "start": 18, "end": 22},
    ],
    "simple": [
        {"entity_group": "PER", "score": 0.8, "word": "john", "start": 0, "end": 4},
        {"entity_group": "LOC", "score": 0.7, "word": "new york", "start": 14, "end": 22},
    ],
    "first": [
        {"entity_group": "PER", "score": 0.8, "word": "john", "start": 0, "end": 4},
        {"entity_group": "LOC", "score": 0.7, "word": "new yorker", "start": 14, "end": 24},
    ],
    "average": [
        {"entity_group": "PER", "score": 0.8, "word": "john", "start": 0, "end": 4},
        # yorker averages to O 0.46, I-LOC 0.49: LOC, score mean(0.6, 0.49).
        {"entity_group": "LOC", "score": 0.545, "word": "new yorker", "start": 14, "end": 24},
    ],
    "max": [
        {"entity_group": "PER", "score": 0.8, "word": "john", "start": 0, "end": 4},
        # ##er's 0.82 (O) beats york's 0.8: yorker is O and LOC keeps "new" alone.
        {"entity_group": "LOC", "score": 0.6, "word": "new", "start": 14, "end": 17},
    ],
}


def hand_tagger(monkeypatch):
    family = families.family("bert")
    tagger = make_tagger(family, make_tokenizer(family), compile=False)
    monkeypatch.setattr(tagger, "_window_scores", lambda spans, windows, size: [HAND_SCORES])
    return tagger


@pytest.mark.parametrize("strategy", list(HAND_EXPECTED))
def test_each_aggregation_strategy_on_hand_made_scores(strategy, monkeypatch):
    tagger = hand_tagger(monkeypatch)
    found = tagger.predict_entities(HAND_TEXT, aggregation_strategy=strategy)
    assert found == [
        {key: pytest.approx(value, abs=1e-6) for key, value in entity.items()}
        for entity in HAND_EXPECTED[strategy]
    ]
    assert all(type(entity["score"]) is float and type(entity["start"]) is int for entity in found)
    assert list(found[0]) == list(HAND_EXPECTED[strategy][0])  # transformers' key order


def test_ignore_labels_and_a_b_tag_starting_a_group(monkeypatch):
    tagger = hand_tagger(monkeypatch)
    everything = tagger.predict_entities(HAND_TEXT, ignore_labels=())
    assert [(e["entity_group"], e["word"], e["start"], e["end"]) for e in everything] == [
        ("PER", "john", 0, 4),
        ("O", "lives in", 5, 13),
        ("LOC", "new york", 14, 22),
        ("O", "##er.", 22, 25),
    ]
    assert everything[1]["score"] == pytest.approx(0.8, abs=1e-6)
    scores = HAND_SCORES.copy()
    scores[4] = [0.1, 0.0, 0.0, 0.8, 0.1]  # york: B-LOC, a new entity
    monkeypatch.setattr(tagger, "_window_scores", lambda spans, windows, size: [scores])
    found = tagger.predict_entities([HAND_TEXT], aggregation_strategy="simple")[0]
    assert [(e["word"], e["start"]) for e in found] == [("john", 0), ("new", 14), ("york", 18)]


def test_sub_words_of_a_sentence_piece_tokenizer_by_the_heuristic():
    family = families.family("albert")
    tokenizer = make_tokenizer(family)
    text = "New Yorker, hi"
    spans = TokenSpans.from_lists(
        text, [5, 6, 7, 8, 9], [(0, 3), (4, 8), (8, 10), (10, 11), (12, 14)], [0, 1, 1, 1, 2]
    )
    tokens = pre_entities(text, spans, 0, 5, np.ones((5, 2)), tokenizer)
    assert [token["is_subword"] for token in tokens] == [False, False, True, True, False]
    assert [token["index"] for token in tokens] == [1, 2, 3, 4, 5]
    assert join_tokens(tokenizer, ["\u2581New", "\u2581York", "er"]) == "New Yorker"


def test_windows_and_overlaps():
    assert _windows(5, 14, None) == [(0, 5)]
    assert _windows(30, 14, None) == [(0, 14)]  # cut, as transformers cuts without stride
    assert _windows(30, 14, 4) == [(0, 14), (10, 24), (20, 30)]
    assert _windows(14, 14, 4) == [(0, 14)]
    merged = merge_overlapping(
        [
            {"start": 10, "end": 14, "score": 0.5},
            {"start": 0, "end": 4, "score": 0.9},
            {"start": 10, "end": 14, "score": 0.7},
            {"start": 12, "end": 20, "score": 0.1},
            {"start": 2, "end": 4, "score": 0.99},
        ]
    )
    assert merged == [{"start": 0, "end": 4, "score": 0.9}, {"start": 12, "end": 20, "score": 0.1}]


def test_predict_entities_on_a_model(kit):
    tagger = kit.tagger
    sentence = "john lives in new york and mary sat on the mat"
    # The longest start of the sentence that fits one window (SentencePiece's tiny model
    # spells it in more pieces than WordPiece's vocabulary does).
    words = sentence.split()
    while len(kit.tokenizer.tokenize_with_offsets(" ".join(words))) > SEQUENCE_LENGTH - 2:
        words.pop()
    text = " ".join(words)
    assert len(words) >= 4
    found = tagger.predict_entities(
        [text, "the fox"], aggregation_strategy="none", ignore_labels=()
    )
    logits = tagger.predict([text], verbose=0)[0]
    spans = kit.tokenizer.tokenize_with_offsets(text)
    assert [entity["index"] for entity in found[0]] == list(range(1, len(spans) + 1))
    for entity, row, (start, end) in zip(found[0], logits[1:], spans.offsets.tolist()):
        probabilities = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
        assert entity["entity"] == LABELS[int(probabilities.argmax())]
        assert entity["score"] == pytest.approx(float(probabilities.max()), abs=1e-5)
        assert (entity["start"], entity["end"]) == (start, end)
    assert tagger.predict_entities([]) == []
    # A long text read in windows covers all of it; the entities do not overlap.
    long_text = " ".join([sentence] * 4)
    windows = tagger.predict_entities(long_text, ignore_labels=(), stride=4)
    assert windows[-1]["end"] == len(long_text.rstrip())
    assert all(a["end"] <= b["start"] for a, b in zip(windows, windows[1:]))
    cut = tagger.predict_entities(long_text, ignore_labels=())
    assert cut[-1]["end"] < len(long_text) // 2


def test_a_sequence_and_a_token_classifier_checkpoint_are_told_apart(tmp_path):
    # Both heads are `classifier.*` in transformers: the config's architecture decides.
    family = families.family("bert")
    tokenizer = make_tokenizer(family)
    tagger = make_tagger(family, tokenizer, compile=False)
    tagger.save_to_preset(tmp_path / "tokens", format="transformers")
    backbone = families.tiny_backbone(family, vocabulary_size=tagger.backbone.vocabulary_size)
    sequence = family.tasks["classifier"](backbone, num_classes=5, compile=False)
    sequence.save_to_preset(tmp_path / "sequences", format="transformers")
    from textbones.presets.preset_kind import preset_kind

    assert preset_kind(tmp_path / "tokens").task == "token_classifier"
    assert preset_kind(tmp_path / "sequences").task == "classifier"
    with pytest.raises(ValueError, match="holds no token-classification head"):
        TokenClassifier.from_preset(tmp_path / "sequences", preprocessor=None)
    with pytest.raises(ValueError, match="holds no classification head"):
        textbones.models.TextClassifier.from_preset(tmp_path / "tokens", preprocessor=None)
    generic = textbones.models.Task.from_preset(tmp_path / "sequences", preprocessor=None)
    assert type(generic).__name__ == "BertTextClassifier"
