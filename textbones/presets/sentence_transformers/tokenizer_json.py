"""A WordPiece tokenizer's arguments from a Hugging Face ``tokenizer.json``, for folders that
hold no ``vocab.txt`` (what ``transformers`` 5 and sentence-transformers 6 save).

The file is read as data: the WordPiece vocabulary (``model.vocab``, token to id) and the
normalizer's settings (lowercasing, accents, CJK splitting). A SentencePiece family's
``tokenizer.json`` (a Unigram model) cannot be turned back into the ``spiece.model``
textbones' tokenizers need, so such a folder is refused by name.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from textbones.presets.files import HF_FAST_TOKENIZER_FILE, HF_SENTENCE_PIECE_FILE
from textbones.presets.transformers.mapping import TransformersMapping
from textbones.presets.transformers.tokenizer_files import (
    _WORD_PIECE_SPECIALS,
    _check_special_tokens,
    _tokenizer_config,
)


def _damaged(path: pathlib.Path, what: str) -> ValueError:
    return ValueError(
        f"{path} {what}, so its WordPiece vocabulary cannot be read. Download the model "
        "again, or build it with `preprocessor=None`."
    )


def word_piece_arguments(family: TransformersMapping, directory: pathlib.Path) -> dict[str, Any]:
    """Constructor arguments of the family's WordPiece tokenizer that reproduce the fast
    tokenizer ``directory/tokenizer.json`` (the vocabulary as a list, in id order).

    Example:

    >>> import json, pathlib, tempfile, textbones
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hi": 5}
    >>> _ = (folder / "tokenizer.json").write_text(json.dumps({
    ...     "normalizer": {"type": "BertNormalizer", "lowercase": True, "strip_accents": None},
    ...     "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": vocab}}))
    >>> arguments = word_piece_arguments(textbones.registry.family("bert").transformers, folder)
    >>> arguments["vocabulary"][-1], arguments["lowercase"], arguments["strip_accents"]
    ('hi', True, True)
    """
    path = directory / HF_FAST_TOKENIZER_FILE
    if not family.word_piece:
        raise FileNotFoundError(
            f"{directory} has no {HF_SENTENCE_PIECE_FILE}, the SentencePiece model of a "
            f"{family.model_type} tokenizer; its {HF_FAST_TOKENIZER_FILE} holds a Unigram "
            "vocabulary that textbones cannot turn back into one. Add the model's "
            f"{HF_SENTENCE_PIECE_FILE}, or build the model with `preprocessor=None`."
        )
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise _damaged(path, "is not valid JSON") from None
    model = content.get("model") if isinstance(content, dict) else None
    if not isinstance(model, dict) or model.get("type") != "WordPiece":
        kind = model.get("type") if isinstance(model, dict) else None
        raise _damaged(path, f"holds a {kind!r} model, not a WordPiece one")
    vocab = model.get("vocab")
    if not isinstance(vocab, dict) or not vocab:
        raise _damaged(path, "has no 'vocab' object")
    by_id = {index: token for token, index in vocab.items() if isinstance(index, int)}
    if len(by_id) != len(vocab) or min(by_id) < 0 or max(by_id) >= 4 * len(vocab) + 16:
        raise _damaged(path, "has ids that are not distinct non-negative integers")
    # An id no token has (a vocab.txt with a line twice leaves one) gets a placeholder that
    # no text can produce: WordPiece splits "[" and "]" off every word.
    size = max(by_id) + 1
    if model.get("continuing_subword_prefix", "##") != "##":
        raise _damaged(path, "continues words with a prefix other than '##'")
    config = {**family.tokenizer_defaults, **_tokenizer_config(directory)}
    _check_special_tokens(config, _WORD_PIECE_SPECIALS, directory / HF_FAST_TOKENIZER_FILE)
    normalizer = content.get("normalizer")
    if isinstance(normalizer, dict) and normalizer.get("type") == "BertNormalizer":
        lowercase = bool(normalizer.get("lowercase", True))
        strip_accents = normalizer.get("strip_accents")
        split_on_cjk = bool(normalizer.get("handle_chinese_chars", True))
    else:
        lowercase = bool(config["do_lower_case"])
        strip_accents = config.get("strip_accents")
        split_on_cjk = bool(config.get("tokenize_chinese_chars", True))
    # null strips accents exactly when lowercasing (the tokenizers library's rule).
    strip = lowercase if strip_accents is None else bool(strip_accents)
    return {
        "vocabulary": [by_id.get(index, f"[no token {index}]") for index in range(size)],
        "lowercase": lowercase,
        "strip_accents": strip,
        "split_on_cjk": split_on_cjk,
        "oov_token": str(model.get("unk_token", "[UNK]")),
        "special_tokens_in_strings": True,
    }
