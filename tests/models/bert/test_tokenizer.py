"""Tests of ``textbones/models/bert/tokenizer.py``.

Kept free of ``hypothesis`` and of other test modules: ``tests/models`` also runs in the
reference environment on the torch and TensorFlow backends.
"""

import json

import keras
import numpy as np
import pytest

from textbones.models.bert.tokenizer import BertTokenizer
from textbones.preprocessing.tokenizer import Tokenizer
from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer

VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",  # 0-4
    "the", "quick", "brown", "fox", "jump", "##ed", "##s",  # 5-11
    ".", "[", "]", "mask", "MASK", "cafe", "unk", "東", "京",  # 12-20
]  # fmt: skip
ID = {token: index for index, token in enumerate(VOCAB)}

#: The keys KerasHub 0.32 writes in a BertTokenizer's tokenizer.json, in its order.
KERAS_HUB_CONFIG_KEYS = [
    "name", "trainable", "dtype", "config_file", "vocabulary", "sequence_length", "lowercase",
    "strip_accents", "split", "suffix_indicator", "oov_token", "special_tokens",
    "special_tokens_in_strings",
]  # fmt: skip

#: tokenizer.json as KerasHub 0.32 writes it for ``BertTokenizer(vocabulary=..., lowercase=True)``.
KERAS_HUB_TOKENIZER_JSON = {
    "module": "keras_hub.src.models.bert.bert_tokenizer",
    "class_name": "BertTokenizer",
    "config": {
        "name": "bert_tokenizer",
        "trainable": True,
        "dtype": {
            "module": "keras",
            "class_name": "DTypePolicy",
            "config": {"name": "int32"},
            "registered_name": None,
        },
        "config_file": "tokenizer.json",
        "vocabulary": None,
        "sequence_length": None,
        "lowercase": True,
        "strip_accents": False,
        "split": True,
        "suffix_indicator": "##",
        "oov_token": "[UNK]",
        "special_tokens": None,
        "special_tokens_in_strings": False,
    },
    "registered_name": "keras_hub>BertTokenizer",
}


def token_ids(tokenizer, text) -> list[int]:
    return tokenizer(text).tolist()


def test_special_tokens_and_their_ids():
    tokenizer = BertTokenizer(VOCAB)
    assert isinstance(tokenizer, WordPieceTokenizer)
    assert (tokenizer.cls_token, tokenizer.sep_token, tokenizer.pad_token) == (
        "[CLS]",
        "[SEP]",
        "[PAD]",
    )
    assert (tokenizer.mask_token, tokenizer.unk_token) == ("[MASK]", "[UNK]")
    assert (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id) == (2, 3, 0)
    assert (tokenizer.mask_token_id, tokenizer.unk_token_id) == (4, 1)
    assert (tokenizer.start_token, tokenizer.end_token) == ("[CLS]", "[SEP]")
    assert (tokenizer.start_token_id, tokenizer.end_token_id) == (2, 3)
    assert tokenizer.special_tokens == ["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"]
    assert tokenizer.special_token_ids == [2, 3, 0, 4, 1]
    assert BertTokenizer.asset_file == "vocabulary.txt"


def test_ids_for_both_casings():
    uncased = BertTokenizer(VOCAB, lowercase=True)
    cased = BertTokenizer(VOCAB)
    text = "The quick brown FOX jumped. Café 東京"
    assert token_ids(uncased, text) == [5, 6, 7, 8, 9, 10, 12, 17, 19, 20]
    assert token_ids(cased, text) == [1, 6, 7, 1, 9, 10, 12, 1, 19, 20]
    assert token_ids(uncased, "jumps") == [9, 11]


def test_typed_special_tokens():
    assert token_ids(BertTokenizer(VOCAB), "the [MASK].") == [5, 13, 16, 14, 12]
    assert token_ids(BertTokenizer(VOCAB, lowercase=True), "the [MASK].") == [5, 13, 15, 14, 12]
    keep = BertTokenizer(VOCAB, lowercase=True, special_tokens_in_strings=True)
    assert token_ids(keep, "The [MASK].") == [5, 4, 12]
    assert token_ids(keep, "[CLS]the[SEP]fox[SEP][PAD]") == [2, 5, 3, 8, 3, 0]
    # [UNK] is one of BERT's special tokens too, as in Hugging Face's BertTokenizerFast.
    assert token_ids(keep, "[UNK]") == [1]
    assert token_ids(BertTokenizer(VOCAB, lowercase=True), "[UNK]") == [13, 18, 14]
    assert token_ids(keep, "[mask]") == [13, 15, 14]


def test_padding_uses_the_pad_id():
    vocabulary = ["[UNK]", "[CLS]", "[SEP]", "[MASK]", "[PAD]", "hi"]
    tokenizer = BertTokenizer(vocabulary, sequence_length=4)
    batch = tokenizer(["hi hi", "", "hi hi hi hi hi"])
    assert batch.dtype == np.int32 and batch.shape == (3, 4)
    assert batch.tolist() == [[5, 5, 4, 4], [4, 4, 4, 4], [5, 5, 5, 5]]
    assert tokenizer("hi").tolist() == [5, 4, 4, 4]


def test_batches_and_detokenize():
    tokenizer = BertTokenizer(VOCAB, lowercase=True)
    rows = tokenizer(["The fox jumps.", ""])
    assert rows == [[5, 8, 9, 11, 12], []]
    assert tokenizer.detokenize(rows[0]) == "the fox jumps ."
    assert tokenizer.detokenize(rows) == ["the fox jumps .", ""]
    # No "##es": the whole word is out of vocabulary.
    assert tokenizer("foxes").tolist() == [1]


@pytest.mark.parametrize("missing", ["[CLS]", "[SEP]", "[PAD]", "[MASK]"])
def test_vocabulary_without_a_special_token_is_refused(missing):
    with pytest.raises(
        ValueError, match=rf"has no '\{missing[:-1]}\]'.*Add '\{missing[:-1]}\]' to the vocabulary"
    ):
        BertTokenizer([token for token in VOCAB if token != missing])


def test_vocabulary_without_unk_is_refused():
    with pytest.raises(ValueError, match=r"no '\[UNK\]' \(the `oov_token`\)"):
        BertTokenizer(VOCAB[:1] + VOCAB[2:])
    other = BertTokenizer(["<unk>"] + VOCAB[:1] + VOCAB[2:], oov_token="<unk>")
    assert other.unk_token == "<unk>" and other.unk_token_id == 0


def test_without_vocabulary_the_error_says_how_to_get_one():
    tokenizer = BertTokenizer()
    for attempt in (
        lambda: tokenizer("text"),
        lambda: tokenizer.cls_token_id,
        tokenizer.vocabulary_size,
    ):
        with pytest.raises(ValueError, match="has no vocabulary yet.*load_assets"):
            attempt()


def test_config_has_exactly_keras_hubs_keys():
    tokenizer = BertTokenizer(VOCAB, lowercase=True)
    config = tokenizer.get_config()
    assert list(config) == KERAS_HUB_CONFIG_KEYS
    assert config == KERAS_HUB_TOKENIZER_JSON["config"]
    # Non-default options are kept, and KerasHub's constructors accept each of them.
    config = BertTokenizer(
        VOCAB, sequence_length=16, special_tokens_in_strings=True, split_on_cjk=False
    ).get_config()
    assert (
        config["sequence_length"],
        config["special_tokens_in_strings"],
        config["split_on_cjk"],
    ) == (16, True, False)


def test_config_round_trip_then_load_assets(tmp_path):
    tokenizer = BertTokenizer(
        VOCAB, lowercase=True, sequence_length=6, special_tokens_in_strings=True
    )
    copy = BertTokenizer.from_config(tokenizer.get_config())
    tokenizer.save_assets(tmp_path)
    copy.load_assets(tmp_path)
    texts = ["The [MASK] jumped.", "東京 cafe"]
    np.testing.assert_array_equal(copy(texts), tokenizer(texts))
    assert copy.get_config() == tokenizer.get_config()


def test_keras_serialization_round_trip():
    tokenizer = BertTokenizer(VOCAB, lowercase=True, sequence_length=4)
    serialized = keras.saving.serialize_keras_object(tokenizer)
    assert serialized["registered_name"] == "textbones>BertTokenizer"
    copy = keras.saving.deserialize_keras_object(serialized)
    assert type(copy) is BertTokenizer and copy.get_config() == tokenizer.get_config()


def test_preset_round_trip(tmp_path):
    tokenizer = BertTokenizer(VOCAB, lowercase=True, special_tokens_in_strings=True)
    tokenizer.save_to_preset(tmp_path)
    saved = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    assert (
        saved["registered_name"] == "keras_hub>BertTokenizer"
        and saved["class_name"] == "BertTokenizer"
    )
    assert (tmp_path / "assets" / "tokenizer" / "vocabulary.txt").read_text(
        encoding="utf-8"
    ).splitlines() == VOCAB
    texts = ["The [MASK] fox jumped.", "東京", ""]
    for loader in (Tokenizer, BertTokenizer, WordPieceTokenizer):
        loaded = loader.from_preset(tmp_path)
        assert type(loaded) is BertTokenizer
        assert loaded.get_config() == tokenizer.get_config()
        assert loaded(texts) == tokenizer(texts)
    padded = Tokenizer.from_preset(tmp_path, sequence_length=3)
    assert padded(texts).tolist() == [[5, 4, 8], [19, 20, 0], [0, 0, 0]]


def test_reads_a_keras_hub_tokenizer_json(tmp_path):
    (tmp_path / "tokenizer.json").write_text(json.dumps(KERAS_HUB_TOKENIZER_JSON), encoding="utf-8")
    assets = tmp_path / "assets" / "tokenizer"
    assets.mkdir(parents=True)
    (assets / "vocabulary.txt").write_text(
        "".join(token + "\n" for token in VOCAB), encoding="utf-8"
    )
    tokenizer = Tokenizer.from_preset(tmp_path)
    assert (
        type(tokenizer) is BertTokenizer
        and tokenizer.lowercase
        and tokenizer.name == "bert_tokenizer"
    )
    assert tokenizer("The FOX.").tolist() == [5, 8, 12]
    assert tokenizer.get_config() == KERAS_HUB_TOKENIZER_JSON["config"]
