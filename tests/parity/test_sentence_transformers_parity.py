"""Parity with sentence-transformers 6.2, both ways, on folders of tiny random encoders.

sentence-transformers lives in the reference virtualenv (``.venv-ref``), so its side runs
as a subprocess (``tests/parity/sentence_transformers_reference.py``), twice per session:

* sentence-transformers -> textbones (``make``, one run for all cases): the reference
  builds each case's ``transformers`` encoder (BERT, ALBERT, DistilBERT, FNet) with seeded,
  perturbed random weights, wraps it as a ``SentenceTransformer`` (the case's pooling
  modes, ``Normalize`` or not, prompts, ``include_prompt``), saves it, rewrites the folder
  into the older layouts where the case asks (legacy ``pooling_mode_*`` keys; ``vocab.txt``
  and ``sentence_bert_config.json``), and records ``encode(texts, prompt_name=...,
  batch_size=...)``. ``TextEmbedder.from_preset`` must give the same embeddings.
* textbones -> sentence-transformers (``check``, one run): each loaded embedder, its
  weights drawn again, is written with ``save_to_preset(format="sentence-transformers")``;
  ``SentenceTransformer(folder).encode`` must give textbones' embeddings.

Tolerance: max abs difference <= 1e-5 (float32) on embeddings of norm up to 1; where a case's
embeddings are larger (unnormalized max pooling reaches 3.6), the difference is measured on
the embeddings divided by their largest absolute value, as float32 rounding scales with the
values rounded. (ALBERT's four perturbed layers grow the rounding gap layer by layer: 3.6e-7
after the embeddings, 1.0e-5 after the fourth layer on values up to 3.6, on the JAX and torch
backends alike; no single step departs.) Every figure is printed (``pytest -s``) and
recorded in ``build/sentence_transformers_parity_report.json``.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import textbones
from tests.helpers import families
from tests.helpers.reference_env import run_reference
from tests.helpers.sentence_piece import tiny_proto, training_corpus
from tests.parity.reference_shared import perturb_weights
from textbones.models import TextEmbedder

pytestmark = pytest.mark.parity

REPO = pathlib.Path(__file__).resolve().parents[2]
REPORT_PATH = REPO / "build" / "sentence_transformers_parity_report.json"
SCRIPT = "sentence_transformers_reference.py"
TOLERANCE = 1e-5
SEED = 77

#: Uneven lengths (one is cut at the length limit, one is empty); batches of 3 mix them.
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "a",
    "Tokenizers split words into pieces, and pieces into ids.",
    "",
    "Sentence embeddings place similar texts close together, while unrelated texts end "
    "up far apart, which is what semantic search, clustering and deduplication all need "
    "from a model of this kind.",
    "Short one.",
    "What is the capital of France?",
]
PROMPTS = {"query": "query: ", "passage": "passage of text: "}

_BASE = dict(
    pooling_mode="mean",
    normalize=True,
    include_prompt=True,
    prompts=PROMPTS,
    prompt_name="query",
    pooling_keys="v6",
    layout="tokenizer.json",
    max_seq_length=16,
    batch_size=3,
)
#: Cases by family; each is ``_BASE`` with these changes.
FAMILY_CASES = {
    "bert": {
        "mean": {},
        "cls_v5_vocab": dict(
            pooling_mode="cls", pooling_keys="v5", layout="vocab", normalize=False
        ),
        "max_no_prompt": dict(pooling_mode="max", prompt_name=None, batch_size=2),
        "mean_sqrt_len": dict(pooling_mode="mean_sqrt_len_tokens", normalize=False),
        "weightedmean": dict(pooling_mode="weightedmean", prompt_name="passage"),
        "lasttoken": dict(pooling_mode="lasttoken", normalize=False, batch_size=7),
        "combination": dict(pooling_mode=["cls", "max", "mean"]),
        "combination_v5": dict(pooling_mode=["cls", "mean"], pooling_keys="v5", layout="vocab"),
        "mean_exclude_prompt": dict(include_prompt=False),
        "weightedmean_exclude_prompt": dict(
            pooling_mode="weightedmean", include_prompt=False, normalize=False
        ),
        "no_prompts": dict(prompts={}, prompt_name=None),
    },
    "albert": {
        "mean": {},
        "cls_exclude_prompt_v5": dict(pooling_mode="cls", include_prompt=False, pooling_keys="v5"),
        "max_vocab": dict(pooling_mode="max", layout="vocab", normalize=False),
    },
    "distil_bert": {
        "mean": {},
        "max_v5_vocab": dict(pooling_mode="max", pooling_keys="v5", layout="vocab"),
        "lasttoken_exclude_prompt": dict(pooling_mode="lasttoken", include_prompt=False),
    },
    # FNet has no attention mask: its padding takes part in the Fourier mixing, so its
    # embeddings depend on how far a batch is padded. textbones pads FNet's rows to the
    # preprocessor's sequence_length (as KerasHub does), sentence-transformers to the
    # longest row of each batch: they agree on texts that fill the length limit.
    "f_net": {
        "mean_full_rows": dict(texts=[text * 3 for text in TEXTS if len(text) > 20]),
    },
}

_report: dict[str, dict] = {}


def _record(name: str, what: str, value) -> None:
    _report.setdefault(name, {})[what] = value
    print(f"sentence-transformers parity {name} {what}: {value}")
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PATH.write_text(json.dumps(_report, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _vocabulary() -> list[str]:
    vocabulary = textbones.tokenizers.compute_word_piece_vocabulary(
        list(training_corpus()), 300, lowercase=True
    )
    # Whitespace tokens (" ", U+2028) cannot be a line of vocab.txt: transformers drops them.
    return [token for token in vocabulary if token.strip() == token and token]


def _proto_size() -> int:
    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_proto=tiny_proto("albert")).get_piece_size()


def _cases() -> dict[str, dict]:
    cases = {}
    for family_name, variants in FAMILY_CASES.items():
        family = textbones.registry.family(family_name)
        mapping = family.transformers
        size = len(_vocabulary()) if mapping.word_piece else _proto_size()
        config = dict(mapping.config_fields(families.tiny_backbone(family)), vocab_size=size)
        config.pop("tie_word_embeddings", None)
        for name, changes in variants.items():
            cases[f"{family_name}_{name}"] = dict(
                _BASE,
                **changes,
                family=family_name,
                model_type=mapping.model_type,
                tokenizer_class=mapping.tokenizer_class,
                word_piece=mapping.word_piece,
                config=config,
            )
    return cases


CASES = _cases()


def _max_diff(a, b) -> float:
    """The largest absolute difference, on a scale where the largest value is at most 1."""
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max() / max(1.0, np.abs(b).max()))


def _encode(embedder, case) -> np.ndarray:
    texts = case.get("texts", TEXTS)
    return embedder.encode_text(
        texts, prompt_name=case["prompt_name"], batch_size=case["batch_size"]
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sentence_transformers_parity")
    (workdir / "vocab.txt").write_text("".join(t + "\n" for t in _vocabulary()), encoding="utf-8")
    (workdir / "model.spm").write_bytes(tiny_proto("albert"))
    request = {
        "cases": CASES,
        "texts": TEXTS,
        "vocabulary": str(workdir / "vocab.txt"),
        "proto": str(workdir / "model.spm"),
    }
    (workdir / "request.json").write_text(json.dumps(request), encoding="utf-8")
    run_reference(SCRIPT, "make", workdir)
    return workdir, json.loads((workdir / "made.json").read_text())


@pytest.fixture(scope="module")
def loaded(made):
    """Every reference folder loaded with textbones (the embedders, by case)."""
    workdir, _ = made
    return {name: TextEmbedder.from_preset(workdir / "st" / name) for name in CASES}


@pytest.fixture(scope="module")
def checked(made, loaded, tmp_path_factory):
    """textbones' own embedders (fresh weights), saved and encoded by sentence-transformers."""
    workdir = tmp_path_factory.mktemp("sentence_transformers_check")
    rng = np.random.default_rng(SEED)
    exports, ours = {}, {}
    for name, case in CASES.items():
        embedder = loaded[name]
        perturb_weights(embedder.backbone, rng)
        folder = workdir / "exports" / name
        embedder.save_to_preset(folder, format="sentence-transformers")
        ours[name] = _encode(embedder, case)
        exports[name] = {
            "path": str(folder),
            "prompt_name": case["prompt_name"],
            "batch_size": case["batch_size"],
            **({"texts": case["texts"]} if "texts" in case else {}),
        }
    (workdir / "check.json").write_text(json.dumps({"texts": TEXTS, "exports": exports}))
    run_reference(SCRIPT, "check", workdir)
    return workdir, ours, json.loads((workdir / "checked.json").read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_sentence_transformers_folder_loads_with_the_same_embeddings(made, loaded, name):
    workdir, answer = made
    case = CASES[name]
    assert "error" not in answer[name], answer[name]
    embedder = loaded[name]
    assert (
        type(embedder).__name__
        == textbones.registry.family(case["family"]).tasks["text_embedder"].__name__
    )
    expected_mode = case["pooling_mode"]
    assert embedder.pooling_mode == expected_mode
    assert embedder.normalize is case["normalize"]
    assert embedder.include_prompt is case["include_prompt"]
    assert embedder.similarity_fn_name == "cosine"
    assert embedder.preprocessor.sequence_length == answer[name]["max_seq_length"] == 16
    # sentence-transformers 6 adds empty "query" and "document" prompts where a model has none.
    saved = json.loads((workdir / "st" / name / "config_sentence_transformers.json").read_text())
    assert saved["prompts"] == {"query": "", "document": "", **case["prompts"]}
    assert embedder.prompts == saved["prompts"]
    expected = np.load(workdir / "st" / f"{name}.npy")
    ours = _encode(embedder, case)
    diff = _max_diff(ours, expected)
    _record(name, "st_to_textbones_max_scaled_diff", diff)
    _record(name, "st_folder_files", answer[name]["files"])
    assert diff <= TOLERANCE


@pytest.mark.parametrize("name", sorted(CASES))
def test_textbones_folder_loads_in_sentence_transformers(checked, name):
    workdir, ours, answer = checked
    case = CASES[name]
    assert "error" not in answer[name], answer[name]
    modules = ["Transformer", "Pooling"] + (["Normalize"] if case["normalize"] else [])
    assert answer[name]["modules"] == modules
    assert answer[name]["similarity_fn_name"] == "cosine"
    assert answer[name]["prompts"] == {"query": "", "document": "", **case["prompts"]}
    assert answer[name]["max_seq_length"] == 16
    assert answer[name]["warnings"] == []
    theirs = np.load(workdir / "check" / f"{name}.npy")
    diff = _max_diff(ours[name], theirs)
    _record(name, "textbones_to_st_max_scaled_diff", diff)
    assert diff <= TOLERANCE
