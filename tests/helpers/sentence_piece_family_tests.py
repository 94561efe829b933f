"""Tests shared by the SentencePiece families (ALBERT, FNet), which differ only in names.

A family's test module defines a ``family`` fixture returning ``(tokenizer class,
backbone class, another family's tokenizer class)`` and star-imports these tests.
"""

import json

import keras
import numpy as np
import pytest
import sentencepiece

from tests.helpers import sentence_piece
from textbones.preprocessing.tokenizer import Tokenizer

__all__ = [
    "proto",
    "test_ids_equal_sentencepiece_on_the_corpus",
    "test_keras_serialization",
    "test_model_without_mask_is_refused",
    "test_padding_uses_the_pad_piece",
    "test_preset_of_another_family_is_refused",
    "test_preset_round_trip",
    "test_special_tokens",
]


@pytest.fixture(scope="module")
def proto() -> bytes:
    return sentence_piece.tiny_proto("albert")


def test_ids_equal_sentencepiece_on_the_corpus(proto, family):
    tokenizer_cls, _, _ = family
    reference = sentencepiece.SentencePieceProcessor(model_proto=proto)
    texts = list(sentence_piece.corpus())
    rows = tokenizer_cls(proto)(texts)
    mismatches = [
        text for text, row in zip(texts, rows, strict=True) if row != reference.encode(text)
    ]
    assert mismatches == []


def test_special_tokens(proto, family):
    tokenizer_cls, backbone_cls, _ = family
    tokenizer = tokenizer_cls(proto)
    assert (tokenizer.cls_token, tokenizer.sep_token) == ("[CLS]", "[SEP]")
    assert tokenizer.pad_token == "<pad>"
    assert (tokenizer.mask_token, tokenizer.unk_token) == ("[MASK]", "<unk>")
    assert (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id) == (2, 3, 0)
    assert (tokenizer.mask_token_id, tokenizer.unk_token_id) == (4, 1)
    assert tokenizer_cls.asset_file == "vocabulary.spm"
    assert tokenizer_cls.backbone_cls is backbone_cls


def test_padding_uses_the_pad_piece(family):
    tokenizer = family[0](sentence_piece.tiny_proto("bpe_pad_last"), sequence_length=50)
    assert tokenizer.pad_token_id == 4
    assert tokenizer(["x"])[0, -1] == 4


def test_model_without_mask_is_refused(family):
    tokenizer_cls = family[0]
    with pytest.raises(
        ValueError, match=rf"no '\[MASK\]' piece, which {tokenizer_cls.__name__} needs"
    ):
        tokenizer_cls(sentence_piece.tiny_proto("no_mask"))


def test_preset_round_trip(proto, tmp_path, family):
    tokenizer_cls = family[0]
    tokenizer = tokenizer_cls(proto, sequence_length=24)
    tokenizer.save_to_preset(tmp_path / "preset")
    saved = json.loads((tmp_path / "preset" / "tokenizer.json").read_text())
    assert saved["registered_name"] == f"keras_hub>{tokenizer_cls.__name__}"
    assert saved["config"]["proto"] is None
    for loader in (Tokenizer, tokenizer_cls):
        loaded = loader.from_preset(tmp_path / "preset")
        assert type(loaded) is tokenizer_cls
        assert loaded.get_config() == tokenizer.get_config()
        texts = list(sentence_piece.corpus())
        np.testing.assert_array_equal(loaded(texts), tokenizer(texts))


def test_preset_of_another_family_is_refused(proto, tmp_path, family):
    tokenizer_cls, _, other_cls = family
    other_cls(proto).save_to_preset(tmp_path / "other")
    with pytest.raises(ValueError, match=f"holds a {other_cls.__name__}"):
        tokenizer_cls.from_preset(tmp_path / "other")


def test_keras_serialization(proto, family):
    tokenizer_cls = family[0]
    serialized = keras.saving.serialize_keras_object(tokenizer_cls(proto, sequence_length=5))
    assert serialized["registered_name"] == f"textbones>{tokenizer_cls.__name__}"
    assert serialized["config"]["proto"] is None
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is tokenizer_cls and restored.sequence_length == 5
    assert restored.mask_token_id is None
