"""BertStyleSentencePieceTokenizer: the special tokens ALBERT and FNet share."""

import re

import pytest
import sentencepiece

from tests.helpers import sentence_piece
from textbones.preprocessing.bert_style_sentence_piece_tokenizer import (
    BertStyleSentencePieceTokenizer,
)
from textbones.preprocessing.sentence_piece_vocabulary import (
    compute_sentence_piece_proto,
)

NAMES = ("cls_token", "sep_token", "pad_token", "mask_token", "unk_token")


def test_special_tokens_and_ids_on_the_albert_layout(sentence_piece_proto):
    tokenizer = BertStyleSentencePieceTokenizer(sentence_piece_proto)
    tokens = [getattr(tokenizer, name) for name in NAMES]
    assert tokens == ["[CLS]", "[SEP]", "<pad>", "[MASK]", "<unk>"]
    assert [getattr(tokenizer, f"{name}_id") for name in NAMES] == [2, 3, 0, 4, 1]
    assert (tokenizer.start_token, tokenizer.end_token) == ("[CLS]", "[SEP]")
    assert (tokenizer.start_token_id, tokenizer.end_token_id) == (2, 3)
    assert tokenizer.special_tokens == ["[CLS]", "[SEP]", "<pad>", "[MASK]", "<unk>"]
    assert tokenizer.special_token_ids == [2, 3, 0, 4, 1]


def test_ids_follow_the_model_not_fixed_numbers():
    proto = sentence_piece.tiny_proto("bpe_pad_last")
    model = sentencepiece.SentencePieceProcessor(model_proto=proto)
    tokenizer = BertStyleSentencePieceTokenizer(proto, sequence_length=40)
    for name in NAMES:
        assert getattr(tokenizer, f"{name}_id") == model.piece_to_id(getattr(tokenizer, name))
    assert tokenizer.pad_token_id == 4
    padded = tokenizer(["x"])
    assert padded[0, -1] == 4 and padded[0, : len(model.encode("x"))].tolist() == model.encode("x")


def test_ids_are_none_until_a_model_is_loaded(sentence_piece_proto):
    tokenizer = BertStyleSentencePieceTokenizer()
    assert [getattr(tokenizer, f"{name}_id") for name in NAMES] == [None] * 5
    tokenizer.set_proto(sentence_piece_proto)
    assert tokenizer.mask_token_id == 4


def test_text_mask_is_one_token_only_when_the_model_says_so(sentence_piece_proto):
    user_defined = BertStyleSentencePieceTokenizer(sentence_piece.tiny_proto("user_defined_mask"))
    control = BertStyleSentencePieceTokenizer(sentence_piece_proto)
    assert user_defined.mask_token_id in user_defined("a [MASK] b").tolist()
    assert control.mask_token_id not in control("a [MASK] b").tolist()


def test_model_without_mask_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"no '\[MASK\]' piece.*`mask_token`"):
        BertStyleSentencePieceTokenizer(sentence_piece.tiny_proto("no_mask"))


ALL_CONTROLS = ["[CLS]", "[SEP]", "[MASK]"]


@pytest.mark.parametrize(
    ("settings", "missing"),
    [
        ({"control_symbols": ["[SEP]", "[MASK]"]}, "[CLS]"),
        ({"control_symbols": ["[CLS]", "[MASK]"]}, "[SEP]"),
        ({"pad_id": -1, "control_symbols": ALL_CONTROLS}, "<pad>"),
        ({"unk_piece": "[UNK]", "control_symbols": ALL_CONTROLS}, "<unk>"),
    ],
)
def test_each_missing_special_is_named(settings, missing):
    proto = compute_sentence_piece_proto(
        ["The quick brown fox.", "A lazy dog sleeps."],
        60,
        hard_vocab_limit=False,
        bos_id=-1,
        eos_id=-1,
        **settings,
    )
    with pytest.raises(ValueError, match=f"no '{re.escape(missing)}' piece"):
        BertStyleSentencePieceTokenizer(proto)


def test_loading_a_model_without_specials_later_keeps_the_old_one(sentence_piece_proto):
    tokenizer = BertStyleSentencePieceTokenizer(sentence_piece_proto)
    with pytest.raises(ValueError, match="MASK"):
        tokenizer.set_proto(sentence_piece.tiny_proto("no_mask"))
    assert tokenizer.mask_token_id == 4


def test_string_dtype_gives_pieces_and_reads_them_back(sentence_piece_proto):
    from textbones.models import AlbertTokenizer, FNetTokenizer

    reference = sentencepiece.SentencePieceProcessor(model_proto=sentence_piece_proto)
    for cls in (AlbertTokenizer, FNetTokenizer):
        tokenizer = cls(sentence_piece_proto, dtype="string", sequence_length=8)
        rows = tokenizer(["the lazy dog", "a"])
        pieces = reference.encode("the lazy dog", out_type=str)[:8]
        assert rows[0] == pieces + [""] * (8 - len(pieces))
        assert len(rows[1]) == 8 and rows[1][-1] == ""
        assert tokenizer.detokenize(rows) == ["the lazy dog", "a"]
        assert tokenizer.get_config()["dtype"]["config"]["name"] == "string"
        assert cls(sentence_piece_proto)(["the lazy dog"]) == [reference.encode("the lazy dog")]
