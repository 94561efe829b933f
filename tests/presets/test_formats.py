"""The format of a preset folder is chosen once (``presets/formats.py``), behind one interface;
a user's subclass of a family's backbone saves and loads in every format."""

import json
import warnings

import numpy as np
import pytest

import textbones
from textbones import registry
from textbones.models import Backbone, BertBackbone, BertMaskedLM, MaskedLM
from textbones.presets import formats
from textbones.presets.formats import PresetFormat, format_named, preset_format
from textbones.presets.keras_preset import KerasPreset
from textbones.presets.preset_kind import PresetKind
from textbones.presets.transformers.checkpoint_format import TransformersFormat
from textbones.tokenizers import BertTokenizer, Tokenizer

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"]


@pytest.fixture(scope="module")
def UserBert():
    """A user's backbone: BERT with nothing changed, under another name (registered while
    this module's tests run only, so other tests see the registry as textbones fills it)."""

    class UserBert(BertBackbone):
        pass

    yield UserBert
    registry._classes["backbone"].pop("UserBert", None)


def _user_backbone(UserBert):
    return UserBert(len(VOCABULARY), 2, 2, 8, 16, max_sequence_length=32)


def _assert_same_weights(loaded, expected) -> None:
    ours = {v.path: v.numpy() for v in loaded.weights}
    theirs = {v.path: v.numpy() for v in expected.weights}
    assert sorted(ours) == sorted(theirs)
    for path, value in theirs.items():
        np.testing.assert_array_equal(ours[path], value, err_msg=path)


# -- choosing the format ---------------------------------------------------------------------


def test_a_keras_preset_is_read_as_one(tmp_path):
    BertBackbone(len(VOCABULARY), 1, 2, 8, 16).save_to_preset(tmp_path)
    preset = preset_format(tmp_path)
    assert type(preset) is KerasPreset and preset.name == "keras"
    assert preset.config["registered_name"] == "keras_hub>BertBackbone"
    assert preset.kind() == PresetKind(None, None, "BertBackbone", False)


def test_a_folder_without_config_json_is_a_keras_preset_of_its_other_files(tmp_path):
    BertTokenizer(vocabulary=VOCABULARY).save_to_preset(tmp_path)
    preset = preset_format(tmp_path)
    assert type(preset) is KerasPreset and preset.config is None
    assert preset.kind().describe() == "a tokenizer-only preset (no model)"
    assert preset.load_tokenizer(Tokenizer, {}).get_vocabulary() == VOCABULARY


def test_a_transformers_checkpoint_is_read_as_one(tmp_path):
    task = BertMaskedLM(BertBackbone(len(VOCABULARY), 1, 2, 8, 16), preprocessor=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the head's GELU and epsilon differ from the encoder's
        task.save_to_preset(tmp_path, format="transformers")
    preset = preset_format(tmp_path)
    assert type(preset) is TransformersFormat and preset.name == "transformers"
    assert preset.config["model_type"] == "bert"
    assert preset.kind() == PresetKind("masked_lm", "BertForMaskedLM", "BertBackbone", False)


def test_a_config_json_of_no_known_format_is_refused_saying_what_each_format_needs(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8, "layers": 2}))
    expected = (
        f"{tmp_path / 'config.json'} is in no format textbones reads: a Keras preset's "
        "config.json names its class ('registered_name'); a transformers config.json has a "
        '\'model_type\', and it has neither (its keys: ["hidden_size", "layers"]). Point '
        "`from_preset` at a directory written by `save_to_preset`, KerasHub or transformers' "
        "`save_pretrained`."
    )
    with pytest.raises(ValueError) as raised:
        preset_format(tmp_path)
    assert str(raised.value) == expected
    for load in (Backbone.from_preset, Tokenizer.from_preset, MaskedLM.from_preset):
        with pytest.raises(ValueError, match="is in no format textbones reads"):
            load(tmp_path)


def test_an_unknown_save_format_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError) as raised:
        BertBackbone(len(VOCABULARY), 1, 2, 8, 16).save_to_preset(tmp_path / "x", format="onnx")
    assert str(raised.value) == (
        "Unknown preset format 'onnx': use \"keras\" (KerasHub's layout, the default) or "
        '"transformers" (a Hugging Face checkpoint) or "sentence-transformers" (a '
        "sentence-transformers model folder)."
    )
    assert not (tmp_path / "x").exists()
    assert format_named("keras") is KerasPreset


def test_a_third_format_needs_no_change_to_the_callers(tmp_path):
    """A format registered from outside is what ``from_preset`` and ``save_to_preset`` use
    for its folders."""
    tokenizer = BertTokenizer(vocabulary=VOCABULARY)
    saved = []

    class ModulesFolder(PresetFormat):
        name = "modules-test"
        label = "a test format"
        description = "a modules-test folder has a modules-test.json"

        @classmethod
        def claims(cls, directory, config):
            return (directory / "modules-test.json").is_file()

        def load_backbone(self, cls, load_weights, overrides):
            raise NotImplementedError

        def load_tokenizer(self, cls, overrides):
            return tokenizer

        def load_preprocessor(self, cls, overrides):
            return self.preprocessor_around_tokenizer(cls, overrides)

        def load_task(self, cls, load_weights, kwargs):
            raise NotImplementedError

        def kind(self):
            return PresetKind(None, None, None, True)

        @classmethod
        def save_backbone(cls, backbone, preset_dir):
            saved.append(("backbone", preset_dir))

        save_tokenizer = save_preprocessor = save_task = save_backbone

    formats.register_format(ModulesFolder)
    try:
        (tmp_path / "modules-test.json").write_text("[]")
        assert Tokenizer.from_preset(tmp_path) is tokenizer
        preprocessor = textbones.models.TextClassifierPreprocessor.from_preset(
            tmp_path, sequence_length=5
        )
        assert preprocessor("the fox")["token_ids"].tolist() == [2, 5, 6, 3, 0]
        BertBackbone(len(VOCABULARY), 1, 2, 8, 16).save_to_preset(tmp_path, format="modules-test")
        assert saved == [("backbone", tmp_path)]
    finally:
        formats._formats.pop(ModulesFolder.name)
    assert [format_cls.name for format_cls in formats.formats()] == [
        "keras",
        "transformers",
        "sentence-transformers",
    ]


# -- a user's subclass of a family's backbone --------------------------------------------------


def test_a_user_subclass_of_a_family_backbone_belongs_to_the_family(UserBert):
    assert registry.family_of(UserBert).name == "bert"
    assert registry.classes("backbone")["UserBert"] is UserBert


def test_a_user_backbone_round_trips_through_a_keras_preset(tmp_path, UserBert):
    backbone = _user_backbone(UserBert)
    backbone.save_to_preset(tmp_path)
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    assert metadata["tasks"] == [
        "MaskedLM",
        "QuestionAnswerer",
        "TextClassifier",
        "TextEmbedder",
        "TokenClassifier",
    ]
    loaded = Backbone.from_preset(tmp_path)
    assert type(loaded) is UserBert
    _assert_same_weights(loaded, backbone)
    task = MaskedLM.from_preset(tmp_path, preprocessor=None)
    assert type(task) is BertMaskedLM and type(task.backbone) is UserBert


def test_a_user_backbone_exports_to_transformers_and_reloads(tmp_path, UserBert):
    backbone = _user_backbone(UserBert)
    backbone.save_to_preset(tmp_path, format="transformers")
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "bert" and config["architectures"] == ["BertModel"]
    as_family = Backbone.from_preset(tmp_path)
    assert type(as_family) is BertBackbone
    _assert_same_weights(as_family, backbone)
    as_user = UserBert.from_preset(tmp_path)
    assert type(as_user) is UserBert
    _assert_same_weights(as_user, backbone)


def test_a_task_on_a_user_backbone_exports_to_transformers_with_its_head(tmp_path, UserBert):
    tokenizer = BertTokenizer(vocabulary=VOCABULARY)
    preprocessor = textbones.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=8)
    task = textbones.models.BertTextClassifier(
        _user_backbone(UserBert), 3, preprocessor=preprocessor
    )
    task.save_to_preset(tmp_path / "keras")
    assert textbones.presets.convert(tmp_path / "keras", tmp_path / "hf") == "BertTextClassifier"
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["architectures"] == ["BertForSequenceClassification"]
    assert len(config["id2label"]) == 3
    reloaded = textbones.models.TextClassifier.from_preset(tmp_path / "hf")
    assert reloaded.num_classes == 3
    _assert_same_weights(reloaded, task)
    texts = ["the fox ran", "the fox"]
    np.testing.assert_allclose(
        reloaded.predict(texts, verbose=0), task.predict(texts, verbose=0), atol=1e-6
    )
