"""The vocabulary trainers on ``tf.data`` and safe mode, against KerasHub 0.32.

The main environment has no TensorFlow, so ``vocabulary_trainers_reference.py`` runs in the
reference interpreter (``.venv-ref``) with KerasHub and textbones side by side; it asserts
the details itself (see its docstring), and its summary is checked again here.
"""

import json

import pytest

from tests.helpers.reference_env import run_reference

pytestmark = pytest.mark.parity


@pytest.fixture(scope="module")
def summary() -> dict:
    finished = run_reference("vocabulary_trainers_reference.py")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def test_word_piece_vocabularies_are_keras_hub_s(summary):
    assert summary["textbones_module"] == "textbones"  # this checkout's, not an installed copy
    cases = {case["case"]: case for case in summary["word_piece_cases"]}
    inputs = ("batched", "batched_vs_unbatched", "ragged_words", "batched_ragged", "files")
    for name in (*inputs, "list_vs_dataset", "threshold", "too_long"):
        assert name in cases
    # Cut at the size asked for, reserved tokens included, as KerasHub cuts.
    assert cases["dataset/3"]["tokens"] == 3 and cases["dataset/8"]["tokens"] == 8
    assert len([case for case in cases if case.startswith("dataset/{")]) == 7
    assert cases["keras_hub_docstring"]["tokens"] == 13
    # KerasHub stops reading a text at a NUL character; textbones reads on.
    nul = summary["nul_difference"]
    assert "ef" in nul["textbones"] and "ef" not in nul["keras_hub"]


def test_sentence_piece_models_tokenize_as_keras_hub_s(summary):
    trained = {(case["model_type"], case["lowercase"]) for case in summary["sentence_piece_cases"]}
    expected = {("unigram", False), ("unigram", True), ("bpe", False), ("word", False)}
    assert trained == expected | {("char", False)}


def test_refusals_have_keras_hub_s_exception_types(summary):
    errors = summary["errors"]
    refused = ("dict", "files_unsplit", "numbers", "floats")
    for name in [f"word_piece/{case}" for case in refused] + [
        "sentence_piece/dict",
        "sentence_piece/numbers",
        "sentence_piece/model_type",
    ]:
        assert errors[name]["type"] == "ValueError", name
    assert "not a dict" in errors["word_piece/dict"]["textbones"]
    assert "needs `split=True`" in errors["word_piece/files_unsplit"]["textbones"]
    assert "dtype int32" in errors["word_piece/numbers"]["textbones"]
    assert "dtype float32" in errors["word_piece/floats"]["textbones"]
    assert "dtype int32" in errors["sentence_piece/numbers"]["textbones"]
    # KerasHub crashes on a dataset of dicts (AttributeError); textbones explains it.
    dicts = errors["word_piece/dataset_of_dicts"]
    assert dicts["keras_hub"] == "AttributeError" and dicts["textbones"][0] == "ValueError"
    assert "Map the dataset to its text first" in dicts["textbones"][1]
    assert errors["sentence_piece/too_small"]["type"] == "TrainerRefusedError"


def test_safe_mode_refuses_outside_files_in_both_libraries(summary):
    ours, theirs = summary["safe_mode_textbones"], summary["safe_mode_keras_hub"]
    for case in ("vocabulary_refused", "proto_refused", "archive_refused"):
        assert ours[case] == "ValueError"
        assert theirs[case] in ("ValueError", "TypeError")  # Keras wraps a Layer's error
    loaded = ("vocabulary_unsafe_size", "in_memory_size", "inline_proto_size", "archive_unsafe")
    for case in (*loaded, "archive_vocabulary"):
        assert ours[case] == theirs[case], case
    assert ours["archive_vocabulary"] is True
