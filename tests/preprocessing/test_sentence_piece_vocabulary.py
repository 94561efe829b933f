"""compute_sentence_piece_proto: the models it trains, the inputs it takes, and its silence."""

import pathlib

import numpy as np
import pytest
import sentencepiece

from tests.helpers import sentence_piece
from textbones.preprocessing.sentence_piece_tokenizer import SentencePieceTokenizer
from textbones.preprocessing.sentence_piece_vocabulary import (
    compute_sentence_piece_proto,
)

SENTENCES = ["The quick brown fox.", "A lazy dog sleeps.", "Foxes and dogs."] * 5
ALBERT_LAYOUT = dict(bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"])


def _pieces(proto: bytes, count: int | None = None) -> list[str]:
    model = sentencepiece.SentencePieceProcessor(model_proto=proto)
    return [model.id_to_piece(i) for i in range(count or model.get_piece_size())]


def test_default_layout_follows_keras_hub():
    model = sentencepiece.SentencePieceProcessor(
        model_proto=compute_sentence_piece_proto(SENTENCES, 60, hard_vocab_limit=False)
    )
    assert (model.pad_id(), model.unk_id(), model.bos_id(), model.eos_id()) == (0, 1, 2, 3)
    assert _pieces(model.serialized_model_proto(), 4) == ["<pad>", "<unk>", "<s>", "</s>"]


def test_albert_layout():
    proto = compute_sentence_piece_proto(SENTENCES, 40, hard_vocab_limit=False, **ALBERT_LAYOUT)
    assert _pieces(proto, 5) == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    model = sentencepiece.SentencePieceProcessor(model_proto=proto)
    assert all(model.is_control(i) for i in (0, 2, 3, 4)) and model.is_unknown(1)
    assert 4 not in model.encode("a [MASK] b")  # control symbols never come from text


def test_user_defined_symbols_stay_whole_in_text():
    proto = compute_sentence_piece_proto(
        SENTENCES,
        40,
        hard_vocab_limit=False,
        bos_piece="[CLS]",
        eos_piece="[SEP]",
        user_defined_symbols=["[MASK]", "a,b"],  # a comma inside a symbol survives
    )
    assert _pieces(proto, 6) == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]", "a,b"]
    assert 4 in sentencepiece.SentencePieceProcessor(model_proto=proto).encode("x [MASK] y")


def test_vocabulary_size_is_exact_by_default():
    assert len(_pieces(compute_sentence_piece_proto(SENTENCES, 33))) == 33


def test_lowercase():
    cased = SentencePieceTokenizer(
        compute_sentence_piece_proto(SENTENCES, 60, hard_vocab_limit=False)
    )
    folded = SentencePieceTokenizer(
        compute_sentence_piece_proto(SENTENCES, 60, hard_vocab_limit=False, lowercase=True)
    )
    assert folded.detokenize(folded("The FOX")) == "the fox"
    assert cased.detokenize(cased("The")) == "The"


@pytest.mark.parametrize("model_type", ["unigram", "bpe", "word", "char"])
def test_model_types(model_type):
    proto = compute_sentence_piece_proto(
        SENTENCES, 60, model_type=model_type, hard_vocab_limit=False
    )
    tokenizer = SentencePieceTokenizer(proto)
    assert tokenizer.detokenize(tokenizer("A lazy dog sleeps.")) == "A lazy dog sleeps."


def test_output_file_and_return_value(tmp_path):
    path = tmp_path / "model.spm"
    proto = compute_sentence_piece_proto(
        SENTENCES, 60, proto_output_file=path, hard_vocab_limit=False
    )
    assert isinstance(proto, bytes) and path.read_bytes() == proto
    assert SentencePieceTokenizer(str(path)).proto == proto


def test_training_is_deterministic():
    first = compute_sentence_piece_proto(SENTENCES, 60, hard_vocab_limit=False)
    assert compute_sentence_piece_proto(SENTENCES, 60, hard_vocab_limit=False) == first


def test_files_generators_and_tuples_give_the_same_model(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("\n".join(SENTENCES[:7]) + "\n", encoding="utf-8")
    second.write_text("\r\n".join(SENTENCES[7:]), encoding="utf-8")
    expected = compute_sentence_piece_proto(SENTENCES, 60, hard_vocab_limit=False)
    for data in (
        [str(first), str(second)],
        [first, second],
        (text for text in SENTENCES),
        tuple(SENTENCES),
        [text.encode("utf-8") for text in SENTENCES],
    ):
        assert compute_sentence_piece_proto(data, 60, hard_vocab_limit=False) == expected


def test_the_hard_corpus_trains(sentence_piece_corpus):
    proto = compute_sentence_piece_proto(
        list(sentence_piece_corpus), 300, hard_vocab_limit=False, **ALBERT_LAYOUT
    )
    assert _pieces(proto, 5) == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]


def test_happy_path_is_silent(capfd, tmp_path):
    compute_sentence_piece_proto(SENTENCES, 60, hard_vocab_limit=False)
    compute_sentence_piece_proto(
        list(sentence_piece.training_corpus()), 400, hard_vocab_limit=False, **ALBERT_LAYOUT
    )
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")


def test_trainer_log_level_can_be_raised(capfd):
    compute_sentence_piece_proto(SENTENCES, 60, hard_vocab_limit=False, minloglevel=0)
    assert "trainer_interface" in capfd.readouterr().err


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ([], ValueError, "`data` is empty"),
        ("one string", ValueError, "not a single string"),
        (42, ValueError, "got a int"),
        (["fine", 3], ValueError, "Item 1 of `data` is a int"),
        ((text for text in ["fine", None]), ValueError, "Item 1 of `data` is a NoneType"),
        (["", "   "], ValueError, "holds no text"),
        ([pathlib.Path("/no/such/file.txt")], FileNotFoundError, "does not exist"),
        ({"text": "fine"}, ValueError, r"not a dict\. Pass the sentences themselves"),
    ],
)
def test_bad_data(data, error, message):
    with pytest.raises(error, match=message):
        compute_sentence_piece_proto(data, 30)


def test_mixing_paths_and_text_is_refused(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("some text\n")
    with pytest.raises(ValueError, match="mixes file paths with other strings"):
        compute_sentence_piece_proto([str(path), "plain text"], 30)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(vocabulary_size=1000), "Vocabulary size too high"),
        (dict(vocabulary_size=5), "Vocabulary size is smaller than required_chars"),
        (dict(vocabulary_size=0), "positive integer"),
        (dict(vocabulary_size=60, model_type="wordpiece"), "`model_type` must be"),
        (dict(vocabulary_size=60, model_writer=None), "`model_writer` is set by"),
        (dict(vocabulary_size=60, no_such_option=1), "could not train"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        compute_sentence_piece_proto(SENTENCES, **kwargs)


def test_a_refused_setting_is_also_keras_hub_s_runtime_error():
    # KerasHub lets sentencepiece's RuntimeError through; code catching it keeps working.
    with pytest.raises(RuntimeError, match="Vocabulary size too high"):
        compute_sentence_piece_proto(SENTENCES, 1000)


def test_arrays_are_texts():
    expected = compute_sentence_piece_proto(SENTENCES, 60, hard_vocab_limit=False)
    assert compute_sentence_piece_proto(np.array(SENTENCES), 60, hard_vocab_limit=False) == expected
