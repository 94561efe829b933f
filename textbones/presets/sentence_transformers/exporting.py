"""Write a ``TextEmbedder`` as a sentence-transformers folder that
``sentence_transformers.SentenceTransformer(folder)`` loads: the ``transformers`` checkpoint
of its backbone and tokenizer, ``modules.json``, the Pooling module's ``config.json`` (the
keys sentence-transformers 6 writes), a Normalize module when the embedder normalizes,
``sentence_bert_config.json`` and ``config_sentence_transformers.json``.

Like every save, it is atomic (``staged_directory``) and whole: the folder then holds
exactly these files (and files of no preset component, such as a ``README.md``).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from textbones import registry
from textbones.presets.atomic_directory import replace_file, staged_directory
from textbones.presets.files import (
    HF_TOKENIZER_CONFIG_FILE,
    SENTENCE_TRANSFORMERS_BERT_CONFIG_FILE,
    SENTENCE_TRANSFORMERS_CONFIG_FILE,
    SENTENCE_TRANSFORMERS_MODULE_CONFIG_FILE,
    SENTENCE_TRANSFORMERS_MODULES_FILE,
    SENTENCE_TRANSFORMERS_NORMALIZE_DIR,
    SENTENCE_TRANSFORMERS_POOLING_DIR,
)
from textbones.presets.preset_layout import (
    SENTENCE_TRANSFORMERS,
    TRANSFORMERS_MODEL,
    TRANSFORMERS_TOKENIZER,
)
from textbones.presets.transformers.exporting import _base_config, _tensors, _write
from textbones.presets.transformers.loading import family_of_model
from textbones.presets.transformers.tokenizer_files import write_tokenizer_files
from textbones.version import __version__

#: sentence-transformers 6's class names of the three modules (older names load as well).
MODULE_TYPES = {
    "Transformer": "sentence_transformers.base.modules.transformer.Transformer",
    "Pooling": "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
    "Normalize": "sentence_transformers.base.modules.normalize.Normalize",
}


#: transformers 5 builds a tokenizer that adds no [CLS] / [SEP] from a folder whose
#: tokenizer_config.json names FNetTokenizer and that holds only spiece.model; the class it
#: derives from, with the same SentencePiece pipeline, is built correctly. sentence-
#: transformers loads the tokenizer through transformers, so its folders name that one.
_TOKENIZER_CLASS_TO_WRITE = {"FNetTokenizer": "AlbertTokenizer"}


def _fix_tokenizer_class(folder: pathlib.Path) -> None:
    path = folder / HF_TOKENIZER_CONFIG_FILE
    config = json.loads(path.read_text(encoding="utf-8"))
    written = _TOKENIZER_CLASS_TO_WRITE.get(config.get("tokenizer_class"))
    if written is not None:
        _write_json(path, {**config, "tokenizer_class": written})


def refuse_component(what: str, obj) -> None:
    """Refuse to write anything but a whole text embedder in sentence-transformers format."""
    raise ValueError(
        f"A sentence-transformers folder holds a whole embedding model (encoder, pooling, "
        f"tokenizer), so a {type(obj).__name__} ({what}) alone cannot be saved in it. Save a "
        'TextEmbedder with format="sentence-transformers", or this '
        f'{what} with format="transformers".'
    )


def _write_json(path: pathlib.Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def sentence_transformers_files(embedder) -> dict[str, Any]:
    """The JSON files of the sentence-transformers side of ``embedder``, by relative path.

    Example:

    >>> import textbones
    >>> embedder = textbones.models.BertTextEmbedder(
    ...     textbones.models.BertBackbone(30, 1, 2, 8, 16), pooling_mode=["cls", "mean"],
    ...     normalize=False)
    >>> files = sentence_transformers_files(embedder)
    >>> files["1_Pooling/config.json"]
    {'embedding_dimension': 8, 'pooling_mode': ['cls', 'mean'], 'include_prompt': True}
    >>> [module["path"] for module in files["modules.json"]]
    ['', '1_Pooling']
    """
    names = ["Transformer", "Pooling"] + (["Normalize"] if embedder.normalize else [])
    paths = ["", SENTENCE_TRANSFORMERS_POOLING_DIR, SENTENCE_TRANSFORMERS_NORMALIZE_DIR]
    modules = [
        {"idx": index, "name": str(index), "path": paths[index], "type": MODULE_TYPES[name]}
        for index, name in enumerate(names)
    ]
    mode = embedder.pooling_mode
    pooling = {
        "embedding_dimension": int(embedder.backbone.hidden_dim),
        "pooling_mode": mode if isinstance(mode, str) else list(mode),
        "include_prompt": bool(embedder.include_prompt),
    }
    model_config: dict[str, Any] = {
        "__version__": {"textbones": __version__},
        "model_type": "SentenceTransformer",
        "prompts": dict(embedder.prompts or {}),
        "default_prompt_name": embedder.default_prompt_name,
        "similarity_fn_name": embedder.similarity_fn_name,
    }
    if embedder.truncate_dim is not None:
        model_config["truncate_dim"] = int(embedder.truncate_dim)
    files = {
        SENTENCE_TRANSFORMERS_MODULES_FILE: modules,
        f"{SENTENCE_TRANSFORMERS_POOLING_DIR}/{SENTENCE_TRANSFORMERS_MODULE_CONFIG_FILE}": pooling,
        SENTENCE_TRANSFORMERS_CONFIG_FILE: model_config,
    }
    if embedder.normalize:
        files[
            f"{SENTENCE_TRANSFORMERS_NORMALIZE_DIR}/{SENTENCE_TRANSFORMERS_MODULE_CONFIG_FILE}"
        ] = {}
    if embedder.preprocessor is not None:
        files[SENTENCE_TRANSFORMERS_BERT_CONFIG_FILE] = {
            "max_seq_length": int(embedder.preprocessor.sequence_length),
            "do_lower_case": False,
        }
    return files


def save_task(task, preset_dir) -> None:
    """Write the text embedder ``task`` as a sentence-transformers folder (see the module)."""
    kind = registry.task_kind_of(task)
    if kind is None or kind.name != "text_embedder":
        raise ValueError(
            f"A sentence-transformers folder holds a text embedder; a {type(task).__name__} "
            'cannot be saved in it. Save it with format="keras" or format="transformers".'
        )
    if task.preprocessor is None:
        raise ValueError(
            f"This {type(task).__name__} has no preprocessor, and a sentence-transformers "
            "folder needs the tokenizer. Attach a preprocessor (its tokenizer and "
            "sequence_length) before saving."
        )
    backbone = task.backbone
    mapping = family_of_model(backbone).transformers
    rules = mapping.backbone_rules(backbone) + mapping.pooler_rules
    config = _base_config(mapping, backbone, mapping.architecture("backbone"))
    tokenizer = task.preprocessor.tokenizer
    config["pad_token_id"] = int(tokenizer.pad_token_id)
    written = [TRANSFORMERS_MODEL, TRANSFORMERS_TOKENIZER, SENTENCE_TRANSFORMERS]
    with staged_directory(preset_dir, written, whole=True) as staging:
        write_tokenizer_files(tokenizer, mapping, staging, task.preprocessor.sequence_length)
        _fix_tokenizer_class(staging)
        _write(staging, config, _tensors(backbone, rules, ""))
        for relative, content in sentence_transformers_files(task).items():
            _write_json(staging / relative, content)
