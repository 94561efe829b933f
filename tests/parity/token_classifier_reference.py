"""Hugging Face ``transformers`` side of the token-classifier parity tests.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports torch and
transformers. ``test_token_classifier_parity.py`` runs it once per module::

    token_classifier_reference.py WORKDIR

It reads ``WORKDIR/request.json``::

    {"make": {NAME: {"model_type", "config": {...}, "inputs": "path.npz"}},
     "exports": {NAME: {"path", "inputs": "path.npz"}},
     "pipelines": {NAME: {"path", "texts": [...], "long_texts": [...], "stride": int,
                          "strategies": [...]}}}

For each ``make`` entry it builds ``AutoModelForTokenClassification`` from the config
(seeded, every parameter moved well off its initial value), saves it to ``WORKDIR/hf/NAME``
and its logits on the inputs to ``WORKDIR/hf/NAME.npz``. Each ``exports`` entry (a
checkpoint textbones wrote) is loaded with ``from_pretrained`` and its logits and loading
report are kept. Each ``pipelines`` entry runs ``pipeline("token-classification")`` on the
exported model and its tokenizer, with each aggregation strategy (and ``stride`` on the long
texts). Everything but the arrays goes to ``WORKDIR/result.json``.
"""

import json
import os
import pathlib
import sys

import numpy as np

SEED = 20261202
HF_NAMES = {
    "token_ids": "input_ids",
    "segment_ids": "token_type_ids",
    "padding_mask": "attention_mask",
}


def _environment() -> None:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"


def _inputs(path: str) -> dict:
    import torch

    arrays = np.load(path)
    return {HF_NAMES[name]: torch.tensor(arrays[name].astype("int64")) for name in arrays.files}


def _logits(model, path: str) -> np.ndarray:
    import torch

    model.eval()
    with torch.no_grad():
        return model(**_inputs(path)).logits.numpy()


def _perturb(model, generator) -> None:
    import torch

    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if "LayerNorm.weight" in name or "layer_norm.weight" in name:
                parameter.copy_(1.0 + 0.2 * noise)
            elif name.endswith("bias"):
                parameter.copy_(0.2 * noise)
            else:
                parameter.copy_(0.15 * noise)


def _plain(entity: dict) -> dict:
    return {
        key: float(value)
        if key == "score"
        else int(value)
        if key in ("index", "start", "end")
        else str(value)
        for key, value in entity.items()
    }


def main(workdir: pathlib.Path) -> None:
    _environment()
    import torch
    import transformers

    request = json.loads((workdir / "request.json").read_text())
    result = {"made": {}, "exports": {}, "pipelines": {}}
    (workdir / "hf").mkdir(exist_ok=True)
    for name, spec in request["make"].items():
        torch.manual_seed(SEED)
        config = transformers.AutoConfig.for_model(spec["model_type"], **spec["config"])
        model = transformers.AutoModelForTokenClassification.from_config(config)
        _perturb(model, torch.Generator().manual_seed(SEED))
        path = workdir / "hf" / name
        model.save_pretrained(path)
        np.savez(workdir / "hf" / f"{name}.npz", logits=_logits(model, spec["inputs"]))
        result["made"][name] = {
            "path": str(path),
            "class": type(model).__name__,
            "keys": sorted(model.state_dict()),
        }
    for name, spec in request["exports"].items():
        model, report = transformers.AutoModelForTokenClassification.from_pretrained(
            spec["path"], output_loading_info=True
        )
        np.savez(workdir / "hf" / f"export_{name}.npz", logits=_logits(model, spec["inputs"]))
        result["exports"][name] = {
            "class": type(model).__name__,
            "id2label": {str(key): value for key, value in model.config.id2label.items()},
            **{key: sorted(report[key]) for key in ("missing_keys", "unexpected_keys")},
            "mismatched_keys": [list(map(str, item)) for item in report["mismatched_keys"]],
        }
    for name, spec in request["pipelines"].items():
        model = transformers.AutoModelForTokenClassification.from_pretrained(spec["path"])
        tokenizer = transformers.AutoTokenizer.from_pretrained(spec["path"])
        tagger = transformers.pipeline(
            "token-classification", model=model, tokenizer=tokenizer, device="cpu"
        )
        found = {"tokenizer": type(tokenizer).__name__}
        for strategy in spec["strategies"]:
            found[strategy] = [
                [_plain(entity) for entity in entities]
                for entities in tagger(spec["texts"], aggregation_strategy=strategy)
            ]
            if strategy != "none":
                found[f"{strategy}_stride"] = [
                    [_plain(entity) for entity in entities]
                    for entities in tagger(
                        spec["long_texts"], aggregation_strategy=strategy, stride=spec["stride"]
                    )
                ]
        result["pipelines"][name] = found
    (workdir / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
