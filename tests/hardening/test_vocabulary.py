"""Vocabularies are checked at load (issue 11, section 3 third bullet; section 5, non-UTF-8
``vocabulary.txt``): a tokenizer larger than the backbone's embedding table, an empty line
in ``vocabulary.txt`` (every later id one off), a file that is not UTF-8 and repeated tokens
are refused, each naming the file (and line) and the fix, without echoing the file's content.
"""

import re
import shutil

import pytest

from tests.helpers.sentence_piece import tiny_proto
from textbones.models import (
    AlbertBackbone,
    AlbertTextClassifier,
    AlbertTextClassifierPreprocessor,
    AlbertTokenizer,
    BertBackbone,
    BertMaskedLM,
    BertTextClassifier,
    BertTextClassifierPreprocessor,
    BertTokenizer,
    MaskedLM,
    TextClassifier,
)
from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer, read_vocabulary_file
from textbones.tokenizers import Tokenizer

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "fox", "dog", "ran"]


def _backbone(vocabulary_size=len(VOCABULARY)):
    return BertBackbone(vocabulary_size, 1, 2, 8, 16, max_sequence_length=32)


def _write_lines(path, lines, ending="\n"):
    path.write_bytes("".join(line + ending for line in lines).encode("utf-8"))


@pytest.fixture(scope="module")
def classifier_preset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vocabulary") / "classifier"
    preprocessor = BertTextClassifierPreprocessor(
        BertTokenizer(vocabulary=VOCABULARY), sequence_length=16
    )
    BertTextClassifier(_backbone(), num_classes=2, preprocessor=preprocessor).save_to_preset(folder)
    return folder


def _copy(preset, tmp_path):
    target = tmp_path / preset.name
    shutil.copytree(preset, target)
    return target


# -- vocabulary larger than the embedding table ---------------------------------------------


def test_a_preset_whose_vocabulary_outgrows_the_embedding_is_refused(classifier_preset, tmp_path):
    folder = _copy(classifier_preset, tmp_path)
    vocabulary_file = folder / "assets" / "tokenizer" / "vocabulary.txt"
    _write_lines(vocabulary_file, VOCABULARY + ["cat", "sat"])
    for task_cls in (TextClassifier, MaskedLM):
        with pytest.raises(
            ValueError,
            match=rf"The BertTokenizer's vocabulary \({re.escape(str(vocabulary_file))}\) has 12 "
            r"tokens, but the BertBackbone's token embedding has 10 rows \(vocabulary_size=10, "
            rf"from {re.escape(str(folder / 'config.json'))}\): ids 10 to 11 would index past it\. "
            r"Use the tokenizer the backbone was trained with, or a backbone with "
            r"vocabulary_size >= 12\.",
        ):
            task_cls.from_preset(str(folder))
    # A smaller vocabulary leaves rows unused, which is harmless.
    _write_lines(vocabulary_file, VOCABULARY[:-1])
    task = TextClassifier.from_preset(str(folder))
    assert task.preprocessor.tokenizer.vocabulary_size() == 9


def test_a_task_built_or_given_a_larger_vocabulary_is_refused():
    larger = BertTextClassifierPreprocessor(BertTokenizer(vocabulary=VOCABULARY + ["cat"]))
    message = (
        r"The BertTokenizer's vocabulary has 11 tokens, but the BertBackbone's token embedding "
        r"has 10 rows \(vocabulary_size=10\): id 10 would index past it\."
    )
    with pytest.raises(ValueError, match=message):
        BertTextClassifier(_backbone(), num_classes=2, preprocessor=larger)
    task = BertMaskedLM(_backbone())
    with pytest.raises(ValueError, match=message):
        task.preprocessor = larger
    assert task.preprocessor is None
    task.preprocessor = BertTextClassifierPreprocessor(BertTokenizer(vocabulary=VOCABULARY))
    # The same check for a SentencePiece model.
    albert = AlbertTokenizer(proto=tiny_proto("albert"))
    with pytest.raises(
        ValueError,
        match=rf"The AlbertTokenizer's vocabulary has {albert.vocabulary_size()} tokens, but the "
        r"AlbertBackbone's token embedding has 10 rows",
    ):
        AlbertTextClassifier(
            AlbertBackbone(len(VOCABULARY), 1, 2, 8, 8, 16, max_sequence_length=32),
            num_classes=2,
            preprocessor=AlbertTextClassifierPreprocessor(albert),
        )


def test_an_archive_vocabulary_is_checked_once_loaded(tmp_path):
    # `.keras` loading builds the task before the tokenizer has its vocabulary.
    tokenizer = BertTokenizer()
    classifier = BertTextClassifier(
        _backbone(), num_classes=2, preprocessor=BertTextClassifierPreprocessor(tokenizer)
    )
    _write_lines(tmp_path / "vocabulary.txt", VOCABULARY + ["cat", "sat", "mat"])
    with pytest.raises(ValueError, match=r"has 13 tokens, but .* has 10 rows"):
        classifier.load_assets(tmp_path)


def test_a_transformers_vocabulary_larger_than_the_embedding_is_refused(tmp_path):
    folder = tmp_path / "hf"
    _backbone().save_to_preset(folder, format="transformers")
    _write_lines(folder / "vocab.txt", VOCABULARY + ["cat"])
    with pytest.raises(
        ValueError,
        match=rf"\({re.escape(str(folder / 'vocab.txt'))}\) has 11 tokens, but the BertBackbone's "
        rf"token embedding has 10 rows \(vocabulary_size=10, from "
        rf"{re.escape(str(folder / 'config.json'))}\)",
    ):
        MaskedLM.from_preset(folder)


# -- empty lines ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lines, number",
    [
        (VOCABULARY[:3] + [""] + VOCABULARY[3:], 4),  # inside: every later id one off
        (VOCABULARY + [""], 11),  # a second line break at the end
    ],
)
def test_an_empty_line_in_vocabulary_txt_is_refused(classifier_preset, tmp_path, lines, number):
    folder = _copy(classifier_preset, tmp_path)
    path = folder / "assets" / "tokenizer" / "vocabulary.txt"
    _write_lines(path, lines)
    message = (
        rf"Line {number} of the vocabulary file {re.escape(str(path))} is empty\. Every line must "
        r"hold one token \(a token's id is its line number minus one\), so an empty line gives "
        r"every token after it an id one higher than intended\. Delete the line\."
    )
    for loader in (Tokenizer, TextClassifier):
        with pytest.raises(ValueError, match=message):
            loader.from_preset(str(folder))


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_the_usual_file_endings_are_not_empty_lines(tmp_path, ending):
    path = tmp_path / "vocabulary.txt"
    _write_lines(path, VOCABULARY, ending)
    assert read_vocabulary_file(path) == VOCABULARY
    path.write_bytes(ending.join(VOCABULARY).encode("utf-8"))  # no break after the last token
    assert read_vocabulary_file(path) == VOCABULARY
    assert BertTokenizer(vocabulary=str(path))("the quick fox").tolist() == [5, 6, 7]


def test_an_empty_token_is_refused_before_it_can_be_saved():
    with pytest.raises(
        ValueError,
        match=r"WordPieceTokenizer: token 2 of the vocabulary \(''\) is empty, which a "
        r"one-token-per-line vocabulary file cannot store\. Remove or fix it\.",
    ):
        WordPieceTokenizer(["[UNK]", "a", "", "b"])


# -- encodings and repeats ------------------------------------------------------------------


def test_a_vocabulary_that_is_not_utf8_is_refused(classifier_preset, tmp_path):
    folder = _copy(classifier_preset, tmp_path)
    path = folder / "assets" / "tokenizer" / "vocabulary.txt"
    latin1 = "".join(token + "\n" for token in VOCABULARY + ["café", "secret"]).encode("latin-1")
    path.write_bytes(latin1)
    offset = latin1.index(b"\xe9")
    with pytest.raises(ValueError) as caught:
        TextClassifier.from_preset(str(folder))
    message = str(caught.value)
    assert message == (
        f"The vocabulary file {path} is not UTF-8 text: the byte at offset {offset} (line 11) is "
        "not valid UTF-8. Convert the file to UTF-8, e.g. with `iconv -f <its encoding> -t "
        "UTF-8`, keeping one token per line."
    )
    assert "caf" not in message and "secret" not in message and "\\xe9" not in message


def test_repeated_tokens_are_named_by_line_without_echoing_the_file(tmp_path):
    path = tmp_path / "vocabulary.txt"
    _write_lines(path, VOCABULARY + ["secret", "fox", "secret"])
    with pytest.raises(ValueError) as caught:
        BertTokenizer(vocabulary=str(path))
    message = str(caught.value)
    assert message == (
        f"BertTokenizer: the vocabulary file {path} holds 2 token(s) twice, on lines 8 and 12, "
        "lines 11 and 13. Each token needs exactly one id; remove the repeats."
    )
    assert "secret" not in message
    # A list is the caller's own data: its repeats are shown.
    with pytest.raises(ValueError, match=r"lists 1 token\(s\) twice: 'fox' \(ids 7 and 10\)"):
        BertTokenizer(vocabulary=VOCABULARY + ["fox"])


def test_a_damaged_sentence_piece_model_names_its_file(tmp_path):
    folder = tmp_path / "assets"
    folder.mkdir()
    (folder / "vocabulary.spm").write_bytes(tiny_proto("albert")[:40])
    tokenizer = AlbertTokenizer()
    with pytest.raises(
        ValueError,
        match=rf"The SentencePiece model file {re.escape(str(folder / 'vocabulary.spm'))} is not "
        r"a SentencePiece model: ",
    ):
        tokenizer.load_assets(folder)
    (folder / "vocabulary.spm").write_bytes(tiny_proto("albert"))
    tokenizer.load_assets(folder)
    expected = AlbertTokenizer(proto=tiny_proto("albert"))
    assert tokenizer("the fox").tolist() == expected("the fox").tolist()
