"""Tests of ``textbones/preprocessing/word_piece_vocabulary.py``.

The expected lists are KerasHub 0.32's (TensorFlow Text's learner) for the same corpus;
``tests/parity/test_vocabulary_trainers_parity.py`` checks them against KerasHub itself.
"""

import numpy as np
import pytest

from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer
from textbones.preprocessing.word_piece_vocabulary import (
    DEFAULT_RESERVED_TOKENS,
    compute_word_piece_vocabulary,
)

learn = compute_word_piece_vocabulary

BATS = ["bat sat pat mat rat"]
BAAS = ["baa maa caa saa aaa"]
RESERVED = list(DEFAULT_RESERVED_TOKENS)


def test_small_corpus_exact_vocabulary():
    vocabulary = learn(BATS, 13)
    assert vocabulary == RESERVED + ["a", "b", "m", "p", "r", "s", "t", "##at"]
    tokenizer = WordPieceTokenizer(vocabulary)
    assert tokenizer("bat sat").tolist() == [6, 12, 10, 12]
    assert learn(BAAS, 8, reserved_tokens=[]) == [
        "a", "b", "c", "m", "s", "##aa", "##a", "##b",
    ]  # fmt: skip


def test_pieces_follow_the_count_threshold():
    # Counts below the search's floor (10) give a threshold of (max count + 10) // 2.
    corpus = ["the cat sat on the mat"] * 12 + ["bat"]
    vocabulary = learn(corpus, 30, reserved_tokens=["[UNK]"])
    # Threshold 11: whole words seen 12 times are pieces, "bat" (once) is not.
    assert vocabulary == [
        "[UNK]", "a", "b", "c", "e", "h", "m", "n", "o", "s", "t",
        "the", "cat", "mat", "on", "sat",
        "##a", "##b", "##c", "##e", "##h", "##m", "##n", "##o", "##s", "##t",
    ]  # fmt: skip
    assert learn(corpus, 30, reserved_tokens=["[UNK]"]) == vocabulary


def test_vocabulary_size_is_a_ceiling_and_cuts_the_reserved_tokens():
    corpus = ["bat sat pat mat rat", "the cat sat on the mat"]
    vocabulary = learn(corpus, 20)
    assert vocabulary == RESERVED + list("abcehmnoprst") + ["##at", "##a", "##b"]
    assert learn(corpus, 8) == RESERVED + ["a", "b", "c"]
    # Below the number of reserved tokens the list is cut there too, as KerasHub cuts it.
    assert learn(corpus, 3) == ["[PAD]", "[CLS]", "[SEP]"]


def test_reserved_tokens_come_first_each_once():
    vocabulary = learn(BATS, 20, reserved_tokens=["[UNK]", "<x>", "bat"])
    assert vocabulary[:3] == ["[UNK]", "<x>", "bat"]
    assert vocabulary.count("bat") == 1
    assert learn(BATS, 20, reserved_tokens=[])[:2] == ["a", "b"]
    # Repeats keep their first place, as in KerasHub; a reserved character is not repeated.
    corpus = ["bat sat pat mat rat", "the cat sat on the mat"]
    assert learn(corpus, 20, reserved_tokens=["[UNK]", "[UNK]", "a"]) == [
        "[UNK]", "a", "b", "c", "e", "h", "m", "n", "o", "p", "r", "s", "t",
        "##at", "##a", "##b", "##c", "##e", "##h", "##m",
    ]  # fmt: skip


def test_reserved_words_and_long_words_are_not_learned_from():
    long_line = "The learner requires at least one input here, but this should be removed."
    tokens = ["token1", "token2", "token3", "token4"]
    assert learn([long_line], 20, reserved_tokens=tokens, split=False) == tokens
    assert learn([long_line], 20, split=False, reserved_tokens=[]) == []
    vocabulary = learn(["[UNK]"] * 20, 20, split=False, reserved_tokens=["[UNK]"])
    assert vocabulary == ["[UNK]"]


def test_lowercase_case_folds_without_stripping_accents():
    assert learn(["BaA Maa Caa Saa AAa"], 8, lowercase=True, reserved_tokens=[]) == [
        "a", "b", "c", "m", "s", "##aa", "##a", "##b",
    ]  # fmt: skip
    assert learn(["BAA MAA CAA SAA AAA"], 8, reserved_tokens=[]) == [
        "A", "B", "C", "M", "S", "##AA", "##A", "##B",
    ]  # fmt: skip
    folded = learn(["Straße Café"] * 12, 40, lowercase=True, reserved_tokens=[])
    assert folded[:10] == ["a", "c", "e", "f", "r", "s", "t", "é", "café", "strasse"]


def test_strip_accents():
    corpus = ["áááá éááá íááá óááá úááá"]
    assert learn(corpus, 8, strip_accents=True, reserved_tokens=[]) == [
        "a", "e", "i", "o", "u", "##aaa", "##a", "##e",
    ]  # fmt: skip
    assert learn(corpus, 8, reserved_tokens=[]) == [
        "á", "é", "í", "ó", "ú", "##ááá", "##á", "##é",
    ]  # fmt: skip


def test_splitting_rules():
    whole = learn(["This string: would be split up."], 20)
    words = ["This", "string", ":", "would", "be", "split", "up", "."]
    assert learn(words, 20, split=False) == whole
    assert learn(["ah半推zz"], 4) == learn(
        ["ah", "半", "推", "zz"], 4, split=False, split_on_cjk=False
    )
    # Only ASCII whitespace separates words (KerasHub's pattern): a no-break space does not.
    vocabulary = learn(["ab\u00a0cd"] * 12, 40, reserved_tokens=[])
    assert "ab\u00a0cd" in vocabulary
    joined = learn(["東京"] * 12, 30, split_on_cjk=False, reserved_tokens=[])
    assert "東京" in joined
    assert "東京" not in learn(["東京"] * 12, 30, reserved_tokens=[])


def test_custom_suffix_indicator():
    vocabulary = learn(BAAS, 8, suffix_indicator="@@", reserved_tokens=[])
    assert vocabulary == ["a", "b", "c", "m", "s", "@@aa", "@@a", "@@b"]
    tokenizer = WordPieceTokenizer(["[UNK]", *vocabulary], suffix_indicator="@@")
    assert tokenizer.detokenize(tokenizer("baa caa")) == "baa caa"


def test_unsplit_words_and_word_lists():
    corpus = [["new york"] * 6, "york"] + ["new york"] * 6
    vocabulary = learn(corpus, 40, split=False, reserved_tokens=["[UNK]"])
    assert "new york" in vocabulary
    tokenizer = WordPieceTokenizer(vocabulary, split=False)
    assert [tokenizer.id_to_token(i) for i in tokenizer("new york")] == ["new york"]


def test_pieces_with_line_breaks_are_left_out():
    # KerasHub would list "\n", "a\nb" and "##\n", which no vocabulary file can hold.
    vocabulary = learn(["a\nb"] * 12, 30, split=False, reserved_tokens=[])
    assert vocabulary == ["a", "b", "##a", "##b"]


def test_training_from_files_and_writing_the_vocabulary(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("bat sat\npat\n", encoding="utf-8")
    second.write_text("mat rat\n", encoding="utf-8")
    output = tmp_path / "vocab.txt"
    expected = learn(BATS, 13)
    for data in ([first, second], [str(first), str(second)]):
        vocabulary = learn(data, 13, vocabulary_output_file=output)
        assert vocabulary == expected
        assert output.read_text(encoding="utf-8") == "".join(token + "\n" for token in expected)
    assert learn(first, 20)[:5] == RESERVED
    rat = [expected.index("r"), expected.index("##at")]
    assert WordPieceTokenizer(output)("rat").tolist() == rat


def test_iterators_and_arrays():
    assert learn((text for text in BATS * 3), 20) == learn(BATS * 3, 20)
    assert learn(np.array(BATS), 13) == learn(BATS, 13)
    assert learn([b"bat sat pat mat rat"], 13) == learn(BATS, 13)


def test_strings_that_are_not_files_are_texts(tmp_path):
    (tmp_path / "a.txt").write_text("zzz", encoding="utf-8")
    # One item names a file, the other does not: both are texts.
    corpus = [str(tmp_path / "a.txt")] * 12 + ["bat"]
    vocabulary = learn(corpus, 60, reserved_tokens=["[UNK]"])
    assert "zzz" not in vocabulary and "a.txt" not in vocabulary and "txt" in vocabulary


def test_empty_corpus_gives_the_reserved_tokens():
    assert learn([], 10) == RESERVED
    assert learn([], 2) == RESERVED[:2]


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((BATS, 0), {}, ValueError, "`vocabulary_size` must be a positive integer"),
        ((BATS, 2.5), {}, ValueError, "`vocabulary_size` must be a positive integer"),
        ((BATS, 10), dict(reserved_tokens="[UNK]"), ValueError, "must be a list of strings"),
        ((BATS, 10), dict(reserved_tokens=["a\nb"]), ValueError, "without line breaks"),
        ((BATS, 10), dict(suffix_indicator=""), ValueError, "`suffix_indicator`"),
        ((["bat", 3], 10), {}, ValueError, r"Item 1 of `data` is a int"),
        ((None, 10), {}, ValueError, "`data` is None"),
        (("bat sat", 10), {}, ValueError, "single string that names no file"),
        ((42, 10), {}, ValueError, "must be a tf.data.Dataset of strings, or a list"),
        (({"text": ["bat"]}, 10), {}, ValueError, r"not a dict\. Pass the texts themselves"),
    ],
)
def test_bad_arguments_are_explained(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        learn(*args, **kwargs)


def test_files_need_splitting_and_must_exist(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("bat", encoding="utf-8")
    for data in ([path], [str(path)], path):
        with pytest.raises(ValueError, match="needs `split=True`"):
            learn(data, 10, split=False)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        learn([path, tmp_path / "missing.txt"], 10)


def test_trained_vocabulary_loads_in_the_tokenizers():
    from textbones.models.bert.tokenizer import BertTokenizer

    corpus = [
        "The quick brown fox jumps over the lazy dog.",
        "Über café, 東京 😀!",
        "[MASK] is typed here.",
    ] * 4
    vocabulary = learn(corpus, 200, lowercase=True)
    tokenizer = BertTokenizer(vocabulary, lowercase=True, special_tokens_in_strings=True)
    ids = tokenizer(corpus)
    assert all(0 <= i < len(vocabulary) for row in ids for i in row)
    assert tokenizer.mask_token_id in ids[2]
    assert tokenizer.detokenize(ids[0]) == "the quick brown fox jumps over the lazy dog ."
    assert np.all([tokenizer.unk_token_id not in row for row in ids])
