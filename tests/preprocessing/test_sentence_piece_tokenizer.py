"""SentencePieceTokenizer: ids equal to sentencepiece's, shapes, proto forms, presets, errors."""

import base64
import functools
import json
import pickle

import hypothesis
import hypothesis.strategies as st
import keras
import numpy as np
import pytest
import sentencepiece

from tests.helpers import sentence_piece
from textbones.preprocessing.sentence_piece_tokenizer import SentencePieceTokenizer
from textbones.preprocessing.tokenizer import Tokenizer

KERAS_HUB_CONFIG_KEYS = {
    "name",
    "trainable",
    "dtype",
    "config_file",
    "proto",
    "sequence_length",
    "add_bos",
    "add_eos",
}


def _processor(proto: bytes) -> sentencepiece.SentencePieceProcessor:
    return sentencepiece.SentencePieceProcessor(model_proto=proto)


# ------------------------------------------------------------------------- real values


@pytest.mark.parametrize(("add_bos", "add_eos"), [(False, False), (True, True)])
def test_ids_equal_sentencepiece_on_every_text(
    any_sentence_piece_proto, sentence_piece_corpus, add_bos, add_eos
):
    proto = any_sentence_piece_proto
    reference = _processor(proto)
    if add_bos and reference.bos_id() < 0:
        with pytest.raises(ValueError, match="no beginning-of-sentence"):
            SentencePieceTokenizer(proto, add_bos=True)
        with pytest.raises(ValueError, match="no end-of-sentence"):
            SentencePieceTokenizer(proto, add_eos=True)
        return
    tokenizer = SentencePieceTokenizer(proto, add_bos=add_bos, add_eos=add_eos)
    texts = list(sentence_piece_corpus)
    batch = tokenizer(texts)
    mismatches = []
    for text, row in zip(texts, batch, strict=True):
        expected = reference.encode(text, out_type=int, add_bos=add_bos, add_eos=add_eos)
        if row != expected or tokenizer(text).tolist() != expected:
            mismatches.append(text)
    assert mismatches == []
    assert len(texts) > 200


def test_single_string_gives_1d_int32(sentence_piece_proto):
    ids = SentencePieceTokenizer(sentence_piece_proto)("The quick brown fox.")
    assert isinstance(ids, np.ndarray) and ids.ndim == 1 and ids.dtype == np.int32
    assert ids.tolist() == _processor(sentence_piece_proto).encode("The quick brown fox.")


def test_empty_string_gives_empty_ids(sentence_piece_proto):
    tokenizer = SentencePieceTokenizer(sentence_piece_proto)
    assert tokenizer("").shape == (0,)
    assert tokenizer(["", "x"])[0] == []


@pytest.mark.parametrize("kind", [list, tuple, np.array])
def test_batch_gives_python_lists_of_ints(sentence_piece_proto, kind):
    tokenizer = SentencePieceTokenizer(sentence_piece_proto)
    rows = tokenizer(kind(["the dog", "a much longer sentence about the dog"]))
    reference = _processor(sentence_piece_proto)
    assert rows == reference.encode(["the dog", "a much longer sentence about the dog"])
    assert all(type(row) is list and all(type(i) is int for i in row) for row in rows)
    assert len(rows[0]) < len(rows[1])


def test_string_dtype_gives_sentence_piece_pieces(sentence_piece_proto):
    reference = _processor(sentence_piece_proto)
    tokenizer = SentencePieceTokenizer(sentence_piece_proto, dtype="string")
    texts = ["the lazy dog", "東京 😀", ""]
    # Pieces as SentencePiece gives them: characters the model lacks stay themselves.
    assert tokenizer(texts) == reference.encode(texts, out_type=str)
    assert tokenizer("the dog") == reference.encode("the dog", out_type=str)
    assert tokenizer("") == []
    padded = SentencePieceTokenizer(sentence_piece_proto, dtype="string", sequence_length=12)
    rows = padded(["the dog", "x"])
    assert [len(row) for row in rows] == [12, 12]
    expected = reference.encode("the dog", out_type=str)
    assert rows[0] == expected + [""] * (12 - len(expected))
    assert padded("")[:3] == ["", "", ""]
    # Pieces read back as text, the "" padding dropped; so do rows of ids.
    assert tokenizer.detokenize(tokenizer(texts)) == reference.decode(reference.encode(texts))
    assert padded.detokenize(rows) == ["the dog", "x"]
    assert tokenizer.detokenize(tokenizer("the dog")) == "the dog"
    assert tokenizer.detokenize([[5, 6], [7]]) == reference.decode([[5, 6], [7]])


def test_string_dtype_keeps_special_tokens_in_strings():
    proto = sentence_piece.tiny_proto("user_defined_mask")
    tokenizer = SentencePieceTokenizer(
        proto, dtype="string", special_tokens_in_strings=True, add_bos=True, add_eos=True
    )
    tokenizer.special_token_names = ()
    ids = SentencePieceTokenizer(proto, add_bos=True, add_eos=True)("the [MASK] dog")
    pieces = tokenizer("the [MASK] dog")
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]" and "[MASK]" in pieces
    assert [tokenizer.token_to_id(piece) for piece in pieces] == ids.tolist()


def test_bytes_items_are_decoded(sentence_piece_proto):
    tokenizer = SentencePieceTokenizer(sentence_piece_proto)
    assert tokenizer([b"caf\xc3\xa9"])[0] == tokenizer("café").tolist()
    assert tokenizer(b"caf\xc3\xa9").tolist() == tokenizer("café").tolist()


def test_sequence_length_pads_and_truncates(sentence_piece_proto, sentence_piece_corpus):
    reference = _processor(sentence_piece_proto)
    tokenizer = SentencePieceTokenizer(sentence_piece_proto, sequence_length=12)
    texts = list(sentence_piece_corpus)
    padded = tokenizer(texts)
    assert padded.shape == (len(texts), 12) and padded.dtype == np.int32
    for text, row in zip(texts, padded, strict=True):
        expected = reference.encode(text)[:12]
        assert row.tolist() == expected + [0] * (12 - len(expected))
    single = tokenizer("x")
    expected = reference.encode("x")
    assert single.tolist() == expected + [0] * (12 - len(expected))


def test_eos_is_cut_off_by_truncation_as_in_keras_hub():
    proto = sentence_piece.tiny_proto("user_defined_mask")
    tokenizer = SentencePieceTokenizer(proto, sequence_length=3, add_bos=True, add_eos=True)
    ids = tokenizer("a long sentence about the lazy dog")
    assert ids[0] == 2 and 3 not in ids.tolist()


def test_detokenize_round_trip(sentence_piece_proto, sentence_piece_corpus):
    reference = _processor(sentence_piece_proto)
    tokenizer = SentencePieceTokenizer(sentence_piece_proto)
    texts = list(sentence_piece_corpus)
    rows = tokenizer(texts)
    assert tokenizer.detokenize(rows) == [reference.decode(row) for row in rows]
    text = "the lazy dog went to london"
    assert tokenizer.detokenize(tokenizer(text)) == text
    padded = SentencePieceTokenizer(sentence_piece_proto, sequence_length=40)(["the dog", "paris"])
    assert tokenizer.detokenize(padded) == ["the dog", "paris"]
    assert tokenizer.detokenize([5, 6]) == reference.decode([5, 6])


def test_detokenize_rejects_out_of_range_ids(sentence_piece_proto):
    tokenizer = SentencePieceTokenizer(sentence_piece_proto)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokenizer.detokenize([1, tokenizer.vocabulary_size()])


def test_vocabulary_lookups(any_sentence_piece_proto):
    reference = _processor(any_sentence_piece_proto)
    tokenizer = SentencePieceTokenizer(any_sentence_piece_proto)
    vocabulary = tokenizer.get_vocabulary()
    assert vocabulary == [reference.id_to_piece(i) for i in range(reference.get_piece_size())]
    assert tokenizer.vocabulary_size() == len(vocabulary)
    for index in (0, 1, 5, len(vocabulary) - 1):
        assert tokenizer.id_to_token(index) == vocabulary[index]
        assert tokenizer.token_to_id(vocabulary[index]) == index
    vocabulary.append("mutated")
    assert tokenizer.vocabulary_size() == len(vocabulary) - 1
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokenizer.id_to_token(len(vocabulary))
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tokenizer.token_to_id("no such piece")


def test_plain_tokenizer_pads_with_zero_and_has_no_special_tokens():
    proto = sentence_piece.tiny_proto("bpe_pad_last")
    tokenizer = SentencePieceTokenizer(proto, sequence_length=30)
    assert tokenizer.pad_token_id == 0
    assert tokenizer.special_tokens == []
    assert tokenizer("x")[-1] == 0


# --------------------------------------------------------------------------- proto forms


def test_proto_as_path_bytes_and_base64(sentence_piece_proto, tmp_path):
    path = tmp_path / "model.spm"
    path.write_bytes(sentence_piece_proto)
    expected = SentencePieceTokenizer(sentence_piece_proto)("The café in 東京").tolist()
    forms = [
        str(path),
        path,
        bytearray(sentence_piece_proto),
        memoryview(sentence_piece_proto),
        base64.b64encode(sentence_piece_proto).decode("ascii"),
    ]
    for form in forms:
        tokenizer = SentencePieceTokenizer(form)
        assert tokenizer.proto == sentence_piece_proto
        assert tokenizer("The café in 東京").tolist() == expected


def test_set_proto_swaps_and_unloads(sentence_piece_proto):
    tokenizer = SentencePieceTokenizer(sentence_piece_proto)
    other = sentence_piece.tiny_proto("bpe_pad_last")
    assert tokenizer.token_to_id("<pad>") == 0
    tokenizer.set_proto(other)
    assert tokenizer.token_to_id("<pad>") == 4  # the lookup cache follows the model
    tokenizer.set_proto(None)
    with pytest.raises(ValueError, match="no SentencePiece model yet"):
        tokenizer("text")


def test_pickle_round_trip(sentence_piece_proto):
    tokenizer = SentencePieceTokenizer(sentence_piece_proto, sequence_length=8)
    copy = pickle.loads(pickle.dumps(tokenizer))
    assert copy("the lazy dog").tolist() == tokenizer("the lazy dog").tolist()


# ----------------------------------------------------------------------- serialization


def test_config_has_keras_hub_keys_and_round_trips():
    tokenizer = SentencePieceTokenizer(
        sentence_piece.tiny_proto("user_defined_mask"), sequence_length=7, add_bos=True, name="spm"
    )
    config = tokenizer.get_config()
    assert set(config) == KERAS_HUB_CONFIG_KEYS
    assert config["proto"] is None
    assert (config["sequence_length"], config["add_bos"], config["add_eos"]) == (7, True, False)
    json.dumps(config)
    rebuilt = SentencePieceTokenizer.from_config(config)
    assert rebuilt.get_config() == config
    rebuilt.set_proto(tokenizer.proto)
    assert rebuilt("the dog").tolist() == tokenizer("the dog").tolist()


def test_keras_serialization_finds_the_class():
    serialized = keras.saving.serialize_keras_object(SentencePieceTokenizer(sequence_length=3))
    assert serialized["registered_name"] == "textbones>SentencePieceTokenizer"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is SentencePieceTokenizer and restored.sequence_length == 3


def test_preset_round_trip(sentence_piece_corpus, tmp_path):
    proto = sentence_piece.tiny_proto("user_defined_mask")
    tokenizer = SentencePieceTokenizer(proto, sequence_length=16, add_eos=True)
    tokenizer.save_to_preset(tmp_path / "preset")
    saved = json.loads((tmp_path / "preset" / "tokenizer.json").read_text())
    assert saved["registered_name"] == "keras_hub>SentencePieceTokenizer"
    assert saved["config"]["proto"] is None
    asset = tmp_path / "preset" / "assets" / "tokenizer" / "vocabulary.spm"
    assert asset.read_bytes() == proto
    loaded = Tokenizer.from_preset(tmp_path / "preset")
    assert type(loaded) is SentencePieceTokenizer
    assert loaded.get_config() == tokenizer.get_config()
    texts = list(sentence_piece_corpus)
    np.testing.assert_array_equal(loaded(texts), tokenizer(texts))


def test_saving_again_replaces_the_model_but_not_old_links(sentence_piece_proto, tmp_path):
    preset = tmp_path / "preset"
    SentencePieceTokenizer(sentence_piece_proto).save_to_preset(preset)
    asset = preset / "assets" / "tokenizer" / "vocabulary.spm"
    kept = tmp_path / "kept.spm"
    kept.hardlink_to(asset)
    other = sentence_piece.tiny_proto("bpe_pad_last")
    SentencePieceTokenizer(other).save_to_preset(preset)
    assert asset.read_bytes() == other
    assert kept.read_bytes() == sentence_piece_proto


def test_preset_without_the_model_file_is_a_clear_error(sentence_piece_proto, tmp_path):
    SentencePieceTokenizer(sentence_piece_proto).save_to_preset(tmp_path / "preset")
    (tmp_path / "preset" / "assets" / "tokenizer" / "vocabulary.spm").unlink()
    with pytest.raises(FileNotFoundError, match="vocabulary.spm does not exist"):
        Tokenizer.from_preset(tmp_path / "preset")


def test_saving_without_a_model_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no SentencePiece model yet"):
        SentencePieceTokenizer().save_to_preset(tmp_path / "preset")
    assert not (tmp_path / "preset").exists()


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (["fine", 3], "item 1 of the batch is a int"),
        (["fine", None], "item 1 of the batch is a NoneType"),
        (None, "got None"),
        (3.5, "takes a string or a list of strings"),
        (["ok", "lone \ud800 surrogate"], "Item 1 of the batch is not valid Unicode text"),
    ],
)
def test_bad_inputs(sentence_piece_proto, inputs, message):
    with pytest.raises(ValueError, match=message):
        SentencePieceTokenizer(sentence_piece_proto)(inputs)


@pytest.mark.parametrize(
    ("proto", "message"),
    [
        (b"this is not a model", "is not a SentencePiece model: sentencepiece cannot parse it"),
        (b"", "is not a SentencePiece model: it is empty"),
        (12, "got a int"),
        ("QUJD" * 400, "is not a SentencePiece model"),  # long base64 of junk
    ],
)
def test_bad_protos(proto, message):
    with pytest.raises(ValueError, match=message) as caught:
        SentencePieceTokenizer(proto)
    if "SentencePiece model:" in message:
        assert "compute_sentence_piece_proto" in str(caught.value)  # the message says what to pass


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="names no file"):
        SentencePieceTokenizer(str(tmp_path / "missing.spm"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        SentencePieceTokenizer(tmp_path / "missing.spm")
    with pytest.raises(ValueError, match="is a directory"):
        SentencePieceTokenizer(tmp_path)


def test_file_holding_junk_is_a_value_error(tmp_path):
    path = tmp_path / "junk.spm"
    path.write_bytes(b"\x00\x01junk")
    with pytest.raises(ValueError, match="not a SentencePiece model"):
        SentencePieceTokenizer(str(path))


def test_non_integer_dtype_is_refused(sentence_piece_proto):
    with pytest.raises(
        ValueError,
        match=r'must be an integer dtype \(such as "int32"\) or "string"; got dtype=\'float32\'',
    ):
        SentencePieceTokenizer(sentence_piece_proto, dtype="float32")


def test_failed_set_proto_keeps_the_old_model(sentence_piece_proto):
    tokenizer = SentencePieceTokenizer(sentence_piece_proto)
    with pytest.raises(ValueError):
        tokenizer.set_proto(b"junk")
    assert tokenizer.proto == sentence_piece_proto and tokenizer("dog").size > 0


# ------------------------------------------------------------------------- properties


@functools.cache
def _hypothesis_tokenizer(sequence_length: int | None = None) -> SentencePieceTokenizer:
    """Built once per length: hypothesis runs a test body hundreds of times."""
    proto = sentence_piece.tiny_proto("albert")
    return SentencePieceTokenizer(proto, sequence_length=sequence_length)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(texts=st.lists(st.text(max_size=200), max_size=8))
def test_any_text_gives_ids_in_range(texts):
    tokenizer = _hypothesis_tokenizer()
    rows = tokenizer(texts)
    size = tokenizer.vocabulary_size()
    for text, row in zip(texts, rows, strict=True):
        assert all(type(i) is int and 0 <= i < size for i in row)
        assert tokenizer(text).tolist() == row


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(
    texts=st.lists(st.text(max_size=80), min_size=1, max_size=6),
    sequence_length=st.integers(1, 40),
)
def test_padded_outputs_have_the_requested_shape(texts, sequence_length):
    tokenizer = _hypothesis_tokenizer(sequence_length)
    padded = tokenizer(texts)
    assert padded.shape == (len(texts), sequence_length) and padded.dtype == np.int32
    assert tokenizer(texts[0]).shape == (sequence_length,)
    unpadded = _hypothesis_tokenizer()(texts)
    for row, full in zip(padded, unpadded, strict=True):
        kept = min(len(full), sequence_length)
        assert row[:kept].tolist() == full[:kept]
        assert (row[kept:] == 0).all()


def test_corpus_covers_the_hard_cases(sentence_piece_corpus):
    joined = "".join(sentence_piece_corpus)
    for needle in ("[MASK]", "\u200b", "\x00", "😀", "日本", "é", "\u0301"):
        assert needle in joined
    assert "" in sentence_piece_corpus
    assert max(map(len, sentence_piece_corpus)) >= 1000
