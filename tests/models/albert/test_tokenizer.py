"""AlbertTokenizer: sentencepiece's ids, ALBERT's special tokens, presets and serialization."""

import json

import keras
import numpy as np
import pytest
import sentencepiece

from tests.helpers import sentence_piece
from textbones.models.albert.backbone import AlbertBackbone
from textbones.models.albert.tokenizer import AlbertTokenizer
from textbones.preprocessing.tokenizer import Tokenizer


@pytest.fixture(scope="module")
def proto() -> bytes:
    return sentence_piece.tiny_proto("albert")


def test_ids_equal_sentencepiece_on_the_corpus(proto):
    reference = sentencepiece.SentencePieceProcessor(model_proto=proto)
    texts = list(sentence_piece.corpus())
    rows = AlbertTokenizer(proto)(texts)
    mismatches = [
        text
        for text, row in zip(texts, rows, strict=True)
        if row.tolist() != reference.encode(text)
    ]
    assert mismatches == []


def test_special_tokens(proto):
    tokenizer = AlbertTokenizer(proto)
    assert (tokenizer.cls_token, tokenizer.sep_token) == ("[CLS]", "[SEP]")
    assert tokenizer.pad_token == "<pad>"
    assert (tokenizer.mask_token, tokenizer.unk_token) == ("[MASK]", "<unk>")
    assert (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id) == (2, 3, 0)
    assert (tokenizer.mask_token_id, tokenizer.unk_token_id) == (4, 1)
    assert AlbertTokenizer.asset_file == "vocabulary.spm"
    assert AlbertTokenizer.backbone_cls is AlbertBackbone


def test_padding_uses_the_pad_piece():
    tokenizer = AlbertTokenizer(sentence_piece.tiny_proto("bpe_pad_last"), sequence_length=50)
    assert tokenizer.pad_token_id == 4
    assert tokenizer(["x"])[0, -1] == 4


def test_model_without_mask_is_refused():
    with pytest.raises(ValueError, match=r"no '\[MASK\]' piece, which AlbertTokenizer needs"):
        AlbertTokenizer(sentence_piece.tiny_proto("no_mask"))


def test_preset_round_trip(proto, tmp_path):
    tokenizer = AlbertTokenizer(proto, sequence_length=24)
    tokenizer.save_to_preset(tmp_path / "albert")
    saved = json.loads((tmp_path / "albert" / "tokenizer.json").read_text())
    assert saved["registered_name"] == "keras_hub>AlbertTokenizer"
    assert saved["config"]["proto"] is None
    for loader in (Tokenizer, AlbertTokenizer):
        loaded = loader.from_preset(tmp_path / "albert")
        assert type(loaded) is AlbertTokenizer
        assert loaded.get_config() == tokenizer.get_config()
        texts = list(sentence_piece.corpus())
        np.testing.assert_array_equal(loaded(texts), tokenizer(texts))


def test_preset_of_another_family_is_refused(proto, tmp_path):
    from textbones.models.f_net.tokenizer import FNetTokenizer

    FNetTokenizer(proto).save_to_preset(tmp_path / "f_net")
    with pytest.raises(ValueError, match="holds a FNetTokenizer"):
        AlbertTokenizer.from_preset(tmp_path / "f_net")


def test_keras_serialization(proto):
    serialized = keras.saving.serialize_keras_object(AlbertTokenizer(proto, sequence_length=5))
    assert serialized["registered_name"] == "textbones>AlbertTokenizer"
    assert serialized["config"]["proto"] is None
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is AlbertTokenizer and restored.sequence_length == 5
    assert restored.mask_token_id is None
