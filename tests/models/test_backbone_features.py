"""What a backbone declares (its optional inputs, the features its heads read) and how the
task bases and preprocessors follow it, for every family and for a backbone of no family
whose output is one tensor."""

import keras
import numpy as np
import pytest

import textbones
from tests.conftest import to_numpy
from tests.helpers.sentence_piece import tiny_proto
from textbones import registry
from textbones.layers.reversible_embedding import ReversibleEmbedding
from textbones.models import Backbone, MaskedLM, TextClassifier
from textbones.tokenizers import WordPieceTokenizer

BERT_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran", "far"]
FAMILIES = [family.name for family in registry.families()]


def make_tokenizer(family: registry.Family):
    if issubclass(family.tokenizer, WordPieceTokenizer):
        return family.tokenizer(vocabulary=BERT_VOCABULARY)
    return family.tokenizer(proto=tiny_proto("albert"))


def make_backbone(family: registry.Family, vocabulary_size: int = 97):
    keras.utils.set_random_seed(0)
    return family.backbone(vocabulary_size=vocabulary_size, **family.tiny_config)


def model_inputs(backbone, batch: int = 2, length: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    inputs = {"token_ids": rng.integers(5, backbone.vocabulary_size, (batch, length))}
    if backbone.has_segment_ids:
        inputs["segment_ids"] = np.zeros((batch, length), "int32")
    if backbone.has_padding_mask:
        inputs["padding_mask"] = np.ones((batch, length), "int32")
    return inputs


@pytest.fixture(params=FAMILIES)
def family(request) -> str:
    return request.param


def test_every_registered_backbone_declares_the_inputs_it_takes():
    backbones = registry.classes("backbone")
    assert {family.backbone for family in registry.families()} <= set(backbones.values())
    assert {"BertBackbone", "AlbertBackbone", "FNetBackbone"} <= set(backbones)
    for cls in backbones.values():
        names = set(cls.input_names)
        assert "token_ids" in names
        assert ("segment_ids" in names) is cls.has_segment_ids, cls.__name__
        assert ("padding_mask" in names) is cls.has_padding_mask, cls.__name__


def test_the_flags_of_the_first_three_families():
    backbones = {name: registry.family(name).backbone for name in ("bert", "albert", "f_net")}
    flags = {name: (cls.has_segment_ids, cls.has_padding_mask) for name, cls in backbones.items()}
    assert flags == {"bert": (True, True), "albert": (True, True), "f_net": (True, False)}


def test_a_backbone_whose_flags_disagree_with_its_inputs_is_refused():
    with pytest.raises(TypeError) as error:

        class NoMask(Backbone):  # noqa: F841
            input_names = ("token_ids", "segment_ids", "padding_mask")
            has_padding_mask = False

    assert str(error.value) == (
        "NoMask sets has_padding_mask = False, but its input_names ('token_ids', "
        "'segment_ids', 'padding_mask') hold 'padding_mask'. Make them agree."
    )
    with pytest.raises(TypeError, match=r"sets has_segment_ids = True, .* lack 'segment_ids'"):

        class NoSegments(Backbone):  # noqa: F841
            input_names = ("token_ids", "padding_mask")

    with pytest.raises(TypeError, match=r"must hold 'token_ids', got \('ids',\)"):

        class NoTokens(Backbone):  # noqa: F841
            input_names = ("ids",)
            has_segment_ids = has_padding_mask = False


def test_feature_hooks_pick_their_features_out_of_the_outputs(family):
    family = registry.family(family)
    backbone = make_backbone(family)
    outputs = backbone(model_inputs(backbone, batch=3, length=6))
    sequence = to_numpy(backbone.sequence_features(outputs))
    pooled = to_numpy(backbone.pooled_features(outputs))
    assert sequence.shape == (3, 6, backbone.hidden_dim)
    assert pooled.shape == (3, backbone.hidden_dim)
    if isinstance(outputs, dict):
        np.testing.assert_array_equal(sequence, to_numpy(outputs["sequence_output"]))
        np.testing.assert_array_equal(pooled, to_numpy(outputs["pooled_output"]))


@pytest.mark.parametrize("kind", ["classifier", "masked_lm", "token_classifier"])
def test_preprocessors_emit_exactly_the_inputs_of_their_backbone(family, kind):
    family = registry.family(family)
    backbone_cls, preprocessor_cls = family.backbone, family.preprocessors[kind]
    assert preprocessor_cls.has_segment_ids is backbone_cls.has_segment_ids
    assert preprocessor_cls.has_padding_mask is backbone_cls.has_padding_mask
    tokenizer = make_tokenizer(family)
    preprocessor = preprocessor_cls(tokenizer, sequence_length=8)
    batch = preprocessor.preprocess_batch(["the fox ran", "the fox"], rng=np.random.default_rng(0))
    x = batch[0] if isinstance(batch, tuple) else batch
    extra = {"mask_positions"} if kind == "masked_lm" else set()
    assert set(x) == set(backbone_cls.input_names) | extra
    assert x["token_ids"].shape == (2, 8)
    assert x["token_ids"][:, 0].tolist() == [tokenizer.start_token_id] * 2
    # The family's task takes the batch as it comes.
    backbone = make_backbone(family, tokenizer.vocabulary_size())
    task = family.tasks[kind](backbone, preprocessor=preprocessor, **_task_arguments(kind))
    assert set(task.input) == set(x)
    outputs = to_numpy(task(x))
    assert outputs.shape[0] == 2


def _task_arguments(kind: str) -> dict:
    return {"num_classes": 2} if kind in ("classifier", "token_classifier") else {}


def test_a_preprocessor_without_segment_ids_emits_none():
    # Set on the instance: a subclass would join the registry, where the loader looks
    # for the one preprocessor class of a tokenizer.
    tokenizer = make_tokenizer(registry.family("bert"))
    preprocessor = textbones.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=6)
    preprocessor.has_segment_ids = False
    x = preprocessor((["the fox"], ["ran"]))
    assert sorted(x) == ["padding_mask", "token_ids"]
    assert x["token_ids"].tolist() == [[2, 5, 6, 3, 7, 3]]
    assert x["padding_mask"].tolist() == [[True] * 6]


@keras.saving.register_keras_serializable(package="textbones_tests")
class OneTensorBackbone(Backbone):
    """A toy backbone of no family: embeddings masked by the padding mask, one tensor out."""

    input_names = ("token_ids", "padding_mask")
    has_segment_ids = False

    def __init__(self, vocabulary_size, hidden_dim, max_sequence_length=16, **kwargs):
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        embedding = ReversibleEmbedding(vocabulary_size, hidden_dim, name="token_embedding")
        mask = keras.ops.expand_dims(keras.ops.cast(padding_mask, "float32"), -1)
        sequence = embedding(token_ids) * mask
        super().__init__(
            inputs={"token_ids": token_ids, "padding_mask": padding_mask},
            outputs=sequence,
            **kwargs,
        )
        self._keep_layers({"token_embedding": embedding})
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.max_sequence_length = max_sequence_length

    def sequence_features(self, outputs):
        return outputs

    def pooled_features(self, outputs):
        return outputs[:, 0, :]


def test_a_one_tensor_backbone_feeds_both_task_bases():
    keras.utils.set_random_seed(0)
    backbone = OneTensorBackbone(vocabulary_size=20, hidden_dim=4)
    inputs = {"token_ids": np.array([[2, 7, 9, 3]]), "padding_mask": np.ones((1, 4), "int32")}
    assert registry.family_of(backbone) is None

    classifier = TextClassifier(backbone, num_classes=3, dropout=0.0)
    assert sorted(classifier.input) == ["padding_mask", "token_ids"]
    assert [layer.name for layer in classifier.layers[-2:]] == ["output_dropout", "logits"]
    logits = to_numpy(classifier(inputs))
    features = to_numpy(backbone(inputs))[:, 0, :]
    dense = classifier.output_dense
    expected = features @ to_numpy(dense.kernel) + to_numpy(dense.bias)
    np.testing.assert_allclose(logits, expected, atol=1e-6)
    assert logits.shape == (1, 3)
    # No family: the head starts from KerasHub's usual TruncatedNormal(0.02).
    assert isinstance(classifier._kernel_initializer(), keras.initializers.TruncatedNormal)

    masked_lm = MaskedLM(backbone)
    logits = to_numpy(masked_lm({**inputs, "mask_positions": np.array([[1, 2]])}))
    assert logits.shape == (1, 2, 20)

    classifier.compile(optimizer=keras.optimizers.SGD(0.1))
    x = {
        "token_ids": np.tile(inputs["token_ids"], (4, 1)),
        "padding_mask": np.ones((4, 4), "int32"),
    }
    history = classifier.fit(x, np.array([0, 1, 2, 0]), batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_task_heads_start_from_the_family_initializer_of_the_backbone(family):
    family = registry.family(family)
    backbone = make_backbone(family)
    expected = family.kernel_initializer()
    for task in (TextClassifier(backbone, num_classes=2), MaskedLM(backbone)):
        assert registry.family_of(task.backbone) is family
        initializer = task._kernel_initializer()
        assert type(initializer) is type(expected)
        assert initializer.get_config() == expected.get_config()
    # The classes of the first families: BERT's and ALBERT's truncated, FNet's not.
    kinds = {
        name: type(registry.family(name).kernel_initializer()).__name__
        for name in ("bert", "albert", "f_net")
    }
    assert kinds == {
        "bert": "TruncatedNormal",
        "albert": "TruncatedNormal",
        "f_net": "RandomNormal",
    }


def test_head_layers_keep_their_names_and_are_tracked_once(family):
    backbone = make_backbone(registry.family(family))
    classifier = TextClassifier(backbone, num_classes=2)
    names = [layer.name for layer in classifier.layers]
    assert names.count("logits") == 1 and names.count("output_dropout") == 1
    assert classifier.output_dense is classifier.get_layer("logits")
    assert classifier.output_dropout is classifier.get_layer("output_dropout")
    head_weights = {id(weight) for weight in classifier.output_dense.weights}
    assert head_weights <= {id(weight) for weight in classifier.trainable_weights}
    assert len(classifier.weights) == len(backbone.weights) + 2
