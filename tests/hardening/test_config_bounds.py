"""Backbone configs are checked before anything is allocated (issue 11, sections 3 and 4).

Bad counts (negative, zero, bool, float) and rates are refused naming the field; absurd
sizes are refused quickly, naming the field responsible, the parameters and the bytes
they imply, and how to lift the bound; the estimate of every family equals the built
model's ``count_params()``.
"""

import inspect
import time

import pytest

import textbones
from tests.conftest import TINY_CONFIGS, backbone_class
from tests.helpers import families
from textbones.models import config_checks
from textbones.models.backbone import Backbone

FAMILIES = sorted(TINY_CONFIGS)


def _builtin_presets():
    for name, entry in sorted(textbones.registry.builtin_presets().items()):
        yield pytest.param(entry, id=name)


@pytest.fixture(autouse=True)
def _default_bounds(monkeypatch):
    monkeypatch.delenv(config_checks.MAX_PARAMETERS_VARIABLE, raising=False)
    monkeypatch.delenv(config_checks.MAX_LAYERS_VARIABLE, raising=False)


# The estimate ----------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    "overrides",
    [{}, {"num_segments": 3, "max_sequence_length": 40, "intermediate_dim": 24}],
    ids=["tiny", "tiny-variant"],
)
def test_estimate_equals_count_params(family, overrides):
    if not families.has_segment_ids(families.family(family)):
        overrides = {key: value for key, value in overrides.items() if key != "num_segments"}
    config = {**TINY_CONFIGS[family], **overrides}
    cls = backbone_class(family)
    assert cls.estimate_parameter_count(config) == cls(**config).count_params()


def test_estimate_equals_count_params_for_albert_groups():
    config = {
        **TINY_CONFIGS["albert"],
        "num_layers": 6,
        "num_groups": 3,
        "num_inner_repetitions": 2,
    }
    cls = textbones.models.AlbertBackbone
    assert cls.estimate_parameter_count(config) == cls(**config).count_params() == 14_760


@pytest.mark.parametrize("entry", list(_builtin_presets()))
def test_estimate_equals_the_parameter_count_of_every_builtin_preset(entry):
    cls = Backbone._registry[entry["class_name"]]
    assert cls.estimate_parameter_count(entry["config"]) == entry["parameter_count"]


def test_estimate_equals_count_params_of_a_built_preset():
    model = textbones.models.Backbone.from_preset("bert_tiny_en_uncased", load_weights=False)
    assert model.count_params() == 4_385_920
    assert type(model).estimate_parameter_count(model.get_config()) == 4_385_920


# Bad fields (section 3: negative layer counts build an encoder with no layers) ----------


BAD_FIELDS = [
    ("num_layers", -1, r"`num_layers` must be an integer >= 1, got -1\."),
    ("num_layers", 0, r"`num_layers` must be an integer >= 1, got 0\."),
    ("num_layers", 2.0, r"`num_layers` must be an integer >= 1, got 2\.0 \(a float\)\."),
    ("hidden_dim", True, r"`hidden_dim` must be an integer >= 1, got True \(a bool\)\."),
    ("intermediate_dim", -32, r"`intermediate_dim` must be an integer >= 1, got -32\."),
    ("vocabulary_size", 0, r"`vocabulary_size` must be an integer >= 1, got 0\."),
    ("max_sequence_length", -5, r"`max_sequence_length` must be an integer >= 1, got -5\."),
    ("num_segments", 0, r"`num_segments` must be an integer >= 1, got 0\."),
    ("dropout", 1.0, r"`dropout` must be a number in \[0, 1\) .*got 1\.0\."),
    ("dropout", -0.1, r"`dropout` must be a number in \[0, 1\) .*got -0\.1\."),
    ("dropout", float("nan"), r"`dropout` must be a number in \[0, 1\) .*got nan\."),
    ("layer_norm_epsilon", float("nan"), r"`layer_norm_epsilon` must be a finite number >= 0"),
]


def _takes(family: str, field: str) -> bool:
    return field in inspect.signature(backbone_class(family).__init__).parameters


@pytest.mark.parametrize(
    "family, field, value, message",
    [(family, *case) for family in FAMILIES for case in BAD_FIELDS if _takes(family, case[0])],
    ids=[f"{f}={v}-{family}" for family in FAMILIES for f, v, _ in BAD_FIELDS if _takes(family, f)],
)
def test_bad_field_is_refused_by_name(family, field, value, message):
    cls = backbone_class(family)
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: {message}"):
        cls(**{**TINY_CONFIGS[family], field: value})


@pytest.mark.parametrize(
    "family, field, value, message",
    [
        ("bert", "num_heads", 0, r"`num_heads` must be an integer >= 1, got 0\."),
        ("albert", "num_heads", -2, r"`num_heads` must be an integer >= 1, got -2\."),
        ("bert", "num_heads", 3, r"`hidden_dim` \(16\) must be divisible by `num_heads` \(3\)"),
        ("albert", "embedding_dim", 0, r"`embedding_dim` must be an integer >= 1, got 0\."),
        ("albert", "num_groups", 0, r"`num_groups` must be an integer >= 1, got 0\."),
        ("albert", "num_groups", 3, r"`num_layers` \(4\) must be a multiple of `num_groups` \(3\)"),
        ("albert", "num_inner_repetitions", 0, r"`num_inner_repetitions` must be an integer >= 1"),
    ],
)
def test_family_fields_are_checked(family, field, value, message):
    with pytest.raises(ValueError, match=message):
        backbone_class(family)(**{**TINY_CONFIGS[family], field: value})


def test_bad_override_in_from_preset_is_refused():
    message = r"BertBackbone: `num_layers` must be an integer >= 1, got -2\."
    with pytest.raises(ValueError, match=message):
        textbones.models.Backbone.from_preset(
            "bert_tiny_en_uncased", load_weights=False, num_layers=-2
        )


def test_check_config_without_building():
    message = r"FNetBackbone: `hidden_dim` must be an integer >= 1, got 0\."
    with pytest.raises(ValueError, match=message):
        textbones.models.FNetBackbone.check_config({**TINY_CONFIGS["f_net"], "hidden_dim": 0})
    textbones.models.FNetBackbone.check_config(TINY_CONFIGS["f_net"])  # no error


# Absurd sizes (section 4) ----------------------------------------------------------


def _refused_quickly(cls, config, message):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message) as caught:
        cls(**config)
    assert time.perf_counter() - start < 1.0
    return str(caught.value)


BERT_BASE = dict(
    vocabulary_size=30522, num_layers=12, num_heads=12, hidden_dim=768, intermediate_dim=3072
)


def test_huge_vocabulary_is_refused_with_field_parameters_and_bytes():
    message = _refused_quickly(
        textbones.models.BertBackbone,
        {**BERT_BASE, "vocabulary_size": 10**12},
        r"BertBackbone would hold 768,000,086,041,344 parameters \(3\.1 PB as float32\), "
        r"more than the limit of 20,000,000,000\. Most come from `vocabulary_size`: the token "
        r"embedding \(vocabulary_size 1,000,000,000,000 x 768\) holds 768,000,000,000,000 "
        r"parameters \(3\.1 PB\)\.",
    )
    assert "TEXTBONES_MAX_PARAMETERS" in message


def test_huge_max_sequence_length_is_refused():
    _refused_quickly(
        textbones.models.BertBackbone,
        {**BERT_BASE, "max_sequence_length": 10**9},
        r"Most come from `max_sequence_length`: the position embedding \(max_sequence_length "
        r"1,000,000,000 x 768\) holds 768,000,000,000 parameters \(3\.1 TB\)",
    )


def test_bytes_follow_the_variable_dtype():
    config = {**BERT_BASE, "vocabulary_size": 10**11}
    _refused_quickly(
        textbones.models.BertBackbone,
        {**config, "dtype": "bfloat16"},
        r"\(153\.\d TB as bfloat16\)",
    )
    # Mixed precision keeps float32 variables.
    _refused_quickly(
        textbones.models.BertBackbone,
        {**config, "dtype": "mixed_bfloat16"},
        r"\(307\.\d TB as float32\)",
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_a_million_layers_is_refused_quickly(family):
    cls = backbone_class(family)
    config = {**TINY_CONFIGS[family], "num_layers": 10**6}
    if "num_groups" in config:  # ALBERT's layers come in groups
        config.update(num_groups=1, num_inner_repetitions=1)
    message = _refused_quickly(
        cls, config, rf"{cls.__name__} would apply 1,000,000 blocks in depth \(`num_layers`=1000000"
    )
    assert "more than the limit of 1,024" in message and "TEXTBONES_MAX_LAYERS" in message


def test_a_million_wide_layers_are_refused_by_their_parameters():
    _refused_quickly(
        textbones.models.BertBackbone,
        {**BERT_BASE, "num_layers": 10**6},
        r"Most come from `num_layers`: the transformer blocks "
        r"\(num_layers 1,000,000 x 7,087,872 each\)",
    )


def test_albert_depth_counts_inner_repetitions():
    config = {
        **TINY_CONFIGS["albert"],
        "num_layers": 600,
        "num_groups": 1,
        "num_inner_repetitions": 2,
    }
    _refused_quickly(
        textbones.models.AlbertBackbone,
        config,
        r"would apply 1,200 blocks in depth \(`num_layers`=600 x `num_inner_repetitions`=2\)",
    )


# Lifting the bounds ------------------------------------------------------------------


def test_parameter_bound_is_set_by_the_environment(monkeypatch):
    monkeypatch.setenv("TEXTBONES_MAX_PARAMETERS", "5000")
    message = r"would hold 6,720 parameters .* more than the limit of 5,000"
    with pytest.raises(ValueError, match=message):
        textbones.models.BertBackbone(**TINY_CONFIGS["bert"])
    monkeypatch.setenv("TEXTBONES_MAX_PARAMETERS", "1e4")
    assert textbones.models.BertBackbone(**TINY_CONFIGS["bert"]).count_params() == 6720


def test_parameter_bound_can_be_lifted_entirely(monkeypatch):
    config = {**BERT_BASE, "vocabulary_size": 10**12}
    monkeypatch.setenv("TEXTBONES_MAX_PARAMETERS", "none")
    # Checking alone (nothing allocated): only the bound was in the way.
    textbones.models.BertBackbone.check_config(config)


def test_layer_bound_is_set_by_the_environment(monkeypatch):
    monkeypatch.setenv("TEXTBONES_MAX_LAYERS", "3")
    message = r"would apply 8 blocks in depth .* more than the limit of 3"
    with pytest.raises(ValueError, match=message):
        textbones.models.AlbertBackbone(**TINY_CONFIGS["albert"])
    monkeypatch.setenv("TEXTBONES_MAX_LAYERS", "none")
    textbones.models.AlbertBackbone.check_config(
        {**TINY_CONFIGS["albert"], "num_groups": 1, "num_layers": 10**6}
    )


def test_a_bad_bound_is_refused_clearly(monkeypatch):
    monkeypatch.setenv("TEXTBONES_MAX_PARAMETERS", "lots")
    message = r"TEXTBONES_MAX_PARAMETERS='lots' must be a whole number >= 1"
    with pytest.raises(ValueError, match=message):
        textbones.models.FNetBackbone(**TINY_CONFIGS["f_net"])


# The happy path is unchanged -----------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_valid_configs_build_and_round_trip(family):
    cls = backbone_class(family)
    model = cls(**TINY_CONFIGS[family])
    clone = cls.from_config(model.get_config())
    assert clone.count_params() == model.count_params()
    assert clone.get_config() == model.get_config()
