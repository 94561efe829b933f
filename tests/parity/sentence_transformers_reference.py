"""sentence-transformers side of the sentence-transformers folder parity tests.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports
``sentence_transformers``, ``transformers`` and ``torch``. ``tests/parity/conftest.py`` keeps
it out of the main suite's collection; ``test_sentence_transformers_parity.py`` runs it in a
subprocess, once per subcommand::

    sentence_transformers_reference.py make WORKDIR
    sentence_transformers_reference.py check WORKDIR

``make`` reads ``WORKDIR/request.json``::

    {"cases": {NAME: {"model_type", "word_piece", "tokenizer_class", "config": {...},
                      "pooling_mode", "normalize", "include_prompt", "prompts",
                      "prompt_name", "pooling_keys": "v6" | "v5",
                      "layout": "tokenizer.json" | "vocab", "max_seq_length", "batch_size",
                      "texts" (optional: the case's own texts)}},
     "texts": [...], "vocabulary": "path/vocab.txt", "proto": "path/model.spm"}

For every case it builds a ``transformers`` encoder of ``model_type`` from a seeded random
init with every parameter moved away from it, wraps it as a ``SentenceTransformer``
(``Transformer`` + ``Pooling`` + ``Normalize`` when asked, with the prompts), saves it with
``SentenceTransformer.save`` to ``WORKDIR/st/NAME`` and then rewrites the folder as the
case asks: ``pooling_keys="v5"`` writes ``1_Pooling/config.json`` with the legacy
``pooling_mode_*`` flags; ``layout="vocab"`` adds the tokenizer's ``vocab.txt`` (or
``spiece.model``) and a ``sentence_bert_config.json`` with ``max_seq_length`` and
``do_lower_case``, as sentence-transformers 5 wrote them. The folder is then loaded again
with ``SentenceTransformer(folder)`` and ``encode(texts, prompt_name=..., batch_size=...)``
is stored in ``WORKDIR/st/NAME.npy``; ``WORKDIR/made.json`` lists each folder's files.
A SentencePiece family always gets its ``spiece.model`` (textbones cannot rebuild one
from ``tokenizer.json``).

``check`` reads ``WORKDIR/check.json``::

    {"texts": [...], "exports": {NAME: {"path", "prompt_name", "batch_size", "texts"?}}}

loads each folder textbones wrote with ``SentenceTransformer(path)``, encodes the texts
into ``WORKDIR/check/NAME.npy`` and writes what it read (modules, similarity function,
prompts, length limit, the warnings it raised) to ``WORKDIR/checked.json``.
"""

import json
import os
import pathlib
import shutil
import sys
import traceback
import warnings

SEED = 2024


def _configure_environment() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TQDM_DISABLE", "1")


def _encoder(case: dict, workdir: pathlib.Path, name: str) -> pathlib.Path:
    """A seeded, perturbed ``transformers`` encoder and its tokenizer, saved to a folder."""
    import torch
    import transformers

    torch.manual_seed(SEED)
    config = transformers.AutoConfig.for_model(case["model_type"], **case["config"])
    model = transformers.AutoModel.from_config(config)
    generator = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for parameter_name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if parameter_name.endswith("LayerNorm.weight") or "layer_norm.weight" in parameter_name:
                parameter.copy_(1.0 + 0.2 * noise)
            elif parameter_name.endswith("bias"):
                parameter.copy_(0.2 * noise)
            else:
                parameter.copy_(0.3 * noise)
    model.eval()
    folder = workdir / "hf" / name
    model.save_pretrained(str(folder))
    # The tokenizer's own files, then what transformers makes of them (as
    # transformers_reference.py does: FNet's tokenizer is its parent, ALBERT's).
    if case["word_piece"]:
        shutil.copy(case["vocabulary"], folder / "vocab.txt")
    else:
        shutil.copy(case["proto"], folder / "spiece.model")
    config = {"tokenizer_class": case["tokenizer_class"], "do_lower_case": True}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    if case["tokenizer_class"] == "FNetTokenizer":
        tokenizer = transformers.AlbertTokenizer.from_pretrained(str(folder))
    else:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


_LEGACY_KEYS = {
    "cls": "pooling_mode_cls_token",
    "max": "pooling_mode_max_tokens",
    "mean": "pooling_mode_mean_tokens",
    "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
    "weightedmean": "pooling_mode_weightedmean_tokens",
    "lasttoken": "pooling_mode_lasttoken",
}


def _rewrite(folder: pathlib.Path, case: dict, dimension: int) -> None:
    modes = (
        [case["pooling_mode"]] if isinstance(case["pooling_mode"], str) else case["pooling_mode"]
    )
    if case["pooling_keys"] == "v5":
        legacy = {"word_embedding_dimension": dimension}
        legacy.update({key: mode in modes for mode, key in _LEGACY_KEYS.items()})
        legacy["include_prompt"] = case["include_prompt"]
        (folder / "1_Pooling" / "config.json").write_text(json.dumps(legacy, indent=4))
    if case["layout"] == "vocab":
        (folder / "sentence_bert_config.json").write_text(
            json.dumps({"max_seq_length": case["max_seq_length"], "do_lower_case": False})
        )
        if case["word_piece"]:
            shutil.copy(case["vocabulary"], folder / "vocab.txt")
    if not case["word_piece"]:
        shutil.copy(case["proto"], folder / "spiece.model")


def make(workdir: pathlib.Path) -> None:
    request = json.loads((workdir / "request.json").read_text())
    texts = request["texts"]
    made = {}
    for name, case in request["cases"].items():
        case = {**case, "vocabulary": request["vocabulary"], "proto": request["proto"]}
        try:
            made[name] = _make_one(workdir, name, case, texts)
        except Exception:  # one case's failure is reported by its own test
            made[name] = {"error": traceback.format_exc()[-3000:]}
    (workdir / "made.json").write_text(json.dumps(made, indent=1))


def _make_one(workdir: pathlib.Path, name: str, case: dict, texts: list) -> dict:
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, Pooling, Transformer

    encoder_dir = _encoder(case, workdir, name)
    transformer = Transformer(str(encoder_dir), max_seq_length=case["max_seq_length"])
    dimension = transformer.get_embedding_dimension()
    modules = [
        transformer,
        Pooling(dimension, case["pooling_mode"], include_prompt=case["include_prompt"]),
    ]
    if case["normalize"]:
        modules.append(Normalize())
    model = SentenceTransformer(modules=modules, prompts=case["prompts"], device="cpu")
    folder = workdir / "st" / name
    model.save(str(folder))
    _rewrite(folder, case, dimension)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reloaded = SentenceTransformer(str(folder), device="cpu")
    embeddings = reloaded.encode(
        case.get("texts", texts),
        prompt_name=case["prompt_name"],
        batch_size=case["batch_size"],
        convert_to_numpy=True,
    )
    np.save(workdir / "st" / f"{name}.npy", embeddings.astype(np.float32))
    return {
        "files": sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()),
        "max_seq_length": reloaded.max_seq_length,
        "warnings": [str(w.message)[:300] for w in caught],
    }


def check(workdir: pathlib.Path) -> None:
    request = json.loads((workdir / "check.json").read_text())
    (workdir / "check").mkdir(exist_ok=True)
    checked = {}
    for name, spec in request["exports"].items():
        try:
            checked[name] = _check_one(workdir, name, spec, request["texts"])
        except Exception:
            checked[name] = {"error": traceback.format_exc()[-3000:]}
    (workdir / "checked.json").write_text(json.dumps(checked, indent=1))


def _check_one(workdir: pathlib.Path, name: str, spec: dict, texts: list) -> dict:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = SentenceTransformer(spec["path"], device="cpu")
        embeddings = model.encode(
            spec.get("texts", texts),
            prompt_name=spec["prompt_name"],
            batch_size=spec["batch_size"],
            convert_to_numpy=True,
        )
    np.save(workdir / "check" / f"{name}.npy", embeddings.astype(np.float32))
    return {
        "modules": [type(module).__name__ for module in model],
        "similarity_fn_name": model.similarity_fn_name,
        "prompts": model.prompts,
        "default_prompt_name": model.default_prompt_name,
        "max_seq_length": model.max_seq_length,
        "truncate_dim": model.truncate_dim,
        "warnings": [str(w.message)[:300] for w in caught],
    }


def main(argv: list) -> None:
    _configure_environment()
    command, workdir = argv[1], pathlib.Path(argv[2])
    {"make": make, "check": check}[command](workdir)


if __name__ == "__main__":
    main(sys.argv)
