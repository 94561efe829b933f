"""Parity with Hugging Face ``transformers`` itself, both ways, for every registered family.

Each family with a ``transformers`` mapping is compared as a masked LM and as a classifier
built from its tiny backbone (``Family.tiny_config``, through the mapping's
``config_fields``); ``VARIANTS`` adds one family's own cases (other activations, sharded
and ``pytorch_model.bin`` weights, tokenizer options).

``transformers_reference.py`` runs twice per session in the reference interpreter
(``.venv-ref``: torch, transformers):

* ``make``: random checkpoints of every ``CONFIGS`` entry, written with ``save_pretrained``
  (one as sharded safetensors, one as a ``pytorch_model.bin``), with tokenizer files, the
  model's outputs on a fixed, unevenly padded batch, and ``AutoTokenizer``'s ids on hard
  texts. Here textbones loads each one (``Backbone``, ``Task`` and ``Tokenizer`` ``from_preset``)
  and must reproduce those outputs (max abs diff ≤ 1e-4 in float32) and ids (identical).
* ``check``: what textbones exports with ``save_to_preset(..., format="transformers")`` is
  loaded by ``AutoModel*`` / ``AutoTokenizer``, with nothing missing; its outputs must equal
  textbones' own. The ``pytorch_model.bin`` checkpoint, which only torch can read, is
  loaded there by textbones; in this environment (no torch) loading it must fail with the
  error that says what to do.

Every difference goes to ``build/transformers_parity_report.json`` (and is printed with ``-s``).
"""

from __future__ import annotations

import json
import pathlib
import warnings

import numpy as np
import pytest

import textbones
from tests.helpers import families
from tests.helpers.reference_env import run_reference
from tests.helpers.sentence_piece import corpus, tiny_proto, training_corpus
from textbones.models import Backbone, MaskedLM, Task, TextClassifier
from textbones.tokenizers import Tokenizer

pytestmark = pytest.mark.parity

REPO = pathlib.Path(__file__).resolve().parents[2]
REPORT_PATH = REPO / "build" / "transformers_parity_report.json"
TOLERANCE = 1e-4
SCRIPT = "transformers_reference.py"

_TINY = dict(
    hidden_size=16, num_attention_heads=2, intermediate_size=32, max_position_embeddings=24
)
#: One family's own cases beyond the tiny masked LM and classifier every family gets, by
#: family name: family-specific options, not a list of the families.
VARIANTS = {
    "bert": {
        # BERT's published activation (erf GELU), where textbones' default is the tanh one.
        "bert_gelu_mlm": dict(
            head="masked_lm",
            weights="safetensors",
            config=dict(_TINY, num_hidden_layers=2, hidden_act="gelu"),
            tokenizer=dict(do_lower_case=True),
        ),
        "bert_gelu_new_sharded_mlm": dict(
            head="masked_lm",
            weights="sharded",
            config=dict(
                _TINY,
                num_hidden_layers=2,
                hidden_act="gelu_new",
                layer_norm_eps=1e-6,
                type_vocab_size=3,
            ),
            tokenizer=dict(do_lower_case=False),
        ),
        "bert_classifier": dict(
            head="classifier",
            weights="safetensors",
            config=dict(_TINY, num_hidden_layers=2, hidden_act="gelu", num_labels=3),
            tokenizer=dict(do_lower_case=True, tokenize_chinese_chars=False),
        ),
        "bert_bin": dict(
            head="none",
            weights="bin",
            config=dict(_TINY, num_hidden_layers=1, hidden_act="gelu_pytorch_tanh"),
            tokenizer=dict(do_lower_case=True),
        ),
    },
    "albert": {
        "albert_gelu_classifier": dict(
            head="classifier",
            weights="safetensors",
            config=dict(
                _TINY,
                embedding_size=8,
                num_hidden_layers=2,
                hidden_act="gelu",
                num_labels=2,
                layer_norm_eps=1e-5,
            ),
            tokenizer=dict(do_lower_case=False, keep_accents=True),
        ),
    },
    "f_net": {
        "fnet_gelu_classifier": dict(
            head="classifier",
            weights="safetensors",
            config=dict(
                hidden_size=16,
                intermediate_size=32,
                max_position_embeddings=24,
                num_hidden_layers=2,
                hidden_act="gelu",
                num_labels=4,
            ),
            tokenizer=dict(do_lower_case=False, keep_accents=True),
        ),
    },
}
#: textbones' backbone input names and ``transformers``' for the same tensors.
HF_INPUT_NAMES = {
    "token_ids": "input_ids",
    "segment_ids": "token_type_ids",
    "padding_mask": "attention_mask",
}


def _family_facts(family) -> dict:
    """What the reference script needs to know of a family, read from its mapping."""
    mapping = family.transformers
    return dict(
        family=family.name,
        model_type=mapping.model_type,
        architectures=dict(mapping.architectures),
        tokenizer_class=mapping.tokenizer_class,
        word_piece=mapping.word_piece,
        hf_inputs=[HF_INPUT_NAMES[name] for name in family.backbone.input_names],
    )


def _tiny_hf_config(family) -> dict:
    """The ``transformers`` config of the family's tiny backbone, as textbones exports it."""
    return dict(family.transformers.config_fields(families.tiny_backbone(family)))


def _configs() -> dict[str, dict]:
    """Every checkpoint compared: a tiny masked LM and classifier of each family with a
    ``transformers`` twin, then its ``VARIANTS``."""
    configs = {}
    for family in families.families():
        if family.transformers is None:
            continue
        facts = _family_facts(family)
        tiny = _tiny_hf_config(family)
        configs[f"{family.name}_mlm"] = dict(
            facts, head="masked_lm", weights="safetensors", config=tiny, tokenizer={}
        )
        configs[f"{family.name}_tiny_classifier"] = dict(
            facts,
            head="classifier",
            weights="safetensors",
            config=dict(tiny, num_labels=3),
            tokenizer={},
        )
        for name, variant in VARIANTS.get(family.name, {}).items():
            configs[name] = dict(facts, **variant)
    unknown = set(VARIANTS) - set(families.family_names())
    assert not unknown, f"VARIANTS of families that are not registered: {sorted(unknown)}"
    return configs


CONFIGS = _configs()
INPUTS = {"seq_len": 11, "lengths": [11, 7, 3]}
BIN = "bert_bin"
#: Every config but the torch pickle loads here; that one loads in the reference env.
LOADABLE = sorted(name for name in CONFIGS if name != BIN)

_report: dict[str, dict] = {}


def _record(name: str, what: str, value) -> None:
    _report.setdefault(name, {})[what] = value
    print(f"transformers parity {name} {what}: {value}")
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PATH.write_text(json.dumps(_report, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _max_diff(a, b) -> float:
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


def _texts() -> list[str]:
    return list(corpus())


def _vocabulary() -> list[str]:
    return textbones.tokenizers.compute_word_piece_vocabulary(
        list(training_corpus()), 300, lowercase=False
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("transformers_parity")
    (workdir / "vocab.txt").write_text(
        "".join(token + "\n" for token in _vocabulary()), encoding="utf-8"
    )
    (workdir / "model.spm").write_bytes(tiny_proto("albert"))
    configs = {}
    for name, spec in CONFIGS.items():
        vocabulary_size = len(_vocabulary()) if spec["word_piece"] else _proto_size()
        configs[name] = {**spec, "config": {**spec["config"], "vocab_size": vocabulary_size}}
    request = {
        "configs": configs,
        "texts": _texts(),
        "vocabulary": str(workdir / "vocab.txt"),
        "proto": str(workdir / "model.spm"),
        "inputs": INPUTS,
    }
    (workdir / "request.json").write_text(json.dumps(request), encoding="utf-8")
    run_reference(SCRIPT, "make", workdir)
    return workdir, json.loads((workdir / "made.json").read_text(encoding="utf-8"))


def _proto_size() -> int:
    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_proto=tiny_proto("albert")).get_piece_size()


def _feed(data, backbone) -> dict:
    feed = {
        "token_ids": data["input_ids"].astype("int32"),
        "segment_ids": data["token_type_ids"].astype("int32"),
        "padding_mask": data["attention_mask"].astype("int32"),
    }
    return {name: feed[name] for name in backbone.input_names}


def _task_outputs(task, data) -> np.ndarray:
    feed = _feed(data, task.backbone)
    if isinstance(task, MaskedLM):
        batch, length = data["input_ids"].shape
        feed["mask_positions"] = np.tile(np.arange(length, dtype="int32"), (batch, 1))
    return np.asarray(task.predict(feed, verbose=0))


@pytest.mark.parametrize("name", LOADABLE)
def test_backbone_matches_transformers(made, name):
    workdir, _ = made
    data = np.load(workdir / "hf" / f"{name}.npz")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*no pooler weights.*")
        backbone = Backbone.from_preset(workdir / "hf" / name)
    outputs = families.outputs_by_name(backbone.predict(_feed(data, backbone), verbose=0))
    diff = _max_diff(outputs["sequence_output"], data["last_hidden_state"])
    _record(name, "sequence_output", diff)
    assert diff <= TOLERANCE
    if "pooler_output" in data:
        diff = _max_diff(outputs["pooled_output"], data["pooler_output"])
        _record(name, "pooled_output", diff)
        assert diff <= TOLERANCE


@pytest.mark.parametrize("name", [name for name in LOADABLE if CONFIGS[name]["head"] != "none"])
def test_task_head_matches_transformers(made, name):
    workdir, _ = made
    data = np.load(workdir / "hf" / f"{name}.npz")
    task = Task.from_preset(workdir / "hf" / name)
    expected_class = MaskedLM if CONFIGS[name]["head"] == "masked_lm" else TextClassifier
    assert isinstance(task, expected_class)
    if isinstance(task, TextClassifier):
        assert task.num_classes == CONFIGS[name]["config"]["num_labels"]
    logits = _task_outputs(task, data)
    diff = _max_diff(logits, data["logits"])
    _record(name, "logits", diff)
    assert diff <= TOLERANCE


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_tokenizer_ids_match_transformers(made, name):
    """Identical ids on every hard text where transformers' Rust Unigram and
    ``sentencepiece`` themselves agree (all texts for WordPiece); the others are counted."""
    workdir, answer = made
    tokenizer = Tokenizer.from_preset(workdir / "hf" / name)
    texts = _texts()
    ours = tokenizer(texts)  # rows of a ragged batch are lists, as in KerasHub
    theirs, comparable = answer["token_ids"][name], answer["engine_agrees"][name]
    different = [
        index for index, (a, b) in enumerate(zip(ours, theirs)) if a != b and comparable[index]
    ]
    _record(name, "tokenizer_texts_compared", sum(comparable))
    _record(name, "tokenizer_texts_engines_disagree", len(texts) - sum(comparable))
    assert sum(comparable) >= 0.8 * len(texts)
    assert not different, (
        f"{len(different)} of {len(texts)} texts differ, e.g. {texts[different[0]]!r}: "
        f"{ours[different[0]]} vs {theirs[different[0]]}"
    )


def test_pytorch_bin_without_torch_says_what_to_do(made):
    workdir, _ = made
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("torch is installed here; the reference run loads the .bin instead")
    with pytest.raises(ImportError, match="Install torch.*convert the checkpoint to safetensors"):
        Backbone.from_preset(workdir / "hf" / BIN)


@pytest.fixture(scope="module")
def exported(made):
    """textbones' exports of every loaded checkpoint, loaded back by transformers."""
    workdir, _ = made
    exports = {}
    for name in LOADABLE:
        source = workdir / "hf" / name
        head = CONFIGS[name]["head"]
        target = workdir / "export" / name
        if head == "none":
            Backbone.from_preset(source).save_to_preset(target, format="transformers")
        else:
            Task.from_preset(source).save_to_preset(target, format="transformers")
        exports[name] = {
            "path": str(target),
            "head": head,
            "hf_inputs": CONFIGS[name]["hf_inputs"],
            "inputs": str(workdir / "hf" / f"{name}.npz"),
            "tokenizer": head != "none",
        }
        if head == "masked_lm":
            # The bare encoder of the same checkpoint, as AutoModel reads it.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*no pooler weights.*")
                backbone = Backbone.from_preset(source)
            backbone.save_to_preset(workdir / "export" / f"{name}_backbone", format="transformers")
            exports[f"{name}_backbone"] = {
                **exports[name],
                "path": str(workdir / "export" / f"{name}_backbone"),
                "head": "none",
                "tokenizer": False,
            }
    request = {
        "texts": _texts(),
        "exports": exports,
        "textbones_loads": {
            BIN: {"path": str(workdir / "hf" / BIN), "inputs": str(workdir / "hf" / f"{BIN}.npz")}
        },
    }
    (workdir / "check.json").write_text(json.dumps(request), encoding="utf-8")
    run_reference(SCRIPT, "check", workdir)
    return workdir, exports, json.loads((workdir / "checked.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", LOADABLE)
def test_export_loads_in_transformers_with_same_outputs(exported, name):
    workdir, exports, answer = exported
    data = np.load(workdir / "hf" / f"{name}.npz")
    names = [name] + ([f"{name}_backbone"] if f"{name}_backbone" in exports else [])
    for export in names:
        report = answer["exports"][export]
        assert report["missing_keys"] == [] and report["mismatched_keys"] == [], report
        # The pooler is written for AutoModel's sake; *ForMaskedLM has none and skips it.
        assert all(".pooler." in key for key in report["unexpected_keys"]), report
        theirs = np.load(workdir / "check" / f"{export}.npz")
        ours = (
            textbones.models.Backbone.from_preset(exports[export]["path"])
            if exports[export]["head"] == "none"
            else Task.from_preset(exports[export]["path"])
        )
        if exports[export]["head"] == "none":
            outputs = families.outputs_by_name(ours.predict(_feed(data, ours), verbose=0))
            diff = _max_diff(outputs["sequence_output"], theirs["last_hidden_state"])
            if "pooler_output" in theirs:
                diff = max(diff, _max_diff(outputs["pooled_output"], theirs["pooler_output"]))
        else:
            diff = _max_diff(_task_outputs(ours, data), theirs["logits"])
            diff = max(diff, _max_diff(theirs["logits"], data["logits"]))
        _record(export, "export_round_trip", diff)
        assert diff <= TOLERANCE
        if report["token_ids"] is not None:
            assert report["token_ids"] == made_ids(workdir)[name]


def made_ids(workdir: pathlib.Path) -> dict:
    return json.loads((workdir / "made.json").read_text(encoding="utf-8"))["token_ids"]


def test_pytorch_bin_loads_with_torch(exported):
    workdir, _, answer = exported
    assert answer["textbones_loads"][BIN]["class"] == "BertBackbone"
    data = np.load(workdir / "hf" / f"{BIN}.npz")
    ours = np.load(workdir / "check" / f"textbones_{BIN}.npz")
    diff = max(
        _max_diff(ours["sequence_output"], data["last_hidden_state"]),
        _max_diff(ours["pooled_output"], data["pooler_output"]),
    )
    _record(BIN, "sequence_and_pooled_output_via_torch", diff)
    assert diff <= TOLERANCE


#: (least top-1 agreement with transformers' float32 logits, largest |logit change| as a
#: fraction of the largest |logit|) of a transformers masked-LM checkpoint loaded, then
#: quantized, over the 21 real positions of the batch (one flip is 4.8%). Measured over the
#: six checkpoints: int8 0.952 / 0.023, int4 0.714 / 0.248 (random weights: near ties).
QUANTIZED_DRIFT = {"int8": (0.9, 0.05), "int4": (0.6, 0.4)}
MLM_CHECKPOINTS = [name for name in LOADABLE if name.endswith("_mlm")]


@pytest.mark.parametrize("mode", sorted(QUANTIZED_DRIFT))
@pytest.mark.parametrize("name", MLM_CHECKPOINTS)
def test_transformers_checkpoint_loaded_then_quantized(made, name, mode, tmp_path):
    """A ``transformers`` checkpoint quantizes like any textbones model: its masked-LM logits
    stay close to transformers' float32 ones, and its quantized preset reloads bit for bit."""
    workdir, _ = made
    data = np.load(workdir / "hf" / f"{name}.npz")
    task = Task.from_preset(workdir / "hf" / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # JAX arrays' __array__ note inside Keras' quantizer
        task.quantize(mode)
    logits = _task_outputs(task, data)
    valid = data["attention_mask"].astype(bool)
    reference = data["logits"]
    agreement = float((logits.argmax(-1) == reference.argmax(-1))[valid].mean())
    change = float(np.abs(logits - reference)[valid].max() / np.abs(reference[valid]).max())
    _record(name, f"{mode}_top1_agreement", agreement)
    _record(name, f"{mode}_relative_logit_change", change)
    least_agreement, most_change = QUANTIZED_DRIFT[mode]
    assert agreement >= least_agreement and change <= most_change
    task.save_to_preset(tmp_path / "quantized")
    loaded = Task.from_preset(tmp_path / "quantized")
    np.testing.assert_array_equal(_task_outputs(loaded, data), logits)
