"""QuestionAnswerer of every registered family: outputs, compile defaults, serialization,
presets, windows and labels, answer decoding and bad input.

The family's classes come from the registry (``Family.tasks["question_answerer"]``). The
tests that cut contexts into windows need the tokenizer's offsets
(``tokenize_with_offsets``), which SentencePiece tokenizers give once they implement them.
"""

import types
import warnings

import keras
import numpy as np
import pytest

from tests.conftest import to_numpy
from tests.helpers import families
from tests.helpers.transformers_checkpoints import rewrite_weights
from textbones.models import QuestionAnswerer, QuestionAnswererPreprocessor
from textbones.models.question_answerer import decode_answers
from textbones.preprocessing.question_answerer_preprocessor import QuestionWindows

SEQUENCE_LENGTH = 32
CONTEXT = "the quick brown fox sat on the mat. the dog ran on the mat."
QUESTION = "the fox sat on?"


@pytest.fixture(scope="module", params=families.family_names())
def kit(request):
    family = families.family(request.param)
    tokenizer = families.tiny_tokenizer(family)
    backbone = families.tiny_backbone(
        family, vocabulary_size=tokenizer.vocabulary_size(), max_sequence_length=SEQUENCE_LENGTH
    )
    task_cls = family.tasks["question_answerer"]
    preprocessor_cls = family.preprocessors["question_answerer"]
    preprocessor = preprocessor_cls(tokenizer, sequence_length=SEQUENCE_LENGTH, doc_stride=4)
    model = task_cls(backbone, preprocessor=preprocessor)
    families.perturb_weights(model.qa_outputs, seed=2)
    return types.SimpleNamespace(
        family=family,
        tokenizer=tokenizer,
        backbone=backbone,
        task_cls=task_cls,
        preprocessor_cls=preprocessor_cls,
        model=model,
        inputs=families.backbone_inputs(
            family, lengths=(9, 5), total=9, vocabulary_size=tokenizer.vocabulary_size()
        ),
    )


def forward(model, inputs) -> dict:
    return {name: to_numpy(value) for name, value in model(inputs, training=False).items()}


# Outputs and compile defaults ------------------------------------------------------------


def test_outputs_are_the_dense_layer_split_in_start_and_end(kit):
    model = kit.model
    assert isinstance(model, QuestionAnswerer) and kit.family.tasks["question_answerer"]
    assert type(model.preprocessor) is kit.preprocessor_cls
    outputs = forward(model, kit.inputs)
    assert sorted(outputs) == ["end_logits", "start_logits"]
    assert outputs["start_logits"].shape == outputs["end_logits"].shape == (2, 9)
    features = to_numpy(kit.backbone.sequence_features(kit.backbone(kit.inputs, training=False)))
    kernel, bias = (to_numpy(weight) for weight in model.qa_outputs.weights)
    assert kernel.shape == (kit.backbone.hidden_dim, 2)
    expected = features @ kernel + bias
    np.testing.assert_allclose(outputs["start_logits"], expected[..., 0], atol=1e-5)
    np.testing.assert_allclose(outputs["end_logits"], expected[..., 1], atol=1e-5)


def test_default_compile_is_the_mean_of_the_start_and_end_losses(kit):
    model = kit.task_cls(kit.backbone, preprocessor=None)
    assert type(model.optimizer).__name__ == "Adam"
    assert float(to_numpy(model.optimizer.learning_rate)) == pytest.approx(5e-5)
    assert sorted(model.loss) == ["end_logits", "start_logits"]
    assert all(loss.get_config()["from_logits"] for loss in model.loss.values())
    outputs = forward(model, kit.inputs)
    starts, ends = np.array([3, 1]), np.array([4, 2])

    def cross_entropy(logits, labels):
        logits = logits - logits.max(axis=-1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        return -log_p[np.arange(len(labels)), labels].mean()

    expected = 0.5 * (
        cross_entropy(outputs["start_logits"], starts) + cross_entropy(outputs["end_logits"], ends)
    )
    loss = model.test_on_batch(kit.inputs, {"start_positions": starts, "end_positions": ends})
    assert float(np.ravel(loss)[0]) == pytest.approx(expected, rel=1e-4)
    # A tuple (starts, ends) is read the same way.
    again = model.test_on_batch(kit.inputs, (starts, ends))
    assert float(np.ravel(again)[0]) == pytest.approx(expected, rel=1e-4)


def test_labels_out_of_range_are_refused(kit):
    model = kit.task_cls(kit.backbone, preprocessor=None)
    with pytest.raises(ValueError, match=r"start_logits label 9 is no position of the 9-token"):
        model.fit(kit.inputs, {"start_logits": [9, 0], "end_logits": [0, 0]}, verbose=0)
    with pytest.raises(ValueError, match=r"labels need the keys"):
        model.fit(kit.inputs, {"start": [0, 0], "end": [0, 0]}, verbose=0)


# Serialization and presets ---------------------------------------------------------------


def test_config_round_trip(kit):
    model = kit.model
    config = model.get_config()
    rebuilt = kit.task_cls.from_config(config)
    rebuilt.set_weights(model.get_weights())
    assert rebuilt.preprocessor.doc_stride == 4
    assert rebuilt.preprocessor.max_question_len == 64
    for name, value in forward(model, kit.inputs).items():
        np.testing.assert_array_equal(forward(rebuilt, kit.inputs)[name], value)


def test_keras_file_round_trip(kit, tmp_path):
    path = tmp_path / "qa.keras"
    kit.model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is kit.task_cls
    assert loaded.preprocessor.doc_stride == 4
    assert loaded.preprocessor.tokenizer.vocabulary_size() == kit.tokenizer.vocabulary_size()
    for name, value in forward(kit.model, kit.inputs).items():
        np.testing.assert_allclose(forward(loaded, kit.inputs)[name], value, atol=1e-6)


def test_preset_round_trip_keeps_the_trained_head(kit, tmp_path):
    kit.model.save_to_preset(tmp_path / "qa")
    for cls in (QuestionAnswerer, kit.task_cls):
        loaded = cls.from_preset(str(tmp_path / "qa"))
        assert type(loaded) is kit.task_cls
        assert type(loaded.preprocessor) is kit.preprocessor_cls
        assert loaded.preprocessor.sequence_length == SEQUENCE_LENGTH
        np.testing.assert_array_equal(
            to_numpy(loaded.qa_outputs.kernel), to_numpy(kit.model.qa_outputs.kernel)
        )
        for name, value in forward(kit.model, kit.inputs).items():
            np.testing.assert_allclose(forward(loaded, kit.inputs)[name], value, atol=1e-6)


def test_transformers_round_trip_keeps_the_trained_head(kit, tmp_path):
    if kit.family.transformers is None:
        pytest.fail(f"{kit.family.name} has no transformers mapping")
    folder = tmp_path / "hf"
    kit.model.save_to_preset(folder, format="transformers")
    import json

    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == [
        kit.family.transformers.architecture("question_answerer", "ForQuestionAnswering")
    ]
    loaded = QuestionAnswerer.from_preset(folder, preprocessor=None)
    assert type(loaded) is kit.task_cls
    np.testing.assert_array_equal(
        to_numpy(loaded.qa_outputs.kernel), to_numpy(kit.model.qa_outputs.kernel)
    )
    for name, value in forward(kit.model, kit.inputs).items():
        np.testing.assert_allclose(forward(loaded, kit.inputs)[name], value, atol=1e-5)
    # transformers' BERT and ALBERT question answerers have no pooler: no warning about it.
    pooler = [rule.source for rule in kit.family.transformers.pooler_rules]
    rewrite_weights(
        folder, drop=tuple(f"{kit.family.transformers.base_prefix}.{key}" for key in pooler)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        QuestionAnswerer.from_preset(folder, preprocessor=None)
    # A checkpoint that says it is a question answerer but lacks the head is refused, never
    # given a random head.
    rewrite_weights(folder, drop=("qa_outputs.weight", "qa_outputs.bias"))
    with pytest.raises(ValueError, match=r"holds none of its head's tensors \(qa_outputs"):
        QuestionAnswerer.from_preset(folder, preprocessor=None)


# Windows and labels (need the tokenizer's offsets) -----------------------------------------


def test_windows_cover_the_context_with_doc_stride_overlap(kit):
    preprocessor = kit.model.preprocessor
    spans = kit.tokenizer.tokenize_with_offsets(CONTEXT)
    question = kit.tokenizer.tokenize(QUESTION)
    windows = preprocessor.windows(QUESTION, CONTEXT, doc_stride=3, max_seq_len=20)
    room = 20 - len(question) - 3
    assert room < len(spans), "the context must take several windows"
    rows = windows.inputs["token_ids"]
    assert rows.shape[1] == SEQUENCE_LENGTH
    seen = []
    for row in range(len(windows)):
        first = int(windows.window_start[row])
        assert first == row * (room - 3)
        ids = rows[row][windows.context_mask[row]]
        count = min(room, len(spans) - first)
        np.testing.assert_array_equal(ids, spans.ids[first : first + count])
        np.testing.assert_array_equal(
            windows.offsets[row][windows.context_mask[row]], spans.offsets[first : first + count]
        )
        head = rows[row][: len(question) + 2].tolist()
        assert head == [
            kit.tokenizer.start_token_id,
            *np.asarray(question).tolist(),
            kit.tokenizer.end_token_id,
        ]
        seen.extend(range(first, first + count))
    assert sorted(set(seen)) == list(range(len(spans)))
    assert windows.window_start[-1] + room >= len(spans) > windows.window_start[-2] + room


def test_labels_point_at_the_answer_tokens_or_cls(kit):
    preprocessor = kit.model.preprocessor
    answer_start = CONTEXT.index("dog")
    windows = preprocessor.windows(QUESTION, CONTEXT, doc_stride=3, max_seq_len=20)
    labels = preprocessor.labels(windows, [{"text": "dog ran", "answer_start": answer_start}])
    holders = 0
    for row in range(len(windows)):
        start, end = labels["start_logits"][row], labels["end_logits"][row]
        if start == 0:
            assert end == 0
            continue
        holders += 1
        text = CONTEXT[windows.offsets[row, start, 0] : windows.offsets[row, end, 1]]
        assert "dog ran" in text and len(text) <= len("dog ran") + 2
    assert holders >= 1
    # SQuAD's list form and an empty answer (no answer: every window points at [CLS]).
    listed = preprocessor.labels(windows, [{"text": ["dog ran"], "answer_start": [answer_start]}])
    np.testing.assert_array_equal(listed["start_logits"], labels["start_logits"])
    empty = preprocessor.labels(windows, [{"text": [], "answer_start": []}])
    assert empty["start_logits"].tolist() == [0] * len(windows)


def test_bert_windows_and_labels_by_hand():
    family = families.family("bert")
    tokenizer = families.tiny_tokenizer(family)
    preprocessor = family.preprocessors["question_answerer"](
        tokenizer, sequence_length=10, doc_stride=1
    )
    vocabulary = tokenizer.get_vocabulary()
    context = "the quick brown fox sat on the mat"
    x, y = preprocessor(("the fox?", context), {"text": "fox sat", "answer_start": 16})
    ids = [[vocabulary[i] for i in row] for row in x["token_ids"]]
    assert ids == [
        ["[CLS]", "the", "fox", "[UNK]", "[SEP]", "the", "quick", "brown", "fox", "[SEP]"],
        ["[CLS]", "the", "fox", "[UNK]", "[SEP]", "fox", "sat", "on", "the", "[SEP]"],
        ["[CLS]", "the", "fox", "[UNK]", "[SEP]", "the", "mat", "[SEP]", "[PAD]", "[PAD]"],
    ]
    assert x["segment_ids"][0].tolist() == [0] * 5 + [1] * 5
    assert x["padding_mask"][2].tolist() == [True] * 8 + [False] * 2
    # Windows start every room - doc_stride = 4 - 1 tokens; only the second holds "fox sat".
    assert y["start_logits"].tolist() == [0, 5, 0]
    assert y["end_logits"].tolist() == [0, 6, 0]


# Decoding answers from hand-made logits ---------------------------------------------------


def _hand_windows(contexts, rows):
    """Windows of hand-made rows: each ``(example, [(start, end, word) per context token])``,
    after a 3-token head (``[CLS] q [SEP]``); rows 12 long."""
    length = 12
    n = len(rows)
    mask = np.zeros((n, length), bool)
    offsets = np.zeros((n, length, 2), "int32")
    words = np.full((n, length), -1, "int32")
    for row, (_, tokens) in enumerate(rows):
        for index, (start, end, word) in enumerate(tokens):
            mask[row, 3 + index] = True
            offsets[row, 3 + index] = (start, end)
            words[row, 3 + index] = word
    return QuestionWindows(
        inputs={},
        example=np.array([example for example, _ in rows], "int32"),
        context_mask=mask,
        offsets=offsets,
        word_ids=words,
        lengths=np.array([3 + len(tokens) + 1 for _, tokens in rows], "int32"),
        window_start=np.zeros(n, "int32"),
        contexts=list(contexts),
    )


#: "New Yorkers love pizza": tokens new / york / ##ers / love / pizza.
PIZZA = "New Yorkers love pizza"
PIZZA_TOKENS = [(0, 3, 0), (4, 8, 1), (8, 11, 1), (12, 16, 2), (17, 22, 3)]


def _logits(peaks, length=12):
    values = np.zeros(length, "float32")
    for position, value in peaks.items():
        values[position] = value
    return values


def _softmax_over(values, allowed):
    values = np.where(allowed, values, -10000.0)
    exp = np.exp(values - values.max())
    return exp / exp.sum()


def test_answer_widens_to_whole_words_and_scores_p_start_times_p_end():
    windows = _hand_windows([PIZZA], [(0, PIZZA_TOKENS)])
    # Start on "##ers" (position 5), end on "love" (position 6).
    start, end = _logits({5: 6.0, 1: 9.0}), _logits({6: 6.0, 11: 9.0})
    (answer,) = decode_answers(windows, start[None], end[None])
    assert answer["answer"] == "Yorkers love"
    assert (answer["start"], answer["end"]) == (4, 16)
    allowed = windows.context_mask[0].copy()
    allowed[0] = True
    p_start, p_end = _softmax_over(start, allowed), _softmax_over(end, allowed)
    # Starting on "york" widens to the same words: the two spans are one answer.
    expected = p_start[5] * p_end[6] + p_start[4] * p_end[6]
    assert answer["score"] == pytest.approx(float(expected), rel=1e-6)
    # Without align_to_words the span is the tokens' own.
    (raw,) = decode_answers(windows, start[None], end[None], align_to_words=False)
    assert (raw["answer"], raw["start"], raw["end"]) == ("ers love", 8, 16)


def test_top_k_max_answer_len_and_the_impossible_answer():
    windows = _hand_windows([PIZZA], [(0, PIZZA_TOKENS)])
    start, end = _logits({3: 4.0, 6: 3.0, 0: 5.0}), _logits({7: 4.0, 6: 2.0, 0: 5.0})
    answers = decode_answers(windows, start[None], end[None], top_k=3)[0]
    assert [a["answer"] for a in answers] == [
        "New Yorkers love pizza",
        "love pizza",
        "New Yorkers love",
    ]
    scores = [a["score"] for a in answers]
    assert scores == sorted(scores, reverse=True)
    # Spans are at most max_answer_len tokens long: the 5-token answer goes.
    short = decode_answers(windows, start[None], end[None], top_k=2, max_answer_len=2)[0]
    assert [a["answer"] for a in short] == ["love pizza", "love"]
    allowed = windows.context_mask[0].copy()
    allowed[0] = True
    null = float(_softmax_over(start, allowed)[0] * _softmax_over(end, allowed)[0])
    with_null = decode_answers(windows, start[None], end[None], handle_impossible_answer=True)[0]
    assert with_null == {"score": pytest.approx(null, rel=1e-6), "start": 0, "end": 0, "answer": ""}


def test_answers_equal_but_for_case_merge_within_and_across_windows():
    context = "Pizza and pizza. Pizza"
    # Window 0 holds "Pizza and pizza", window 1 "pizza. Pizza" (one example).
    rows = [
        (0, [(0, 5, 0), (6, 9, 1), (10, 15, 2)]),
        (0, [(10, 15, 2), (15, 16, 3), (17, 22, 4)]),
    ]
    windows = _hand_windows([context], rows)
    start = np.stack([_logits({3: 5.0, 5: 5.0}), _logits({3: 5.0, 5: 5.0})])
    end = np.stack([_logits({3: 5.0, 5: 5.0}), _logits({3: 5.0, 5: 5.0})])
    answers = decode_answers(windows, start, end, top_k=4)[0]
    by_text = {a["answer"].lower(): a for a in answers}
    single = []
    for row in range(2):
        allowed = windows.context_mask[row].copy()
        allowed[0] = True
        p_start, p_end = _softmax_over(start[row], allowed), _softmax_over(end[row], allowed)
        single.append((p_start[3] * p_end[3], p_start[5] * p_end[5]))
    # "Pizza" (window 0, first token), "pizza" (window 0, third), "pizza" and "Pizza"
    # (window 1): one answer, spelled as first found, with the four scores summed.
    pizza = by_text["pizza"]
    assert (pizza["answer"], pizza["start"], pizza["end"]) == ("Pizza", 0, 5)
    assert pizza["score"] == pytest.approx(float(sum(single[0]) + sum(single[1])), rel=1e-5)
    assert [a["answer"] for a in answers].count("Pizza") == 1


def test_a_single_answer_is_a_dict_and_several_a_list():
    windows = _hand_windows(["a b", "c d"], [(0, [(0, 1, 0), (2, 3, 1)]), (1, [(0, 1, 0)])])
    start = np.stack([_logits({3: 5.0}), _logits({3: 5.0})])
    end = np.stack([_logits({3: 5.0}), _logits({3: 5.0})])
    first, second = decode_answers(windows, start, end, top_k=3)
    assert isinstance(first, list) and [a["answer"] for a in first] == ["a", "a b", "b"]
    # With few spans, the pipeline's candidates include spans that score 0 (on [CLS], the
    # empty answer): they are kept, as it keeps them.
    assert [(a["answer"], a["score"] == 0.0) for a in second] == [("c", False), ("", True)]
    one, other = decode_answers(windows, start, end)
    assert isinstance(one, dict) and one["answer"] == "a"
    assert isinstance(other, dict) and other["answer"] == "c"


def test_answer_is_decode_answers_on_the_models_logits(kit):
    model = kit.model
    result = model.answer(QUESTION, CONTEXT, top_k=2)
    windows = model.preprocessor.windows(
        QUESTION, CONTEXT, doc_stride=min(SEQUENCE_LENGTH // 2, 128), max_seq_len=SEQUENCE_LENGTH
    )
    logits = keras.Model.predict(model, windows.inputs, verbose=0)
    expected = decode_answers(windows, logits["start_logits"], logits["end_logits"], top_k=2)[0]
    assert [(a["answer"], a["start"], a["end"]) for a in result] == [
        (a["answer"], a["start"], a["end"]) for a in expected
    ]
    for answer in result:
        assert CONTEXT[answer["start"] : answer["end"]] == answer["answer"]
    batched = model.answer([QUESTION, "the dog?"], [CONTEXT, "the dog ran."])
    assert isinstance(batched, list) and len(batched) == 2
    assert all(isinstance(item, dict) for item in batched)


def test_fit_on_squad_style_examples_lowers_the_loss(kit):
    model = kit.task_cls(kit.backbone, preprocessor=kit.model.preprocessor)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    questions = [QUESTION, "the dog ran on?"] * 4
    contexts = [CONTEXT, CONTEXT] * 4
    answers = [
        {"text": "the mat", "answer_start": CONTEXT.index("the mat")},
        {"text": ["the mat"], "answer_start": [CONTEXT.rindex("the mat")]},
    ] * 4
    history = model.fit((questions, contexts), answers, batch_size=8, epochs=4, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    predictions = model.predict((questions[:2], contexts[:2]), verbose=0)
    windows = model.preprocessor.windows(questions[:2], contexts[:2])
    assert predictions["start_logits"].shape == (len(windows), windows.inputs["token_ids"].shape[1])


# Bad input ------------------------------------------------------------------------------


def test_bad_inputs_are_refused_with_what_to_do(kit):
    model, preprocessor = kit.model, kit.model.preprocessor
    with pytest.raises(ValueError, match=r"says 'fox' starts at character 0 .* holds 'the'"):
        preprocessor(("q", CONTEXT), {"text": "fox", "answer_start": 0})
    with pytest.raises(ValueError, match=r"Question 0 .* leaves 0 of the 32-token window"):
        preprocessor(("fox " * 40, CONTEXT))
    with pytest.raises(ValueError, match=r"got 2 questions and 1 contexts"):
        preprocessor.windows(["a", "b"], ["c"])
    with pytest.raises(ValueError, match=r"got 1 answers for 2 questions"):
        preprocessor((["a", "b"], ["c", "d"]), [{"text": "c", "answer_start": 0}])
    with pytest.raises(ValueError, match=r"must be a dict with 'text' and 'answer_start'"):
        preprocessor(("a", "c"), ["c"])
    with pytest.raises(ValueError, match=r"`top_k` must be an integer >= 1"):
        model.answer("a", "b", top_k=0)
    with pytest.raises(ValueError, match=r"needs answers to train"):
        model.fit((["a"], ["b"]), verbose=0)
    with pytest.raises(ValueError, match=r"tuple `\(questions, contexts\)`"):
        model.predict(["only questions"], verbose=0)


def test_question_answerer_preprocessor_is_the_kinds_base():
    from textbones import registry

    kind = registry.task_kind("question_answerer")
    assert kind.task_base is QuestionAnswerer
    assert kind.preprocessor_base is QuestionAnswererPreprocessor
    assert kind.transformers_suffix == "ForQuestionAnswering"
