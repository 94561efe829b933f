"""MaskedLM and TextClassifier of the three families: raw-text predict and fit, compile
defaults, serialization, presets, dynamic padding, masks and bad input.

The models are tiny and shared per family (module-scoped), so that JAX compiles each
train/test/predict step once; a test that needs a model of its own builds it around the
shared backbone. Tests that compare numbers take both sides within the test, so the
training other tests do to the shared models does not matter.
"""

import contextlib
import functools
import hashlib
import math
import pathlib
import re
import types
import warnings

import h5py
import keras
import numpy as np
import pytest

from tests.conftest import (
    TINY_CONFIGS,
    backbone_class,
    make_tiny_backbone,
    perturb_weights,
    to_numpy,
)
from tests.helpers import families
from textbones.models import MaskedLM, TextClassifier
from textbones.preprocessing.padding_buckets import bucket_length
from textbones.preprocessing.text_batches import TextBatches
from textbones.serialization import qualified_name

SEQUENCE_LENGTH = 32
MASK_SLOTS = 12
NUM_CLASSES = 3
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumped",
    "over",
    "lazy",
    "dog",
    "a",
    "cat",
    "sat",
    "on",
    "mat",
    "and",
    "ran",
]
WORDS += ["far", "away", "very"]
BERT_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
# Short rows: every family packs them in under 16 tokens, so batches of them are one bucket.
TEXTS = [
    "the quick brown fox",
    "a cat sat on the mat",
    "the dog ran far away",
    "a very lazy dog",
    "the fox jumped over the dog",
    "a cat ran",
    "the brown mat",
    "very far away",
]
LABELS = np.array([0, 1, 2, 0, 1, 2, 0, 1])
LONG_TEXT = "the quick brown fox jumped over the lazy dog and a cat sat on the mat and ran far away"
# Sentence pairs, short enough to pack into 16 tokens.
PAIRS = (
    ["a cat ran", "the brown mat", "a cat", "the dog"] * 2,
    ["the dog", "a cat", "far away", "a mat"] * 2,
)
UNEVEN_TEXTS = [
    LONG_TEXT,
    "a cat",
    "the quick brown fox jumped",
    "dog",
    "the lazy cat sat on the mat",
]

# (tokenizer, classifier, masked LM, classifier preprocessor, masked LM preprocessor) of
# every registered family, by name.
FAMILY_CLASSES = {
    family.name: (
        family.tokenizer,
        family.tasks["classifier"],
        family.tasks["masked_lm"],
        family.preprocessors["classifier"],
        family.preprocessors["masked_lm"],
    )
    for family in families.families()
}
# A task class of another family, for each family.
OTHER_FAMILY = {family.name: families.other_family(family).name for family in families.families()}
BACKBONE_NAMES = {family.name: family.backbone.__name__ for family in families.families()}
# Whether a batch may be padded only to a bucket of its longest row: not on TensorFlow,
# where Keras feeds every batch through tf.data with one shape.
DYNAMIC_WIDTHS = keras.backend.backend() != "tensorflow"
# Keras-internal (its Variable.__array__), ignored by the suite's configuration as well.
KERAS_INTERNAL_WARNING = "__array__ implementation doesn't accept a copy keyword"


def make_tokenizer(family: str):
    family = families.family(family)
    if families.uses_word_piece(family):
        return families.tiny_tokenizer(family, vocabulary=BERT_VOCABULARY, lowercase=True)
    return families.tiny_tokenizer(family)


def make_backbone(family: str, tokenizer, seed: int = 0):
    # One layer: each train, test and predict step is compiled by JAX, and smaller graphs
    # compile faster.
    # (ALBERT's groups and inner repetitions count layers too.)
    layers = {
        key: 1
        for key in ("num_layers", "num_groups", "num_inner_repetitions")
        if key == "num_layers" or key in TINY_CONFIGS[family]
    }
    return make_tiny_backbone(
        family,
        seed=seed,
        vocabulary_size=tokenizer.vocabulary_size(),
        max_sequence_length=SEQUENCE_LENGTH,
        **layers,
    )


def short_width(kit) -> int:
    """The width of a batch of ``TEXTS`` (or ``PAIRS``) as ``fit`` and ``predict`` pad it."""
    # A backbone without a padding mask (FNet's) always gets the full sequence length.
    padded = families.has_padding_mask(families.family(kit.family))
    return 16 if DYNAMIC_WIDTHS and padded else SEQUENCE_LENGTH


def classifier_preprocessor(kit):
    return FAMILY_CLASSES[kit.family][3](kit.tokenizer, sequence_length=SEQUENCE_LENGTH)


def masked_lm_preprocessor(kit):
    return FAMILY_CLASSES[kit.family][4](
        kit.tokenizer, sequence_length=SEQUENCE_LENGTH, mask_selection_length=MASK_SLOTS
    )


@pytest.fixture(scope="module", params=families.family_names())
def family(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def kit(family):
    """A tokenizer, a backbone, and a classifier and a masked LM sharing them, per family."""
    tokenizer = make_tokenizer(family)
    backbone = make_backbone(family, tokenizer)
    _, classifier_cls, masked_lm_cls, _, _ = FAMILY_CLASSES[family]
    kit = types.SimpleNamespace(family=family, tokenizer=tokenizer, backbone=backbone)
    kit.classifier_cls, kit.masked_lm_cls = classifier_cls, masked_lm_cls
    kit.classifier = classifier_cls(
        backbone, num_classes=NUM_CLASSES, preprocessor=classifier_preprocessor(kit)
    )
    kit.masked_lm = masked_lm_cls(backbone, preprocessor=masked_lm_preprocessor(kit))
    return kit


def weights_of(model) -> list[np.ndarray]:
    return [to_numpy(weight).copy() for weight in model.weights]


def forward(model, inputs) -> np.ndarray:
    """The model called eagerly on preprocessed inputs (no step to compile, unlike ``predict``)."""
    return to_numpy(model(inputs, training=False))


def masked_lm_predict(model, x, seed: int = 5, **kwargs):
    """``predict`` on raw text with the masks drawn from a fixed seed (the same each call)."""
    keras.utils.set_random_seed(seed)
    return model.predict(x, verbose=0, **kwargs)


def fixed_masked_inputs(preprocessor, texts=TEXTS) -> dict:
    """Preprocessed masked-LM inputs with fixed mask positions (1, 2, 3 in every row)."""
    inputs = dict(preprocessor._model_inputs(list(texts)))
    inputs["mask_positions"] = np.tile(np.array([[1, 2, 3]], "int32"), (len(texts), 1))
    return inputs


@contextlib.contextmanager
def recorded_batches(preprocessor):
    """The batches a preprocessor makes while the block runs (inside ``fit``, ``predict``...)."""
    seen = []
    original = preprocessor.preprocess_batch

    def spy(*args, **kwargs):
        batch = original(*args, **kwargs)
        seen.append(batch)
        return batch

    preprocessor.preprocess_batch = spy
    try:
        yield seen
    finally:
        del preprocessor.preprocess_batch


def inputs_of(batch) -> dict:
    return batch[0] if isinstance(batch, tuple) else batch


def new_warnings(caught) -> list[str]:
    return [
        str(warning.message)
        for warning in caught
        if KERAS_INTERNAL_WARNING not in str(warning.message)
    ]


class BatchCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


class RawTextBatches(keras.utils.PyDataset):
    """A caller's own PyDataset of ``(texts, labels)`` batches."""

    def __init__(self, texts, labels, batch_size):
        super().__init__(workers=1)
        self.texts, self.labels, self.batch_size = list(texts), np.asarray(labels), batch_size

    def __len__(self):
        return math.ceil(len(self.texts) / self.batch_size)

    def __getitem__(self, index):
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.texts[rows], self.labels[rows]


# Outputs, properties, preprocessor=None -----------------------------------------------


def test_classifier_predicts_raw_strings_like_preprocessed_inputs(kit):
    classifier = kit.classifier
    assert classifier.backbone is kit.backbone
    assert type(classifier.preprocessor) is FAMILY_CLASSES[kit.family][3]
    assert classifier.preprocessor.tokenizer is kit.tokenizer
    assert classifier.num_classes == NUM_CLASSES and classifier.output_shape == (None, NUM_CLASSES)

    raw = classifier.predict(TEXTS, verbose=0)
    assert raw.shape == (len(TEXTS), NUM_CLASSES) and raw.dtype == np.float32
    assert np.isfinite(raw).all()
    packed = classifier.preprocessor(TEXTS)
    assert packed["token_ids"].shape == (len(TEXTS), SEQUENCE_LENGTH)
    np.testing.assert_allclose(classifier.predict(packed, verbose=0), raw, atol=1e-5)
    single = classifier.predict("the quick brown fox", verbose=0)
    np.testing.assert_allclose(single, raw[:1], atol=1e-5)


def test_masked_lm_predicts_raw_strings_with_every_mask_slot(kit):
    masked_lm = kit.masked_lm
    assert masked_lm.backbone is kit.backbone
    assert type(masked_lm.preprocessor) is FAMILY_CLASSES[kit.family][4]
    family = families.family(kit.family)
    expected_inputs = (
        {"token_ids", "mask_positions"}
        | ({"segment_ids"} if families.has_segment_ids(family) else set())
        | ({"padding_mask"} if families.has_padding_mask(family) else set())
    )
    assert set(masked_lm.input) == expected_inputs

    vocabulary_size = kit.tokenizer.vocabulary_size()
    logits = masked_lm_predict(masked_lm, TEXTS)
    assert logits.shape == (len(TEXTS), MASK_SLOTS, vocabulary_size)
    assert np.isfinite(logits).all()
    np.testing.assert_array_equal(masked_lm_predict(masked_lm, TEXTS), logits)

    fixed = masked_lm.predict(fixed_masked_inputs(masked_lm.preprocessor), verbose=0)
    assert fixed.shape == (len(TEXTS), 3, vocabulary_size)


def test_preprocessor_none_takes_dicts_and_the_setter_checks_types(kit):
    classifier = kit.classifier_cls(
        kit.backbone, num_classes=NUM_CLASSES, preprocessor=classifier_preprocessor(kit)
    )
    packed = classifier.preprocessor(TEXTS)
    with_preprocessor = forward(classifier, packed)

    classifier.preprocessor = None
    assert classifier.preprocessor is None
    np.testing.assert_array_equal(forward(classifier, packed), with_preprocessor)
    with pytest.raises(ValueError, match="got raw text but has no preprocessor"):
        classifier.predict(TEXTS[:4], verbose=0)

    preprocessor_name = FAMILY_CLASSES[kit.family][3].__name__
    for wrong in ("a string", kit.tokenizer):
        with pytest.raises(
            TypeError,
            match=rf"must be a textbones Preprocessor or None, got a {type(wrong).__name__}\. "
            rf"Build one with e\.g\. {preprocessor_name}",
        ):
            classifier.preprocessor = wrong
    assert classifier.preprocessor is None

    masked_lm = kit.masked_lm_cls(kit.backbone)
    assert masked_lm.preprocessor is None
    logits = forward(masked_lm, fixed_masked_inputs(kit.masked_lm.preprocessor))
    assert logits.shape == (len(TEXTS), 3, kit.tokenizer.vocabulary_size())
    with pytest.raises(TypeError, match="got a int"):
        masked_lm.preprocessor = 42


# Compilation ------------------------------------------------------------------------


def test_classifier_default_compile(kit):
    classifier = kit.classifier_cls(kit.backbone, num_classes=2)
    config = classifier.get_compile_config()
    assert classifier.compiled
    assert isinstance(classifier.optimizer, keras.optimizers.Adam)
    expected_rate = 1e-5 if kit.family == "albert" else 5e-5
    assert float(to_numpy(classifier.optimizer.learning_rate)) == pytest.approx(
        expected_rate, rel=1e-6
    )
    assert config["loss"]["class_name"] == "SparseCategoricalCrossentropy"
    assert config["loss"]["config"]["from_logits"] is True
    assert [metric["class_name"] for metric in config["metrics"]] == ["SparseCategoricalAccuracy"]
    assert config["weighted_metrics"] is None

    softmax = kit.classifier_cls(kit.backbone, num_classes=2, activation="softmax")
    assert softmax.get_compile_config()["loss"]["config"]["from_logits"] is False
    assert softmax.activation is keras.activations.softmax
    probabilities = forward(softmax, classifier_preprocessor(kit)(TEXTS))
    assert probabilities.shape == (len(TEXTS), 2) and (probabilities > 0).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), np.ones(len(TEXTS)), atol=1e-6)


def test_masked_lm_default_compile(kit):
    masked_lm = kit.masked_lm_cls(kit.backbone)
    config = masked_lm.get_compile_config()
    assert isinstance(masked_lm.optimizer, keras.optimizers.Adam)
    assert float(to_numpy(masked_lm.optimizer.learning_rate)) == pytest.approx(5e-5, rel=1e-6)
    assert config["loss"]["class_name"] == "SparseCategoricalCrossentropy"
    assert config["loss"]["config"]["from_logits"] is True
    assert config["loss"]["config"]["reduction"] == "mean_with_sample_weight"
    assert config["metrics"] is None
    assert [metric["class_name"] for metric in config["weighted_metrics"]] == [
        "SparseCategoricalAccuracy"
    ]


def test_compile_overrides_and_compile_false(kit):
    classifier = kit.classifier_cls(kit.backbone, num_classes=2)
    classifier.compile(jit_compile=True, optimizer=keras.optimizers.SGD(0.25))
    config = classifier.get_compile_config()
    assert isinstance(classifier.optimizer, keras.optimizers.SGD)
    assert float(to_numpy(classifier.optimizer.learning_rate)) == pytest.approx(0.25)
    assert classifier.jit_compile is True
    # What was not named keeps its default.
    assert config["loss"]["class_name"] == "SparseCategoricalCrossentropy"
    assert config["loss"]["config"]["from_logits"] is True
    assert [metric["class_name"] for metric in config["metrics"]] == ["SparseCategoricalAccuracy"]

    classifier.compile(loss="mse", metrics=[], jit_compile=False)
    assert classifier.jit_compile is False
    assert isinstance(classifier.optimizer, keras.optimizers.Adam)
    assert classifier.get_compile_config()["loss"] == "mse"

    uncompiled = kit.classifier_cls(kit.backbone, num_classes=2, compile=False)
    assert uncompiled.compiled is False
    assert uncompiled.get_compile_config() == {}
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before using the model"):
        uncompiled.fit(classifier_preprocessor(kit)(TEXTS[:2]), np.array([0, 1]), verbose=0)
    assert kit.masked_lm_cls(kit.backbone, compile=False).compiled is False


# Serialization --------------------------------------------------------------------


def test_classifier_config_round_trip(kit, tmp_path):
    classifier = kit.classifier_cls(
        kit.backbone,
        num_classes=NUM_CLASSES,
        preprocessor=classifier_preprocessor(kit),
        activation="softmax",
        dropout=0.25,
    )
    config = classifier.get_config()
    assert (config["num_classes"], config["activation"], config["dropout"]) == (
        NUM_CLASSES,
        "softmax",
        0.25,
    )
    assert config["backbone"]["class_name"] == BACKBONE_NAMES[kit.family]
    assert config["preprocessor"]["config"]["sequence_length"] == SEQUENCE_LENGTH

    rebuilt = kit.classifier_cls.from_config(config)
    assert type(rebuilt) is kit.classifier_cls
    assert rebuilt.get_config() == config
    rebuilt.set_weights(classifier.get_weights())
    packed = classifier.preprocessor(TEXTS)
    np.testing.assert_array_equal(forward(rebuilt, packed), forward(classifier, packed))
    # As in KerasHub, the vocabulary is an asset, not config: the `.keras` hooks carry it.
    assert config["preprocessor"]["config"]["tokenizer"]["config"].get("vocabulary") is None
    classifier.save_assets(tmp_path)
    rebuilt.load_assets(tmp_path)
    assert rebuilt.preprocessor.tokenizer.get_vocabulary() == kit.tokenizer.get_vocabulary()
    np.testing.assert_array_equal(
        rebuilt.predict(TEXTS, verbose=0), classifier.predict(TEXTS, verbose=0)
    )


def test_masked_lm_config_round_trip(kit, tmp_path):
    config = kit.masked_lm.get_config()
    assert set(config) == {"backbone", "preprocessor", "name"}
    assert config["preprocessor"]["config"]["mask_selection_length"] == MASK_SLOTS

    rebuilt = kit.masked_lm_cls.from_config(config)
    assert rebuilt.get_config() == config
    rebuilt.set_weights(kit.masked_lm.get_weights())
    inputs = fixed_masked_inputs(kit.masked_lm.preprocessor)
    np.testing.assert_array_equal(forward(rebuilt, inputs), forward(kit.masked_lm, inputs))
    kit.masked_lm.save_assets(tmp_path)
    rebuilt.load_assets(tmp_path)
    np.testing.assert_array_equal(
        masked_lm_predict(rebuilt, TEXTS), masked_lm_predict(kit.masked_lm, TEXTS)
    )


@pytest.mark.parametrize("kind", ["classifier", "masked_lm"])
def test_keras_file_round_trip_restores_predictions_and_vocabulary(kit, kind, tmp_path):
    model = getattr(kit, kind)
    # A trained model (its optimizer built), as a user saves one.
    if kind == "classifier":
        model.fit(TEXTS[:4], LABELS[:4], batch_size=4, verbose=0)
    else:
        model.fit(TEXTS[:4], batch_size=4, verbose=0)
    path = tmp_path / f"{kind}.keras"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.save(path)
        loaded = keras.saving.load_model(path)
    assert new_warnings(caught) == []

    assert type(loaded) is type(model)
    assert type(loaded.preprocessor) is type(model.preprocessor)
    assert loaded.preprocessor.tokenizer.get_vocabulary() == kit.tokenizer.get_vocabulary()
    assert loaded.preprocessor.sequence_length == SEQUENCE_LENGTH
    assert loaded.get_compile_config()["loss"] == model.get_compile_config()["loss"]
    assert (
        int(to_numpy(loaded.optimizer.iterations)) == int(to_numpy(model.optimizer.iterations)) > 0
    )
    for ours, theirs in zip(weights_of(model), weights_of(loaded), strict=True):
        np.testing.assert_array_equal(theirs, ours)
    if kind == "classifier":
        np.testing.assert_array_equal(
            loaded.predict(TEXTS, verbose=0), model.predict(TEXTS, verbose=0)
        )
    else:
        np.testing.assert_array_equal(
            masked_lm_predict(loaded, TEXTS), masked_lm_predict(model, TEXTS)
        )


# Presets ------------------------------------------------------------------------------


def digest(folder: pathlib.Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def h5_paths(path: pathlib.Path) -> list[str]:
    names = []
    with h5py.File(path, "r") as file:
        file.visititems(
            lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None
        )
    return names


@pytest.fixture(scope="module")
def saved(kit, tmp_path_factory):
    """Presets of a classifier (with a distinctive head), a masked LM and a backbone alone,
    with the outputs and weights they were saved with."""
    folder = tmp_path_factory.mktemp(f"{kit.family}_presets")
    classifier = kit.classifier_cls(
        kit.backbone, num_classes=NUM_CLASSES, preprocessor=classifier_preprocessor(kit)
    )
    perturb_weights(classifier.output_dense, seed=3)
    classifier.output_dense.kernel.assign(to_numpy(classifier.output_dense.kernel) * 20.0)
    masked_lm = kit.masked_lm_cls(kit.backbone, preprocessor=masked_lm_preprocessor(kit))
    # (The head's weights include the token embedding it shares with the backbone.)
    perturb_weights(masked_lm.masked_lm_head, seed=4)
    classifier.save_to_preset(folder / "classifier")
    masked_lm.save_to_preset(folder / "masked_lm")
    kit.backbone.save_to_preset(folder / "backbone")
    kit.tokenizer.save_to_preset(folder / "backbone")
    inputs = fixed_masked_inputs(masked_lm.preprocessor)
    return types.SimpleNamespace(
        folder=folder,
        classifier=folder / "classifier",
        classifier_inputs=classifier.preprocessor(TEXTS),
        classifier_outputs=forward(classifier, classifier.preprocessor(TEXTS)),
        head_kernel=to_numpy(classifier.output_dense.kernel).copy(),
        head_bias=to_numpy(classifier.output_dense.bias).copy(),
        # The Dense layers of the head, in order (BERT's: the logits alone; a family may put a
        # dense layer before them); Keras names them dense, dense_1, ... in the weights file.
        head_dense_count=sum(isinstance(layer, keras.layers.Dense) for layer in classifier.layers),
        masked_lm=folder / "masked_lm",
        masked_lm_inputs=inputs,
        masked_lm_outputs=forward(masked_lm, inputs),
        backbone_only=folder / "backbone",
        backbone_weights=weights_of(kit.backbone),
    )


def assert_backbone_is_the_saved_one(task, saved):
    for ours, theirs in zip(saved.backbone_weights, weights_of(task.backbone), strict=True):
        np.testing.assert_array_equal(theirs, ours)


def test_task_preset_files_hold_only_the_head(kit, saved):
    # Only the head's weights (and the optimizer's step counters): none of the backbone's.
    classifier_paths = h5_paths(saved.classifier / "task.weights.h5")
    dense_names = ["dense"] + [f"dense_{i}" for i in range(1, saved.head_dense_count)]
    assert sorted(path for path in classifier_paths if not path.startswith("optimizer/")) == [
        f"layers/{name}/vars/{index}" for name in dense_names for index in (0, 1)
    ]
    logits = dense_names[-1]
    with h5py.File(saved.classifier / "task.weights.h5", "r") as file:
        np.testing.assert_array_equal(file[f"layers/{logits}/vars/0"][()], saved.head_kernel)
        np.testing.assert_array_equal(file[f"layers/{logits}/vars/1"][()], saved.head_bias)
    masked_lm_paths = sorted(
        path
        for path in h5_paths(saved.masked_lm / "task.weights.h5")
        if not path.startswith("optimizer/")
    )
    assert masked_lm_paths == [
        "layers/masked_lm_head/_intermediate_dense/vars/0",
        "layers/masked_lm_head/_intermediate_dense/vars/1",
        "layers/masked_lm_head/_intermediate_layer_norm/vars/0",
        "layers/masked_lm_head/_intermediate_layer_norm/vars/1",
        "layers/masked_lm_head/vars/0",
    ]
    vocabulary_size = kit.tokenizer.vocabulary_size()
    with h5py.File(saved.masked_lm / "task.weights.h5", "r") as file:
        assert file["layers/masked_lm_head/vars/0"].shape == (vocabulary_size,)
        # The head projects to the token embedding's width (8 for ALBERT's factorised one).
        config = TINY_CONFIGS[kit.family]
        width = config.get("embedding_dim", config["hidden_dim"])
        assert file["layers/masked_lm_head/_intermediate_dense/vars/0"].shape == (16, width)
    expected = {
        "config.json",
        "metadata.json",
        "model.weights.h5",
        "preprocessor.json",
        "task.json",
        "task.weights.h5",
        "tokenizer.json",
    }
    for preset in (saved.classifier, saved.masked_lm):
        assert expected <= {path.name for path in preset.iterdir()}
        assert (preset / "assets" / "tokenizer").is_dir()


def test_classifier_preset_round_trip(kit, saved):
    own = kit.classifier_cls.from_preset(str(saved.classifier))
    generic = TextClassifier.from_preset(str(saved.classifier), num_classes=NUM_CLASSES)
    for task in (own, generic):
        assert type(task) is kit.classifier_cls
        assert type(task.preprocessor) is FAMILY_CLASSES[kit.family][3]
        assert task.preprocessor.sequence_length == SEQUENCE_LENGTH
        assert task.num_classes == NUM_CLASSES
        assert_backbone_is_the_saved_one(task, saved)
        np.testing.assert_array_equal(to_numpy(task.output_dense.kernel), saved.head_kernel)
        packed = task.preprocessor(TEXTS)
        for name, value in saved.classifier_inputs.items():
            np.testing.assert_array_equal(packed[name], value)
        np.testing.assert_array_equal(forward(task, packed), saved.classifier_outputs)


def test_masked_lm_preset_round_trip(kit, saved):
    own = kit.masked_lm_cls.from_preset(str(saved.masked_lm))
    generic = MaskedLM.from_preset(str(saved.masked_lm))
    for task in (own, generic):
        assert type(task) is kit.masked_lm_cls
        assert type(task.preprocessor) is FAMILY_CLASSES[kit.family][4]
        assert task.preprocessor.mask_selection_length == MASK_SLOTS
        assert_backbone_is_the_saved_one(task, saved)
        np.testing.assert_array_equal(
            forward(task, saved.masked_lm_inputs), saved.masked_lm_outputs
        )


def test_head_is_fresh_for_a_backbone_preset_or_another_num_classes(kit, saved):
    fresh_from_backbone = TextClassifier.from_preset(str(saved.backbone_only), num_classes=2)
    other_count = TextClassifier.from_preset(str(saved.classifier), num_classes=5)
    for task, classes in ((fresh_from_backbone, 2), (other_count, 5)):
        assert type(task) is kit.classifier_cls
        assert_backbone_is_the_saved_one(task, saved)
        kernel = to_numpy(task.output_dense.kernel)
        assert kernel.shape == (16, classes)
        # Freshly initialised: small normal weights (stddev 0.02) and zero biases,
        # nothing like the saved head (stddev about 1).
        assert np.abs(kernel).max() < 0.1
        np.testing.assert_array_equal(
            to_numpy(task.output_dense.bias), np.zeros(classes, "float32")
        )
        assert type(task.preprocessor) is FAMILY_CLASSES[kit.family][3]
        assert task.preprocessor.tokenizer.get_vocabulary() == kit.tokenizer.get_vocabulary()
        task.preprocessor.sequence_length = SEQUENCE_LENGTH
        assert forward(task, task.preprocessor(TEXTS)).shape == (len(TEXTS), classes)
    assert np.abs(saved.head_kernel).max() > 0.5

    masked_lm = MaskedLM.from_preset(str(saved.backbone_only))
    assert type(masked_lm) is kit.masked_lm_cls
    assert_backbone_is_the_saved_one(masked_lm, saved)
    vocabulary_size = kit.tokenizer.vocabulary_size()
    np.testing.assert_array_equal(
        to_numpy(masked_lm.masked_lm_head.output_bias), np.zeros(vocabulary_size, "float32")
    )
    assert np.abs(to_numpy(masked_lm.masked_lm_head._intermediate_dense.kernel)).max() < 0.1

    same_count = kit.classifier_cls.from_preset(str(saved.classifier), num_classes=NUM_CLASSES)
    np.testing.assert_array_equal(to_numpy(same_count.output_dense.kernel), saved.head_kernel)
    np.testing.assert_array_equal(to_numpy(same_count.output_dense.bias), saved.head_bias)


def test_masked_lm_from_a_classifier_preset(kit, saved):
    masked_lm = MaskedLM.from_preset(str(saved.classifier))
    assert type(masked_lm) is kit.masked_lm_cls
    assert type(masked_lm.preprocessor) is FAMILY_CLASSES[kit.family][4]
    assert masked_lm.preprocessor.tokenizer.get_vocabulary() == kit.tokenizer.get_vocabulary()
    assert_backbone_is_the_saved_one(masked_lm, saved)
    masked_lm.preprocessor.sequence_length = SEQUENCE_LENGTH
    x, y, sample_weight = masked_lm.preprocessor(TEXTS)
    slots = masked_lm.preprocessor.mask_selection_length
    assert x["token_ids"].shape == (len(TEXTS), SEQUENCE_LENGTH)
    assert y.shape == sample_weight.shape == (len(TEXTS), slots)
    logits = forward(masked_lm, x)
    assert logits.shape == (len(TEXTS), slots, kit.tokenizer.vocabulary_size())
    assert np.isfinite(logits).all()


def test_a_family_task_refuses_another_familys_preset(kit, saved):
    other = FAMILY_CLASSES[OTHER_FAMILY[kit.family]]
    theirs = BACKBONE_NAMES[OTHER_FAMILY[kit.family]]
    ours = BACKBONE_NAMES[kit.family]
    for task_cls, generic in ((other[1], "TextClassifier"), (other[2], "MaskedLM")):
        for preset in (saved.classifier, saved.backbone_only):
            with pytest.raises(
                ValueError,
                match=rf"{task_cls.__name__}\.from_preset cannot load the preset at .*: "
                rf"it holds a {ours}, and {task_cls.__name__} needs a {theirs}\. "
                r"Call the task class of that family, or "
                rf"{generic}\.from_preset to pick it\.",
            ):
                task_cls.from_preset(
                    str(preset), num_classes=NUM_CLASSES
                ) if generic == "TextClassifier" else task_cls.from_preset(str(preset))


def test_task_preset_loads_with_compile_false(kit, saved):
    task = kit.classifier_cls.from_preset(str(saved.classifier), compile=False)
    assert task.compiled is False
    np.testing.assert_array_equal(to_numpy(task.output_dense.kernel), saved.head_kernel)


def test_interrupted_save_leaves_the_old_preset_byte_identical(kit, tmp_path, monkeypatch):
    classifier = kit.classifier_cls(
        kit.backbone, num_classes=NUM_CLASSES, preprocessor=classifier_preprocessor(kit)
    )
    preset = tmp_path / "preset"
    classifier.save_to_preset(preset)
    before = digest(preset)
    assert "task.weights.h5" in before and "model.weights.h5" in before

    real_save_weights = keras.saving.save_weights

    def save_then_fail(*args, **kwargs):
        real_save_weights(*args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(keras.saving, "save_weights", save_then_fail)
    classifier.output_dense.kernel.assign(to_numpy(classifier.output_dense.kernel) + 1.0)
    classifier.preprocessor.sequence_length = 8
    with pytest.raises(OSError, match="disk full"):
        classifier.save_to_preset(preset)
    assert digest(preset) == before
    assert [path.name for path in tmp_path.iterdir()] == ["preset"]


# Bad input ------------------------------------------------------------------------------


def test_classifier_rejects_bad_labels(kit):
    classifier = kit.classifier
    for labels, bad in (([0, 3], 3), ([-1, 0], -1)):
        message = rf"Label {bad} is out of range for num_classes=3: labels must lie in \[0, 3\)"
        with pytest.raises(ValueError, match=message):
            classifier.fit(TEXTS[:2], labels, verbose=0)
        with pytest.raises(ValueError, match=message):
            classifier.fit(classifier.preprocessor(TEXTS[:2]), np.array(labels), verbose=0)
        with pytest.raises(ValueError, match=message):
            classifier.evaluate(TEXTS[:2], labels, verbose=0)
        with pytest.raises(ValueError, match=message):
            classifier.train_on_batch(TEXTS[:2], np.array(labels))
    with pytest.raises(
        ValueError, match=r"takes integer class labels in \[0, 3\), got dtype float64"
    ):
        classifier.fit(TEXTS[:2], [0.5, 1.0], verbose=0)
    with pytest.raises(ValueError, match=r"got dtype <U1\. Map your labels to class indices first"):
        classifier.fit(TEXTS[:2], np.array(["a", "b"]), verbose=0)
    with pytest.raises(ValueError, match="needs labels to train or evaluate: pass `y`"):
        classifier.fit(TEXTS[:2], verbose=0)


def test_masked_lm_rejects_bad_labels(kit):
    masked_lm = kit.masked_lm_cls(kit.backbone)
    inputs = fixed_masked_inputs(kit.masked_lm.preprocessor, TEXTS[:2])
    vocabulary_size = kit.tokenizer.vocabulary_size()
    with pytest.raises(
        ValueError,
        match=rf"Label id {vocabulary_size} is outside the vocabulary \[0, {vocabulary_size}\)",
    ):
        masked_lm.fit(inputs, np.full((2, 3), vocabulary_size), verbose=0)
    with pytest.raises(ValueError, match="are token ids and must be integers, got dtype float64"):
        masked_lm.fit(inputs, np.full((2, 3), 1.5), verbose=0)


def test_masked_lm_refuses_labels_for_raw_text_and_stays_usable(kit):
    masked_lm = kit.masked_lm
    # Trained and used once: Keras then skips its first look at the data, so an error
    # raised from inside its loop would leave the JAX variables without values.
    masked_lm.train_on_batch(TEXTS[:4])
    inputs = fixed_masked_inputs(masked_lm.preprocessor)
    before = masked_lm.predict(inputs, verbose=0)
    message = (
        rf"{kit.masked_lm_cls.__name__} makes its own labels and weights from raw text; "
        r"pass the text alone"
    )
    with pytest.raises(ValueError, match=message):
        masked_lm.fit(TEXTS[:2], [1, 2], verbose=0)
    with pytest.raises(ValueError, match=message):
        masked_lm.fit(TEXTS[:2], sample_weight=[1.0, 1.0], verbose=0)
    with pytest.raises(ValueError, match=message):
        masked_lm.evaluate(TEXTS[:2], [1, 2], verbose=0)
    with pytest.raises(ValueError, match=message):
        masked_lm.fit(TEXTS[:4], validation_data=(TEXTS[:2], [1, 2]), verbose=0)
    np.testing.assert_array_equal(masked_lm.predict(inputs, verbose=0), before)
    # The preprocessor alone says the same in its own words.
    with pytest.raises(ValueError, match="makes its own labels and weights from the text"):
        masked_lm.preprocessor(TEXTS[:2], [1, 2])


def test_missing_labels_without_a_preprocessor(kit):
    classifier = kit.classifier_cls(kit.backbone, num_classes=2)
    with pytest.raises(ValueError, match="got preprocessed inputs without labels: pass `y`"):
        classifier.fit(kit.classifier.preprocessor(TEXTS[:2]), verbose=0)
    masked_lm = kit.masked_lm_cls(kit.backbone)
    with pytest.raises(
        ValueError, match=rf"{kit.masked_lm_cls.__name__} got preprocessed inputs without labels"
    ):
        masked_lm.fit(fixed_masked_inputs(kit.masked_lm.preprocessor, TEXTS[:2]), verbose=0)


def test_mismatched_pair_lengths(kit):
    message = (
        r"The text segments have different numbers of rows \(\[1, 2\]\); "
        r"a sentence pair needs one first and one second"
    )
    with pytest.raises(ValueError, match=message):
        kit.classifier.fit((["a", "b"], ["c"]), [0, 1], verbose=0)
    with pytest.raises(ValueError, match=message):
        kit.classifier.predict((["a", "b"], ["c"]), verbose=0)
    with pytest.raises(
        ValueError, match=r"`y` has 3 rows but the text has 2; give one y entry per example"
    ):
        kit.classifier.fit(["a", "b"], [0, 1, 1], verbose=0)
    with pytest.raises(ValueError, match=r"`sample_weight` has 1 rows but the text has 2"):
        kit.classifier.fit(["a", "b"], [0, 1], sample_weight=[1.0], verbose=0)


def test_preprocessed_inputs_must_be_complete(kit):
    inputs = fixed_masked_inputs(kit.masked_lm.preprocessor, TEXTS[:2])
    del inputs["mask_positions"]
    names = sorted(kit.masked_lm.input)
    with pytest.raises(
        ValueError,
        match=rf"{kit.masked_lm_cls.__name__} needs the inputs {re_list(names)}, "
        r"but 'mask_positions' is missing",
    ):
        kit.masked_lm.predict(inputs, verbose=0)
    incomplete = dict(kit.classifier.preprocessor(TEXTS[:2]))
    missing = "segment_ids" if "segment_ids" in incomplete else "padding_mask"
    del incomplete[missing]
    with pytest.raises(ValueError, match=f"'{missing}' is missing"):
        kit.classifier.fit(incomplete, np.array([0, 1]), verbose=0)


@functools.cache
def small_backbone(family: str):
    """An untrained backbone of ``family``, built once per session."""
    return backbone_class(family)(
        # As few layers as the config allows (ALBERT's groups need one each).
        **{**TINY_CONFIGS[family], "num_layers": TINY_CONFIGS[family].get("num_groups", 1)}
    )


def re_list(names) -> str:
    return r"\[" + ", ".join(f"'{name}'" for name in names) + r"\]"


def test_strings_without_a_preprocessor(kit):
    for task in (kit.classifier_cls(kit.backbone, num_classes=2), kit.masked_lm_cls(kit.backbone)):
        name = type(task).__name__
        hint = FAMILY_CLASSES[kit.family][3 if isinstance(task, TextClassifier) else 4].__name__
        message = (
            rf"{name} got raw text but has no preprocessor \(preprocessor=None\)\. "
            rf"Give it one \(e\.g\. `model\.preprocessor = {hint}\.from_preset"
        )
        with pytest.raises(ValueError, match=message):
            task.predict(TEXTS[:2], verbose=0)
        with pytest.raises(ValueError, match=message):
            task.fit(TEXTS[:2], np.array([0, 1]), verbose=0)
        with pytest.raises(ValueError, match=message):
            task.predict_on_batch(TEXTS[:2])
    with pytest.raises(ValueError, match="can't read `x` of type int"):
        kit.classifier.predict(42, verbose=0)


def test_constructor_arguments_are_checked(kit):
    other_backbone = small_backbone(OTHER_FAMILY[kit.family])
    # Both classes are named with their modules (a KerasHub class of one name is told apart).
    ours = re.escape(qualified_name(kit.classifier_cls.backbone_cls))
    theirs = re.escape(qualified_name(type(other_backbone)))
    assert BACKBONE_NAMES[kit.family] in ours
    with pytest.raises(
        ValueError,
        match=rf"{kit.classifier_cls.__name__} needs a {ours}, got a {theirs}\. "
        r"Use the classifier class",
    ):
        kit.classifier_cls(other_backbone, num_classes=2)
    with pytest.raises(
        ValueError,
        match=rf"{kit.masked_lm_cls.__name__} needs a {ours}, got a {theirs}\. "
        r"Use the masked LM class",
    ):
        kit.masked_lm_cls(other_backbone)
    for bad in (0, -2, 2.5, True, "3"):
        with pytest.raises(
            ValueError,
            match=rf"`num_classes` must be a positive integer, got {re.escape(repr(bad))}\.",
        ):
            kit.classifier_cls(kit.backbone, num_classes=bad)


# Dynamic padding and batch shapes ------------------------------------------------------


@pytest.mark.parametrize("family", families.family_names(families.has_padding_mask), indirect=True)
def test_dynamic_padding_gives_the_same_predictions_in_the_callers_order(kit):
    classifier = kit.classifier
    preprocessor = classifier.preprocessor
    assert classifier.dynamic_padding is True
    with recorded_batches(preprocessor) as dynamic_batches:
        dynamic = classifier.predict(UNEVEN_TEXTS, batch_size=2, verbose=0)
    classifier.dynamic_padding = False
    try:
        with recorded_batches(preprocessor) as fixed_batches:
            fixed = classifier.predict(UNEVEN_TEXTS, batch_size=2, verbose=0)
    finally:
        classifier.dynamic_padding = True
    np.testing.assert_allclose(dynamic, fixed, atol=1e-5)
    assert dynamic.shape == (len(UNEVEN_TEXTS), NUM_CLASSES)

    # The shortest rows were batched together and padded to the smallest bucket; the
    # longest row fills the sequence.
    widths = {inputs_of(batch)["token_ids"].shape[1] for batch in dynamic_batches}
    assert widths == ({16, SEQUENCE_LENGTH} if DYNAMIC_WIDTHS else {SEQUENCE_LENGTH})
    assert {inputs_of(batch)["token_ids"].shape[1] for batch in fixed_batches} == {SEQUENCE_LENGTH}
    assert len(dynamic_batches) >= 3 and len(fixed_batches) >= 3
    for batch in dynamic_batches:
        inputs = inputs_of(batch)
        width = inputs["token_ids"].shape[1]
        real_lengths = inputs["padding_mask"].sum(axis=1)
        assert width >= real_lengths.max()
        if DYNAMIC_WIDTHS:
            assert width == bucket_length(int(real_lengths.max()), SEQUENCE_LENGTH)
        assert {value.shape for value in inputs.values()} == {inputs["token_ids"].shape}
        assert set(inputs) == set(kit.backbone.input_names)

    one_by_one = np.concatenate([classifier.predict([text], verbose=0) for text in UNEVEN_TEXTS])
    np.testing.assert_allclose(dynamic, one_by_one, atol=1e-5)


@pytest.mark.parametrize(
    "family",
    families.family_names(lambda family: not families.has_padding_mask(family)),
    indirect=True,
)
def test_f_net_always_packs_to_the_sequence_length(kit):
    assert kit.classifier.dynamic_padding is True
    with recorded_batches(kit.classifier.preprocessor) as batches:
        outputs = kit.classifier.predict(UNEVEN_TEXTS, batch_size=2, verbose=0)
        one_by_one = np.concatenate(
            [kit.classifier.predict([text], verbose=0) for text in UNEVEN_TEXTS]
        )
        kit.classifier.fit(TEXTS[:4], LABELS[:4], batch_size=4, verbose=0)
    assert outputs.shape == (len(UNEVEN_TEXTS), NUM_CLASSES)
    np.testing.assert_allclose(outputs, one_by_one, atol=1e-5)
    assert len(batches) >= 3 + len(UNEVEN_TEXTS) + 1
    for batch in batches:
        inputs = inputs_of(batch)
        assert set(inputs) == {"token_ids"} | (
            {"segment_ids"} if families.has_segment_ids(families.family(kit.family)) else set()
        )
        assert inputs["token_ids"].shape[1] == SEQUENCE_LENGTH


def test_masked_lm_mask_slots_are_trimmed_for_fit_but_not_for_predict(kit):
    masked_lm = kit.masked_lm
    with recorded_batches(masked_lm.preprocessor) as fit_batches:
        masked_lm.fit(TEXTS, batch_size=4, epochs=1, verbose=0)
    assert len(fit_batches) >= 2
    for x, y, sample_weight in fit_batches:
        selections = int(sample_weight.sum(axis=1).max())
        width = x["mask_positions"].shape[1]
        assert width >= selections
        assert width == (
            bucket_length(selections, MASK_SLOTS, smallest=8) if DYNAMIC_WIDTHS else MASK_SLOTS
        )
        assert y.shape == sample_weight.shape == (4, width)
        assert x["token_ids"].shape == (4, short_width(kit))

    with recorded_batches(masked_lm.preprocessor) as predict_batches:
        logits = masked_lm_predict(masked_lm, TEXTS, batch_size=4)
    assert logits.shape == (len(TEXTS), MASK_SLOTS, kit.tokenizer.vocabulary_size())
    assert len(predict_batches) >= 2
    assert {batch[0]["mask_positions"].shape for batch in predict_batches} == {(4, MASK_SLOTS)}


# Masks and reproducibility --------------------------------------------------------------


def test_text_batches_draw_new_masks_each_epoch_and_repeat_under_a_seed(kit):
    preprocessor = masked_lm_preprocessor(kit)

    def batches(seed):
        return TextBatches(TEXTS * 2, preprocessor=preprocessor, batch_size=8, seed=seed, workers=1)

    first = batches(seed=3)
    epoch_0 = [first[index] for index in range(len(first))]
    first.on_epoch_end()
    epoch_1 = [first[index] for index in range(len(first))]
    again = batches(seed=3)
    repeated = [again[index] for index in range(len(again))]
    assert len(epoch_0) == 2

    for (x0, y0, w0), (x1, y1, w1) in zip(epoch_0, repeated, strict=True):
        for name in x0:
            np.testing.assert_array_equal(x0[name], x1[name])
        np.testing.assert_array_equal(y0, y1)
        np.testing.assert_array_equal(w0, w1)
    changed = [
        not np.array_equal(a[0]["mask_positions"], b[0]["mask_positions"])
        or not np.array_equal(a[0]["token_ids"], b[0]["token_ids"])
        for a, b in zip(epoch_0, epoch_1, strict=True)
    ]
    assert all(changed)
    # The text under the masks is the same every epoch.
    unmasked = preprocessor._model_inputs(TEXTS[:8])["token_ids"]
    x, y, weights = epoch_1[0]
    rows, slots = np.nonzero(weights)
    np.testing.assert_array_equal(y[rows, slots], unmasked[rows, x["mask_positions"][rows, slots]])


def test_fit_is_reproducible_under_set_random_seed(kit):
    masked_lm = kit.masked_lm
    masked_lm.optimizer.build(masked_lm.trainable_variables)
    # Weights, dropout seeds and optimizer slots: everything a run starts from.
    state = list(masked_lm.variables) + list(masked_lm.optimizer.variables)
    start = [to_numpy(variable).copy() for variable in state]
    initial = weights_of(masked_lm)

    def train(seed):
        for variable, value in zip(state, start, strict=True):
            variable.assign(value)
        keras.utils.set_random_seed(seed)
        history = masked_lm.fit(TEXTS, batch_size=4, epochs=2, verbose=0)
        return weights_of(masked_lm), history.history["loss"]

    trained_a, loss_a = train(seed=1)
    trained_b, loss_b = train(seed=1)
    trained_c, loss_c = train(seed=2)
    assert len(loss_a) == 2
    assert loss_a == loss_b
    assert loss_c != loss_a
    for a, b in zip(trained_a, trained_b, strict=True):
        np.testing.assert_array_equal(a, b)
    moved = [not np.array_equal(a, first) for a, first in zip(trained_a, initial, strict=True)]
    assert sum(moved) > len(trained_a) // 2
    differs_from_other_seed = [
        not np.array_equal(a, c) for a, c in zip(trained_a, trained_c, strict=True)
    ]
    assert sum(differs_from_other_seed) > len(trained_a) // 2


# Ways to feed fit, evaluate and predict --------------------------------------------------


def test_fit_on_a_list_and_arrays_of_strings(kit):
    classifier = kit.classifier
    history = classifier.fit(TEXTS, LABELS, batch_size=4, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "sparse_categorical_accuracy"}
    assert len(history.history["loss"]) == 2
    assert all(np.isfinite(history.history["loss"]))
    assert history.epoch == [0, 1]

    as_list = classifier.predict(TEXTS, verbose=0)
    arrays = (
        np.array(TEXTS),
        np.array(TEXTS, dtype=object),
        np.array([text.encode() for text in TEXTS]),
    )
    for array in arrays:
        np.testing.assert_allclose(classifier.predict(array, verbose=0), as_list, atol=1e-6)
    for array in arrays:
        counter = BatchCounter()
        classifier.fit(array, LABELS, batch_size=4, verbose=0, callbacks=[counter])
        assert counter.batches == 2


def test_fit_shuffles_rows_unless_told_not_to(kit):
    classifier = kit.classifier
    row_numbers = np.arange(
        1, len(TEXTS) + 1, dtype="float32"
    )  # as sample weights, to follow the rows

    def rows_per_epoch(shuffle):
        # One worker: the batches are prepared (and recorded) in the order Keras asks for them.
        with recorded_batches(classifier.preprocessor) as batches:
            classifier.fit(
                TEXTS,
                LABELS,
                sample_weight=row_numbers,
                batch_size=4,
                epochs=2,
                shuffle=shuffle,
                workers=1,
                verbose=0,
            )
        # (Keras may look at the first batch once more before training.)
        rows = [(batch[2] - 1).astype(int).tolist() for batch in batches[-4:]]
        return [rows[0] + rows[1], rows[2] + rows[3]]

    assert rows_per_epoch(shuffle=False) == [list(range(8))] * 2
    first, second = rows_per_epoch(shuffle=True)
    assert sorted(first) == sorted(second) == list(range(8))
    assert first != list(range(8)) and first != second


def test_zero_sample_weights_leave_the_model_unchanged(kit):
    classifier = kit.classifier
    classifier.optimizer.build(classifier.trainable_variables)
    # Without earlier momentum, a zero gradient moves nothing.
    moments = [
        variable
        for variable in classifier.optimizer.variables
        if "momentum" in variable.path or "velocity" in variable.path
    ]
    assert len(moments) == 2 * len(classifier.trainable_variables)
    for variable in moments:
        variable.assign(np.zeros(variable.shape, variable.dtype))
    before = weights_of(classifier)
    history = classifier.fit(
        TEXTS, LABELS, sample_weight=np.zeros(len(TEXTS)), batch_size=4, verbose=0
    )
    assert history.history["loss"] == [0.0]
    for a, b in zip(before, weights_of(classifier), strict=True):
        np.testing.assert_array_equal(a, b)
    history = classifier.fit(
        TEXTS, LABELS, sample_weight=[1.0] * len(TEXTS), batch_size=4, verbose=0
    )
    assert history.history["loss"][0] > 0.0


def test_fit_evaluate_and_predict_take_keras_arguments_in_keras_order(kit):
    classifier = kit.classifier
    # fit(x, y, batch_size, epochs, verbose, callbacks, validation_split)
    history = classifier.fit(TEXTS, LABELS, 4, 2, 0, None, 0.25)
    assert len(history.history["loss"]) == 2
    assert set(history.history) == {
        "loss",
        "sparse_categorical_accuracy",
        "val_loss",
        "val_sparse_categorical_accuracy",
    }
    # evaluate(x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict)
    logs = classifier.evaluate(TEXTS, LABELS, 4, 0, None, 1, None, True)
    assert set(logs) == {"loss", "sparse_categorical_accuracy"}
    zero = classifier.evaluate(TEXTS, LABELS, 4, 0, np.zeros(len(TEXTS)), None, None, True)
    assert zero["loss"] == 0.0
    # predict(x, batch_size, verbose)
    assert classifier.predict(TEXTS, 4, 0).shape == (len(TEXTS), NUM_CLASSES)


def test_keras_refuses_the_arguments_it_does_not_take(kit):
    classifier = kit.classifier
    with pytest.raises(TypeError, match=r"fit\(\) got an unexpected keyword argument 'epoch'"):
        classifier.fit(TEXTS, LABELS, batch_size=4, epoch=2, verbose=0)
    with pytest.raises(TypeError, match=r"predict\(\) got an unexpected keyword argument 'y'"):
        classifier.predict(TEXTS, y=LABELS, verbose=0)
    with pytest.raises(TypeError, match=r"\.fit\(\) got multiple values for argument 'epochs'$"):
        classifier.fit(TEXTS, LABELS, 4, 2, epochs=2)
    with pytest.raises(TypeError) as error:
        classifier.predict(TEXTS, 4, 0, None, None, None)
    assert str(error.value) == (
        f"{type(classifier).__name__}.predict() takes at most 5 positional arguments "
        "(x, batch_size, verbose, steps, callbacks), got 6."
    )


def test_fit_and_predict_sentence_pairs(kit):
    classifier = kit.classifier
    first, second = PAIRS
    with recorded_batches(classifier.preprocessor) as batches:
        # One worker: the batches are prepared (and recorded) in order.
        history = classifier.fit(PAIRS, LABELS, batch_size=4, shuffle=False, verbose=0, workers=1)
    assert len(history.history["loss"]) == 1
    assert len(batches) >= 2
    x, y = batches[0]
    assert x["token_ids"].shape == (4, short_width(kit))
    np.testing.assert_array_equal(y, LABELS[:4])
    # [CLS] first [SEP] second [SEP], the second segment (and its [SEP]) marked 1.
    width = x["token_ids"].shape[1]
    segments = families.has_segment_ids(families.family(kit.family))
    for row in range(4):
        a, b = len(kit.tokenizer.tokenize(first[row])), len(kit.tokenizer.tokenize(second[row]))
        expected = [0] * (a + 2) + [1] * (b + 1)
        if segments:
            np.testing.assert_array_equal(
                x["segment_ids"][row], expected + [0] * (width - len(expected))
            )
        assert x["token_ids"][row, 0] == kit.tokenizer.cls_token_id
        assert (
            x["token_ids"][row, a + 1]
            == x["token_ids"][row, a + b + 2]
            == kit.tokenizer.sep_token_id
        )

    pair_outputs = classifier.predict(PAIRS, verbose=0)
    assert pair_outputs.shape == (len(first), NUM_CLASSES)
    # The second segment reaches the head. The first token's features change: they are
    # layer-normed, of one scale in every family (a freshly drawn head's logits are not:
    # DistilBERT's two-layer head gives logits of about 5e-3). The logits change too, by
    # more than batching changes them (1e-5, below).
    backbone = classifier.backbone

    def first_token_features(texts):
        outputs = backbone(classifier.preprocessor(texts), training=False)
        return to_numpy(backbone.sequence_features(outputs))[:, 0]

    assert np.abs(first_token_features(PAIRS) - first_token_features(first)).max() > 1e-4
    assert np.abs(pair_outputs - classifier.predict(first, verbose=0)).max() > 1e-5
    np.testing.assert_allclose(
        classifier.predict((first[:1], second[:1]), verbose=0), pair_outputs[:1], atol=1e-5
    )


def test_validation_data_and_validation_split_on_raw_text(kit):
    classifier = kit.classifier
    history = classifier.fit(
        TEXTS, LABELS, batch_size=4, validation_data=(TEXTS, LABELS), verbose=0
    )
    assert set(history.history) == {
        "loss",
        "sparse_categorical_accuracy",
        "val_loss",
        "val_sparse_categorical_accuracy",
    }
    loss, accuracy = classifier.evaluate(TEXTS, LABELS, batch_size=4, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(loss, rel=1e-5)
    assert history.history["val_sparse_categorical_accuracy"][0] == pytest.approx(
        accuracy, rel=1e-5
    )

    counter = BatchCounter()
    history = classifier.fit(
        TEXTS, LABELS, batch_size=4, validation_split=0.5, verbose=0, callbacks=[counter]
    )
    assert counter.batches == 1  # the first half trains
    loss, accuracy = classifier.evaluate(TEXTS[4:], LABELS[4:], batch_size=4, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(loss, rel=1e-5)
    assert history.history["val_sparse_categorical_accuracy"][0] == pytest.approx(
        accuracy, rel=1e-5
    )

    with pytest.raises(ValueError, match=r"`validation_split` must be between 0 and 1, got 1\.5"):
        classifier.fit(TEXTS, LABELS, validation_split=1.5, verbose=0)


def test_fit_on_a_py_dataset_and_a_generator(kit):
    classifier = kit.classifier
    counter = BatchCounter()
    with recorded_batches(classifier.preprocessor) as batches:
        history = classifier.fit(
            RawTextBatches(TEXTS, LABELS, batch_size=4),
            epochs=2,
            shuffle=False,
            verbose=0,
            callbacks=[counter],
        )
    assert counter.batches == 4
    assert len(history.history["loss"]) == 2
    assert [batch[1].tolist() for batch in batches][-4:] == [
        LABELS[:4].tolist(),
        LABELS[4:].tolist(),
    ] * 2
    assert all(batch[0]["token_ids"].shape == (4, short_width(kit)) for batch in batches)

    def generator():
        while True:
            for start in range(0, len(TEXTS), 4):
                yield TEXTS[start : start + 4], LABELS[start : start + 4]

    counter = BatchCounter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = classifier.fit(
            generator(), steps_per_epoch=2, shuffle=False, verbose=0, callbacks=[counter]
        )
    # `shuffle=False` reaches Keras, which says nothing about shuffling a generator then.
    assert new_warnings(caught) == []
    assert counter.batches == 2
    assert np.isfinite(history.history["loss"][0])

    loss, _ = classifier.evaluate(RawTextBatches(TEXTS, LABELS, batch_size=4), verbose=0)
    assert loss == pytest.approx(
        classifier.evaluate(TEXTS, LABELS, batch_size=4, verbose=0)[0], rel=1e-5
    )
    outputs = classifier.predict(RawTextBatches(TEXTS, LABELS, batch_size=4), verbose=0)
    np.testing.assert_allclose(outputs, classifier.predict(TEXTS, verbose=0), atol=1e-5)


def test_classifier_batch_methods_on_raw_strings(kit):
    classifier = kit.classifier
    batch, labels = TEXTS[:4], LABELS[:4]
    loss, accuracy = classifier.test_on_batch(batch, labels)
    assert [loss, accuracy] == pytest.approx(
        classifier.evaluate(batch, labels, batch_size=4, verbose=0), rel=1e-5
    )
    expected_accuracy = np.mean(np.argmax(classifier.predict(batch, verbose=0), axis=1) == labels)
    assert accuracy == pytest.approx(expected_accuracy)

    outputs = classifier.predict_on_batch(batch)
    assert outputs.shape == (4, NUM_CLASSES)
    np.testing.assert_allclose(to_numpy(outputs), classifier.predict(batch, verbose=0), atol=1e-5)

    before = to_numpy(classifier.output_dense.kernel).copy()
    logs = classifier.train_on_batch(batch, labels, return_dict=True)
    assert set(logs) == {"loss", "sparse_categorical_accuracy"} and logs["loss"] > 0.0
    assert not np.array_equal(before, to_numpy(classifier.output_dense.kernel))


def test_masked_lm_fit_evaluate_and_batch_methods(kit):
    masked_lm = kit.masked_lm
    history = masked_lm.fit(TEXTS, batch_size=4, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "sparse_categorical_accuracy"}
    assert len(history.history["loss"]) == 2
    # Random guessing over the vocabulary costs about log(vocabulary size) per masked
    # token. The masks are drawn anew each epoch, and an epoch of these short texts can
    # draw none: its loss is then exactly 0 (every weight is 0; a random model's loss on a
    # masked token never is). At least one epoch must have drawn masks.
    vocabulary = kit.tokenizer.vocabulary_size()
    losses = history.history["loss"]
    assert any(loss > 0.0 for loss in losses)
    for loss in losses:
        assert loss == 0.0 or 0.5 * math.log(vocabulary) < loss < 3 * math.log(vocabulary)

    loss, accuracy = masked_lm.evaluate(TEXTS, batch_size=4, verbose=0)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0
    with recorded_batches(masked_lm.preprocessor) as batches:
        loss = masked_lm.test_on_batch(TEXTS[:4])[0]
    # As above: positive when the batch drew masks, exactly 0 when it drew none.
    ((_, _, weights),) = batches
    assert np.isfinite(loss) and (loss > 0.0 if np.sum(weights) else loss == 0.0)
    logs = masked_lm.train_on_batch(TEXTS[:4], return_dict=True)
    assert set(logs) == {"loss", "sparse_categorical_accuracy"}
    outputs = masked_lm.predict_on_batch(TEXTS[:4])
    assert outputs.shape == (4, MASK_SLOTS, kit.tokenizer.vocabulary_size())

    # Preprocessed inputs with labels and weights, as a caller without a preprocessor has them.
    x, y, sample_weight = masked_lm.preprocessor(TEXTS[:4])
    assert y.shape == sample_weight.shape == (4, MASK_SLOTS)
    loss_with_weights = masked_lm.test_on_batch(x, y, sample_weight)[0]
    assert np.isfinite(loss_with_weights)
