"""Hugging Face side of the question-answering parity tests.

Run ONLY in the reference interpreter (``.venv-ref/bin/python``: torch, transformers);
``tests/parity/conftest.py`` keeps it out of the main suite's collection.
``test_question_answerer_parity.py`` runs it three times::

    question_answerer_reference.py make WORKDIR      # transformers of .venv-ref (5.x)
    question_answerer_reference.py check WORKDIR     # transformers of .venv-ref (5.x)
    question_answerer_reference.py pipeline WORKDIR  # PYTHONPATH=.venv-qa: transformers 4.57

``make`` reads ``WORKDIR/request.json`` (``{"configs": {NAME: {"model_type", "architecture",
"hf_inputs", "config", "tokenizer": null or {"class", "vocabulary", "model_max_length",
"do_lower_case"}}}, "inputs": {"seq_len", "lengths"}}``), builds each
``*ForQuestionAnswering`` from a seeded random init with every parameter moved off it, saves
it to ``WORKDIR/hf/NAME`` (with ``vocab.txt`` and ``tokenizer_config.json`` when asked: the
WordPiece tokenizer the pipeline builds its fast tokenizer from) and writes the inputs
and the ``start_logits`` / ``end_logits`` to ``WORKDIR/hf/NAME.npz``.

``check`` reads ``WORKDIR/check.json`` (``{NAME: {"path", "hf_inputs", "inputs"}}``), loads each
folder with ``AutoModelForQuestionAnswering`` and writes its logits to
``WORKDIR/check/NAME.npz`` and the loading report to ``WORKDIR/checked.json``.

``pipeline`` reads ``WORKDIR/pipeline.json`` (``{NAME: {"path", "cases": [{"question",
"context", "options"}]}}``) and writes, in ``WORKDIR/answers.json``, what
``pipeline("question-answering")`` answers to each case (the ``transformers`` version too).
"""

import json
import os
import pathlib
import shutil
import sys

import numpy as np

SEED = 20251202


def _configure_environment() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    # transformers 4.x would import its TensorFlow models, which .venv-ref's Keras 3 breaks.
    os.environ["USE_TF"] = "0"
    os.environ["USE_FLAX"] = "0"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"


def _perturb(model, generator) -> None:
    import torch

    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if name.endswith("LayerNorm.weight") or name.endswith("layer_norm.weight"):
                parameter.copy_(1.0 + 0.2 * noise)
            elif name.endswith("bias"):
                parameter.copy_(0.2 * noise)
            else:
                parameter.copy_(0.15 * noise)


def _inputs(spec: dict, vocabulary_size: int, num_segments: int) -> dict:
    rng = np.random.default_rng(SEED)
    seq_len, lengths = spec["seq_len"], spec["lengths"]
    mask = np.arange(seq_len)[None, :] < np.asarray(lengths)[:, None]
    ids = np.where(mask, rng.integers(1, vocabulary_size, mask.shape), 0)
    types = np.where(mask, rng.integers(0, num_segments, mask.shape), 0)
    return {
        "input_ids": ids.astype("int64"),
        "token_type_ids": types.astype("int64"),
        "attention_mask": mask.astype("int64"),
    }


def _logits(model, hf_inputs: list, inputs: dict) -> dict:
    import torch

    feed = {name: torch.from_numpy(np.asarray(inputs[name])) for name in hf_inputs}
    with torch.no_grad():
        outputs = model(**feed)
    return {
        "start_logits": outputs.start_logits.numpy(),
        "end_logits": outputs.end_logits.numpy(),
    }


def make(workdir: pathlib.Path) -> None:
    import torch
    import transformers

    request = json.loads((workdir / "request.json").read_text(encoding="utf-8"))
    (workdir / "hf").mkdir(exist_ok=True)
    for index, (name, spec) in enumerate(sorted(request["configs"].items())):
        torch.manual_seed(SEED + index)
        config = transformers.AutoConfig.for_model(spec["model_type"], **spec["config"])
        model = getattr(transformers, spec["architecture"])(config).eval()
        _perturb(model, torch.Generator().manual_seed(SEED + index))
        folder = workdir / "hf" / name
        model.save_pretrained(str(folder))
        tokenizer = spec.get("tokenizer")
        if tokenizer:
            # Written by hand: transformers 5 builds a fast tokenizer from `vocab=` only and
            # ignores `vocab_file`. transformers 4.57 makes its fast tokenizer from these.
            shutil.copyfile(tokenizer["vocabulary"], folder / "vocab.txt")
            settings = {
                "tokenizer_class": tokenizer["class"],
                "do_lower_case": tokenizer["do_lower_case"],
                "model_max_length": tokenizer["model_max_length"],
            }
            (folder / "tokenizer_config.json").write_text(json.dumps(settings), encoding="utf-8")
        inputs = _inputs(
            request["inputs"], config.vocab_size, getattr(config, "type_vocab_size", 1)
        )
        np.savez(
            workdir / "hf" / f"{name}.npz", **inputs, **_logits(model, spec["hf_inputs"], inputs)
        )


def check(workdir: pathlib.Path) -> None:
    import transformers

    request = json.loads((workdir / "check.json").read_text(encoding="utf-8"))
    out = workdir / "check"
    out.mkdir(exist_ok=True)
    reports = {}
    for name, spec in request.items():
        model, report = transformers.AutoModelForQuestionAnswering.from_pretrained(
            spec["path"], output_loading_info=True
        )
        model.eval()
        reports[name] = {
            "class": type(model).__name__,
            **{key: sorted(map(str, value)) for key, value in report.items()},
        }
        inputs = dict(np.load(spec["inputs"]))
        np.savez(out / f"{name}.npz", **_logits(model, spec["hf_inputs"], inputs))
    (workdir / "checked.json").write_text(json.dumps(reports), encoding="utf-8")


def pipeline(workdir: pathlib.Path) -> None:
    import transformers

    request = json.loads((workdir / "pipeline.json").read_text(encoding="utf-8"))
    answers = {"version": transformers.__version__}
    for name, spec in request.items():
        qa = transformers.pipeline(
            "question-answering", model=spec["path"], tokenizer=spec["path"], device=-1
        )
        answers[name] = [
            qa(question=case["question"], context=case["context"], **case["options"])
            for case in spec["cases"]
        ]
    (workdir / "answers.json").write_text(json.dumps(answers), encoding="utf-8")


if __name__ == "__main__":
    _configure_environment()
    command, directory = sys.argv[1], pathlib.Path(sys.argv[2])
    {"make": make, "check": check, "pipeline": pipeline}[command](directory)
