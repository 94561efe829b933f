"""Tests of ``textbones/preprocessing/word_piece_tokenizer.py``.

Also home of ``varied_corpus()``, the deliberately awkward corpus (mixed case, accents,
CJK, punctuation, emoji, control and zero-width characters, typed ``[MASK]``, empty
strings, very long words, whitespace runs) that the parity tests reuse.
"""

import functools
import pickle
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import normalizers, pre_tokenizers

from textbones.preprocessing.tokenizer import Tokenizer
from textbones.preprocessing.word_piece_tokenizer import (
    MAX_CHARS_PER_WORD,
    WordPieceTokenizer,
    read_vocabulary_file,
)
from textbones.preprocessing.word_piece_vocabulary import compute_word_piece_vocabulary

# -- the varied corpus ------------------------------------------------------------------

#: Hand-written texts, each stressing one kind of input; ``varied_corpus`` also mixes them.
FRAGMENTS = (
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK Brown fOx, jumped!",
    "Café déjà vu, naïve Ångström façade in São Paulo; Dvořák's Škoda.",
    "ÉCOLE Élève İstanbul ıI straße STRASSE ﬁne ﬂow Σίσυφος ΌΣΟΣ",
    "e\u0301 decomposed vs é composed, n\u0303 and ñ",
    "東京は日本の首都です。BERT模型很好！",
    "안녕하세요 세계 ひらがな カタカナ 漢字",
    "Hello,world!!! (test) [brackets] {braces} \"quotes\" 'single' — dash… «guillemets» ¿qué? ¡sí!",
    "$100 ^caret `backtick` ~tilde | pipe @at #hash 50% a&b <tag/> back\\slash",
    "I ❤️ NY 😀👍🏽 👨\u200d👩\u200d👧 family, 🇫🇷 flag",
    "tab\there new\nline carriage\rreturn crlf\r\nend",
    "null\x00char bell\x07 esc\x1b[31mred\x1b[0m del\x7fete nel\x85line",
    "zero\u200bwidth join\u200cer zwj\u200dx word\u2060joiner \ufeffbom soft\u00adhyphen",
    "the [MASK] sat on the [MASK].",
    "[CLS] first [SEP] second [SEP]",
    "x[MASK]y [mask] [Mask] [UNK] [PAD][PAD] [MASK][MASK]",
    "",
    "   ",
    "\t\n \r\n",
    "a" * 150,
    "supercalifragilisticexpialidocious" * 4,
    "é" * 60,
    "x" * 100,
    "y" * 101,
    "東" * 120,
    "a     b\t\t\tc\n\n\nd",
    "a\u00a0b\u3000c\u2003d\u2028e\u2029f\u1680g\u202fh",
    "3.14 1,000,000 2nd 42nd 10km/h",
    "ＡＢＣ ｆｕｌｌｗｉｄｔｈ １２３",
    "مرحبا بالعالم שלום עולם",
    "नमस्ते दुनिया สวัสดีชาวโลก",
    "∑ ∫ √ ≤ ≥ ∞ € £ ¥ ₹ © ® ™ °C",
    "private\ue000use unassigned\U000e0001tag \U0010ffffend \ufffdreplacement",
    "x² H₂O ½ ⅓ Ⅻ ℌ ℃",
    "Ǆ ǅ ǆ ﬀ ẞ ß İ K Å Ω",
    "tést's can't won't o'clock rock'n'roll",
    "email@example.com https://example.org/path?q=1&r=2#frag",
    "Mixed CASE With Ünïcödé and 中文 and 😀 emoji [MASK] end",
    "Plain words only: the model reads text and predicts the masked word.",
    "Numbers 123 and words, in a sentence; with (some) punctuation!",
)


@functools.cache
def _varied_corpus(size: int, seed: int) -> tuple[str, ...]:
    rng = random.Random(seed)
    texts = list(FRAGMENTS)
    separators = [" ", "", "\n", "  ", "\t", "\u200b", "\u00a0", "[MASK]", " [MASK] ", ", "]
    while len(texts) < size:
        pieces = []
        for part in rng.sample(FRAGMENTS, rng.randint(1, 3)):
            words = part.split(" ")
            start = rng.randint(0, max(0, len(words) - 1))
            pieces.append(" ".join(words[start : start + rng.randint(1, 6)]))
        text = rng.choice(separators).join(pieces)
        if rng.random() < 0.3:
            text = text.upper() if rng.random() < 0.5 else text.lower()
        texts.append(text)
    return tuple(texts)


def varied_corpus(size: int = 400, seed: int = 0) -> list[str]:
    """``size`` texts: every fragment once, then seeded mixtures of pieces of them."""
    return list(_varied_corpus(size, seed))


BERT_RESERVED = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@functools.cache
def _trained_vocabulary(lowercase: bool) -> tuple[str, ...]:
    # The trainer reads text as KerasHub's does (NFKC case folding that keeps accents, words
    # split on ASCII whitespace); the tokenizer reads it as BERT does (accents stripped with
    # `lowercase`, words split on every space character). These tests are about the tokenizer,
    # so the corpus is first normalized and split as the tokenizer reads it.
    normalizer = normalizers.BertNormalizer(strip_accents=lowercase, lowercase=lowercase)
    splitter = pre_tokenizers.BertPreTokenizer()
    corpus = [
        " ".join(word for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
        for text in varied_corpus()
    ]
    return tuple(compute_word_piece_vocabulary(corpus, 600, reserved_tokens=BERT_RESERVED))


def trained_vocabulary(lowercase: bool) -> list[str]:
    """A vocabulary of at most 600 tokens trained on ``varied_corpus()`` (BERT's specials first)."""
    return list(_trained_vocabulary(lowercase))


# -- handmade vocabulary ----------------------------------------------------------------

VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",  # 0-4
    "the", "qu", "##ick", "br", "##own", "fox",  # 5-10
    ".", ",", "!", "[", "]",  # 11-15
    "cafe", "café", "东", "京",  # 16-19
    "un", "##aff", "##able", "a", "b", "##b", "mask", "MASK",  # 20-27
]  # fmt: skip
ID = {token: index for index, token in enumerate(VOCAB)}
SPECIALS = ["[PAD]", "[CLS]", "[SEP]", "[MASK]"]


def ids(tokenizer, text) -> list[int]:
    output = tokenizer(text)
    assert isinstance(output, np.ndarray) and output.dtype == np.int32 and output.ndim == 1
    return output.tolist()


@pytest.mark.parametrize(
    "text, lowercase, expected",
    [
        ("the quick brown fox.", False, ["the", "qu", "##ick", "br", "##own", "fox", "."]),
        ("The QUICK Brown FOX!", True, ["the", "qu", "##ick", "br", "##own", "fox", "!"]),
        ("The QUICK Brown FOX!", False, ["[UNK]", "[UNK]", "[UNK]", "[UNK]", "!"]),
        ("Café", True, ["cafe"]),
        ("café", False, ["café"]),
        ("Café", False, ["[UNK]"]),
        ("东京", False, ["东", "京"]),
        ("unaffable", False, ["un", "##aff", "##able"]),
        ("ab a b", False, ["a", "##b", "a", "b"]),
        ("thex xyz", False, ["[UNK]", "[UNK]"]),
        ("fox,the!fox", False, ["fox", ",", "the", "!", "fox"]),
        ("  the \t\n fox  ", False, ["the", "fox"]),
        # Control and zero-width characters are dropped, joining what they separated.
        ("qu\u200bick qu\x00ick qu\u00adick", False, ["qu", "##ick"] * 3),
        # Any Unicode whitespace separates words.
        ("the\u00a0fox\u3000the\u2003fox", False, ["the", "fox", "the", "fox"]),
        # Typed special tokens are split like words unless asked otherwise.
        ("the [MASK].", False, ["the", "[", "MASK", "]", "."]),
        ("the [MASK].", True, ["the", "[", "mask", "]", "."]),
    ],
)
def test_exact_ids_on_handmade_vocabulary(text, lowercase, expected):
    tokenizer = WordPieceTokenizer(VOCAB, lowercase=lowercase)
    assert ids(tokenizer, text) == [ID[token] for token in expected]


def test_strip_accents_without_lowercase():
    tokenizer = WordPieceTokenizer(VOCAB, strip_accents=True)
    assert ids(tokenizer, "café Café") == [ID["cafe"], ID["[UNK]"]]


def test_cjk_stays_one_word_without_split_on_cjk():
    assert ids(WordPieceTokenizer(VOCAB, split_on_cjk=False), "东京") == [ID["[UNK]"]]
    assert ids(WordPieceTokenizer(VOCAB + ["##京"], split_on_cjk=False), "东京") == [
        ID["东"],
        len(VOCAB),
    ]


def test_split_false_takes_each_string_as_one_word():
    tokenizer = WordPieceTokenizer(["[UNK]", "the", "##fox"], split=False)
    # A batch is a list of examples, each a list of words, as in KerasHub.
    assert tokenizer([["thefox"], ["the fox"], ["the"], [""]]) == [[1, 2], [0], [1], []]
    assert tokenizer.get_config()["split"] is False


def test_split_false_reads_a_flat_list_as_the_words_of_one_example():
    vocabulary = ["[PAD]", "[UNK]", "the", "qu", "##ick", "fox"]
    tokenizer = WordPieceTokenizer(vocabulary, split=False)
    single = tokenizer(["quick", "the"])
    assert isinstance(single, np.ndarray) and single.dtype == np.int32
    assert single.tolist() == [3, 4, 2]
    assert tokenizer("quick").tolist() == [3, 4]
    assert tokenizer(np.array(["quick", "fox"])).tolist() == [3, 4, 5]
    assert tokenizer([["quick", "the"], ["fox"]]) == [[3, 4, 2], [5]]
    assert tokenizer(np.array([["quick", "fox"], ["the", "the"]])) == [[3, 4, 5], [2, 2]]
    assert tokenizer([]) == []
    padded = WordPieceTokenizer(vocabulary, split=False, sequence_length=4)
    assert padded(["quick", "the"]).tolist() == [3, 4, 2, 0]
    assert padded([["quick", "the"], ["fox"]]).tolist() == [[3, 4, 2, 0], [5, 0, 0, 0]]
    strings = WordPieceTokenizer(vocabulary, split=False, dtype="string", sequence_length=4)
    assert strings([["quick"], ["fox"]]) == [["qu", "##ick", "", ""], ["fox", "", "", ""]]
    with pytest.raises(ValueError, match="item 1 of the batch is a int"):
        tokenizer([["quick", 3]])


def test_custom_suffix_indicator_and_oov_token():
    tokenizer = WordPieceTokenizer(
        ["<unk>", "un", "@@aff", "@@able", "##aff"], suffix_indicator="@@", oov_token="<unk>"
    )
    assert ids(tokenizer, "unaffable un zzz") == [1, 2, 3, 1, 0]
    assert tokenizer.detokenize([1, 2, 3, 1]) == "unaffable un"


def test_words_longer_than_the_limit_become_oov():
    tokenizer = WordPieceTokenizer(VOCAB)
    limit = MAX_CHARS_PER_WORD
    assert limit == 100
    assert ids(tokenizer, "a" + "b" * (limit - 1)) == [ID["a"]] + [ID["##b"]] * (limit - 1)
    assert ids(tokenizer, "a" + "b" * limit) == [ID["[UNK]"]]
    # The limit counts characters, not UTF-8 bytes (as BertTokenizerFast does).
    assert ids(WordPieceTokenizer(["[UNK]", "é", "##é"]), "é" * limit) == [1] + [2] * (limit - 1)


def test_special_tokens_in_strings_keeps_listed_tokens_whole():
    tokenizer = WordPieceTokenizer(
        VOCAB, special_tokens=SPECIALS, special_tokens_in_strings=True, lowercase=True
    )
    assert ids(tokenizer, "The [MASK].") == [ID["the"], ID["[MASK]"], ID["."]]
    assert ids(tokenizer, "a[MASK]b[CLS]") == [ID["a"], ID["[MASK]"], ID["b"], ID["[CLS]"]]
    # Matched as typed, before lowercasing: a lowercase "[mask]" is ordinary text.
    assert ids(tokenizer, "[mask]") == [ID["["], ID["mask"], ID["]"]]
    # Tokens that are not listed are split as usual.
    assert ids(tokenizer, "[UNK]") == [ID["["], ID["[UNK]"], ID["]"]]
    assert tokenizer.special_tokens == SPECIALS
    assert tokenizer.special_token_ids == [0, 2, 3, 4]


# -- shapes and types -------------------------------------------------------------------


def test_batch_gives_python_lists_of_ints_as_keras_hub():
    tokenizer = WordPieceTokenizer(VOCAB)
    output = tokenizer(["the fox", "", "unaffable"])
    assert output == [[5, 10], [], [20, 21, 22]]
    assert all(type(row) is list and all(type(i) is int for i in row) for row in output)
    assert tokenizer(("the",)) == [[5]]
    assert tokenizer(np.array(["the", "fox"])) == [[5], [10]]
    assert tokenizer([]) == []


def test_string_dtype_gives_token_strings():
    tokenizer = WordPieceTokenizer(VOCAB, dtype="string")
    assert tokenizer("the fox zzz") == ["the", "fox", "[UNK]"]
    assert tokenizer(["unaffable", ""]) == [["un", "##aff", "##able"], []]
    assert tokenizer("") == []
    padded = WordPieceTokenizer(VOCAB, dtype="string", sequence_length=3)
    assert padded("the") == ["the", "", ""]
    assert padded(["the fox", "the quick brown fox"]) == [
        ["the", "fox", ""],
        ["the", "qu", "##ick"],
    ]
    assert padded([]) == []
    assert tokenizer.get_config()["dtype"]["config"]["name"] == "string"
    copy = WordPieceTokenizer.from_config({**tokenizer.get_config(), "vocabulary": VOCAB})
    assert copy("fox") == ["fox"]
    # Token strings read back, their "" padding dropped.
    assert tokenizer.detokenize(["un", "##aff", "##able"]) == "unaffable"
    assert tokenizer.detokenize(padded(["the fox", "the"])) == ["the fox", "the"]
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tokenizer.detokenize(["nope"])
    with pytest.raises(ValueError, match="not both in one call"):
        tokenizer.detokenize([["the"], [5]])


@pytest.mark.parametrize("dtype", ["float32", "bool", "nonsense"])
def test_dtype_must_be_an_integer_or_string(dtype):
    with pytest.raises(
        ValueError, match=r'must be an integer dtype \(such as "int32"\) or "string"'
    ):
        WordPieceTokenizer(VOCAB, dtype=dtype)
    assert WordPieceTokenizer(VOCAB, dtype="int64")("fox").dtype == np.int64


def test_sequence_length_pads_and_truncates():
    tokenizer = WordPieceTokenizer(VOCAB, sequence_length=5)
    output = tokenizer(["the fox", "the quick brown fox.", ""])
    assert output.dtype == np.int32 and output.shape == (3, 5)
    assert output.tolist() == [[5, 10, 0, 0, 0], [5, 6, 7, 8, 9], [0] * 5]
    single = tokenizer("fox")
    assert single.shape == (5,) and single.tolist() == [10, 0, 0, 0, 0]
    assert tokenizer([]).shape == (0, 5)


def test_single_and_empty_strings():
    tokenizer = WordPieceTokenizer(VOCAB)
    assert tokenizer("").shape == (0,) and tokenizer("").dtype == np.int32
    assert tokenizer(" \t\n\u200b").tolist() == []
    assert tokenizer(b"the fox").tolist() == [5, 10]


def test_lone_surrogates_do_not_raise():
    tokenizer = WordPieceTokenizer(VOCAB)
    assert tokenizer("the\ud800 fox").tolist() == [5, 10]
    # A well-formed surrogate pair is the character it encodes.
    assert tokenizer("\ud83d\ude00").tolist() == tokenizer("😀").tolist() == [1]


# -- detokenize -------------------------------------------------------------------------


def test_detokenize_joins_words_and_merges_continuations():
    tokenizer = WordPieceTokenizer(VOCAB, lowercase=True)
    assert tokenizer.detokenize([5, 6, 7, 8, 9, 10, 11]) == "the quick brown fox ."
    assert tokenizer.detokenize(np.array([20, 21, 22], "int32")) == "unaffable"
    assert tokenizer.detokenize(np.array([], "int32")) == ""
    assert tokenizer.detokenize([]) == ""  # one empty row, as KerasHub reads it
    assert tokenizer.detokenize(5) == "the"
    assert tokenizer.detokenize([7, 5]) == "##ick the"  # a leading continuation stays as is
    padded = WordPieceTokenizer(VOCAB, sequence_length=4)(["the fox", "unaffable"])
    assert tokenizer.detokenize(padded) == ["the fox [PAD] [PAD]", "unaffable [PAD]"]
    assert tokenizer.detokenize([[5], [10, 11]]) == ["the", "fox ."]


def test_detokenize_round_trips_where_the_vocabulary_allows():
    tokenizer = WordPieceTokenizer(VOCAB, lowercase=True)
    text = "The QUICK brown fox, unaffable café!"
    tokens = tokenizer(text)
    assert ID["[UNK]"] not in tokens.tolist()
    assert tokenizer.detokenize(tokens) == "the quick brown fox , unaffable cafe !"
    assert tokenizer(tokenizer.detokenize(tokens)).tolist() == tokens.tolist()


def test_detokenize_rejects_ids_outside_the_vocabulary():
    tokenizer = WordPieceTokenizer(VOCAB)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokenizer.detokenize([5, len(VOCAB)])
    with pytest.raises(ValueError, match="integer ids"):
        tokenizer.detokenize(np.array([1.5]))


# -- vocabulary access ------------------------------------------------------------------


def test_vocabulary_lookups():
    tokenizer = WordPieceTokenizer(VOCAB)
    assert tokenizer.get_vocabulary() == VOCAB
    tokenizer.get_vocabulary().append("changed")  # a copy: the tokenizer is untouched
    assert tokenizer.vocabulary_size() == len(VOCAB) == 28
    assert tokenizer.id_to_token(7) == "##ick"
    assert tokenizer.token_to_id("fox") == 10
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tokenizer.token_to_id("wolf")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokenizer.id_to_token(28)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokenizer.id_to_token(-1)
    assert tokenizer.special_tokens == [] and tokenizer.pad_token_id == 0


def test_vocabulary_from_a_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes("\r\n".join(VOCAB).encode("utf-8") + b"\r\n")  # Windows line ends
    assert read_vocabulary_file(path) == VOCAB
    for source in (path, str(path)):
        assert WordPieceTokenizer(source).get_vocabulary() == VOCAB
    (tmp_path / "spaces.txt").write_text("[UNK]\n a \n", encoding="utf-8")
    assert read_vocabulary_file(tmp_path / "spaces.txt") == ["[UNK]", " a "]


def test_set_vocabulary_replaces_everything():
    tokenizer = WordPieceTokenizer(VOCAB)
    tokenizer.set_vocabulary(["[UNK]", "fox", "the"])
    assert tokenizer("the fox").tolist() == [2, 1]
    assert tokenizer.token_to_id("the") == 2 and tokenizer.detokenize([2, 1]) == "the fox"
    with pytest.raises(ValueError, match="twice"):
        tokenizer.set_vocabulary(["[UNK]", "a", "a"])
    assert tokenizer.get_vocabulary() == ["[UNK]", "fox", "the"]  # a failed set changes nothing


# -- serialization and presets ----------------------------------------------------------


def test_config_round_trip_then_load_assets(tmp_path):
    tokenizer = WordPieceTokenizer(
        VOCAB,
        sequence_length=7,
        lowercase=True,
        strip_accents=True,
        split_on_cjk=False,
        suffix_indicator="##",
        special_tokens=["[MASK]"],
        special_tokens_in_strings=True,
        name="pieces",
    )
    config = tokenizer.get_config()
    assert config["vocabulary"] is None and config["split_on_cjk"] is False
    assert config["special_tokens"] == ["[MASK]"] and config["name"] == "pieces"
    copy = WordPieceTokenizer.from_config(config)
    with pytest.raises(ValueError, match="has no vocabulary yet"):
        copy("the fox")
    tokenizer.save_assets(tmp_path)
    assert (tmp_path / "vocabulary.txt").read_text(encoding="utf-8") == "".join(
        t + "\n" for t in VOCAB
    )
    copy.load_assets(tmp_path)
    text = ["The [MASK] 东京 café", "unaffable"]
    assert copy(text).tolist() == tokenizer(text).tolist()
    assert copy.get_config() == config


def test_split_on_cjk_appears_in_the_config_only_when_off():
    assert "split_on_cjk" not in WordPieceTokenizer(VOCAB).get_config()


def test_preset_round_trip_through_the_base_class(tmp_path):
    tokenizer = WordPieceTokenizer(VOCAB, lowercase=True, sequence_length=6)
    tokenizer.save_to_preset(tmp_path / "preset")
    assert (tmp_path / "preset" / "assets" / "tokenizer" / "vocabulary.txt").is_file()
    loaded = Tokenizer.from_preset(tmp_path / "preset")
    assert type(loaded) is WordPieceTokenizer
    assert loaded.get_config() == tokenizer.get_config()
    texts = ["The quick brown fox.", "UNAFFABLE", ""]
    np.testing.assert_array_equal(loaded(texts), tokenizer(texts))
    # Saving again over the preset replaces the file, never edits a shared hard link.
    WordPieceTokenizer(VOCAB[:12]).save_to_preset(tmp_path / "preset")
    assert Tokenizer.from_preset(tmp_path / "preset").vocabulary_size() == 12


def test_missing_assets_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocabulary.txt"):
        WordPieceTokenizer().load_assets(tmp_path)


def test_pickles_for_worker_processes():
    tokenizer = WordPieceTokenizer(
        VOCAB, lowercase=True, special_tokens=["[MASK]"], special_tokens_in_strings=True
    )
    copy = pickle.loads(pickle.dumps(tokenizer))
    assert copy("The [MASK] fox").tolist() == tokenizer("The [MASK] fox").tolist() == [5, 4, 10]


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "inputs, message",
    [
        (None, "got None"),
        (42, "takes a string or a list of strings"),
        (["the", 3], r"item 1 of the batch is a int \(3\)"),
        (["the", None], "item 1 of the batch is a NoneType"),
        ([["nested"]], "item 0 of the batch is a list"),
    ],
)
def test_bad_inputs_are_named(inputs, message):
    with pytest.raises(ValueError, match=message):
        WordPieceTokenizer(VOCAB)(inputs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(vocabulary=["the", "fox"]),
            r"no '\[UNK\]' \(the `oov_token`\).*Add '\[UNK\]' to the vocabulary",
        ),
        (
            dict(vocabulary=VOCAB, oov_token="<unk>"),
            r"no '<unk>'.*pass a `oov_token` the vocabulary has",
        ),
        (dict(vocabulary=VOCAB, special_tokens=["<s>"]), r"no '<s>' \(the `special_tokens`\)"),
        (dict(vocabulary=[]), "is empty"),
        (
            dict(vocabulary=["[UNK]", "a", "b", "a", "b"]),
            r"2 token\(s\) twice: 'a' \(ids 1 and 3\), 'b' \(ids 2 and 4\)",
        ),
        (dict(vocabulary=["[UNK]", 7]), "entry 1 of the vocabulary is a int"),
        (dict(vocabulary=["[UNK]", "a\nb"]), "line break"),
        (dict(vocabulary=42), "must be a list of token strings or the path"),
        (dict(vocabulary=VOCAB, sequence_length=0), "positive integer"),
        (dict(vocabulary=VOCAB, sequence_length=-3), "positive integer"),
        (dict(vocabulary=VOCAB, sequence_length=2.5), "positive integer"),
        (dict(vocabulary=VOCAB, sequence_length="8"), "positive integer"),
        (dict(vocabulary=VOCAB, sequence_length=True), "positive integer"),
        (dict(vocabulary=VOCAB, oov_token=None), "`oov_token` must be a non-empty string"),
        (
            dict(vocabulary=VOCAB, suffix_indicator=""),
            "`suffix_indicator` must be a non-empty string",
        ),
        (dict(vocabulary=VOCAB, special_tokens="[MASK]"), "`special_tokens` must be a list"),
    ],
)
def test_bad_construction_is_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WordPieceTokenizer(**kwargs)


def test_missing_vocabulary_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="No vocabulary file at .*nowhere.txt"):
        WordPieceTokenizer(tmp_path / "nowhere.txt")


def test_unknown_arguments_are_refused():
    with pytest.raises(TypeError, match="unexpected argument"):
        WordPieceTokenizer(VOCAB, lower_case=True)


def test_options_are_read_only():
    tokenizer = WordPieceTokenizer(VOCAB)
    with pytest.raises(AttributeError):
        tokenizer.lowercase = True


# -- the varied corpus with a trained vocabulary ----------------------------------------


@pytest.mark.parametrize("lowercase", [False, True])
def test_varied_corpus_with_a_trained_vocabulary(lowercase):
    corpus = varied_corpus()
    vocabulary = trained_vocabulary(lowercase)
    size = len(vocabulary)
    # The trainer is KerasHub's deterministic learner: the sizes are exact.
    assert size == (448 if lowercase else 589) and len(set(vocabulary)) == size
    plain = WordPieceTokenizer(vocabulary, lowercase=lowercase)
    keep = WordPieceTokenizer(
        vocabulary,
        lowercase=lowercase,
        special_tokens=BERT_RESERVED,
        special_tokens_in_strings=True,
    )
    unk, mask = vocabulary.index("[UNK]"), vocabulary.index("[MASK]")
    rows, kept_rows = plain(corpus), keep(corpus)
    for text, row, kept in zip(corpus, rows, kept_rows):
        assert all(0 <= i < size for i in row)
        if not text.strip(" \t\n\r"):
            assert row == []
        assert (mask in row) is False  # typed "[MASK]" is split when not asked
        assert kept.count(mask) == text.count("[MASK]")
        if unk not in row:
            # Whatever the vocabulary spells, detokenize then tokenize gives it back.
            assert plain(plain.detokenize(row)).tolist() == row, repr(text)
    # The very long words are one out-of-vocabulary token each.
    assert plain("a" * 150).tolist() == [unk] and plain("y" * 101).tolist() == [unk]
    assert (
        plain("東" * 120).tolist() == [vocabulary.index("東")] * 120
    )  # CJK: one word per character
    # Most of the corpus is spelled without falling back to [UNK].
    spelled = sum(unk not in row for row in rows)
    assert spelled > 0.6 * len(corpus)


def test_lowercase_strips_accents_and_cleans_control_characters():
    vocabulary = trained_vocabulary(True)
    tokenizer = WordPieceTokenizer(vocabulary, lowercase=True)
    assert tokenizer("CAFÉ Ångström").tolist() == tokenizer("cafe angstrom").tolist()
    assert tokenizer("zero\u200bwidth").tolist() == tokenizer("zerowidth").tolist()
    assert tokenizer("A\u00a0B").tolist() == tokenizer("a b").tolist()


# -- properties -------------------------------------------------------------------------

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def _tokenizer(
    lowercase: bool, special_tokens_in_strings: bool, sequence_length=None
) -> WordPieceTokenizer:
    return WordPieceTokenizer(
        trained_vocabulary(lowercase),
        lowercase=lowercase,
        sequence_length=sequence_length,
        special_tokens=BERT_RESERVED,
        special_tokens_in_strings=special_tokens_in_strings,
    )


@_SETTINGS
@given(text=st.text(), lowercase=st.booleans(), keep_specials=st.booleans())
def test_any_text_gives_ids_in_range(text, lowercase, keep_specials):
    tokenizer = _tokenizer(lowercase, keep_specials)
    row = tokenizer(text)
    assert row.dtype == np.int32 and row.ndim == 1
    assert ((row >= 0) & (row < tokenizer.vocabulary_size())).all()


@_SETTINGS
@given(
    texts=st.lists(st.text(st.characters(codec="utf-8"), max_size=80), max_size=6),
    sequence_length=st.integers(1, 24),
    lowercase=st.booleans(),
)
def test_padded_output_always_has_the_requested_shape(texts, sequence_length, lowercase):
    tokenizer = _tokenizer(lowercase, True, sequence_length)
    batch = tokenizer(texts)
    assert batch.shape == (len(texts), sequence_length) and batch.dtype == np.int32
    assert ((batch >= 0) & (batch < tokenizer.vocabulary_size())).all()
    ragged = _tokenizer(lowercase, True)(texts)
    for row, full in zip(batch, ragged):
        kept = min(len(full), sequence_length)
        assert row[:kept].tolist() == full[:kept]
        assert (row[kept:] == 0).all()


_WHOLE_WORDS = [
    token
    for token in trained_vocabulary(False)
    if not token.startswith("##")
    and token not in BERT_RESERVED
    # The trainer splits on ASCII whitespace as KerasHub's does, so a word may hold another
    # space character, which the tokenizer splits on (BERT's rule): not a whole word there.
    and not any(char.isspace() or not char.isprintable() for char in token)
]


@_SETTINGS
@given(words=st.lists(st.sampled_from(_WHOLE_WORDS), max_size=12))
def test_vocabulary_words_map_to_their_own_ids(words):
    tokenizer = _tokenizer(False, False)
    text = " ".join(words)
    assert tokenizer(text).tolist() == [tokenizer.token_to_id(word) for word in words]
    assert tokenizer.detokenize(tokenizer(text)) == text


def test_module_corpus_is_deterministic():
    assert varied_corpus() == varied_corpus()
    assert len(varied_corpus()) == 400 and varied_corpus(60, seed=1)[: len(FRAGMENTS)] == list(
        FRAGMENTS
    )


def test_detokenize_reads_what_keras_hub_reads_and_names_the_rest():
    tokenizer = WordPieceTokenizer(VOCAB)
    assert tokenizer.detokenize(np.array(5)) == "the"
    assert tokenizer.detokenize(np.array([[5, 10], [10, 5]])) == ["the fox", "fox the"]
    assert tokenizer.detokenize((np.array([5]), [10])) == ["the", "fox"]
    with pytest.raises(ValueError, match=r"got the single string 'the'; wrap it in a list"):
        tokenizer.detokenize("the")
    with pytest.raises(ValueError, match=r"takes 1-D or 2-D input, got shape \(1, 1, 1\)"):
        tokenizer.detokenize(np.zeros((1, 1, 1), dtype=int))
    with pytest.raises(ValueError, match=r"integer ids \(or token strings\), got dtype float64"):
        tokenizer.detokenize(np.array([1.5]))
    with pytest.raises(
        ValueError, match="takes a row of ids, a batch of rows or a NumPy array, got dict"
    ):
        tokenizer.detokenize({"ids": [1]})
