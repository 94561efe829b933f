"""A task preset's trained head is restored or the load fails, naming the file: never a silent
random head (issue 11, section 3 first bullet; section 5, ``load_weights=False`` for a task).

One tiny BERT classifier and masked LM are saved per module, each with a head far from any
fresh initialisation; each test copies a preset, damages or loads it, and checks the outcome
and the message.
"""

import json
import re
import shutil
import time
import types

import h5py
import numpy as np
import pytest

import textbones
from tests.conftest import to_numpy
from tests.helpers.transformers_checkpoints import read_all, rewrite_weights
from textbones.models import (
    BertBackbone,
    BertMaskedLM,
    BertMaskedLMPreprocessor,
    BertTextClassifier,
    BertTextClassifierPreprocessor,
    BertTokenizer,
    MaskedLM,
    TextClassifier,
)
from textbones.presets.download_errors import PresetDownloadError

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "fox", "dog", "ran"]
SEQUENCE_LENGTH = 24
NUM_CLASSES = 3


def _backbone():
    return BertBackbone(
        vocabulary_size=len(VOCABULARY),
        num_layers=1,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=16,
        max_sequence_length=32,
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A classifier and a masked-LM preset whose heads hold large, known values."""
    folder = tmp_path_factory.mktemp("task_presets")
    tokenizer = BertTokenizer(vocabulary=VOCABULARY)
    classifier = BertTextClassifier(
        _backbone(),
        num_classes=NUM_CLASSES,
        preprocessor=BertTextClassifierPreprocessor(tokenizer, sequence_length=SEQUENCE_LENGTH),
    )
    rng = np.random.default_rng(0)
    classifier.output_dense.kernel.assign(rng.normal(0, 3, (8, NUM_CLASSES)).astype("float32"))
    classifier.output_dense.bias.assign(np.array([1.5, -2.0, 0.5], "float32"))
    classifier.save_to_preset(folder / "classifier")
    masked_lm = BertMaskedLM(
        _backbone(),
        preprocessor=BertMaskedLMPreprocessor(
            tokenizer, sequence_length=SEQUENCE_LENGTH, mask_selection_length=4
        ),
    )
    masked_lm.masked_lm_head.output_bias.assign(rng.normal(0, 3, len(VOCABULARY)).astype("float32"))
    masked_lm.save_to_preset(folder / "masked_lm")
    return types.SimpleNamespace(
        classifier=folder / "classifier",
        kernel=to_numpy(classifier.output_dense.kernel).copy(),
        bias=to_numpy(classifier.output_dense.bias).copy(),
        masked_lm=folder / "masked_lm",
        output_bias=to_numpy(masked_lm.masked_lm_head.output_bias).copy(),
    )


def _copy(preset, tmp_path):
    target = tmp_path / preset.name
    shutil.copytree(preset, target)
    return target


def _assert_saved_head(task, saved):
    np.testing.assert_array_equal(to_numpy(task.output_dense.kernel), saved.kernel)
    np.testing.assert_array_equal(to_numpy(task.output_dense.bias), saved.bias)


def _assert_fresh_head(task, classes):
    kernel = to_numpy(task.output_dense.kernel)
    assert kernel.shape == (8, classes) and np.abs(kernel).max() < 0.1  # stddev 0.02
    np.testing.assert_array_equal(to_numpy(task.output_dense.bias), np.zeros(classes, "float32"))


# -- task.weights.h5 -----------------------------------------------------------------------


def test_a_missing_head_weights_file_is_refused(saved, tmp_path):
    for preset, task_cls in ((saved.classifier, TextClassifier), (saved.masked_lm, MaskedLM)):
        folder = _copy(preset, tmp_path)
        (folder / "task.weights.h5").unlink()
        name = "BertTextClassifier" if task_cls is TextClassifier else "BertMaskedLM"
        with pytest.raises(
            FileNotFoundError,
            match=rf"{re.escape(str(folder))} holds a trained {name} \(task\.json\) but not its "
            r"head's weights: task\.weights\.h5 is missing\. Save or download the preset again\. "
            rf"To start from its backbone with a fresh head instead, build {name}\(BertBackbone",
        ):
            task_cls.from_preset(str(folder))
        # Random weights throughout were asked for: nothing to restore.
        assert type(task_cls.from_preset(str(folder), load_weights=False)).__name__ == name


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_head_weights_file_is_refused(saved, tmp_path, damage):
    folder = _copy(saved.classifier, tmp_path)
    path = folder / "task.weights.h5"
    data = path.read_bytes()
    path.write_bytes(b"\x00not hdf5" * 64 if damage == "garbage" else data[: len(data) // 3])
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(str(path))} is corrupt or incomplete .*download or save the preset",
    ):
        TextClassifier.from_preset(str(folder))


def test_head_weights_of_another_task_are_refused(saved, tmp_path):
    folder = _copy(saved.classifier, tmp_path)
    shutil.copy(saved.masked_lm / "task.weights.h5", folder / "task.weights.h5")
    with pytest.raises(ValueError, match=r"The weights in .*task\.weights\.h5 do not (fit|cover)"):
        TextClassifier.from_preset(str(folder))


def test_an_empty_head_weights_file_is_refused(saved, tmp_path):
    folder = _copy(saved.classifier, tmp_path)
    with h5py.File(folder / "task.weights.h5", "w"):
        pass  # a valid HDF5 file holding nothing
    with pytest.raises(ValueError, match=r"The weights in .*task\.weights\.h5 do not (fit|cover)"):
        TextClassifier.from_preset(str(folder))


# -- task.json -----------------------------------------------------------------------------

FRESH_HEAD_FIX = (
    r"To use its backbone with a fresh head instead, delete task\.json and task\.weights\.h5 "
    r"\(it is then a backbone preset\)\."
)


def test_head_weights_without_task_json_are_refused(saved, tmp_path):
    folder = _copy(saved.classifier, tmp_path)
    (folder / "task.json").unlink()
    for call in (
        lambda: TextClassifier.from_preset(str(folder), num_classes=NUM_CLASSES),
        lambda: MaskedLM.from_preset(str(folder)),
    ):
        with pytest.raises(
            ValueError,
            match=rf"{re.escape(str(folder))} holds a trained task head \(task\.weights\.h5\) but "
            r"no task\.json saying which task it belongs to, so the head cannot be restored: the "
            rf"preset is incomplete\. Save or download the preset again\. {FRESH_HEAD_FIX}",
        ):
            call()


def test_a_backbone_preset_gets_the_fresh_head_asked_for(saved, tmp_path):
    folder = _copy(saved.classifier, tmp_path)
    (folder / "task.json").unlink()
    (folder / "task.weights.h5").unlink()
    _assert_fresh_head(TextClassifier.from_preset(str(folder), num_classes=2), 2)
    with pytest.raises(
        ValueError,
        match=r"BertTextClassifier\.from_preset builds a fresh head on .* so it needs "
        r"`num_classes` \(e\.g\. `num_classes=2`\)\.",
    ):
        TextClassifier.from_preset(str(folder))


def test_task_json_naming_an_unknown_class_is_refused(saved, tmp_path):
    folder = _copy(saved.classifier, tmp_path)
    config = json.loads((folder / "task.json").read_text())
    config["class_name"], config["registered_name"] = "BertTokenTagger", "keras_hub>BertTokenTagger"
    (folder / "task.json").write_text(json.dumps(config))
    for task_cls in (TextClassifier, MaskedLM):
        with pytest.raises(
            ValueError,
            match=rf"{re.escape(str(folder / 'task.json'))} describes a BertTokenTagger, which "
            r"textbones does not implement \(it implements .*BertMaskedLM.*\), so its trained "
            rf"head cannot be restored\. Save or download the preset again\. {FRESH_HEAD_FIX}",
        ):
            task_cls.from_preset(str(folder), num_classes=NUM_CLASSES)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{not json", r"is not valid JSON"),
        ("[1, 2]", r"should hold a JSON object"),
        ('{"config": {}}', r"is neither a Keras-format preset config"),
    ],
)
def test_an_unreadable_task_json_is_refused(saved, tmp_path, text, problem):
    folder = _copy(saved.classifier, tmp_path)
    (folder / "task.json").write_text(text)
    with pytest.raises(
        ValueError, match=rf"{re.escape(str(folder / 'task.json'))} {problem}.*{FRESH_HEAD_FIX}"
    ):
        TextClassifier.from_preset(str(folder))


def test_task_json_without_a_config_object_is_refused(saved, tmp_path):
    folder = _copy(saved.classifier, tmp_path)
    config = json.loads((folder / "task.json").read_text())
    config["config"] = "oops"
    (folder / "task.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"task\.json has no 'config' object .* Save or download"):
        TextClassifier.from_preset(str(folder))


def test_task_json_of_another_backbone_than_config_json_is_refused(saved, tmp_path):
    folder = _copy(saved.classifier, tmp_path)
    other = tmp_path / "f_net"
    textbones.models.FNetBackbone(len(VOCABULARY), 1, 8, 16).save_to_preset(other)
    for name in ("config.json", "model.weights.h5"):
        shutil.copy(other / name, folder / name)
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(str(folder / 'task.json'))} describes a BertTextClassifier, built on "
        r"a BertBackbone, but config\.json holds a FNetBackbone: the files come from different "
        r"presets\. Save or download the preset again\.",
    ):
        TextClassifier.from_preset(str(folder))


# -- overrides -----------------------------------------------------------------------------


def test_a_sequence_length_override_keeps_the_head_and_reaches_the_preprocessor(saved):
    classifier = TextClassifier.from_preset(str(saved.classifier), sequence_length=16)
    _assert_saved_head(classifier, saved)
    assert classifier.preprocessor.sequence_length == 16
    assert classifier.preprocessor(["the quick fox"])["token_ids"].shape == (1, 16)
    masked_lm = MaskedLM.from_preset(
        str(saved.masked_lm), sequence_length=12, mask_selection_length=2
    )
    np.testing.assert_array_equal(to_numpy(masked_lm.masked_lm_head.output_bias), saved.output_bias)
    preprocessor = masked_lm.preprocessor
    assert (preprocessor.sequence_length, preprocessor.mask_selection_length) == (12, 2)


def test_head_arguments_that_keep_its_shape_apply_to_the_saved_head(saved):
    classifier = TextClassifier.from_preset(
        str(saved.classifier), num_classes=NUM_CLASSES, activation="softmax", dropout=0.0
    )
    _assert_saved_head(classifier, saved)
    assert (classifier.activation.__name__, classifier.dropout) == ("softmax", 0.0)
    probabilities = to_numpy(classifier(classifier.preprocessor(["the fox ran"])))
    np.testing.assert_allclose(probabilities.sum(axis=-1), [1.0], rtol=1e-6)


def test_a_different_num_classes_builds_a_fresh_head(saved):
    classifier = TextClassifier.from_preset(str(saved.classifier), num_classes=5)
    _assert_fresh_head(classifier, 5)
    assert classifier.num_classes == 5
    assert classifier.preprocessor.sequence_length == SEQUENCE_LENGTH
    np.testing.assert_array_equal(  # the backbone is still the saved one
        to_numpy(classifier.backbone.token_embedding.embeddings),
        to_numpy(BertBackbone.from_preset(str(saved.classifier)).token_embedding.embeddings),
    )


def test_overrides_that_cannot_apply_are_refused(saved):
    with pytest.raises(
        TypeError,
        match=r"BertTextClassifier\.from_preset got unexpected argument\(s\) \['colour'\]\. "
        r"It takes the task's arguments "
        r"\(activation, compile, dropout, name, num_classes, preprocessor\), "
        r"its BertTextClassifierPreprocessor's \(sequence_length, truncate\) and the backbone's",
    ):
        TextClassifier.from_preset(str(saved.classifier), colour="red")
    with pytest.raises(
        ValueError,
        match=r"got preprocessor argument\(s\) \['sequence_length'\], but builds no preprocessor "
        r"here: `preprocessor` is given as well\.",
    ):
        TextClassifier.from_preset(str(saved.classifier), sequence_length=16, preprocessor=None)
    with pytest.raises(
        ValueError,
        match=r"sequence_length=64 is longer than the backbone takes \(its max_sequence_length is "
        r"32\)\. Pass at most 32\.",
    ):
        TextClassifier.from_preset(str(saved.classifier), sequence_length=64)


# -- transformers checkpoints --------------------------------------------------------------


@pytest.fixture(scope="module")
def hf_classifier(tmp_path_factory):
    classifier = BertTextClassifier(_backbone(), num_classes=NUM_CLASSES)
    classifier.output_dense.bias.assign(np.array([1.5, -2.0, 0.5], "float32"))
    folder = tmp_path_factory.mktemp("hf") / "classifier"
    classifier.save_to_preset(folder, format="transformers")
    (folder / "vocab.txt").write_text("".join(token + "\n" for token in VOCABULARY))
    return folder, to_numpy(classifier.output_dense.bias).copy()


def test_a_transformers_classifier_without_its_head_weights_is_refused(hf_classifier, tmp_path):
    source, _ = hf_classifier
    folder = _copy(source, tmp_path)
    rewrite_weights(folder, drop=("classifier.weight", "classifier.bias"))
    for kwargs in ({}, {"num_classes": NUM_CLASSES}):
        with pytest.raises(
            ValueError,
            match=rf"{re.escape(str(folder / 'config.json'))} describes a "
            r"BertForSequenceClassification, but .*model\.safetensors holds none of its head's "
            r"tensors \(classifier\.weight, classifier\.bias\), so the trained head cannot be "
            r"restored: the checkpoint is incomplete\.",
        ):
            TextClassifier.from_preset(folder, preprocessor=None, **kwargs)
    # Another number of classes asks for a fresh head.
    _assert_fresh_head(TextClassifier.from_preset(folder, num_classes=2, preprocessor=None), 2)


def test_a_transformers_classifier_with_half_a_head_is_refused(hf_classifier, tmp_path):
    source, _ = hf_classifier
    folder = _copy(source, tmp_path)
    rewrite_weights(folder, drop=("classifier.weight",))
    with pytest.raises(ValueError, match=r"lacks 1 tensor\(s\) .* e\.g\. classifier\.weight"):
        TextClassifier.from_preset(folder, preprocessor=None)


def test_a_transformers_masked_lm_without_its_head_weights_is_refused(tmp_path):
    task = BertMaskedLM(_backbone())
    folder = tmp_path / "mlm"
    with pytest.warns(UserWarning, match="masked-LM head"):  # KerasHub's head settings
        task.save_to_preset(folder, format="transformers")
    head = [key for key in read_all(folder / "model.safetensors") if key.startswith("cls.")]
    rewrite_weights(folder, drop=head)
    with pytest.raises(ValueError, match=r"describes a BertForMaskedLM, but .* holds none of"):
        MaskedLM.from_preset(folder, preprocessor=None)


def test_a_transformers_classifier_keeps_its_head_under_a_sequence_length_override(hf_classifier):
    folder, bias = hf_classifier
    classifier = TextClassifier.from_preset(folder, sequence_length=16)
    np.testing.assert_array_equal(to_numpy(classifier.output_dense.bias), bias)
    assert classifier.preprocessor.sequence_length == 16


# -- built-in names with load_weights=False -----------------------------------------------


def test_a_builtin_task_without_weights_builds_offline_with_preprocessor_none():
    start = time.perf_counter()
    classifier = TextClassifier.from_preset(
        "bert_tiny_en_uncased_sst2", load_weights=False, preprocessor=None, num_classes=2
    )
    assert type(classifier).__name__ == "BertTextClassifier" and classifier.preprocessor is None
    assert (classifier.backbone.num_layers, classifier.backbone.hidden_dim) == (2, 128)
    masked_lm = MaskedLM.from_preset("bert_tiny_en_uncased", load_weights=False, preprocessor=None)
    assert masked_lm.backbone.vocabulary_size == 30522
    with pytest.raises(ValueError, match=r"so it needs `num_classes` \(e\.g\. `num_classes=2`\)"):
        TextClassifier.from_preset(
            "bert_tiny_en_uncased_sst2", load_weights=False, preprocessor=None
        )
    assert time.perf_counter() - start < 30


def test_a_builtin_task_without_weights_says_truly_what_needs_a_download():
    with pytest.raises(PresetDownloadError) as caught:
        TextClassifier.from_preset("bert_tiny_en_uncased_sst2", load_weights=False)
    message = str(caught.value)
    first_line = message.splitlines()[0]
    assert first_line == (
        "TextClassifier.from_preset('bert_tiny_en_uncased_sst2', load_weights=False) needs no "
        "weights, but the preprocessor needs the preset's vocabulary, which is not in the local "
        "cache and could not be downloaded. Pass `preprocessor=None` to build the task with no "
        "download at all (it then takes preprocessed inputs; attach a preprocessor later with "
        "`task.preprocessor = ...`)."
    )
    assert "Cause: could not connect" in message
    assert "`Backbone.from_preset(<built-in name>, load_weights=False)` needs no" in message
    assert "a task's, with `load_weights=False, preprocessor=None`" in message
    assert caught.value.handle == "bert_tiny_en_uncased_sst2" and caught.value.reason
