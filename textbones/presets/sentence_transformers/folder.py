"""Read what a sentence-transformers folder says about its model: the modules it chains
(``modules.json``), the Pooling module's modes, whether it normalizes, its prompts, its
similarity function and its length limit.

Only the chain a ``TextEmbedder`` computes is accepted: a Transformer (the ``transformers``
checkpoint), a Pooling module, and optionally a Normalize module. Every other module is
refused by name. Every path ``modules.json`` names must stay inside the folder; nothing in
the folder is executed or imported, the module types are only compared as strings.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any

from textbones.presets.files import (
    HF_TOKENIZER_CONFIG_FILE,
    SENTENCE_TRANSFORMERS_BERT_CONFIG_FILE,
    SENTENCE_TRANSFORMERS_CONFIG_FILE,
    SENTENCE_TRANSFORMERS_MODULE_CONFIG_FILE,
    SENTENCE_TRANSFORMERS_MODULES_FILE,
)
from textbones.presets.preset_files import contained_file, read_json, shown_name

#: The pooling modes, in the order sentence-transformers' legacy keys concatenate them
#: (the order a ``TextEmbedder`` concatenates them in).
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")
#: The legacy (sentence-transformers 5 and older) key of each pooling mode.
LEGACY_POOLING_KEYS = {
    "cls": "pooling_mode_cls_token",
    "max": "pooling_mode_max_tokens",
    "mean": "pooling_mode_mean_tokens",
    "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
    "weightedmean": "pooling_mode_weightedmean_tokens",
    "lasttoken": "pooling_mode_lasttoken",
}
#: The similarity functions sentence-transformers names (its default: cosine).
SIMILARITY_FUNCTIONS = ("cosine", "dot", "euclidean", "manhattan")
#: A ``model_max_length`` at least this large means "no limit" (transformers' sentinel).
_NO_LIMIT = 10**9

_TRANSFORMER, _POOLING, _NORMALIZE = "Transformer", "Pooling", "Normalize"
_SUPPORTED = "a Transformer module, then a Pooling module, then optionally a Normalize module"


@dataclasses.dataclass(frozen=True)
class SentenceTransformersModel:
    """What a sentence-transformers folder describes, in ``TextEmbedder`` terms.

    Attributes:
        checkpoint_dir: the folder of the ``transformers`` checkpoint (the Transformer
            module's path; the folder itself for every recent model).
        embedder_arguments: ``TextEmbedder`` arguments (``pooling_mode``, ``normalize``,
            ``include_prompt``, ``prompts``, ``default_prompt_name``,
            ``similarity_fn_name``, and ``truncate_dim`` when the folder sets one).
        max_seq_length: the length limit ``sentence_bert_config.json`` sets, else
            ``tokenizer_config.json``'s ``model_max_length``, else ``None``.
        do_lower_case: whether the Transformer module lowercases the text itself.
        embedding_dimension: the width the Pooling module expects, if it says.
    """

    checkpoint_dir: pathlib.Path
    embedder_arguments: dict[str, Any]
    max_seq_length: int | None
    do_lower_case: bool
    embedding_dimension: int | None


def _module_kind(type_name: Any) -> str | None:
    """``Transformer``, ``Pooling`` or ``Normalize`` for sentence-transformers' classes of
    those names (under any of its module paths, old or new), else ``None``."""
    if not isinstance(type_name, str) or not type_name.startswith("sentence_transformers."):
        return None
    kind = type_name.rsplit(".", 1)[-1]
    return kind if kind in (_TRANSFORMER, _POOLING, _NORMALIZE) else None


def _modules(directory: pathlib.Path) -> list[dict[str, Any]]:
    path = directory / SENTENCE_TRANSFORMERS_MODULES_FILE
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        content = None
    if not isinstance(content, list) or not all(isinstance(m, dict) for m in content):
        raise ValueError(
            f"{path} should hold a JSON list of modules (each with 'idx', 'name', 'path' and "
            "'type'); the folder is damaged. Save or download the model again."
        )
    for module in content:
        if not isinstance(module.get("type"), str) or not isinstance(module.get("path"), str):
            raise ValueError(
                f"{path} lists a module without a 'type' and a 'path' (strings): "
                f"{shown_name(json.dumps(module))}. The folder is damaged: save or download "
                "the model again."
            )
    ordered = sorted(content, key=lambda module: module.get("idx", 0))
    return ordered if all(isinstance(m.get("idx", 0), int) for m in content) else content


def _check_chain(path: pathlib.Path, modules: list[dict[str, Any]]) -> None:
    kinds = [_module_kind(module["type"]) for module in modules]
    for position, (module, kind) in enumerate(zip(modules, kinds, strict=True)):
        expected = (_TRANSFORMER, _POOLING, _NORMALIZE)
        if kind is None or position >= len(expected) or kind != expected[position]:
            raise ValueError(
                f"{path} lists module {shown_name(module.get('name', position))} of type "
                f"{shown_name(module['type'])} at position {position}, which textbones cannot "
                f"load: a TextEmbedder computes {_SUPPORTED} (no Dense, LayerNorm, Router or "
                "other modules). Load the encoder alone with Backbone.from_preset on the "
                "transformers checkpoint instead."
            )
    if len(kinds) < 2:
        raise ValueError(
            f"{path} lists {len(kinds)} module(s) ({', '.join(map(str, kinds)) or 'none'}); "
            f"textbones loads {_SUPPORTED}."
        )


def _module_file(directory: pathlib.Path, module: dict[str, Any], name: str, required: bool):
    """``module``'s file ``name`` inside its folder, checked to stay inside ``directory``
    (``None`` when it is missing and not ``required``)."""
    relative = f"{module['path'].rstrip('/')}/{name}" if module["path"] else name
    where = (
        f"the path {shown_name(module['path'])} of module "
        f"{shown_name(module.get('name', '?'))} in "
        f"{directory / SENTENCE_TRANSFORMERS_MODULES_FILE}"
    )
    try:
        return contained_file(directory, relative, where)
    except FileNotFoundError:
        if required:
            raise
        return None


def _json_file(path: pathlib.Path) -> dict[str, Any]:
    return read_json(path.parent, path.name)


def pooling_arguments(config: dict[str, Any], path: pathlib.Path) -> dict[str, Any]:
    """``pooling_mode`` and ``include_prompt`` from a Pooling module's ``config.json``, in
    either key format (``pooling_mode`` and ``embedding_dimension``, or the legacy
    ``pooling_mode_*_tokens`` flags and ``word_embedding_dimension``).

    Example:

    >>> import pathlib
    >>> pooling_arguments({"embedding_dimension": 8, "pooling_mode": "cls"}, pathlib.Path("c"))
    {'pooling_mode': 'cls', 'include_prompt': True, 'embedding_dimension': 8}
    >>> pooling_arguments({"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True,
    ...     "pooling_mode_max_tokens": True, "include_prompt": False}, pathlib.Path("c"))
    {'pooling_mode': ['max', 'mean'], 'include_prompt': False, 'embedding_dimension': 8}
    """
    mode = config.get("pooling_mode")
    if mode is not None:
        modes = [mode] if isinstance(mode, str) else mode
        if not isinstance(modes, list) or not modes or not all(isinstance(m, str) for m in modes):
            raise ValueError(
                f"{path} sets pooling_mode={shown_name(json.dumps(mode))}; it should be a mode "
                f"name or a list of them ({', '.join(POOLING_MODES)})."
            )
        unknown = [m for m in modes if m not in POOLING_MODES]
        if unknown:
            raise ValueError(
                f"{path} asks for the pooling mode {shown_name(unknown[0])}, which textbones "
                f"does not implement; it pools with {', '.join(POOLING_MODES)}."
            )
        canonical = [m for m in POOLING_MODES if m in modes]
        if len(set(modes)) != len(modes) or modes != canonical:
            raise ValueError(
                f"{path} concatenates the pooling modes {modes}; a TextEmbedder concatenates "
                f"each mode once, in the order {', '.join(POOLING_MODES)} (here: {canonical}), "
                "so these embeddings cannot be reproduced."
            )
    else:
        canonical = [m for m in POOLING_MODES if config.get(LEGACY_POOLING_KEYS[m]) is True]
        if not canonical:
            canonical = ["mean"]  # what sentence-transformers takes when no flag is set
    dimension = config.get("embedding_dimension", config.get("word_embedding_dimension"))
    include_prompt = config.get("include_prompt", True)
    if not isinstance(include_prompt, bool):
        raise ValueError(
            f"{path} sets include_prompt={include_prompt!r}; it should be true or false."
        )
    return {
        "pooling_mode": canonical[0] if len(canonical) == 1 else canonical,
        "include_prompt": include_prompt,
        "embedding_dimension": dimension if isinstance(dimension, int) else None,
    }


def _model_arguments(directory: pathlib.Path) -> dict[str, Any]:
    """``prompts``, ``default_prompt_name``, ``similarity_fn_name`` and ``truncate_dim`` from
    ``config_sentence_transformers.json`` (sentence-transformers' defaults when absent)."""
    path = directory / SENTENCE_TRANSFORMERS_CONFIG_FILE
    config = _json_file(path) if path.is_file() else {}
    prompts = config.get("prompts") or None
    if prompts is not None and (
        not isinstance(prompts, dict) or not all(isinstance(v, str) for v in prompts.values())
    ):
        raise ValueError(f"{path} has 'prompts' that are not a JSON object of strings.")
    default = config.get("default_prompt_name")
    if default is not None and default not in (prompts or {}):
        raise ValueError(
            f"{path} sets default_prompt_name={shown_name(default)}, which is not one of its "
            f"prompts ({', '.join(map(repr, prompts or {})) or 'none'}). Fix or remove it."
        )
    similarity = config.get("similarity_fn_name") or "cosine"
    if similarity not in SIMILARITY_FUNCTIONS:
        raise ValueError(
            f"{path} sets similarity_fn_name={shown_name(similarity)}; textbones knows "
            f"{', '.join(SIMILARITY_FUNCTIONS)}."
        )
    arguments = {
        "prompts": dict(prompts) if prompts else None,
        "default_prompt_name": default,
        "similarity_fn_name": similarity,
    }
    truncate_dim = config.get("truncate_dim")
    if truncate_dim is not None:
        if not isinstance(truncate_dim, int) or isinstance(truncate_dim, bool) or truncate_dim < 1:
            raise ValueError(
                f"{path} sets truncate_dim={truncate_dim!r}; it should be a positive int."
            )
        arguments["truncate_dim"] = truncate_dim
    return arguments


def _length_limit(checkpoint_dir: pathlib.Path, bert_config: dict[str, Any]) -> int | None:
    length = bert_config.get("max_seq_length")
    if isinstance(length, int) and not isinstance(length, bool) and length > 0:
        return length
    path = checkpoint_dir / HF_TOKENIZER_CONFIG_FILE
    if path.is_file():
        limit = _json_file(path).get("model_max_length")
        if isinstance(limit, int) and not isinstance(limit, bool) and 0 < limit < _NO_LIMIT:
            return limit
    return None


def read_model(directory: pathlib.Path) -> SentenceTransformersModel:
    """Read the sentence-transformers folder ``directory`` (see the module docstring).

    Example:

    >>> import json, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> kind = "sentence_transformers.models."
    >>> modules = [
    ...     {"idx": 0, "name": "0", "path": "", "type": kind + "Transformer"},
    ...     {"idx": 1, "name": "1", "path": "1_Pooling", "type": kind + "Pooling"},
    ... ]
    >>> _ = (folder / "modules.json").write_text(json.dumps(modules))
    >>> (folder / "1_Pooling").mkdir()
    >>> _ = (folder / "1_Pooling" / "config.json").write_text('{"pooling_mode": "max"}')
    >>> _ = (folder / "config.json").write_text('{"model_type": "bert"}')
    >>> model = read_model(folder)
    >>> model.embedder_arguments["pooling_mode"], model.embedder_arguments["normalize"]
    ('max', False)
    """
    directory = pathlib.Path(directory)
    modules = _modules(directory)
    _check_chain(directory / SENTENCE_TRANSFORMERS_MODULES_FILE, modules)
    transformer, pooling = modules[0], modules[1]
    bert_config_path = _module_file(
        directory, transformer, SENTENCE_TRANSFORMERS_BERT_CONFIG_FILE, required=False
    )
    checkpoint_config = _module_file(directory, transformer, "config.json", required=True)
    checkpoint_dir = checkpoint_config.parent
    bert_config = _json_file(bert_config_path) if bert_config_path is not None else {}
    pooling_path = _module_file(
        directory, pooling, SENTENCE_TRANSFORMERS_MODULE_CONFIG_FILE, required=True
    )
    pooled = pooling_arguments(_json_file(pooling_path), pooling_path)
    if len(modules) > 2:  # a Normalize module: its folder may be absent, but must stay inside
        _module_file(directory, modules[2], SENTENCE_TRANSFORMERS_MODULE_CONFIG_FILE, False)
    arguments = {
        "pooling_mode": pooled["pooling_mode"],
        "normalize": len(modules) > 2,
        "include_prompt": pooled["include_prompt"],
        **_model_arguments(directory),
    }
    return SentenceTransformersModel(
        checkpoint_dir=checkpoint_dir,
        embedder_arguments=arguments,
        max_seq_length=_length_limit(checkpoint_dir, bert_config),
        do_lower_case=bert_config.get("do_lower_case") is True,
        embedding_dimension=pooled["embedding_dimension"],
    )
