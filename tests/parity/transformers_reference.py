"""Hugging Face ``transformers`` side of the checkpoint parity tests.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports
``torch`` and ``transformers``. ``tests/parity/conftest.py`` keeps it out of the main
suite's collection; ``test_transformers_parity.py`` runs it in a subprocess::

    transformers_reference.py make WORKDIR
    transformers_reference.py check WORKDIR

``make`` reads ``WORKDIR/request.json``::

    {"configs": {NAME: {"family", "model_type", "architectures", "tokenizer_class",
                        "word_piece", "hf_inputs", "head", "weights", "config": {...},
                        "tokenizer": {...}}},
     "texts": [...], "vocabulary": "path/vocab.txt", "proto": "path/model.spm",
     "inputs": {"seq_len": T, "lengths": [...]}}

(the test reads a family's ``model_type``, ``architectures`` by head, tokenizer and input
names from textbones' registry, so nothing here names a family)

and for every config builds the ``transformers`` model (``head``: ``"masked_lm"``,
``"classifier"`` or ``"none"``) from a seeded random init, moves every parameter well away
from it (so a weight in the wrong place shows), and saves it to ``WORKDIR/hf/NAME`` with
``save_pretrained`` (``weights``: ``"safetensors"``, ``"sharded"`` — several shards and an
index — or ``"bin"``, a ``pytorch_model.bin`` written with ``torch.save``), plus the
tokenizer files (``vocab.txt`` or ``spiece.model`` and ``tokenizer_config.json``). It writes
``WORKDIR/hf/NAME.npz`` with the inputs and the model's outputs (``last_hidden_state``,
``pooler_output`` when the model has a pooler, ``logits`` for a head) and, in
``WORKDIR/made.json``, the ids ``AutoTokenizer`` gives each text (no special tokens) and
whether transformers' tokenizer engine agrees with ``sentencepiece`` on it.

``check`` reads ``WORKDIR/check.json``::

    {"texts": [...],
     "exports": {NAME: {"path", "head", "hf_inputs", "inputs": "path.npz", "tokenizer": bool}},
     "textbones_loads": {NAME: {"path", "inputs": "path.npz"}}}

loads each exported directory with ``AutoModel`` / ``AutoModelForMaskedLM`` /
``AutoModelForSequenceClassification`` and ``AutoTokenizer`` and writes their outputs
(``WORKDIR/check/NAME.npz``); the loading report (missing / unexpected keys) and the
tokenizer ids go to ``WORKDIR/checked.json``. Each
``textbones_loads`` entry is loaded with textbones itself (Keras on torch), for the
checkpoints only torch can read (``pytorch_model.bin``).
"""

import json
import os
import pathlib
import sys

import numpy as np

SEED = 20240917


def _configure_environment() -> None:
    os.environ["KERAS_BACKEND"] = os.environ.get("TEXTBONES_REF_KERAS_BACKEND") or "torch"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"


def _model(spec: dict):
    """The ``transformers`` model of a config entry, from a random init."""
    import transformers

    architecture = spec["architectures"]["backbone" if spec["head"] == "none" else spec["head"]]
    config = transformers.AutoConfig.for_model(spec["model_type"], **spec["config"])
    return getattr(transformers, architecture)(config)


def _perturb(model, generator) -> None:
    """Every parameter moved well off its initial value (layer norms and biases too)."""
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
    return {
        "input_ids": np.where(mask, rng.integers(1, vocabulary_size, mask.shape), 0).astype(
            "int64"
        ),
        "token_type_ids": np.where(mask, rng.integers(0, num_segments, mask.shape), 0).astype(
            "int64"
        ),
        "attention_mask": mask.astype("int64"),
    }


def _run(model, hf_inputs: list, head: str, inputs: dict) -> dict:
    """The model's outputs on the ``hf_inputs`` of ``inputs`` (those the model takes)."""
    import torch

    feed = {name: torch.from_numpy(inputs[name]) for name in hf_inputs}
    outputs = {}
    with torch.no_grad():
        base = getattr(model, model.base_model_prefix) if head != "none" else model
        encoded = base(**feed)
        outputs["last_hidden_state"] = encoded.last_hidden_state.numpy()
        if getattr(encoded, "pooler_output", None) is not None:
            outputs["pooler_output"] = encoded.pooler_output.numpy()
        if head != "none":
            outputs["logits"] = model(**feed).logits.numpy()
    return outputs


def _write_tokenizer(folder: pathlib.Path, spec: dict, request: dict) -> None:
    import shutil

    if spec["word_piece"]:
        shutil.copy(request["vocabulary"], folder / "vocab.txt")
    else:
        shutil.copy(request["proto"], folder / "spiece.model")
    config = {"tokenizer_class": spec["tokenizer_class"], **spec["tokenizer"]}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")


def _tokenizer(folder: pathlib.Path):
    """``AutoTokenizer`` on the folder; for FNet, the ``AlbertTokenizer`` that
    ``FNetTokenizer`` subclasses. (transformers 5.23 builds an ``FNetTokenizer`` that has
    only ``spiece.model`` through a generic path that ignores ``do_lower_case`` and
    ``keep_accents`` and drops SentencePiece's leading "▁"; its parent's pipeline is the
    one FNet's tokenizer declares.)"""
    import transformers

    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    if config.get("tokenizer_class") == "FNetTokenizer":
        return transformers.AlbertTokenizer.from_pretrained(str(folder))
    return transformers.AutoTokenizer.from_pretrained(str(folder))


def _token_ids(folder: pathlib.Path, texts: list) -> list:
    tokenizer = _tokenizer(folder)
    return [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]


def _engine_agrees(folder: pathlib.Path, texts: list) -> list:
    """For each text, whether transformers' Rust Unigram gives what ``sentencepiece`` gives
    on every stretch of text between special tokens, once both see the same normalized
    text. Where they disagree (ties between equally scored segmentations, Hangul left
    decomposed by NFKD), no SentencePiece-based tokenizer can match transformers."""
    import re

    import sentencepiece

    if not (folder / "spiece.model").is_file():
        return [True] * len(texts)
    tokenizer = _tokenizer(folder)
    processor = sentencepiece.SentencePieceProcessor(model_file=str(folder / "spiece.model"))
    specials = sorted(tokenizer.all_special_tokens, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(token) for token in specials))
    normalizer = tokenizer.backend_tokenizer.normalizer
    agrees = []
    for text in texts:
        agrees.append(
            all(
                processor.encode(normalizer.normalize_str(piece))
                == tokenizer(piece, add_special_tokens=False)["input_ids"]
                for piece in pattern.split(text)
            )
        )
    return agrees


def make(workdir: pathlib.Path) -> None:
    import torch

    request = json.loads((workdir / "request.json").read_text(encoding="utf-8"))
    out = workdir / "hf"
    out.mkdir(parents=True, exist_ok=True)
    answer = {"token_ids": {}, "engine_agrees": {}}
    for index, (name, spec) in enumerate(sorted(request["configs"].items())):
        torch.manual_seed(SEED + index)
        model = _model(spec).eval()
        _perturb(model, torch.Generator().manual_seed(SEED + index))
        folder = out / name
        if spec["weights"] == "bin":
            folder.mkdir(parents=True, exist_ok=True)
            model.config.save_pretrained(str(folder))
            torch.save(model.state_dict(), folder / "pytorch_model.bin")
        elif spec["weights"] == "sharded":
            model.save_pretrained(str(folder), max_shard_size="20KB")
        else:
            model.save_pretrained(str(folder))
        _write_tokenizer(folder, spec, request)
        config = model.config
        # Every input is stored (the test feeds those textbones' backbone takes); the model
        # is run on those it takes.
        num_segments = getattr(config, "type_vocab_size", 1)
        inputs = _inputs(request["inputs"], config.vocab_size, num_segments)
        outputs = _run(model, spec["hf_inputs"], spec["head"], inputs)
        np.savez(out / f"{name}.npz", **inputs, **outputs)
        answer["token_ids"][name] = _token_ids(folder, request["texts"])
        answer["engine_agrees"][name] = _engine_agrees(folder, request["texts"])
    (workdir / "made.json").write_text(json.dumps(answer), encoding="utf-8")


def check(workdir: pathlib.Path) -> None:
    import transformers

    request = json.loads((workdir / "check.json").read_text(encoding="utf-8"))
    out = workdir / "check"
    out.mkdir(parents=True, exist_ok=True)
    auto = {
        "none": transformers.AutoModel,
        "masked_lm": transformers.AutoModelForMaskedLM,
        "classifier": transformers.AutoModelForSequenceClassification,
    }
    answer = {"exports": {}, "textbones_loads": {}}
    for name, spec in sorted(request["exports"].items()):
        model, report = auto[spec["head"]].from_pretrained(spec["path"], output_loading_info=True)
        model.eval()
        inputs = {
            key: value
            for key, value in np.load(spec["inputs"]).items()
            if key in ("input_ids", "token_type_ids", "attention_mask")
        }
        np.savez(out / f"{name}.npz", **_run(model, spec["hf_inputs"], spec["head"], inputs))
        answer["exports"][name] = {
            "class": type(model).__name__,
            "missing_keys": sorted(report["missing_keys"]),
            "unexpected_keys": sorted(report["unexpected_keys"]),
            "mismatched_keys": sorted(str(item) for item in report["mismatched_keys"]),
            "token_ids": _token_ids(pathlib.Path(spec["path"]), request["texts"])
            if spec.get("tokenizer")
            else None,
        }
    if request.get("textbones_loads"):
        import textbones

        for name, spec in sorted(request["textbones_loads"].items()):
            backbone = textbones.models.Backbone.from_preset(spec["path"])
            data = np.load(spec["inputs"])
            feed = {
                "token_ids": data["input_ids"].astype("int32"),
                "segment_ids": data["token_type_ids"].astype("int32"),
                "padding_mask": data["attention_mask"].astype("int32"),
            }
            feed = {key: feed[key] for key in backbone.input_names}
            outputs = backbone.predict(feed, verbose=0)
            np.savez(
                out / f"textbones_{name}.npz",
                **{key: np.asarray(value) for key, value in outputs.items()},
            )
            answer["textbones_loads"][name] = {
                "class": type(backbone).__name__,
                "backend": os.environ["KERAS_BACKEND"],
            }
    (workdir / "checked.json").write_text(json.dumps(answer), encoding="utf-8")


if __name__ == "__main__":
    _configure_environment()
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
    command, workdir = sys.argv[1], pathlib.Path(sys.argv[2])
    {"make": make, "check": check}[command](workdir)
