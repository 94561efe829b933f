"""Tokenizers from and to ``transformers`` files: ``vocab.txt`` or ``spiece.model``, plus
``tokenizer_config.json``."""

from __future__ import annotations

import json
import pathlib
import warnings
from typing import Any

from textbones.presets.atomic_directory import replace_file
from textbones.presets.files import (
    HF_SENTENCE_PIECE_FILE,
    HF_TOKENIZER_CONFIG_FILE,
    HF_TOKENIZER_FILES,
    HF_VOCABULARY_FILE,
)
from textbones.presets.transformers.mapping import TransformersMapping, UnsupportedCheckpointError

_WORD_PIECE_SPECIALS = {
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "mask_token": "[MASK]",
}
_SENTENCE_PIECE_SPECIALS = {**_WORD_PIECE_SPECIALS, "pad_token": "<pad>", "unk_token": "<unk>"}
#: The longest default ``sequence_length`` of a preprocessor built for a checkpoint.
DEFAULT_SEQUENCE_LENGTH = 512


def has_tokenizer_files(directory: pathlib.Path) -> bool:
    return (directory / HF_VOCABULARY_FILE).is_file() or (
        directory / HF_SENTENCE_PIECE_FILE
    ).is_file()


def _tokenizer_config(directory: pathlib.Path) -> dict[str, Any]:
    path = directory / HF_TOKENIZER_CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{path} is not valid JSON ({error}). Download the checkpoint again."
        ) from None
    return config if isinstance(config, dict) else {}


def _token(value: Any) -> Any:
    """A special token as ``tokenizer_config.json`` writes it (a string or an ``AddedToken``)."""
    return value.get("content") if isinstance(value, dict) else value


def _check_special_tokens(
    config: dict[str, Any], expected: dict[str, str], path: pathlib.Path
) -> None:
    for name, token in expected.items():
        found = _token(config.get(name, token))
        if found != token:
            raise UnsupportedCheckpointError(
                f"{path} sets {name}={found!r}; the textbones tokenizer of this family uses "
                f"{token!r} (the token itself is fixed in the class), so this tokenizer cannot "
                "be loaded. Load the model with `preprocessor=None` and tokenize separately."
            )


def tokenizer_arguments(family: TransformersMapping, directory: pathlib.Path) -> dict[str, Any]:
    """Constructor arguments of the family's textbones tokenizer that reproduce the
    ``transformers`` tokenizer in ``directory`` (its ids on the same text)."""
    config = {**family.tokenizer_defaults, **_tokenizer_config(directory)}
    config_path = directory / HF_TOKENIZER_CONFIG_FILE
    lowercase = bool(config["do_lower_case"])
    if family.word_piece:
        vocabulary = directory / HF_VOCABULARY_FILE
        if not vocabulary.is_file():
            raise FileNotFoundError(
                f"{directory} has no {HF_VOCABULARY_FILE}, the WordPiece vocabulary of a "
                f"{family.model_type} tokenizer. Download it with the checkpoint, or build the "
                "model with `preprocessor=None`."
            )
        _check_special_tokens(config, _WORD_PIECE_SPECIALS, config_path)
        strip_accents = config.get("strip_accents")
        if strip_accents is False and lowercase:
            warnings.warn(
                f"{config_path} lowercases without stripping accents (strip_accents=false), "
                "which textbones' BertTokenizer cannot do: it strips accents whenever it "
                "lowercases. Ids differ from transformers' on accented text.",
                stacklevel=4,
            )
        return {
            "vocabulary": str(vocabulary),
            "lowercase": lowercase,
            "strip_accents": bool(strip_accents),
            "split_on_cjk": bool(config.get("tokenize_chinese_chars", True)),
            "oov_token": _token(config.get("unk_token", "[UNK]")),
            "special_tokens_in_strings": True,
        }
    proto = directory / HF_SENTENCE_PIECE_FILE
    if not proto.is_file():
        raise FileNotFoundError(
            f"{directory} has no {HF_SENTENCE_PIECE_FILE}, the SentencePiece model of a "
            f"{family.model_type} tokenizer (textbones cannot rebuild one from tokenizer.json). "
            "Download it with the checkpoint, or build the model with `preprocessor=None`."
        )
    _check_special_tokens(config, _SENTENCE_PIECE_SPECIALS, config_path)
    return {
        "proto": str(proto),
        "lowercase": lowercase,
        "strip_accents": not config["keep_accents"],
        "normalize_quotes": True,
        "special_tokens_in_strings": True,
    }


def default_sequence_length(directory: pathlib.Path, max_position_embeddings: int) -> int:
    """The ``sequence_length`` of a preprocessor built for the checkpoint in ``directory``."""
    length = min(DEFAULT_SEQUENCE_LENGTH, int(max_position_embeddings))
    model_max_length = _tokenizer_config(directory).get("model_max_length")
    if isinstance(model_max_length, int) and 0 < model_max_length < length:
        length = model_max_length
    return length


def write_tokenizer_files(
    tokenizer,
    family: TransformersMapping,
    folder: pathlib.Path,
    model_max_length: int | None = None,
) -> None:
    """Write ``tokenizer``'s vocabulary and ``tokenizer_config.json`` as ``transformers`` reads
    them.

    ``model_max_length``: a preprocessor's ``sequence_length`` (else the tokenizer's, else 512).

    Hugging Face's SentencePiece tokenizers always replace LaTeX quotes (`````, ``''``);
    a KerasHub tokenizer (``normalize_quotes=False``) differs from them on such text only.
    """
    for name in HF_TOKENIZER_FILES:
        (folder / name).unlink(missing_ok=True)
    max_length = model_max_length or tokenizer.sequence_length or DEFAULT_SEQUENCE_LENGTH
    if family.word_piece:
        replace_file(folder / HF_VOCABULARY_FILE).write_text(
            "".join(token + "\n" for token in tokenizer.get_vocabulary()), encoding="utf-8"
        )
        config = {
            "tokenizer_class": family.tokenizer_class,
            "do_lower_case": tokenizer.lowercase,
            # transformers: null strips accents exactly when lowercasing.
            "strip_accents": None if tokenizer.lowercase or not tokenizer.strip_accents else True,
            "tokenize_chinese_chars": tokenizer.split_on_cjk,
            **_WORD_PIECE_SPECIALS,
            "unk_token": tokenizer.oov_token,
            "model_max_length": max_length,
        }
    else:
        replace_file(folder / HF_SENTENCE_PIECE_FILE).write_bytes(tokenizer.proto)
        config = {
            "tokenizer_class": family.tokenizer_class,
            "do_lower_case": tokenizer.lowercase,
            "keep_accents": not tokenizer.strip_accents,
            **_SENTENCE_PIECE_SPECIALS,
            "model_max_length": max_length,
        }
    replace_file(folder / HF_TOKENIZER_CONFIG_FILE).write_text(
        json.dumps(config, indent=2) + "\n", encoding="utf-8"
    )
