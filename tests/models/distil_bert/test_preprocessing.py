"""Tests of DistilBERT's tokenizer and preprocessors (``textbones/models/distil_bert/``)."""

import json

import numpy as np
import pytest

import textbones
from tests.models.distil_bert.tiny_models import VOCAB
from textbones.models.bert.tokenizer import BertTokenizer
from textbones.models.distil_bert.masked_lm_preprocessor import DistilBertMaskedLMPreprocessor
from textbones.models.distil_bert.text_classifier_preprocessor import (
    DistilBertTextClassifierPreprocessor,
)
from textbones.models.distil_bert.tokenizer import DistilBertTokenizer
from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer

ID = {token: index for index, token in enumerate(VOCAB)}


def test_special_tokens_are_keras_hubs():
    tokenizer = DistilBertTokenizer(VOCAB)
    assert (tokenizer.cls_token, tokenizer.sep_token, tokenizer.pad_token) == (
        "[CLS]", "[SEP]", "[PAD]"
    )  # fmt: skip
    assert (tokenizer.mask_token, tokenizer.unk_token) == ("[MASK]", "[UNK]")
    assert (tokenizer.start_token, tokenizer.end_token) == ("[CLS]", "[SEP]")
    assert tokenizer.special_token_ids == [2, 3, 0, 4, 1]
    assert (tokenizer.start_token_id, tokenizer.end_token_id) == (2, 3)
    assert isinstance(tokenizer, WordPieceTokenizer)
    assert not isinstance(tokenizer, BertTokenizer)


def test_ids_of_words_pieces_and_unknown_words():
    tokenizer = DistilBertTokenizer(VOCAB, lowercase=True)
    assert tokenizer("The quick fox jumped.").tolist() == [5, 6, 8, 9, 10, 12]
    assert tokenizer(["a dog sat", "zebra!"]) == [[13, 14, 15], [1, 23]]
    assert tokenizer.detokenize([5, 8, 11]) == "the foxs"
    cased = DistilBertTokenizer(VOCAB)
    assert cased("The dog").tolist() == [1, 14]


def test_a_vocabulary_without_a_special_token_is_refused():
    with pytest.raises(ValueError, match=r"\[MASK\]"):
        DistilBertTokenizer([token for token in VOCAB if token != "[MASK]"])


def test_config_and_preset_round_trip(tmp_path):
    tokenizer = DistilBertTokenizer(VOCAB, lowercase=True)
    tokenizer.save_to_preset(tmp_path / "preset")
    saved = json.loads((tmp_path / "preset" / "tokenizer.json").read_text())
    assert saved["registered_name"] == "keras_hub>DistilBertTokenizer"
    assert saved["config"]["lowercase"] is True
    restored = textbones.models.Tokenizer.from_preset(str(tmp_path / "preset"))
    assert type(restored) is DistilBertTokenizer
    assert restored.get_vocabulary() == VOCAB
    assert restored("The fox").tolist() == [5, 8]


def test_classifier_preprocessor_packs_without_segment_ids():
    preprocessor = DistilBertTextClassifierPreprocessor(
        DistilBertTokenizer(VOCAB, lowercase=True), sequence_length=10
    )
    x, y = preprocessor((["the good movie"], ["is great !"]), [1])
    assert sorted(x) == ["padding_mask", "token_ids"]
    assert x["token_ids"].tolist() == [[2, 5, 16, 18, 3, 21, 19, 23, 3, 0]]
    assert x["padding_mask"].astype(int).tolist() == [[1, 1, 1, 1, 1, 1, 1, 1, 1, 0]]
    assert y.tolist() == [1]
    single = preprocessor("a bad movie")
    assert single["token_ids"].tolist() == [2, 13, 17, 18, 3, 0, 0, 0, 0, 0]
    assert "segment_ids" not in single


def test_classifier_preprocessor_truncates_to_the_sequence_length():
    preprocessor = DistilBertTextClassifierPreprocessor(
        DistilBertTokenizer(VOCAB, lowercase=True), sequence_length=5
    )
    x = preprocessor(["the quick brown fox jumped"])
    assert x["token_ids"].tolist() == [[2, 5, 6, 7, 3]]


def test_masked_lm_preprocessor_masks_and_labels_without_segment_ids():
    preprocessor = DistilBertMaskedLMPreprocessor(
        DistilBertTokenizer(VOCAB, lowercase=True),
        sequence_length=8,
        mask_selection_rate=1.0,
        mask_token_rate=1.0,
        random_token_rate=0.0,
        mask_selection_length=4,
    )
    x, y, weights = preprocessor(["the dog sat", "a fox"])
    assert sorted(x) == ["mask_positions", "padding_mask", "token_ids"]
    # Every real token is masked; [CLS], [SEP] and padding never are.
    assert x["token_ids"].tolist() == [[2, 4, 4, 4, 3, 0, 0, 0], [2, 4, 4, 3, 0, 0, 0, 0]]
    assert x["mask_positions"].tolist() == [[1, 2, 3, 0], [1, 2, 0, 0]]
    assert y.tolist() == [[5, 14, 15, 0], [13, 8, 0, 0]]
    assert weights.tolist() == [[1, 1, 1, 0], [1, 1, 0, 0]]


def test_preprocessors_refuse_another_familys_tokenizer():
    with pytest.raises(ValueError, match=r"needs a textbones\.models\.distil_bert\.tokenizer\."):
        DistilBertTextClassifierPreprocessor(BertTokenizer(VOCAB))
    with pytest.raises(ValueError, match=r"DistilBertMaskedLMPreprocessor needs a"):
        DistilBertMaskedLMPreprocessor(BertTokenizer(VOCAB))


def test_preprocessor_preset_round_trip(tmp_path):
    preprocessor = DistilBertTextClassifierPreprocessor(
        DistilBertTokenizer(VOCAB, lowercase=True), sequence_length=6
    )
    preprocessor.save_to_preset(tmp_path / "preset")
    restored = textbones.models.Preprocessor.from_preset(str(tmp_path / "preset"))
    assert type(restored) is DistilBertTextClassifierPreprocessor
    assert restored.sequence_length == 6
    np.testing.assert_array_equal(
        restored(["the fox"])["token_ids"], preprocessor(["the fox"])["token_ids"]
    )
