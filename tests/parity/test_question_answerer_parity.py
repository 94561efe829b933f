"""Question answering against Hugging Face ``transformers``, both ways, and its pipeline.

``question_answerer_reference.py`` runs in the reference interpreter (``.venv-ref``):

* ``make`` (transformers 5.x): a random ``*ForQuestionAnswering`` of every registered family
  with a ``transformers`` twin, from its tiny backbone's config, and its start and end
  logits on a fixed, unevenly padded batch. ``QuestionAnswerer.from_preset`` must give the
  family's class and the same logits (max abs diff <= 1e-4).
* ``check`` (transformers 5.x): what textbones exports (``format="transformers"``) loads
  with ``AutoModelForQuestionAnswering``, nothing missing, and gives textbones' logits.
* ``pipeline`` (transformers 4.57 from ``.venv-qa``, ahead of ``.venv-ref``'s packages:
  transformers 5.3 removed the pipeline): ``pipeline("question-answering")`` on checkpoints
  made with a fast tokenizer, for the families whose tokenizer gives offsets; its answers
  (text, start, end; score within 1e-4) must be ``QuestionAnswerer.answer``'s, for single
  and batched questions, ``top_k`` > 1, ``handle_impossible_answer``, ``max_answer_len``,
  ``doc_stride``, ``align_to_words=False``, and contexts of several windows.

Figures go to ``build/question_answerer_parity_report.json`` (and are printed with ``-s``).
"""

from __future__ import annotations

import json
import pathlib
import random

import numpy as np
import pytest

import textbones
from tests.helpers import families
from tests.helpers.reference_env import run_reference, transformers_4_path
from tests.helpers.sentence_piece import training_corpus
from textbones.models import QuestionAnswerer

pytestmark = pytest.mark.parity

REPO = pathlib.Path(__file__).resolve().parents[2]
REPORT_PATH = REPO / "build" / "question_answerer_parity_report.json"
TOLERANCE = 1e-4
SCRIPT = "question_answerer_reference.py"
INPUTS = {"seq_len": 11, "lengths": [11, 7, 3]}
#: The pipeline's window (the tokenizer's ``model_max_length``): contexts of a few hundred
#: characters take several.
WINDOW = 64
HF_INPUT_NAMES = {
    "token_ids": "input_ids",
    "segment_ids": "token_type_ids",
    "padding_mask": "attention_mask",
}

_report: dict[str, dict] = {}


def _record(name: str, what: str, value) -> None:
    _report.setdefault(name, {})[what] = value
    print(f"question answerer parity {name} {what}: {value}")
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PATH.write_text(json.dumps(_report, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _with_transformers(family) -> bool:
    return family.transformers is not None


def _pipeline_families() -> list:
    """The families whose tokenizer gives token offsets (WordPiece now)."""
    return [
        family
        for family in families.families()
        if _with_transformers(family) and families.uses_word_piece(family)
    ]


def _spec(family, tokenizer=None) -> dict:
    mapping = family.transformers
    backbone = families.tiny_backbone(family, max_sequence_length=WINDOW)
    return {
        "model_type": mapping.model_type,
        "architecture": mapping.architecture("question_answerer", "ForQuestionAnswering"),
        "hf_inputs": [HF_INPUT_NAMES[name] for name in family.backbone.input_names],
        "config": dict(mapping.config_fields(backbone)),
        "tokenizer": tokenizer,
    }


def _vocabulary() -> list[str]:
    return textbones.tokenizers.compute_word_piece_vocabulary(
        list(training_corpus()), 300, lowercase=True
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("question_answerer_parity")
    vocabulary = _vocabulary()
    (workdir / "vocab.txt").write_text("".join(t + "\n" for t in vocabulary), encoding="utf-8")
    configs = {}
    for family in families.families():
        if _with_transformers(family):
            configs[family.name] = _spec(family)
    for family in _pipeline_families():
        tokenizer = {
            "class": family.transformers.tokenizer_class,
            "vocabulary": str(workdir / "vocab.txt"),
            "model_max_length": WINDOW,
            "do_lower_case": True,
        }
        spec = _spec(family, tokenizer)
        spec["config"]["vocab_size"] = len(vocabulary)
        configs[f"{family.name}_pipeline"] = spec
    request = {"configs": configs, "inputs": INPUTS}
    (workdir / "request.json").write_text(json.dumps(request), encoding="utf-8")
    run_reference(SCRIPT, "make", workdir)
    return workdir, configs


def _feed(data, backbone) -> dict:
    feed = {
        "token_ids": data["input_ids"].astype("int32"),
        "segment_ids": data["token_type_ids"].astype("int32"),
        "padding_mask": data["attention_mask"].astype("int32"),
    }
    return {name: feed[name] for name in backbone.input_names}


def _max_diff(a, b) -> float:
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


@pytest.fixture(scope="module")
def loaded(made):
    workdir, configs = made
    models = {}
    for name in configs:
        if name.endswith("_pipeline"):
            continue
        models[name] = QuestionAnswerer.from_preset(workdir / "hf" / name, preprocessor=None)
    return models


@pytest.mark.parametrize("family", families.family_params(_with_transformers))
def test_loaded_logits_match_transformers(made, loaded, family):
    workdir, _ = made
    model = loaded[family.name]
    assert type(model) is family.tasks["question_answerer"]
    data = np.load(workdir / "hf" / f"{family.name}.npz")
    outputs = model.predict(_feed(data, model.backbone), verbose=0)
    for name in ("start_logits", "end_logits"):
        diff = _max_diff(outputs[name], data[name])
        _record(family.name, f"load {name}", diff)
        assert diff <= TOLERANCE


@pytest.fixture(scope="module")
def checked(made, loaded):
    workdir, _ = made
    request = {}
    for name, model in loaded.items():
        folder = workdir / "export" / name
        model.save_to_preset(folder, format="transformers")
        request[name] = {
            "path": str(folder),
            "hf_inputs": [HF_INPUT_NAMES[key] for key in model.backbone.input_names],
            "inputs": str(workdir / "hf" / f"{name}.npz"),
        }
    (workdir / "check.json").write_text(json.dumps(request), encoding="utf-8")
    run_reference(SCRIPT, "check", workdir)
    return json.loads((workdir / "checked.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("family", families.family_params(_with_transformers))
def test_exported_question_answerer_loads_in_transformers(made, loaded, checked, family):
    workdir, configs = made
    report = checked[family.name]
    assert report["class"] == configs[family.name]["architecture"]
    assert report["missing_keys"] == []
    model = loaded[family.name]
    data = np.load(workdir / "hf" / f"{family.name}.npz")
    ours = model.predict(_feed(data, model.backbone), verbose=0)
    theirs = np.load(workdir / "check" / f"{family.name}.npz")
    for name in ("start_logits", "end_logits"):
        diff = _max_diff(ours[name], theirs[name])
        _record(family.name, f"export {name}", diff)
        assert diff <= TOLERANCE


def _cases() -> list[dict]:
    """Questions on short and long contexts (several windows of ``WINDOW`` tokens)."""
    rng = random.Random(7)
    sentences = list(training_corpus())
    cases = []
    options = [
        {},
        {"top_k": 3},
        {"handle_impossible_answer": True},
        {"top_k": 2, "max_answer_len": 4},
        {"doc_stride": 10, "top_k": 2},
        {"align_to_words": False, "top_k": 2},
        {"top_k": 5, "handle_impossible_answer": True},
    ]
    for index, option in enumerate(options):
        for size in (1, 4, 9):
            context = " ".join(rng.sample(sentences, size))
            words = [word for word in context.split() if word.isascii() and word.isalpha()]
            question = " ".join(rng.sample(words, min(3, len(words)))) + "?"
            cases.append({"question": question, "context": context, "options": option})
    # A batch of questions in one call.
    batch = [rng.sample(sentences, 3) for _ in range(3)]
    cases.append(
        {
            "question": [" ".join(texts[0].split()[:3]) + "?" for texts in batch],
            "context": [" ".join(texts) for texts in batch],
            "options": {"top_k": 2},
        }
    )
    return cases


@pytest.fixture(scope="module")
def pipeline_answers(made):
    workdir, _ = made
    request = {
        f"{family.name}_pipeline": {
            "path": str(workdir / "hf" / f"{family.name}_pipeline"),
            "cases": _cases(),
        }
        for family in _pipeline_families()
    }
    (workdir / "pipeline.json").write_text(json.dumps(request), encoding="utf-8")
    run_reference(SCRIPT, "pipeline", workdir, pythonpath=transformers_4_path())
    return json.loads((workdir / "answers.json").read_text(encoding="utf-8"))


def _as_lists(result) -> list:
    """A pipeline result as a list (per question) of lists of answers."""
    if isinstance(result, dict):
        return [[result]]
    if result and all(isinstance(item, dict) for item in result):
        return [result]
    return [[item] if isinstance(item, dict) else list(item) for item in result]


@pytest.mark.parametrize(
    "family",
    families.family_params(
        lambda family: _with_transformers(family) and families.uses_word_piece(family)
    ),
)
def test_answers_match_the_transformers_4_57_pipeline(made, pipeline_answers, family):
    workdir, _ = made
    assert pipeline_answers["version"] == "4.57.1"
    name = f"{family.name}_pipeline"
    model = QuestionAnswerer.from_preset(workdir / "hf" / name)
    assert model.preprocessor.sequence_length == WINDOW
    worst, windows = 0.0, 0
    for case, expected in zip(_cases(), pipeline_answers[name], strict=True):
        ours = model.answer(case["question"], case["context"], **case["options"])
        batched = not isinstance(case["question"], str)
        ours_lists = [_as_lists(item)[0] for item in ours] if batched else _as_lists(ours)
        theirs_lists = (
            _as_lists(expected) if not batched else [_as_lists(item)[0] for item in expected]
        )
        assert len(ours_lists) == len(theirs_lists)
        for mine, reference in zip(ours_lists, theirs_lists):
            assert [(a["answer"], a["start"], a["end"]) for a in mine] == [
                (a["answer"], a["start"], a["end"]) for a in reference
            ], case
            for a, b in zip(mine, reference):
                worst = max(worst, abs(a["score"] - b["score"]))
        # Single results are dicts on both sides, lists are lists.
        assert isinstance(ours, dict) == isinstance(expected, dict), case
        questions = case["question"] if batched else [case["question"]]
        contexts = case["context"] if batched else [case["context"]]
        windows = max(
            windows,
            len(
                model.preprocessor.windows(
                    questions,
                    contexts,
                    doc_stride=case["options"].get("doc_stride", WINDOW // 2),
                    max_seq_len=WINDOW,
                )
            ),
        )
    _record(family.name, "pipeline max score diff", worst)
    _record(family.name, "most windows in one call", windows)
    assert windows >= 3
    assert worst <= TOLERANCE
