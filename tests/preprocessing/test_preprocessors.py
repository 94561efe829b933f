"""Text-classifier and masked-LM preprocessors of the three families: values, presets, errors."""

import json

import keras
import numpy as np
import pytest

import textbones
from tests.helpers.sentence_piece import tiny_proto
from textbones.models import (
    AlbertMaskedLMPreprocessor,
    AlbertTextClassifierPreprocessor,
    AlbertTokenizer,
    BertMaskedLMPreprocessor,
    BertTextClassifierPreprocessor,
    BertTokenizer,
    FNetMaskedLMPreprocessor,
    FNetTextClassifierPreprocessor,
    FNetTokenizer,
    MaskedLMPreprocessor,
    Preprocessor,
    TextClassifierPreprocessor,
)

VOCABULARY = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "the",
    "quick",
    "brown",
    "fox",
    "jumped",
    ".",
    "a",
    "dog",
    "##s",
]


def bert_tokenizer():
    return BertTokenizer(vocabulary=VOCABULARY, lowercase=True)


CLASSIFIERS = {
    "bert": (BertTextClassifierPreprocessor, bert_tokenizer),
    "albert": (
        AlbertTextClassifierPreprocessor,
        lambda: AlbertTokenizer(proto=tiny_proto("albert")),
    ),
    "f_net": (FNetTextClassifierPreprocessor, lambda: FNetTokenizer(proto=tiny_proto("albert"))),
}
MASKED_LMS = {
    "bert": (BertMaskedLMPreprocessor, bert_tokenizer),
    "albert": (AlbertMaskedLMPreprocessor, lambda: AlbertTokenizer(proto=tiny_proto("albert"))),
    "f_net": (FNetMaskedLMPreprocessor, lambda: FNetTokenizer(proto=tiny_proto("albert"))),
}


def test_bert_classifier_packs_single_sentences_and_pairs():
    preprocessor = BertTextClassifierPreprocessor(bert_tokenizer(), sequence_length=8)
    single = preprocessor("The quick fox.")
    np.testing.assert_array_equal(single["token_ids"], [2, 5, 6, 8, 10, 3, 0, 0])
    np.testing.assert_array_equal(single["segment_ids"], [0] * 8)
    np.testing.assert_array_equal(single["padding_mask"], [1, 1, 1, 1, 1, 1, 0, 0])

    pair = preprocessor((["the fox", "a dog"], ["jumped .", "dogs"]))
    np.testing.assert_array_equal(
        pair["token_ids"], [[2, 5, 8, 3, 9, 10, 3, 0], [2, 11, 12, 3, 12, 13, 3, 0]]
    )
    np.testing.assert_array_equal(
        pair["segment_ids"], [[0, 0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 1, 1, 1, 0]]
    )
    assert pair["token_ids"].dtype == np.int32


def test_round_robin_truncation_of_pairs_and_settable_length():
    preprocessor = BertTextClassifierPreprocessor(bert_tokenizer(), sequence_length=7)
    out = preprocessor((["the quick brown fox"], ["a dog jumped ."]))
    np.testing.assert_array_equal(out["token_ids"], [[2, 5, 6, 3, 11, 12, 3]])
    preprocessor.sequence_length = 5
    assert preprocessor("the quick brown fox")["token_ids"].shape == (5,)
    assert preprocessor.get_config()["sequence_length"] == 5


def test_labels_and_weights_pass_through():
    preprocessor = BertTextClassifierPreprocessor(bert_tokenizer(), sequence_length=6)
    x, y, weights = preprocessor(["the fox", "a dog"], [1, 0], [1.0, 0.5])
    assert x["token_ids"].shape == (2, 6)
    np.testing.assert_array_equal(y, [1, 0])
    np.testing.assert_array_equal(weights, np.array([1.0, 0.5], "float32"))


@pytest.mark.parametrize("family", sorted(CLASSIFIERS))
def test_classifier_inputs_feed_the_backbone(family):
    cls, make_tokenizer = CLASSIFIERS[family]
    preprocessor = cls(make_tokenizer(), sequence_length=10)
    inputs = preprocessor(["the quick brown fox", "a dog"])
    expected = {"token_ids", "segment_ids"} | ({"padding_mask"} if family != "f_net" else set())
    assert set(inputs) == expected
    backbone_cls = {
        "bert": textbones.models.BertBackbone,
        "albert": textbones.models.AlbertBackbone,
        "f_net": textbones.models.FNetBackbone,
    }[family]
    assert set(backbone_cls.input_names) == expected
    tokenizer = preprocessor.tokenizer
    assert inputs["token_ids"][0, 0] == tokenizer.cls_token_id
    assert tokenizer.sep_token_id in inputs["token_ids"][1]


@pytest.mark.parametrize("family", sorted(MASKED_LMS))
def test_masked_lm_outputs(family):
    cls, make_tokenizer = MASKED_LMS[family]
    tokenizer = make_tokenizer()
    preprocessor = cls(
        tokenizer, sequence_length=24, mask_selection_rate=0.5, mask_selection_length=6
    )
    text = ["the quick brown fox jumped over the lazy dog again and again"] * 4
    unmasked = CLASSIFIERS[family][0](tokenizer, sequence_length=24)(text)["token_ids"]
    x, y, weights = preprocessor(text)
    assert x["mask_positions"].shape == y.shape == weights.shape == (4, 6)
    assert x["token_ids"].shape == (4, 24)
    specials = {tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id}
    for row in range(4):
        chosen = x["mask_positions"][row][weights[row] > 0]
        assert len(chosen) > 0
        np.testing.assert_array_equal(y[row][weights[row] > 0], unmasked[row][chosen])
        assert not specials & set(unmasked[row][chosen].tolist())
        untouched = np.setdiff1d(np.arange(24), chosen)
        np.testing.assert_array_equal(x["token_ids"][row][untouched], unmasked[row][untouched])


def test_masks_are_fresh_each_call_and_reproducible_under_a_seed():
    text = ["the quick brown fox jumped . the dog"] * 8

    def draw():
        keras.utils.set_random_seed(7)
        preprocessor = BertMaskedLMPreprocessor(bert_tokenizer(), sequence_length=16)
        return [preprocessor(text)[0]["mask_positions"] for _ in range(2)]

    first, second = draw(), draw()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], first[1])


def test_masked_lm_refuses_labels():
    with pytest.raises(ValueError, match="makes its own labels"):
        BertMaskedLMPreprocessor(bert_tokenizer(), sequence_length=8)(["the fox"], [1])


def test_mismatched_pair_lengths():
    preprocessor = BertTextClassifierPreprocessor(bert_tokenizer(), sequence_length=8)
    with pytest.raises(ValueError, match=r"same number of rows, got \[1, 2\]"):
        preprocessor((["the fox"], ["a", "dog"]))


def test_wrong_tokenizer_family():
    with pytest.raises(
        ValueError,
        match=r"AlbertTextClassifierPreprocessor needs a "
        r"textbones\.models\.albert\.tokenizer\.AlbertTokenizer, "
        r"got a textbones\.models\.bert\.tokenizer\.BertTokenizer\.",
    ):
        AlbertTextClassifierPreprocessor(bert_tokenizer())


def test_non_string_text():
    preprocessor = BertTextClassifierPreprocessor(bert_tokenizer(), sequence_length=8)
    with pytest.raises(ValueError, match="item 1 of the batch is a int"):
        preprocessor(["the fox", 3])


@pytest.mark.parametrize("family", sorted(MASKED_LMS))
def test_config_and_preset_round_trip(family, tmp_path):
    cls, make_tokenizer = MASKED_LMS[family]
    preprocessor = cls(make_tokenizer(), sequence_length=12, mask_selection_length=4)
    config = preprocessor.get_config()
    assert json.loads(json.dumps(config)) == config
    preprocessor.save_to_preset(tmp_path / "p")
    saved = json.loads((tmp_path / "p" / "preprocessor.json").read_text())
    assert saved["registered_name"] == f"keras_hub>{cls.__name__}"
    assert (
        saved["config"]["tokenizer"]["config"].get(
            "vocabulary", saved["config"]["tokenizer"]["config"].get("proto")
        )
        is None
    )
    for loader in (Preprocessor, MaskedLMPreprocessor, cls):
        restored = loader.from_preset(tmp_path / "p")
        assert type(restored) is cls
        assert restored.sequence_length == 12 and restored.mask_selection_length == 4
    restored = cls.from_preset(tmp_path / "p", sequence_length=6)
    assert restored.sequence_length == 6
    text = ["the quick brown fox"]
    classifier = CLASSIFIERS[family][0]
    np.testing.assert_array_equal(
        classifier(restored.tokenizer, sequence_length=6)(text)["token_ids"],
        classifier(preprocessor.tokenizer, sequence_length=6)(text)["token_ids"],
    )


def test_generic_base_picks_the_family_from_a_tokenizer_only_preset(tmp_path):
    bert_tokenizer().save_to_preset(tmp_path / "p")
    preprocessor = TextClassifierPreprocessor.from_preset(tmp_path / "p", sequence_length=16)
    assert (
        type(preprocessor) is BertTextClassifierPreprocessor and preprocessor.sequence_length == 16
    )
    assert type(MaskedLMPreprocessor.from_preset(tmp_path / "p")) is BertMaskedLMPreprocessor
    with pytest.raises(ValueError, match="cannot pick a preprocessor"):
        Preprocessor.from_preset(tmp_path / "p")


def test_a_family_refuses_another_familys_preprocessor(tmp_path):
    BertTextClassifierPreprocessor(bert_tokenizer()).save_to_preset(tmp_path / "p")
    with pytest.raises(ValueError, match="FNetTextClassifierPreprocessor.from_preset cannot load"):
        FNetTextClassifierPreprocessor.from_preset(tmp_path / "p")


def test_aliases():
    assert textbones.models.BertPreprocessor is BertTextClassifierPreprocessor
    assert textbones.models.FNetPreprocessor is FNetTextClassifierPreprocessor


@pytest.mark.parametrize("family", sorted(CLASSIFIERS))
def test_the_packer_takes_the_tokenizers_start_and_end_ids(family):
    cls, make_tokenizer = CLASSIFIERS[family]
    tokenizer = make_tokenizer()
    assert (tokenizer.start_token_id, tokenizer.end_token_id) == (
        tokenizer.cls_token_id,
        tokenizer.sep_token_id,
    )
    packer = cls(tokenizer, sequence_length=10).packer
    assert (packer.start_value, packer.end_value) == (
        tokenizer.start_token_id,
        tokenizer.end_token_id,
    )


def test_a_tokenizer_with_other_start_and_end_tokens_packs_with_them():
    class DotTokenizer(BertTokenizer):
        # Starts rows with "a" and ends segments with "." (ids 11 and 10).
        start_token = "a"
        end_token = "."

    tokenizer = DotTokenizer(vocabulary=VOCABULARY)
    assert (tokenizer.start_token_id, tokenizer.end_token_id) == (11, 10)
    # The family's other special tokens keep their ids.
    assert (tokenizer.cls_token_id, tokenizer.sep_token_id) == (2, 3)
    x = BertTextClassifierPreprocessor(tokenizer, sequence_length=8)((["the fox"], ["dog"]))
    assert x["token_ids"].tolist() == [[11, 5, 8, 10, 12, 10, 0, 0]]


def test_a_tokenizer_without_start_or_end_token_is_refused_by_the_packer():
    from textbones.tokenizers import WordPieceTokenizer

    tokenizer = WordPieceTokenizer(VOCABULARY)
    assert tokenizer.start_token_id is None and tokenizer.end_token_id is None
    # Swapped in after construction, which checks the tokenizer's class (no subclass of a
    # preprocessor here: it would join the registry the preset loader searches).
    preprocessor = BertTextClassifierPreprocessor(bert_tokenizer(), sequence_length=8)
    preprocessor.tokenizer = tokenizer
    with pytest.raises(ValueError) as error:
        preprocessor("the fox")
    assert str(error.value) == (
        "BertTextClassifierPreprocessor packs rows as `start a end (b end)`, but its "
        "WordPieceTokenizer has no start_token. Use the tokenizer of the preprocessor's family."
    )


@pytest.mark.parametrize("family", sorted(CLASSIFIERS))
def test_preprocess_batch_is_what_calling_returns(family):
    cls, make_tokenizer = CLASSIFIERS[family]
    preprocessor = cls(make_tokenizer(), sequence_length=12)
    text = ["the quick brown fox", "a dog"]
    called, batch = preprocessor(text, [1, 0]), preprocessor.preprocess_batch(text, [1, 0])
    assert sorted(batch[0]) == sorted(called[0])
    for name in called[0]:
        np.testing.assert_array_equal(batch[0][name], called[0][name])
    np.testing.assert_array_equal(batch[1], [1, 0])
    x = preprocessor.preprocess_batch(text)
    assert isinstance(x, dict) and x["token_ids"].shape == (2, 12)


def test_preprocess_batch_pads_to_a_bucket_with_dynamic_length():
    preprocessor = BertTextClassifierPreprocessor(bert_tokenizer(), sequence_length=64)
    x = preprocessor.preprocess_batch(["the quick fox", "a dog"], dynamic_length=True)
    assert {name: value.shape for name, value in x.items()} == {
        "token_ids": (2, 16),
        "segment_ids": (2, 16),
        "padding_mask": (2, 16),
    }
    np.testing.assert_array_equal(x["token_ids"][:, :6], [[2, 5, 6, 8, 3, 0], [2, 11, 12, 3, 0, 0]])
    # Without a padding mask (FNet), rows keep their full length.
    fnet = FNetTextClassifierPreprocessor(FNetTokenizer(proto=tiny_proto("albert")), 64)
    assert fnet.preprocess_batch(["the fox"], dynamic_length=True)["token_ids"].shape == (1, 64)


def test_masked_lm_preprocess_batch_draws_its_masks_from_rng():
    preprocessor = BertMaskedLMPreprocessor(
        bert_tokenizer(), sequence_length=32, mask_selection_length=24
    )
    text = ["the quick brown fox jumped . the dog"] * 4

    def positions(seed, **options):
        rng = np.random.default_rng(seed)
        x, y, weights = preprocessor.preprocess_batch(text, rng=rng, **options)
        return x["mask_positions"]

    np.testing.assert_array_equal(positions(3), positions(3))
    assert not np.array_equal(positions(3), positions(4))
    assert positions(3).shape == (4, 24)
    # Trimmed to the slots the rows use (the seed picks at most 8 of their 10 tokens),
    # rounded up to the smallest bucket, 8; `trim_mask_slots` follows `dynamic_length`.
    assert positions(3, trim_mask_slots=True).shape == (4, 8)
    assert positions(3, dynamic_length=True).shape == (4, 8)
    assert positions(3, dynamic_length=True, trim_mask_slots=False).shape == (4, 24)
    with pytest.raises(TypeError, match="unexpected keyword argument 'shuffle'"):
        preprocessor.preprocess_batch(text, shuffle=True)
