"""KerasHub and ``transformers`` side of the DistilBERT parity tests (``test_parity.py``).

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports
``keras_hub``, ``torch`` and ``transformers``. ``conftest.py`` keeps it out of the main
suite's collection. One run does everything, for one subprocess per session::

    distil_bert_reference.py WORKDIR

It reads ``WORKDIR/request.json``::

    {"config": {...tiny DistilBertBackbone arguments...}, "num_classes": C,
     "sequence_length": T, "vocabulary": [...], "texts": [...], "pairs": [[...], [...]],
     "inputs": "inputs.npz",
     "textbones_presets": {KIND: "path"},      # KIND: backbone, masked_lm, classifier
     "textbones_exports": {KIND: "path"}}      # transformers checkpoints textbones wrote

and writes, each part on its own (an error of one is recorded in ``results.json`` under
``errors`` and the others still run):

* ``keras_hub/KIND``: KerasHub models with random weights (each one moved off its
  initializer), saved with KerasHub's ``save_to_preset``; their outputs on the inputs go
  to ``keras_hub/KIND.npz`` and their variables, by path, to ``keras_hub/KIND.weights.npz``.
* ``from_textbones/KIND.npz``: the outputs of each textbones preset loaded in KerasHub.
* ``results.json``: the ids of KerasHub's tokenizer and preprocessors for the texts, and
  the class each textbones preset loads as in KerasHub.
* ``hf/KIND``: tiny random ``DistilBertModel`` / ``...ForMaskedLM`` /
  ``...ForSequenceClassification`` written with ``save_pretrained`` (with ``vocab.txt``),
  their outputs in ``hf/KIND.npz``.
* ``from_exports/KIND.npz``: each textbones export loaded in ``transformers``; its
  loading report (missing and unexpected keys) in ``results.json``.

``inputs.npz`` holds ``token_ids``, ``padding_mask`` and ``mask_positions``.
"""

import json
import os
import pathlib
import sys
import traceback

import numpy as np

SEED = 1910
KINDS = ("backbone", "masked_lm", "classifier")


def _configure_environment() -> None:
    os.environ["KERAS_BACKEND"] = os.environ.get("TEXTBONES_REF_KERAS_BACKEND") or "torch"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"


def _perturb(model, rng) -> None:
    for variable in model.weights:
        leaf = variable.path.rsplit("/", 1)[-1]
        shape = tuple(variable.shape)
        if leaf == "gamma":
            value = 1.0 + rng.normal(0.0, 0.2, shape)
        elif leaf in ("beta", "bias"):
            value = rng.normal(0.0, 0.2, shape)
        else:
            value = rng.normal(0.0, 0.3, shape)
        variable.assign(value.astype("float32"))


def _numpy(value) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value))


def _feed(kind: str, inputs) -> dict:
    feed = {"token_ids": inputs["token_ids"], "padding_mask": inputs["padding_mask"]}
    if kind == "masked_lm":
        feed["mask_positions"] = inputs["mask_positions"]
    return feed


def _keras_hub_models(request: dict):
    import keras_hub

    models = keras_hub.models
    tokenizer = models.DistilBertTokenizer(vocabulary=request["vocabulary"], lowercase=True)
    length = request["sequence_length"]
    backbone = models.DistilBertBackbone(**request["config"])
    masked_lm = models.DistilBertMaskedLM(
        models.DistilBertBackbone(**request["config"]),
        preprocessor=models.DistilBertMaskedLMPreprocessor(tokenizer, sequence_length=length),
    )
    classifier = models.DistilBertTextClassifier(
        models.DistilBertBackbone(**request["config"]),
        num_classes=request["num_classes"],
        preprocessor=models.DistilBertTextClassifierPreprocessor(tokenizer, sequence_length=length),
    )
    return {"backbone": backbone, "masked_lm": masked_lm, "classifier": classifier}


def keras_hub_side(workdir: pathlib.Path, request: dict, inputs, results: dict) -> None:
    import keras_hub

    rng = np.random.default_rng(SEED)
    (workdir / "keras_hub").mkdir(exist_ok=True)
    for kind, model in _keras_hub_models(request).items():
        _perturb(model, rng)
        model.save_to_preset(str(workdir / "keras_hub" / kind))
        np.savez(workdir / "keras_hub" / f"{kind}.npz", output=_numpy(model(_feed(kind, inputs))))
        np.savez(
            workdir / "keras_hub" / f"{kind}.weights.npz",
            **{variable.path: _numpy(variable) for variable in model.weights},
        )
    (workdir / "from_textbones").mkdir(exist_ok=True)
    loaders = {
        "backbone": keras_hub.models.Backbone,
        "masked_lm": keras_hub.models.MaskedLM,
        "classifier": keras_hub.models.TextClassifier,
    }
    results["keras_hub_loaded"] = {}
    for kind, path in request["textbones_presets"].items():
        model = loaders[kind].from_preset(path)
        results["keras_hub_loaded"][kind] = type(model).__name__
        output = _numpy(model(_feed(kind, inputs)))
        np.savez(workdir / "from_textbones" / f"{kind}.npz", output=output)


def keras_hub_preprocessing(request: dict, results: dict) -> None:
    import keras_hub

    models = keras_hub.models
    tokenizer = models.DistilBertTokenizer(vocabulary=request["vocabulary"], lowercase=True)
    results["tokenizer_ids"] = [_numpy(tokenizer(text)).tolist() for text in request["texts"]]
    results["special_token_ids"] = {
        name: int(getattr(tokenizer, f"{name}_id"))
        for name in ("cls_token", "sep_token", "pad_token", "mask_token", "start_token")
    }
    length = request["sequence_length"]
    classifier = models.DistilBertTextClassifierPreprocessor(tokenizer, sequence_length=length)
    single = classifier(request["texts"])
    pairs = classifier(x=tuple(request["pairs"]))
    results["classifier_preprocessor"] = {
        "single": {key: _numpy(value).astype(int).tolist() for key, value in single.items()},
        "pairs": {key: _numpy(value).astype(int).tolist() for key, value in pairs.items()},
    }
    # No token selected for masking, so the outputs are deterministic.
    masked = models.DistilBertMaskedLMPreprocessor(
        tokenizer, sequence_length=length, mask_selection_rate=0.0
    )
    x, _, weights = masked(request["texts"])
    results["masked_lm_preprocessor"] = {
        "x": {key: _numpy(value).astype(int).tolist() for key, value in x.items()},
        "weights_sum": float(_numpy(weights).sum()),
    }


def _hf_classes():
    import transformers

    return transformers.DistilBertConfig, {
        "backbone": transformers.DistilBertModel,
        "masked_lm": transformers.DistilBertForMaskedLM,
        "classifier": transformers.DistilBertForSequenceClassification,
    }


def _hf_run(model, kind: str, inputs) -> np.ndarray:
    import torch

    feed = {
        "input_ids": torch.from_numpy(inputs["token_ids"].astype("int64")),
        "attention_mask": torch.from_numpy(inputs["padding_mask"].astype("int64")),
    }
    with torch.no_grad():
        outputs = model(**feed)
    if kind == "backbone":
        return outputs.last_hidden_state.numpy()
    if kind == "masked_lm":
        logits = outputs.logits.numpy()
        positions = inputs["mask_positions"]
        return np.take_along_axis(logits, positions[:, :, None], axis=1)
    return outputs.logits.numpy()


def transformers_side(workdir: pathlib.Path, request: dict, inputs, results: dict) -> None:
    import torch

    config_class, classes = _hf_classes()
    tiny = request["config"]
    config = config_class(
        vocab_size=tiny["vocabulary_size"],
        n_layers=tiny["num_layers"],
        n_heads=tiny["num_heads"],
        dim=tiny["hidden_dim"],
        hidden_dim=tiny["intermediate_dim"],
        max_position_embeddings=tiny["max_sequence_length"],
        num_labels=request["num_classes"],
        dropout=0.1,
        attention_dropout=0.1,
    )
    generator = torch.Generator().manual_seed(SEED)
    (workdir / "hf").mkdir(exist_ok=True)
    for kind, klass in classes.items():
        torch.manual_seed(SEED)
        model = klass(config).eval()
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                noise = torch.randn(parameter.shape, generator=generator)
                if name.endswith("layer_norm.weight") or name.endswith("LayerNorm.weight"):
                    parameter.copy_(1.0 + 0.2 * noise)
                elif name.endswith("bias"):
                    parameter.copy_(0.2 * noise)
                else:
                    parameter.copy_(0.15 * noise)
        folder = workdir / "hf" / kind
        model.save_pretrained(folder)
        (folder / "vocab.txt").write_text("\n".join(request["vocabulary"]) + "\n", "utf-8")
        (folder / "tokenizer_config.json").write_text(
            json.dumps({"tokenizer_class": "DistilBertTokenizer", "do_lower_case": True}),
            encoding="utf-8",
        )
        np.savez(workdir / "hf" / f"{kind}.npz", output=_hf_run(model, kind, inputs))


def transformers_loads_exports(workdir: pathlib.Path, request: dict, inputs, results: dict) -> None:
    _, classes = _hf_classes()
    (workdir / "from_exports").mkdir(exist_ok=True)
    results["export_reports"] = {}
    for kind, path in request["textbones_exports"].items():
        model, report = classes[kind].from_pretrained(path, output_loading_info=True)
        results["export_reports"][kind] = {
            key: sorted(map(str, value)) for key, value in report.items() if value
        }
        np.savez(
            workdir / "from_exports" / f"{kind}.npz", output=_hf_run(model.eval(), kind, inputs)
        )


def main(workdir: pathlib.Path) -> None:
    _configure_environment()
    request = json.loads((workdir / "request.json").read_text(encoding="utf-8"))
    inputs = dict(np.load(request["inputs"]))
    results = {"errors": {}}
    parts = (
        ("keras_hub", lambda: keras_hub_side(workdir, request, inputs, results)),
        ("keras_hub_preprocessing", lambda: keras_hub_preprocessing(request, results)),
        ("transformers", lambda: transformers_side(workdir, request, inputs, results)),
        ("transformers_loads_exports",
         lambda: transformers_loads_exports(workdir, request, inputs, results)),
    )  # fmt: skip
    for name, part in parts:
        try:
            part()
        except Exception:  # recorded, so that the other parts still run
            results["errors"][name] = traceback.format_exc()[-3000:]
    (workdir / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
