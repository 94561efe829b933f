"""Tests of ``textbones/preprocessing/safe_mode.py``: under Keras' safe mode a deserialized
config cannot make a tokenizer read a file, while saved archives and presets still load."""

import base64
import json
import zipfile

import keras
import numpy as np
import pytest
from keras.src.backend.common import global_state

from tests.helpers.sentence_piece import tiny_proto
from textbones.models import (
    AlbertTokenizer,
    BertBackbone,
    BertTextClassifier,
    BertTextClassifierPreprocessor,
    BertTokenizer,
)
from textbones.preprocessing.safe_mode import in_safe_mode

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "fox"]


def _config(class_name: str, **arguments) -> dict:
    """A KerasHub-style serialized tokenizer, as a downloaded config would hold it."""
    return {
        "module": "keras_hub.src.models",
        "class_name": class_name,
        "registered_name": f"keras_hub>{class_name}",
        "config": arguments,
    }


@pytest.fixture
def outside_vocabulary(tmp_path):
    path = tmp_path / "outside" / "vocab.txt"
    path.parent.mkdir()
    path.write_text("".join(token + "\n" for token in VOCABULARY), encoding="utf-8")
    return path


@pytest.fixture
def unsafe_globally():
    """``keras.config.enable_unsafe_deserialization()``, undone afterwards."""
    previous = global_state.get_global_attribute("safe_mode_saving")
    keras.config.enable_unsafe_deserialization()
    yield
    global_state.set_global_attribute("safe_mode_saving", previous)


def test_keras_safe_mode_flag_is_what_the_module_reads(unsafe_globally):
    # Pins the Keras internal the module relies on: True only inside a safe deserialization.
    from keras.src.saving import serialization_lib

    seen = []

    class Probe:
        @classmethod
        def from_config(cls, config):
            seen.append(in_safe_mode())
            return cls()

    keras.saving.get_custom_objects()["textbones_test>Probe"] = Probe
    try:
        global_state.set_global_attribute("safe_mode_saving", None)
        assert in_safe_mode() is False
        config = {"module": None, "class_name": "Probe", "config": {}}
        config["registered_name"] = "textbones_test>Probe"
        keras.saving.deserialize_keras_object(config)
        keras.saving.deserialize_keras_object(config, safe_mode=False)
        with serialization_lib.SafeModeScope(True):
            seen.append(in_safe_mode())
        keras.config.enable_unsafe_deserialization()
        keras.saving.deserialize_keras_object(config)
    finally:
        del keras.saving.get_custom_objects()["textbones_test>Probe"]
    assert seen == [True, False, True, False]


def test_a_config_naming_a_vocabulary_file_is_refused(outside_vocabulary):
    config = _config("BertTokenizer", vocabulary=str(outside_vocabulary))
    with pytest.raises(ValueError) as caught:
        keras.saving.deserialize_keras_object(config)
    message = str(caught.value)
    expected = f"BertTokenizer will not read the vocabulary file '{outside_vocabulary}'"
    assert message.startswith(expected)
    assert "safe mode" in message and "safe_mode=False" in message
    assert "enable_unsafe_deserialization()" in message and "a list of tokens" in message
    # The refusal comes before any reading: a missing file gives the same refusal.
    missing = _config("BertTokenizer", vocabulary=str(outside_vocabulary.parent / "none.txt"))
    with pytest.raises(ValueError, match="will not read the vocabulary file"):
        keras.saving.deserialize_keras_object(missing)


def test_the_file_loads_when_safe_mode_is_off(outside_vocabulary, unsafe_globally):
    config = _config("BertTokenizer", vocabulary=str(outside_vocabulary))
    tokenizer = keras.saving.deserialize_keras_object(config, safe_mode=False)
    assert tokenizer.get_vocabulary() == VOCABULARY
    # ... and after keras.config.enable_unsafe_deserialization() (the fixture).
    assert keras.saving.deserialize_keras_object(config).get_vocabulary() == VOCABULARY


def test_in_memory_vocabularies_are_always_accepted():
    config = _config("BertTokenizer", vocabulary=VOCABULARY)
    tokenizer = keras.saving.deserialize_keras_object(config)
    assert tokenizer("the fox").tolist() == [5, 7]
    proto = tiny_proto("albert")
    inline = base64.b64encode(proto).decode("ascii")
    restored = keras.saving.deserialize_keras_object(_config("AlbertTokenizer", proto=inline))
    assert restored.proto == proto


def test_a_config_naming_a_proto_file_is_refused(tmp_path):
    path = tmp_path / "outside.spm"
    path.write_bytes(tiny_proto("albert"))
    with pytest.raises(ValueError) as caught:
        keras.saving.deserialize_keras_object(_config("AlbertTokenizer", proto=str(path)))
    assert str(caught.value).startswith(f"AlbertTokenizer will not read the proto file '{path}'")
    assert "the model's bytes" in str(caught.value)
    # A file name made of base64 letters is still a file name when such a file exists.
    lookalike = tmp_path / "abcd"
    lookalike.write_bytes(tiny_proto("albert"))
    with pytest.raises(ValueError, match="will not read the proto file"):
        keras.saving.deserialize_keras_object(_config("AlbertTokenizer", proto=str(lookalike)))
    assert (
        keras.saving.deserialize_keras_object(
            _config("AlbertTokenizer", proto=str(path)), safe_mode=False
        ).vocabulary_size()
        == AlbertTokenizer(proto=path).vocabulary_size()
    )


def test_paths_outside_deserialization_are_read(outside_vocabulary):
    assert BertTokenizer(vocabulary=outside_vocabulary).get_vocabulary() == VOCABULARY
    assert BertTokenizer(vocabulary=str(outside_vocabulary)).get_vocabulary() == VOCABULARY


def _classifier():
    tokenizer = BertTokenizer(vocabulary=VOCABULARY)
    preprocessor = BertTextClassifierPreprocessor(tokenizer, sequence_length=8)
    backbone = BertBackbone(len(VOCABULARY), 1, 2, 8, 16, max_sequence_length=8)
    return BertTextClassifier(backbone, num_classes=2, preprocessor=preprocessor)


def test_saved_archives_and_presets_still_load_in_safe_mode(tmp_path, outside_vocabulary):
    classifier = _classifier()
    expected = np.asarray(classifier.predict(["the quick fox"], verbose=0))
    archive = tmp_path / "classifier.keras"
    classifier.save(archive)
    restored = keras.models.load_model(archive)  # safe_mode=True, the default
    assert restored.preprocessor.tokenizer.get_vocabulary() == VOCABULARY
    predicted = np.asarray(restored.predict(["the quick fox"], verbose=0))
    np.testing.assert_allclose(predicted, expected, atol=1e-6)
    classifier.preprocessor.tokenizer.save_to_preset(tmp_path / "preset")
    assert BertTokenizer.from_preset(str(tmp_path / "preset")).get_vocabulary() == VOCABULARY

    # The same archive, its config edited to name a file outside it, is refused.
    edited = tmp_path / "edited.keras"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(edited, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                tokenizer = config["config"]["preprocessor"]["config"]["tokenizer"]
                tokenizer["config"]["vocabulary"] = str(outside_vocabulary)
                data = json.dumps(config).encode("utf-8")
            target.writestr(item, data)
    with pytest.raises(ValueError, match="will not read the vocabulary file"):
        keras.models.load_model(edited)
