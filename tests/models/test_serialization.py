"""Saving and loading tasks with Keras: nested configs, compile configs, dtype policies.

* Nested objects (a task's backbone and preprocessor, a preprocessor's tokenizer) are saved
  under KerasHub's names but always rebuilt as textbones' classes, even while another
  library (KerasHub, once imported) holds those names in Keras' registry. Here a stand-in
  library takes the names, so no KerasHub is needed; ``tests/parity/test_two_libraries_parity.py``
  runs the same with the real one.
* ``keras.models.load_model`` restores the compile config (learning-rate schedules,
  ``AdamW``) and the optimizer's state, so training continues; an unregistered custom class
  falls back to the task's default with a warning instead of a ``TypeError``.
* ``from_preset`` builds under the global dtype policy (``mixed_float16``) unless ``dtype`` is
  given, whatever float dtype the preset was saved in.
"""

import warnings

import keras
import numpy as np
import pytest

from tests.conftest import TINY_CONFIGS, perturb_weights
from tests.helpers.sentence_piece import tiny_proto
from textbones import registry, serialization
from textbones.models import (
    Backbone,
    BertTextClassifier,
    MaskedLM,
    TextClassifier,
    TokenClassifier,
)
from textbones.models.task import Task
from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer
from textbones.presets.loader import with_preset_dtype

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran", "a", "cat", "sat"]
TEXTS = ["the fox ran", "a cat sat", "the cat ran", "a fox sat"]
LABELS = np.array([0, 1, 1, 0])
TASK_CLASSES = sorted(Task._registry.values(), key=lambda klass: klass.__name__)


def family_of(task_class) -> str:
    """The name of the registered family ``task_class`` belongs to."""
    return registry.family_of(task_class).name


def make_task(task_class, dropout: float = 0.1, seed: int = 0):
    """A tiny task of ``task_class`` with its preprocessor, weights moved off their init."""
    tokenizer_cls = task_class.preprocessor_cls.tokenizer_cls
    if issubclass(tokenizer_cls, WordPieceTokenizer):
        tokenizer = tokenizer_cls(vocabulary=VOCABULARY)
    else:
        tokenizer = tokenizer_cls(proto=tiny_proto("albert"))
    family = family_of(task_class)
    keras.utils.set_random_seed(seed)
    backbone = task_class.backbone_cls(
        **{
            **TINY_CONFIGS[family],
            "vocabulary_size": tokenizer.vocabulary_size(),
            "dropout": dropout,
        }
    )
    preprocessor = task_class.preprocessor_cls(tokenizer, sequence_length=16)
    classifiers = (TextClassifier, TokenClassifier)
    extra = {"num_classes": 2, "dropout": dropout} if issubclass(task_class, classifiers) else {}
    task = task_class(backbone, preprocessor=preprocessor, **extra)
    perturb_weights(task, seed)
    return task


class _Stranger:
    """A class of another library that took one of KerasHub's names."""

    def __init__(self, **config):
        self.config = config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@pytest.fixture
def keras_hub_names_taken():
    """KerasHub's and KerasNLP's names in Keras' registry point at another library's classes
    of the same names, as after ``import keras_hub``; restored afterwards."""
    custom_objects = keras.saving.get_custom_objects()
    ours = {
        name: klass
        for name, klass in custom_objects.items()
        if name.partition(">")[0] in serialization.KERAS_HUB_PACKAGES
    }
    for name, klass in ours.items():
        custom_objects[name] = type(
            klass.__name__, (_Stranger,), {"__module__": "keras_hub.src.stranger"}
        )
    yield
    custom_objects.update(ours)


# Two libraries, one registry ------------------------------------------------------------


@pytest.mark.parametrize("task_class", TASK_CLASSES, ids=lambda klass: klass.__name__)
def test_from_config_builds_textbones_classes_while_keras_hub_holds_the_names(
    task_class, keras_hub_names_taken
):
    task = make_task(task_class)
    preprocessor, tokenizer, backbone = (
        task.preprocessor,
        task.preprocessor.tokenizer,
        task.backbone,
    )
    for original in (backbone, tokenizer, preprocessor, task):
        rebuilt = type(original).from_config(original.get_config())
        assert type(rebuilt) is type(original)
        assert rebuilt.get_config() == original.get_config()
    rebuilt = type(task).from_config(task.get_config())
    assert type(rebuilt.backbone) is type(backbone)
    assert type(rebuilt.preprocessor) is type(preprocessor)
    assert type(rebuilt.preprocessor.tokenizer) is type(tokenizer)
    # Keras' own entry point: the top-level name is textbones>..., the nested ones KerasHub's.
    serialized = keras.saving.serialize_keras_object(task)
    assert serialized["registered_name"] == f"textbones>{task_class.__name__}"
    assert (
        serialized["config"]["backbone"]["registered_name"]
        == f"keras_hub>{type(backbone).__name__}"
    )
    assert type(keras.saving.deserialize_keras_object(serialized)) is task_class


def test_load_model_of_a_textbones_archive_builds_textbones_while_keras_hub_holds_the_names(
    tmp_path, keras_hub_names_taken
):
    task = make_task(BertTextClassifier)
    expected = task.predict(TEXTS, verbose=0)
    task.save(tmp_path / "classifier.keras")
    loaded = keras.models.load_model(tmp_path / "classifier.keras")
    assert type(loaded) is BertTextClassifier
    assert type(loaded.backbone) is type(task.backbone)
    assert type(loaded.preprocessor.tokenizer) is type(task.preprocessor.tokenizer)
    np.testing.assert_allclose(loaded.predict(TEXTS, verbose=0), expected, atol=1e-6)


def test_a_stranger_of_the_same_name_is_refused_naming_both_modules():
    task = make_task(BertTextClassifier)
    stranger = type("BertTokenizer", (_Stranger,), {"__module__": "keras_hub.src.models.bert"})
    with pytest.raises(ValueError) as caught:
        type(task.preprocessor)(stranger())
    assert str(caught.value) == (
        "BertTextClassifierPreprocessor needs a textbones.models.bert.tokenizer.BertTokenizer, "
        "got a keras_hub.src.models.bert.BertTokenizer. Use the preprocessor of the tokenizer's "
        "family (and textbones' tokenizers with textbones' preprocessors)."
    )
    config = task.get_config()
    config["preprocessor"] = config["preprocessor"]["config"]["tokenizer"]
    with pytest.raises(TypeError) as caught:
        BertTextClassifier.from_config(config)
    assert str(caught.value).startswith(
        "the preprocessor of BertTextClassifier must be a "
        "textbones.preprocessing.preprocessor.Preprocessor, but its config describes a "
        "textbones.models.bert.tokenizer.BertTokenizer."
    )


def test_names_textbones_lacks_are_refused_by_name():
    config = make_task(BertTextClassifier).get_config()
    config["backbone"]["registered_name"] = "keras_hub>GemmaBackbone"
    with pytest.raises(
        ValueError,
        match="the backbone of BertTextClassifier is a keras_hub>GemmaBackbone, "
        "which textbones does not implement",
    ):
        BertTextClassifier.from_config(config)


def test_textbones_class_reads_every_spelling_of_a_name():
    from textbones.models import FNetBackbone, FNetTokenizer

    for name in (
        "keras_hub>FNetBackbone",
        "keras_nlp>FNetBackbone",
        "textbones>FNetBackbone",
        "FNetBackbone",
    ):
        assert serialization.textbones_class(name) is FNetBackbone
    assert serialization.textbones_class("other_library>FNetBackbone") is None
    assert serialization.textbones_class("keras_hub>GemmaBackbone") is None
    # A textbones layer is not read for KerasHub's layer of the same name.
    assert serialization.textbones_class("keras_hub>TransformerEncoder") is None
    assert serialization.textbones_class("textbones>TransformerEncoder").__module__.startswith(
        "textbones."
    )
    assert serialization.textbones_class("keras_nlp>FNetTokenizer") is FNetTokenizer


# Compile configs -------------------------------------------------------------------------


def _optimizer_state(model) -> list[np.ndarray]:
    return [np.array(variable.numpy()) for variable in model.optimizer.variables]


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: keras.optimizers.Adam(keras.optimizers.schedules.PolynomialDecay(1e-3, 20, 1e-5)),
        lambda: keras.optimizers.AdamW(1e-3, weight_decay=0.01),
        lambda: keras.optimizers.AdamW(
            keras.optimizers.schedules.CosineDecay(1e-3, 20, warmup_target=2e-3, warmup_steps=2)
        ),
    ],
    ids=["adam_polynomial_decay", "adamw", "adamw_cosine_warmup"],
)
def test_load_model_restores_the_optimizer_and_training_continues(tmp_path, make_optimizer):
    task = make_task(BertTextClassifier, dropout=0.0)
    task.compile(optimizer=make_optimizer(), metrics=["accuracy"])
    task.fit(TEXTS, LABELS, batch_size=2, epochs=1, verbose=0)
    task.save(tmp_path / "classifier.keras")
    loaded = keras.models.load_model(tmp_path / "classifier.keras")

    assert type(loaded.optimizer) is type(task.optimizer)
    assert loaded.optimizer.get_config() == task.optimizer.get_config()
    assert int(loaded.optimizer.iterations.numpy()) == int(task.optimizer.iterations.numpy()) == 2
    for saved, restored in zip(_optimizer_state(task), _optimizer_state(loaded), strict=True):
        np.testing.assert_array_equal(restored, saved)
    np.testing.assert_allclose(
        loaded.predict(TEXTS, verbose=0), task.predict(TEXTS, verbose=0), atol=1e-6
    )

    # One more step from the same state gives the same weights: training picks up where it stopped.
    for model in (task, loaded):
        model.train_on_batch(TEXTS, LABELS)
    assert int(loaded.optimizer.iterations.numpy()) == 3
    for original, restored in zip(task.weights, loaded.weights, strict=True):
        np.testing.assert_allclose(restored.numpy(), original.numpy(), atol=1e-6)


class _Triangular(keras.optimizers.schedules.LearningRateSchedule):
    """A custom schedule, as in KerasHub's semantic-similarity guide, not registered with Keras."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, step):
        return self.rate * keras.ops.minimum(1.0, keras.ops.cast(step + 1, "float32") / 2.0)

    def get_config(self):
        return {"rate": self.rate}


def test_an_unregistered_schedule_falls_back_to_the_default_optimizer_with_a_warning(tmp_path):
    task = make_task(BertTextClassifier, dropout=0.0)
    task.compile(
        optimizer=keras.optimizers.AdamW(_Triangular(1e-3)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="my_loss"),
        metrics=["accuracy"],
    )
    task.fit(TEXTS, LABELS, batch_size=2, verbose=0)
    task.save(tmp_path / "classifier.keras")
    with pytest.warns(UserWarning) as caught:
        loaded = keras.models.load_model(tmp_path / "classifier.keras")
    ours = [
        str(warning.message) for warning in caught if "could not rebuild" in str(warning.message)
    ]
    assert ours == [
        "BertTextClassifier could not rebuild the saved optimizer (`optimizer`: Keras cannot find "
        "the class '_Triangular'), so it is compiled with its default for it and the saved "
        "optimizer state is not restored. Pass the missing classes to "
        "`keras.models.load_model(..., custom_objects={...})` or register them with "
        "`@keras.saving.register_keras_serializable()`, or call `compile(...)` again after loading."
    ]
    # The backend's own subclass of Adam on torch: the default optimizer, not the saved AdamW.
    assert isinstance(loaded.optimizer, keras.optimizers.Adam)
    assert not isinstance(loaded.optimizer, keras.optimizers.AdamW)
    assert float(loaded.optimizer.learning_rate.numpy()) == pytest.approx(
        BertTextClassifier.default_learning_rate
    )
    assert loaded.loss.name == "my_loss"  # what could be rebuilt was
    np.testing.assert_allclose(
        loaded.predict(TEXTS, verbose=0), task.predict(TEXTS, verbose=0), atol=1e-6
    )
    loaded.fit(TEXTS, LABELS, batch_size=2, verbose=0)  # and it trains

    # Given the class, everything comes back, the optimizer's state included.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        restored = keras.models.load_model(
            tmp_path / "classifier.keras", custom_objects={"_Triangular": _Triangular}
        )
    assert isinstance(restored.optimizer, keras.optimizers.AdamW)
    assert type(restored.optimizer._learning_rate) is _Triangular
    assert int(restored.optimizer.iterations.numpy()) == 2


# dtype policies --------------------------------------------------------------------------


@pytest.fixture
def mixed_float16():
    keras.config.set_dtype_policy("mixed_float16")
    yield
    keras.config.set_dtype_policy("float32")


def _policies(model) -> set[str]:
    return {layer.dtype_policy.name for layer in model._flatten_layers()}


@pytest.mark.parametrize("saved_dtype", ["float32", "bfloat16"])
def test_from_preset_builds_under_the_global_policy(tmp_path, saved_dtype, mixed_float16):
    keras.config.set_dtype_policy(saved_dtype)
    task = make_task(BertTextClassifier)
    task.save_to_preset(tmp_path / "keras")
    task.save_to_preset(tmp_path / "transformers", format="transformers")
    keras.config.set_dtype_policy("mixed_float16")
    for preset in (tmp_path / "keras", tmp_path / "transformers"):
        backbone = Backbone.from_preset(preset)
        assert _policies(backbone) == {"mixed_float16"}
        assert {variable.dtype for variable in backbone.weights} == {"float32"}
        for loaded in (TextClassifier.from_preset(preset), MaskedLM.from_preset(preset)):
            assert loaded.dtype_policy.name == "mixed_float16"
            assert _policies(loaded) == {"mixed_float16"}
        # A dtype the caller passes wins.
        # (Its input layers keep the global policy, in KerasHub's models too.)
        given = Backbone.from_preset(preset, dtype="bfloat16")
        assert given.dtype_policy.name == "bfloat16"
        assert {variable.dtype for variable in given.weights} == {"bfloat16"}
        assert TextClassifier.from_preset(preset, dtype="float32").dtype_policy.name == "float32"
    keras.config.set_dtype_policy("float32")
    assert _policies(TextClassifier.from_preset(tmp_path / "keras")) == {"float32"}


def test_with_preset_dtype_keeps_only_non_float_saved_policies():
    def policy(name):
        return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}}

    for name in ("float32", "float16", "bfloat16", "mixed_float16", "mixed_bfloat16"):
        assert with_preset_dtype({"dtype": policy(name), "num_layers": 2}, {}) == {"num_layers": 2}
    quantized = policy("int8_from_float32")
    assert with_preset_dtype({"dtype": quantized}, {}) == {"dtype": quantized}
    assert with_preset_dtype({"dtype": quantized}, {"dtype": None}) == {"dtype": quantized}
    assert with_preset_dtype({"dtype": quantized}, {"dtype": "bfloat16"}) == {"dtype": "bfloat16"}
