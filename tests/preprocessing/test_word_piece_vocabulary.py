"""Tests of ``textbones/preprocessing/word_piece_vocabulary.py``."""

import numpy as np
import pytest

from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer
from textbones.preprocessing.word_piece_vocabulary import (
    DEFAULT_RESERVED_TOKENS,
    compute_word_piece_vocabulary,
)

BATS = ["bat sat pat mat rat"]


def test_small_corpus_exact_vocabulary():
    vocabulary = compute_word_piece_vocabulary(BATS, 20)
    assert vocabulary == [
        "[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]",
        "a", "b", "m", "p", "r", "s", "t",
        "##a", "##t", "##at",
        "bat", "mat", "pat", "rat", "sat",
    ]  # fmt: skip
    tokenizer = WordPieceTokenizer(vocabulary)
    assert tokenizer("bat sat tat tab").tolist() == [15, 19, 11, 14, 3]  # no "##b": "tab" is [UNK]


def test_vocabulary_size_is_a_ceiling():
    vocabulary = compute_word_piece_vocabulary(BATS, 16)
    assert len(vocabulary) == 16 and vocabulary[-1] == "bat"
    # The reserved tokens and the alphabet come first, even when that is all there is room for.
    assert compute_word_piece_vocabulary(BATS, 8) == list(DEFAULT_RESERVED_TOKENS) + ["a", "b", "m"]


def test_reserved_tokens_come_first_in_the_given_order():
    vocabulary = compute_word_piece_vocabulary(BATS, 20, reserved_tokens=["[UNK]", "<x>", "bat"])
    assert vocabulary[:3] == ["[UNK]", "<x>", "bat"]
    assert vocabulary.count("bat") == 1
    assert compute_word_piece_vocabulary(BATS, 20, reserved_tokens=[])[:2] == ["a", "b"]


def test_normalization_options_apply_before_training():
    vocabulary = compute_word_piece_vocabulary(["Bat SAT Café"], 30, lowercase=True, reserved_tokens=["[UNK]"])
    assert "cafe" in vocabulary and "sat" in vocabulary
    assert not any(char.isupper() or char == "é" for token in vocabulary for char in token if token != "[UNK]")
    cased = compute_word_piece_vocabulary(["Bat SAT Café"], 30, reserved_tokens=["[UNK]"])
    assert "SAT" in cased and "é" in "".join(cased)
    stripped = compute_word_piece_vocabulary(["Café"], 30, strip_accents=True, reserved_tokens=["[UNK]"])
    assert "Cafe" in stripped and "é" not in "".join(stripped)


def test_cjk_characters_stay_single_unless_asked():
    assert "東京" not in compute_word_piece_vocabulary(["東京 東京 東京"], 30)
    assert "東京" in compute_word_piece_vocabulary(["東京 東京 東京"], 30, split_on_cjk=False)


def test_custom_suffix_indicator():
    vocabulary = compute_word_piece_vocabulary(["bat", "sat"], 30, reserved_tokens=["[UNK]"], suffix_indicator="@@")
    assert vocabulary == ["[UNK]", "a", "b", "s", "t", "@@a", "@@t", "@@at", "bat", "sat"]
    tokenizer = WordPieceTokenizer(vocabulary, suffix_indicator="@@")
    assert tokenizer.detokenize(tokenizer("bat tat")) == "bat tat"


def test_unsplit_words_and_word_lists():
    vocabulary = compute_word_piece_vocabulary([["new york", "new york"], "york"], 40, split=False, reserved_tokens=["[UNK]"])
    assert "new york" in vocabulary and "york" in vocabulary
    tokenizer = WordPieceTokenizer(vocabulary, split=False)
    assert [tokenizer.id_to_token(i) for i in tokenizer("new york")] == ["new york"]


def test_training_from_files_and_writing_the_vocabulary(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("bat sat\npat\n", encoding="utf-8")
    second.write_text("mat rat\n", encoding="utf-8")
    output = tmp_path / "vocab.txt"
    expected = compute_word_piece_vocabulary(BATS, 20)
    for data in ([first, second], [str(first), str(second)]):
        vocabulary = compute_word_piece_vocabulary(data, 20, vocabulary_output_file=output)
        assert vocabulary == expected
        assert output.read_text(encoding="utf-8") == "".join(token + "\n" for token in expected)
    assert compute_word_piece_vocabulary(first, 20)[:5] == list(DEFAULT_RESERVED_TOKENS)
    assert WordPieceTokenizer(output)("rat").tolist() == [expected.index("rat")]


def test_iterators_are_read_once():
    vocabulary = compute_word_piece_vocabulary((text for text in BATS * 3), 20)
    assert vocabulary == compute_word_piece_vocabulary(BATS, 20)


def test_strings_that_are_not_files_are_texts(tmp_path):
    (tmp_path / "a.txt").write_text("zzz", encoding="utf-8")
    # One item names a file, the other does not: both are texts.
    vocabulary = compute_word_piece_vocabulary([str(tmp_path / "a.txt"), "bat"], 60, reserved_tokens=["[UNK]"])
    assert "zzz" not in vocabulary and "bat" in vocabulary


def test_empty_corpus_gives_the_reserved_tokens():
    assert compute_word_piece_vocabulary([], 10) == list(DEFAULT_RESERVED_TOKENS)


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((BATS, 0), {}, ValueError, "`vocabulary_size` must be a positive integer"),
        ((BATS, 2.5), {}, ValueError, "`vocabulary_size` must be a positive integer"),
        ((BATS, 3), {}, ValueError, r"the 5 reserved tokens alone exceed it"),
        ((BATS, 10), dict(reserved_tokens=["[UNK]", "[UNK]"]), ValueError, "more than once"),
        ((BATS, 10), dict(reserved_tokens="[UNK]"), ValueError, "must be a list of strings"),
        ((BATS, 10), dict(reserved_tokens=["a\nb"]), ValueError, "without line breaks"),
        ((BATS, 10), dict(suffix_indicator=""), ValueError, "`suffix_indicator`"),
        ((["bat", 3], 10), {}, ValueError, r"Item 1 of `data` is a int"),
        ((None, 10), {}, ValueError, "`data` is None"),
        (("bat sat", 10), {}, ValueError, "single string that names no file"),
        ((42, 10), {}, ValueError, "must be a list or iterable"),
    ],
)
def test_bad_arguments_are_explained(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        compute_word_piece_vocabulary(*args, **kwargs)


def test_files_need_splitting_and_must_exist(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("bat", encoding="utf-8")
    with pytest.raises(ValueError, match="needs `split=True`"):
        compute_word_piece_vocabulary([path], 10, split=False)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        compute_word_piece_vocabulary([path, tmp_path / "missing.txt"], 10)


def test_trained_vocabulary_loads_in_the_tokenizers():
    from textbones.models.bert.tokenizer import BertTokenizer

    corpus = ["The quick brown fox jumps over the lazy dog.", "Über café, 東京 😀!", "[MASK] is typed here."] * 4
    vocabulary = compute_word_piece_vocabulary(corpus, 200, lowercase=True)
    tokenizer = BertTokenizer(vocabulary, lowercase=True, special_tokens_in_strings=True)
    ids = tokenizer(corpus)
    assert all(0 <= i < len(vocabulary) for row in ids for i in row)
    assert tokenizer.mask_token_id in ids[2]
    assert tokenizer.detokenize(ids[0]) == "the quick brown fox jumps over the lazy dog ."
    assert np.all([tokenizer.unk_token_id not in row for row in ids])
