"""Write textbones models as ``transformers`` checkpoints (``config.json``, ``model.safetensors``,
tokenizer files) that ``transformers.AutoModel*.from_pretrained`` load.

What a save keeps of the files already in the folder follows the rule of every save (see
``staged_directory`` and ``textbones.presets.preset_layout``): a Keras-format preset there
is replaced entirely; within a ``transformers`` checkpoint, a backbone replaces the model
files and keeps the tokenizer files, a tokenizer replaces only the tokenizer files, a task
replaces everything. Files of no preset component (a ``README.md``) are kept.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import keras
import ml_dtypes
import numpy as np

from textbones import registry
from textbones.keras_internals import merged_lora_weights, weighted_sublayers
from textbones.presets.atomic_directory import replace_file, staged_directory
from textbones.presets.files import HF_CONFIG_FILE, HF_SAFETENSORS_FILE
from textbones.presets.preset_layout import TRANSFORMERS_MODEL, TRANSFORMERS_TOKENIZER
from textbones.presets.transformers.heads import head_conversion
from textbones.presets.transformers.loading import family_of_model
from textbones.presets.transformers.mapping import TransformersMapping
from textbones.presets.transformers.safetensors_file import write_safetensors
from textbones.presets.transformers.tokenizer_files import write_tokenizer_files
from textbones.presets.transformers.weight_rules import Rule


def _numpy_dtype(variable) -> np.dtype:
    name = keras.backend.standardize_dtype(variable.dtype)
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


def _refuse_quantized(model) -> None:
    quantized = sorted(
        layer.path for layer in weighted_sublayers(model) if layer.quantization_mode is not None
    )
    if quantized:
        raise ValueError(
            f"This {type(model).__name__} is quantized ({len(quantized)} layers, e.g. "
            f"{quantized[0]!r}): a transformers checkpoint holds floating-point weights, and "
            "its int8/int4 values without their scales would be wrong. Nothing was written. "
            "Save the model in transformers format before calling quantize(), or save this "
            "one as a Keras preset (format='keras'), which keeps its quantization."
        )


def _tensors(model, rules: list[Rule], prefix: str) -> list[tuple]:
    """``(key, shape, dtype, produce)`` of every rule, each array made only when written.

    A LoRA-enabled layer's weight is written merged with its adapters (what it computes
    with); a quantized model is refused.
    """
    _refuse_quantized(model)
    variables = {variable.path: variable for variable in model.weights}
    merged = merged_lora_weights(model)
    tensors = []
    for rule in rules:
        variable = variables[rule.target]
        shape = rule.layout.torch_shape(tuple(variable.shape), rule.flatten)
        value = merged.get(rule.target, lambda variable=variable: variable)

        def produce(value=value, rule=rule, shape=shape):
            return rule.layout.to_torch(keras.ops.convert_to_numpy(value()), shape)

        tensors.append((prefix + rule.source, shape, _numpy_dtype(variable), produce))
    return tensors


def _base_config(mapping: TransformersMapping, backbone, architecture: str) -> dict[str, Any]:
    return {
        "architectures": [architecture],
        "model_type": mapping.model_type,
        **mapping.config_fields(backbone),
        "initializer_range": 0.02,
        "tie_word_embeddings": True,
        "dtype": keras.backend.standardize_dtype(backbone.variable_dtype),
    }


def _write(folder: pathlib.Path, config: dict[str, Any], tensors: list[tuple]) -> None:
    replace_file(folder / HF_CONFIG_FILE).write_text(
        json.dumps(config, indent=2) + "\n", encoding="utf-8"
    )
    write_safetensors(
        replace_file(folder / HF_SAFETENSORS_FILE), tensors, metadata={"format": "pt"}
    )


def save_backbone(backbone, preset_dir) -> None:
    """Write ``backbone`` as a bare-encoder checkpoint (``BertModel``, ``AlbertModel``, ...).

    Tokenizer files of a ``transformers`` checkpoint already in ``preset_dir`` are kept;
    a Keras-format preset there is replaced.
    """
    mapping = family_of_model(backbone).transformers
    rules = mapping.backbone_rules(backbone) + mapping.pooler_rules
    config = _base_config(mapping, backbone, mapping.architecture("backbone"))
    tensors = _tensors(backbone, rules, "")
    with staged_directory(preset_dir, [TRANSFORMERS_MODEL]) as staging:
        _write(staging, config, tensors)


def save_task(task, preset_dir) -> None:
    """Write a task as its kind's ``transformers`` model (``*ForMaskedLM``,
    ``*ForSequenceClassification``, ...), with its tokenizer's files if it has a
    preprocessor. The folder then holds exactly these files (and files of no preset
    component).

    A ``transformers`` config has one ``hidden_act`` and one ``layer_norm_eps`` for the
    encoder and the masked-LM head alike. When the head's differ (as in KerasHub's
    models, whose heads use exact GELU and epsilon 1e-5), the head is written with the
    encoder's, with a warning: its logits then differ slightly in ``transformers``.
    A classifier's output ``activation`` is not written: ``transformers`` gives logits.
    """
    backbone = task.backbone
    mapping = family_of_model(backbone).transformers
    kind = registry.task_kind_of(task)
    if kind is None:
        raise ValueError(f"textbones cannot write a {type(task).__name__} in transformers format.")
    head = head_conversion(kind)
    if kind.name not in mapping.head_rules:
        head.export_config(task, {}, mapping)  # a kind with no weights to write says why
        raise ValueError(f"textbones cannot write a {type(task).__name__} in transformers format.")
    encoder_rules = mapping.backbone_rules(backbone) + mapping.pooler_rules
    tensors = _tensors(task, encoder_rules, mapping.base_prefix + ".")
    architecture = mapping.architecture(kind.name, kind.transformers_suffix)
    config = _base_config(mapping, backbone, architecture)
    head.export_config(task, config, mapping)
    tensors += _tensors(task, mapping.head_rules[kind.name], "")
    written = [TRANSFORMERS_MODEL, TRANSFORMERS_TOKENIZER]
    with staged_directory(preset_dir, written, whole=True) as staging:
        if task.preprocessor is not None:
            config["pad_token_id"] = int(task.preprocessor.tokenizer.pad_token_id)
            write_tokenizer_files(
                task.preprocessor.tokenizer, mapping, staging, task.preprocessor.sequence_length
            )
        _write(staging, config, tensors)


def save_tokenizer(tokenizer, preset_dir, model_max_length: int | None = None) -> None:
    """Write ``vocab.txt`` or ``spiece.model`` and ``tokenizer_config.json``; the model files
    of a ``transformers`` checkpoint stay, a Keras-format preset is replaced."""
    mapping = family_of_model(tokenizer).transformers
    with staged_directory(preset_dir, [TRANSFORMERS_TOKENIZER]) as staging:
        write_tokenizer_files(tokenizer, mapping, staging, model_max_length)


def save_preprocessor(preprocessor, preset_dir) -> None:
    """The tokenizer's files, with the preprocessor's ``sequence_length`` as ``model_max_length``
    (a ``transformers`` checkpoint has no preprocessor of its own)."""
    save_tokenizer(preprocessor.tokenizer, preset_dir, preprocessor.sequence_length)
