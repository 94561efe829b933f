"""The registered families: what each declares, what the public namespaces export, and the
built-in presets every class lists (``.presets``), as KerasHub lists them."""

import importlib.resources
import inspect
import json
import pathlib
import subprocess

import keras
import pytest

import textbones
from tests.helpers.reference_env import reference_python
from textbones import registry

FAMILIES = registry.families()
HERE = pathlib.Path(__file__).parent
#: The base classes whose ``.presets`` list every built-in preset, as in KerasHub.
BASES = (
    "Backbone",
    "Tokenizer",
    "Preprocessor",
    *(
        klass.__name__
        for kind in registry.task_kinds()
        for klass in (kind.task_base, kind.preprocessor_base)
    ),
)
#: The classes textbones has and KerasHub 0.32 lacks (it has a text embedder for BERT only,
#: and no token classifier at all).
TEXTBONES_ONLY = (
    {
        f"{family}{kind}"
        for family in ("Albert", "FNet", "DistilBert")
        for kind in ("TextEmbedder", "TextEmbedderPreprocessor")
    }
    | {
        f"{family}{kind}"
        for family in ("", "Bert", "Albert", "FNet", "DistilBert")
        for kind in ("TokenClassifier", "TokenClassifierPreprocessor")
    }
    | {
        # KerasHub has no question answerers.
        f"{family}{kind}"
        for family in ("", "Bert", "Albert", "FNet", "DistilBert")
        for kind in ("QuestionAnswerer", "QuestionAnswererPreprocessor")
    }
)


def family_classes(family: registry.Family) -> list[type]:
    return [
        family.backbone,
        family.tokenizer,
        *family.tasks.values(),
        *family.preprocessors.values(),
    ]


@pytest.fixture
def restore_class_registry():
    """Forget the classes a test defines, so later tests see only the package's."""
    saved = {kind: dict(registry.classes(kind)) for kind in registry.CLASS_KINDS}
    yield
    for kind, named in saved.items():
        registry._classes[kind].clear()
        registry._classes[kind].update(named)


# What each family declares --------------------------------------------------------


def test_the_families_in_registration_order():
    assert [family.name for family in FAMILIES][:3] == ["bert", "albert", "f_net"]
    assert [family.display_name for family in FAMILIES][:3] == ["Bert", "Albert", "FNet"]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.name)
def test_a_family_is_its_folder(family):
    package = f"textbones.models.{family.name}"
    for klass in family_classes(family):
        assert klass.__module__.startswith(package + "."), klass
        assert klass.__name__.startswith(family.display_name), klass
    assert importlib.resources.files(package).joinpath("presets.json").is_file()
    assert family.keras_hub_name == family.name


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.name)
def test_a_family_has_a_task_and_a_preprocessor_of_each_kind(family):
    for kind in registry.task_kinds():
        assert issubclass(family.tasks[kind.name], kind.task_base)
        assert issubclass(family.preprocessors[kind.name], kind.preprocessor_base)
        assert family.tasks[kind.name].preprocessor_cls is family.preprocessors[kind.name]
        assert family.tasks[kind.name].backbone_cls is family.backbone
    assert sorted(family.tasks) == sorted(kind.name for kind in registry.task_kinds())


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.name)
def test_a_family_s_presets_name_it_and_its_backbone(family):
    assert family.presets
    for name, entry in family.presets.items():
        # KerasHub names its embedding presets after the models they convert
        # (all_minilm_l6_v2_en, bge_small_en, ...), not after their family.
        assert name.startswith(family.name + "_") or entry.get("task") == "TextEmbedder", name
        assert entry["family"] == family.name
        assert entry["class_name"] == family.backbone.__name__
    assert {name: registry.builtin_presets()[name] for name in family.presets} == dict(
        family.presets
    )


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.name)
def test_a_family_s_tiny_config_builds_its_backbone(family):
    assert "vocabulary_size" not in family.tiny_config
    assert 2 <= family.tiny_config["num_layers"] <= 4
    backbone = family.backbone(vocabulary_size=97, **family.tiny_config)
    assert backbone.hidden_dim == family.tiny_config["hidden_dim"]
    assert 16 <= backbone.hidden_dim <= 32


@pytest.mark.parametrize(
    "name, initializer",
    [("bert", "TruncatedNormal"), ("albert", "TruncatedNormal"), ("f_net", "RandomNormal")],
)
def test_the_kernel_initializers(name, initializer):
    made = registry.family(name).kernel_initializer()
    assert type(made).__name__ == initializer
    assert isinstance(made, keras.initializers.Initializer)
    assert made.get_config()["stddev"] == 0.02


def test_the_transformers_mappings():
    mappings = {family.name: family.transformers for family in FAMILIES}
    assert {name: mappings[name].model_type for name in ("bert", "albert", "f_net")} == {
        "bert": "bert",
        "albert": "albert",
        "f_net": "fnet",
    }
    for family in FAMILIES:
        # The bare model is named as the backbone (the class lives on the family alone),
        # and each task kind's architecture by the kind's transformers suffix.
        architectures = family.transformers.architectures
        stem = family.backbone.__name__.removesuffix("Backbone")
        assert architectures["backbone"].lower() == f"{stem}Model".lower()
        for kind in registry.task_kinds():
            if kind.transformers_suffix:
                prefix = architectures["backbone"].removesuffix("Model")
                # Named in `architectures`, or derived from the suffix (the token classifier).
                architecture = family.transformers.architecture(kind.name, kind.transformers_suffix)
                assert architecture == prefix + kind.transformers_suffix


def test_an_unknown_family_names_the_known_ones():
    with pytest.raises(
        KeyError, match=r"No model family 'fnet'; textbones has 'bert', 'albert', 'f_net'"
    ):
        registry.family("fnet")


def test_family_of_a_user_subclass(restore_class_registry):
    class MyBert(textbones.models.BertBackbone):
        pass

    class MyTokenizer(textbones.models.FNetTokenizer):
        pass

    class MyPreprocessor(textbones.models.AlbertTextClassifierPreprocessor):
        pass

    assert registry.family_of(MyBert).name == "bert"
    assert registry.family_of(MyTokenizer).name == "f_net"
    assert registry.family_of(MyPreprocessor).name == "albert"
    assert registry.family_of(textbones.models.MaskedLM) is None
    assert registry.family_of(textbones.tokenizers.WordPieceTokenizer) is None
    # A user's subclass lists its family's presets, as KerasHub's does (its backbone_cls).
    assert sorted(MyTokenizer.presets) == ["f_net_base_en", "f_net_large_en"]
    assert sorted(MyPreprocessor.presets) == sorted(registry.family("albert").presets)


# The public namespaces ------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.name)
def test_a_family_s_classes_are_exported(family):
    for klass in family_classes(family):
        assert getattr(textbones.models, klass.__name__) is klass
        assert klass.__name__ in textbones.models.__all__
    # KerasHub's older names of the classifier and its preprocessor.
    name = family.display_name
    assert getattr(textbones.models, f"{name}Classifier") is family.tasks["classifier"]
    assert getattr(textbones.models, f"{name}Preprocessor") is family.preprocessors["classifier"]
    assert {f"{name}Classifier", f"{name}Preprocessor"} <= set(textbones.models.__all__)
    assert getattr(textbones.tokenizers, family.tokenizer.__name__) is family.tokenizer
    assert family.tokenizer.__name__ in textbones.tokenizers.__all__


def test_the_namespaces_export_exactly_their_names():
    for namespace in (textbones.models, textbones.tokenizers):
        assert len(set(namespace.__all__)) == len(namespace.__all__)
        for name in namespace.__all__:
            assert hasattr(namespace, name), name
    expected = {*BASES, "CausalLM", "Classifier", "Task"} | {
        name
        for family in FAMILIES
        for name in (
            *(klass.__name__ for klass in family_classes(family)),
            f"{family.display_name}Classifier",
            f"{family.display_name}Preprocessor",
        )
    }
    assert set(textbones.models.__all__) == expected


# Every class lists the presets it can load ----------------------------------------


def listed_classes() -> list[type]:
    classes = [getattr(textbones.models, name) for name in BASES]
    return classes + [klass for family in FAMILIES for klass in family_classes(family)]


def keras_hub_rule(klass: type) -> set[str]:
    """KerasHub's listing: the presets of the backbone of the class (a family class) or of
    every family class that subclasses it (a base)."""
    return {
        name
        for family in FAMILIES
        if any(issubclass(member, klass) for member in family_classes(family))
        for name in family.presets
    }


@pytest.mark.parametrize("klass", listed_classes(), ids=lambda klass: klass.__name__)
def test_every_class_lists_its_presets(klass):
    listed = klass.presets
    assert listed
    assert set(listed) == keras_hub_rule(klass)
    for name, entry in listed.items():
        built_in = registry.builtin_presets()[name]
        assert entry == {
            "description": built_in["description"],
            "parameter_count": built_in["parameter_count"],
            "kaggle_handle": built_in["kaggle_handle"],
            "family": built_in["family"],
        }


def test_the_listings_of_real_classes():
    assert sorted(textbones.models.FNetTokenizer.presets) == ["f_net_base_en", "f_net_large_en"]
    assert sorted(textbones.models.AlbertMaskedLMPreprocessor.presets) == [
        "albert_base_en_uncased",
        "albert_extra_extra_large_en_uncased",
        "albert_extra_large_en_uncased",
        "albert_large_en_uncased",
    ]
    # BERT's 10 and KerasHub 0.32's 26 embedding presets (MiniLM, BGE, E5, mxbai).
    assert len(textbones.models.BertTokenizer.presets) == 36
    assert "bert_tiny_en_uncased_sst2" in textbones.models.BertTextClassifierPreprocessor.presets
    # As in KerasHub, every BERT class lists every BERT preset, task presets of another kind
    # included: a classifier's backbone can start an embedder, and the other way round.
    assert set(textbones.models.BertTextEmbedder.presets) == set(
        textbones.models.BertTextClassifier.presets
    )
    assert "bge_small_en" in textbones.models.BertTextClassifier.presets
    assert "bert_tiny_en_uncased_sst2" in textbones.models.BertTextEmbedder.presets
    assert (
        set(textbones.tokenizers.WordPieceTokenizer.presets)
        == {
            name
            for family in registry.families()
            if issubclass(family.tokenizer, textbones.tokenizers.WordPieceTokenizer)
            for name in family.presets
        }
        >= set(textbones.models.BertBackbone.presets)
    )
    assert set(textbones.models.Tokenizer.presets) == set(registry.builtin_presets())
    assert set(textbones.models.Preprocessor.presets) == set(registry.builtin_presets())


@pytest.mark.parity
def test_the_listings_equal_keras_hub_s():
    """KerasHub lists more presets than textbones ships (other families' models); on the
    presets textbones ships, every class lists exactly what KerasHub's lists. KerasHub
    lacks some classes (the text embedders of families other than BERT): a base lists
    their presets in textbones only, so its comparison leaves those families out."""
    classes = listed_classes()
    finished = subprocess.run(
        [
            str(reference_python()),
            str(HERE / "presets_listing_reference.py"),
            *(klass.__name__ for klass in classes),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    theirs = json.loads(finished.stdout.splitlines()[-1])
    missing = {name for name, listed in theirs.items() if listed is None}
    assert missing == TEXTBONES_ONLY
    shipped = set(registry.builtin_presets())
    for klass in classes:
        if klass.__name__ in missing:
            continue
        in_keras_hub = {
            name
            for family in FAMILIES
            if any(
                issubclass(member, klass) and member.__name__ not in missing
                for member in family_classes(family)
            )
            or family is registry.family_of(klass)
            for name in family.presets
        }
        assert set(klass.presets) & in_keras_hub == set(theirs[klass.__name__]) & shipped, (
            klass.__name__
        )


def test_backbone_signatures_take_the_tiny_configs():
    for family in FAMILIES:
        parameters = inspect.signature(family.backbone).parameters
        assert set(family.tiny_config) <= set(parameters), family.name
