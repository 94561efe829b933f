"""Bad inputs get clear errors instead of silent wrong results (issue 11, sections 3 and 5).

* ``None``, NaN, dicts and other non-strings are never read as text ("None", "nan", a
  dict's keys): tokenizers, preprocessors, ``fit``/``evaluate``/``predict`` and the
  ``*_on_batch`` methods refuse them naming the item's index, type and (for pairs) segment.
* ``predict([])`` and other empty inputs: an error that says so, for tasks; an empty
  result of the right shape for tokenizers and preprocessors.
* One-hot labels, too many or too few labels, and class ids out of range: errors that
  say what is wrong and how to fix it.
"""

import keras
import numpy as np
import pytest

from tests.conftest import make_tiny_backbone
from tests.helpers.sentence_piece import tiny_proto
from textbones.models import (
    AlbertTokenizer,
    BertMaskedLM,
    BertMaskedLMPreprocessor,
    BertTextClassifier,
    BertTextClassifierPreprocessor,
    BertTokenizer,
)
from textbones.preprocessing import text_batches

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran", "none", "nan", "a"]
TEXTS = ["the fox", "a fox ran", "the", "ran"]
LABELS = np.array([0, 1, 2, 1])
NOT_TEXT = (
    "None, NaN and other non-strings are not read as text: "
    "drop that example or replace it with a string"
)


@pytest.fixture(scope="module")
def tokenizer():
    return BertTokenizer(vocabulary=VOCABULARY)


@pytest.fixture(scope="module")
def preprocessor(tokenizer):
    return BertTextClassifierPreprocessor(tokenizer, sequence_length=8)


@pytest.fixture(scope="module")
def classifier(preprocessor):
    backbone = make_tiny_backbone(
        "bert", vocabulary_size=len(VOCABULARY), num_layers=1, max_sequence_length=16
    )
    return BertTextClassifier(backbone, num_classes=3, preprocessor=preprocessor)


@pytest.fixture
def fresh_classifier(preprocessor):
    """A classifier to compile and train (the shared one keeps its default compile)."""
    backbone = make_tiny_backbone(
        "bert", vocabulary_size=len(VOCABULARY), num_layers=1, max_sequence_length=16
    )
    return BertTextClassifier(backbone, num_classes=3, preprocessor=preprocessor)


# Non-strings are refused, naming index and type, on every path ---------------------------

BAD_ITEMS = [
    (["the fox", None], r"item 1 of the batch is a NoneType \(None\)"),
    ([None, "the fox"], r"item 0 of the batch is a NoneType \(None\)"),
    (["the fox", float("nan")], r"item 1 of the batch is a float \(nan\)"),
    (np.array(["the fox", np.nan], dtype=object), r"item 1 of the batch is a float \(nan\)"),
    (["the", {"fox": 1}], r"item 1 of the batch is a dict \(\{'fox': 1\}\)"),
    (["the", 7], r"item 1 of the batch is a int \(7\)"),
    ([None, None], r"item 0 of the batch is a NoneType \(None\)"),
]
BAD_IDS = ["none-last", "none-first", "nan", "nan-array", "dict-item", "int", "all-none"]


@pytest.mark.parametrize("texts, message", BAD_ITEMS, ids=BAD_IDS)
def test_tokenizers_refuse_non_strings(tokenizer, texts, message):
    full = rf"BertTokenizer takes strings, but {message}\. {NOT_TEXT}"
    with pytest.raises(ValueError, match=full):
        tokenizer(texts)
    albert = AlbertTokenizer(proto=tiny_proto("albert"))
    with pytest.raises(ValueError, match=rf"AlbertTokenizer takes strings, but {message}"):
        albert.tokenize(texts)


@pytest.mark.parametrize("texts, message", BAD_ITEMS, ids=BAD_IDS)
def test_predict_refuses_non_strings(classifier, texts, message):
    full = rf"BertTextClassifier takes strings, but {message}\. {NOT_TEXT}"
    with pytest.raises(ValueError, match=full):
        classifier.predict(texts, verbose=0)


@pytest.mark.parametrize(
    "call",
    [
        lambda model, x: model.fit(x, [0, 1], verbose=0),
        lambda model, x: model.fit(
            x + ["ran", "the"], [0, 1, 1, 0], validation_split=0.5, verbose=0
        ),
        lambda model, x: model.evaluate(x, [0, 1], verbose=0),
        lambda model, x: model.train_on_batch(x, [0, 1]),
        lambda model, x: model.test_on_batch(x, [0, 1]),
        lambda model, x: model.predict_on_batch(x),
    ],
    ids=[
        "fit",
        "fit-validation-split",
        "evaluate",
        "train_on_batch",
        "test_on_batch",
        "predict_on_batch",
    ],
)
def test_every_task_entry_point_refuses_none(classifier, call):
    message = r"BertTextClassifier takes strings, but item 1 of the batch is a NoneType"
    with pytest.raises(ValueError, match=message):
        call(classifier, ["the fox", None])


def test_sentence_pairs_name_the_segment(classifier, preprocessor):
    second = (
        r"item 1 of the batch is a NoneType \(None\) in segment 2 of 2 "
        r"\(the second text of each pair\)"
    )
    with pytest.raises(ValueError, match=rf"BertTextClassifier takes strings, but {second}"):
        classifier.predict((["the", "fox"], ["ran", None]), verbose=0)
    message = rf"BertTextClassifierPreprocessor takes strings, but {second}"
    with pytest.raises(ValueError, match=message):
        preprocessor((["the", "fox"], ["ran", None]))
    first = (
        r"item 0 of the batch is a float \(nan\) in segment 1 of 2 "
        r"\(the first text of each pair\)"
    )
    with pytest.raises(ValueError, match=first):
        classifier.fit(([float("nan"), "fox"], ["ran", "the"]), [0, 1], verbose=0)


def test_preprocessors_called_directly_refuse_non_strings(preprocessor, tokenizer):
    message = r"takes strings, but item 1 of the batch is a NoneType \(None\)"
    with pytest.raises(ValueError, match=message):
        preprocessor(["the fox", None])
    masked = BertMaskedLMPreprocessor(tokenizer, sequence_length=8, mask_selection_length=2)
    message = r"takes strings, but item 0 of the batch is a float \(nan\)"
    with pytest.raises(ValueError, match=message):
        masked([float("nan")])


def test_batches_from_a_dataset_or_generator_refuse_non_strings(preprocessor):
    batches = text_batches.preprocessed_generator(iter([(["the", None], [0, 1])]), preprocessor)
    with pytest.raises(ValueError, match=r"item 1 of the batch is a NoneType \(None\)"):
        next(batches)


def test_a_dict_is_not_read_as_its_keys(classifier, preprocessor, tokenizer):
    words = {"the": 0, "fox": 1}
    keys = r"got a dict: reading a dict as text would take its keys in no meaningful order"
    message = rf"BertTokenizer takes a string or a list of strings, {keys}"
    with pytest.raises(ValueError, match=message):
        tokenizer(words)
    with pytest.raises(ValueError, match=keys):
        preprocessor(words)
    with pytest.raises(ValueError, match=keys):
        preprocessor((["the", "a"], words))
    with pytest.raises(ValueError, match=r"set: reading a set as text would take its items"):
        tokenizer({"the", "fox"})
    # A task reads a dict as preprocessed inputs, and says which keys it lacks.
    message = r"needs the inputs \['padding_mask', 'segment_ids', 'token_ids'\]"
    with pytest.raises(ValueError, match=message):
        classifier.predict(words, verbose=0)


def test_happy_path_is_unchanged(classifier, preprocessor, tokenizer):
    rows = tokenizer(["the fox", b"ran", np.str_("a")])
    assert rows == [[5, 6], [7], [10]]
    # Words that look like what None and NaN used to become are still ordinary text.
    assert tokenizer(["none nan"])[0] == [8, 9]
    from_text = classifier.predict(TEXTS, verbose=0)
    # Preprocessed dicts remain valid input once the preprocessor is taken away.
    inputs = preprocessor(TEXTS)
    classifier.preprocessor = None
    try:
        from_dict = classifier.predict(inputs, verbose=0)
    finally:
        classifier.preprocessor = preprocessor
    np.testing.assert_allclose(from_text, from_dict, atol=1e-5, rtol=0)


# Empty input ------------------------------------------------------------------------------

EMPTY = (
    r"Pass at least one text \(or sentence pair\), "
    r"or preprocessed arrays with at least one row"
)


@pytest.mark.parametrize(
    "call, doing, kind",
    [
        (lambda model: model.predict([], verbose=0), "predict", "list"),
        (lambda model: model.predict(np.array([], dtype=str), verbose=0), "predict", "ndarray"),
        (lambda model: model.predict(([], []), verbose=0), "predict", "tuple"),
        (lambda model: model.fit([], [], verbose=0), "train on", "list"),
        (lambda model: model.evaluate([], [], verbose=0), "evaluate", "list"),
        (lambda model: model.predict_on_batch([]), "predict", "list"),
        (lambda model: model.train_on_batch([], []), "train on", "list"),
    ],
    ids=[
        "predict",
        "predict-array",
        "predict-pairs",
        "fit",
        "evaluate",
        "predict_on_batch",
        "train_on_batch",
    ],
)
def test_tasks_refuse_empty_input(classifier, call, doing, kind):
    message = rf"BertTextClassifier got no examples to {doing}: `x` is an empty {kind}\. {EMPTY}"
    with pytest.raises(ValueError, match=message):
        call(classifier)


def test_empty_preprocessed_input_is_refused_too(classifier, preprocessor):
    names = ("token_ids", "segment_ids", "padding_mask")
    empty = {name: np.zeros((0, 8), "int32") for name in names}
    classifier.preprocessor = None
    try:
        with pytest.raises(ValueError, match=r"got no examples to predict: `x` is an empty dict"):
            classifier.predict(empty, verbose=0)
    finally:
        classifier.preprocessor = preprocessor


def test_tokenizers_and_preprocessors_give_empty_results_for_empty_batches(tokenizer, preprocessor):
    # As for any other batch: no rows in, no rows out (a list of rows, or a [0, length] array).
    assert tokenizer([]) == []
    assert BertTokenizer(vocabulary=VOCABULARY, sequence_length=4)([]).shape == (0, 4)
    assert {name: value.shape for name, value in preprocessor([]).items()} == {
        "token_ids": (0, 8),
        "segment_ids": (0, 8),
        "padding_mask": (0, 8),
    }
    assert preprocessor(([], []))["token_ids"].shape == (0, 8)


# Labels -----------------------------------------------------------------------------------


def test_one_hot_labels_with_the_default_loss_are_refused(classifier):
    one_hot = np.eye(3)[LABELS]
    message = (
        r"BertTextClassifier got labels of shape \(4, 3\), one row of 3 values per example: "
        r"one-hot \(or multi-hot\) labels, but its loss \(SparseCategoricalCrossentropy\) takes "
        r"one integer class id per example\. "
        r"Pass the class ids \(e\.g\. `np\.argmax\(y, axis=-1\)`\), "
        r"or compile with `loss=keras\.losses\.CategoricalCrossentropy\(from_logits=True\)`"
    )
    with pytest.raises(ValueError, match=message):
        classifier.fit(TEXTS, one_hot, verbose=0)
    with pytest.raises(ValueError, match=message):
        classifier.evaluate(TEXTS, one_hot, verbose=0)
    with pytest.raises(ValueError, match=message):
        classifier.train_on_batch(TEXTS, one_hot)


def test_one_hot_labels_train_with_a_categorical_loss(fresh_classifier):
    fresh_classifier.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    history = fresh_classifier.fit(TEXTS, np.eye(3)[LABELS], epochs=1, verbose=0)
    assert set(history.history) == {"loss", "categorical_accuracy"}
    assert np.isfinite(history.history["loss"][0]) and history.history["loss"][0] > 0
    message = (
        r"compiled with CategoricalCrossentropy, which takes one row of 3 class "
        r"probabilities \(one-hot\) per example, but the labels have shape \(4,\)"
    )
    with pytest.raises(ValueError, match=message):
        fresh_classifier.fit(TEXTS, LABELS, verbose=0)


@pytest.mark.parametrize(
    "labels, message",
    [
        ([0, 1, 2], r"`y` has 3 rows but the text has 4; give one y entry per example\."),
        ([0, 1, 2, 1, 0], r"`y` has 5 rows but the text has 4; give one y entry per example\."),
        ([0, 1, 3, 1], r"Label 3 is out of range for num_classes=3: labels must lie in \[0, 3\)"),
        ([0, -1, 2, 1], r"Label -1 is out of range for num_classes=3: labels must lie in \[0, 3\)"),
        (["pos", "neg", "pos", "neg"], r"takes integer class labels in \[0, 3\), got dtype <U3"),
    ],
    ids=["too-few", "too-many", "too-large", "negative", "strings"],
)
def test_bad_labels_are_refused(classifier, labels, message):
    with pytest.raises(ValueError, match=message):
        classifier.fit(TEXTS, labels, verbose=0)
    with pytest.raises(ValueError, match=message):
        classifier.train_on_batch(TEXTS, labels)


def test_column_labels_still_train(fresh_classifier):
    # One class id per row in a column, (n, 1), is not one-hot: it trains as before.
    logs = fresh_classifier.train_on_batch(TEXTS, LABELS[:, None], return_dict=True)
    assert np.isfinite(logs["loss"]) and logs["loss"] > 0


def test_masked_lm_still_makes_its_own_labels_and_refuses_none(tokenizer):
    backbone = make_tiny_backbone(
        "bert", vocabulary_size=len(VOCABULARY), num_layers=1, max_sequence_length=16
    )
    preprocessor = BertMaskedLMPreprocessor(tokenizer, sequence_length=8, mask_selection_length=2)
    model = BertMaskedLM(backbone, preprocessor=preprocessor)
    message = r"BertMaskedLM takes strings, but item 2 of the batch is a NoneType"
    with pytest.raises(ValueError, match=message):
        model.fit(["the fox", "a fox", None], verbose=0)
    with pytest.raises(ValueError, match=r"BertMaskedLM got no examples to train on"):
        model.fit([], verbose=0)
