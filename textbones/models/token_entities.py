"""From per-token scores to entities: the aggregation ``TokenClassifier.predict_entities`` does.

Plain NumPy on one window of one text at a time; the strategies follow ``transformers``'
token-classification pipeline (see ``TokenClassifier.predict_entities``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from textbones.preprocessing.token_spans import TokenSpans
from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer

#: The ``aggregation_strategy`` values, as ``transformers`` spells them.
AGGREGATION_STRATEGIES = ("none", "simple", "first", "average", "max")

#: The word-piece decoder's clean-up: punctuation joins the word before it.
_CLEANUPS = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" do not", " don't"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)
#: SentencePiece's word-boundary mark.
_SPACE_MARK = "\u2581"


def join_tokens(tokenizer, tokens: Sequence[str]) -> str:
    """Token strings joined back into text as the tokenizer's decoder joins them.

    WordPiece: a continuation piece loses its ``##`` and joins the token before, any
    other token after the first is preceded by a space, and a space before ``.``, ``,``,
    ``?``, ``!`` is dropped. SentencePiece: each ``▁`` becomes a space, and a leading
    one is dropped.

    Example:

    >>> from textbones.tokenizers import BertTokenizer
    >>> tokenizer = BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    >>> join_tokens(tokenizer, ["new", "york", "##er", "."])
    'new yorker.'
    """
    if isinstance(tokenizer, WordPieceTokenizer):
        marker = tokenizer.suffix_indicator
        pieces = []
        for index, token in enumerate(tokens):
            if index:
                token = token[len(marker) :] if token.startswith(marker) else " " + token
            for dirty, clean in _CLEANUPS:
                token = token.replace(dirty, clean)
            pieces.append(token)
        return "".join(pieces)
    pieces = []
    for index, token in enumerate(tokens):
        token = token.replace(_SPACE_MARK, " ")
        if index == 0 and token.startswith(" "):
            token = token[1:]
        pieces.append(token)
    return "".join(pieces)


def pre_entities(
    text: str, spans: TokenSpans, start: int, stop: int, scores: np.ndarray, tokenizer
) -> list[dict[str, Any]]:
    """The tokens ``start:stop`` of ``spans`` that are no special tokens, each with its
    ``word`` (token string), ``scores``, ``start``/``end`` offsets, ``index`` (its position in
    the packed row, after ``[CLS]``) and whether it continues a word (``is_subword``).

    A WordPiece token continues a word when its string is not as long as its span (its
    ``##``); for other tokenizers, when it starts after position 0 with neither the
    character before it nor its first character a space. Unknown tokens never do, and
    take the text itself as their word.

    Example:

    >>> from textbones.tokenizers import BertTokenizer
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "york", "##er"],
    ...     lowercase=True)
    >>> spans = tokenizer.tokenize_with_offsets("Yorker")
    >>> [(e["word"], e["is_subword"], e["index"])
    ...  for e in pre_entities("Yorker", spans, 0, 2, np.ones((2, 1)), tokenizer)]
    [('york', False, 1), ('##er', True, 2)]
    """
    word_piece = isinstance(tokenizer, WordPieceTokenizer)
    unknown = getattr(tokenizer, "unk_token_id", None)
    found = []
    for position in range(start, stop):
        if spans.special[position]:
            continue
        token_id = int(spans.ids[position])
        word = tokenizer.id_to_token(token_id)
        begin, end = (int(value) for value in spans.offsets[position])
        reference = text[begin:end]
        if word_piece:
            is_subword = len(word) != len(reference)
        else:
            is_subword = begin > 0 and " " not in text[begin - 1 : begin + 1]
        if unknown is not None and token_id == unknown:
            word, is_subword = reference, False
        found.append(
            {
                "word": word,
                "scores": scores[position - start],
                "start": begin,
                "end": end,
                "index": 1 + position - start,
                "is_subword": is_subword,
            }
        )
    return found


def aggregate(
    entities: list[dict[str, Any]], id2label: Mapping[int, str], strategy: str, tokenizer
) -> list[dict[str, Any]]:
    """Tokens (``pre_entities``) to entities under ``strategy`` (``AGGREGATION_STRATEGIES``).

    Example:

    >>> from textbones.tokenizers import BertTokenizer
    >>> tokenizer = BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    >>> tokens = [
    ...     {"word": "new", "scores": np.array([0.1, 0.9, 0.0]), "start": 0, "end": 3,
    ...      "index": 1, "is_subword": False},
    ...     {"word": "york", "scores": np.array([0.2, 0.1, 0.7]), "start": 4, "end": 8,
    ...      "index": 2, "is_subword": False}]
    >>> [(e["entity_group"], e["word"], round(float(e["score"]), 2)) for e in aggregate(
    ...     tokens, {0: "O", 1: "B-LOC", 2: "I-LOC"}, "simple", tokenizer)]
    [('LOC', 'new york', 0.8)]
    """
    if strategy in ("none", "simple"):
        tagged = []
        for entity in entities:
            best = int(entity["scores"].argmax())
            tagged.append(
                {
                    "entity": id2label[best],
                    "score": entity["scores"][best],
                    "index": entity["index"],
                    "word": entity["word"],
                    "start": entity["start"],
                    "end": entity["end"],
                }
            )
    else:
        tagged = _aggregate_words(entities, id2label, strategy, tokenizer)
    if strategy == "none":
        return tagged
    return _group(tagged, tokenizer)


def _aggregate_words(entities, id2label, strategy, tokenizer) -> list[dict[str, Any]]:
    words: list[list[dict[str, Any]]] = []
    for entity in entities:
        if words and entity["is_subword"]:
            words[-1].append(entity)
        else:
            words.append([entity])
    return [_aggregate_word(word, id2label, strategy, tokenizer) for word in words]


def _aggregate_word(tokens, id2label, strategy, tokenizer) -> dict[str, Any]:
    if strategy == "first":
        scores = tokens[0]["scores"]
    elif strategy == "max":
        scores = max(tokens, key=lambda token: token["scores"].max())["scores"]
    else:  # average
        scores = np.nanmean(np.stack([token["scores"] for token in tokens]), axis=0)
    best = int(scores.argmax())
    return {
        "entity": id2label[best],
        "score": scores[best],
        "word": join_tokens(tokenizer, [token["word"] for token in tokens]),
        "start": tokens[0]["start"],
        "end": tokens[-1]["end"],
    }


def _tag(label: str) -> tuple[str, str]:
    """``("B" or "I", tag)`` of a label; a label without ``B-``/``I-`` continues (``I``)."""
    if label.startswith("B-"):
        return "B", label[2:]
    if label.startswith("I-"):
        return "I", label[2:]
    return "I", label


def _group(entities, tokenizer) -> list[dict[str, Any]]:
    groups: list[list[dict[str, Any]]] = []
    for entity in entities:
        if groups:
            position, tag = _tag(entity["entity"])
            _, last_tag = _tag(groups[-1][-1]["entity"])
            if tag == last_tag and position != "B":
                groups[-1].append(entity)
                continue
        groups.append([entity])
    return [
        {
            "entity_group": group[0]["entity"].split("-", 1)[-1],
            "score": np.mean(np.nanmean([entity["score"] for entity in group])),
            "word": join_tokens(tokenizer, [entity["word"] for entity in group]),
            "start": group[0]["start"],
            "end": group[-1]["end"],
        }
        for group in groups
    ]


def window_entities(
    text: str,
    spans: TokenSpans,
    start: int,
    stop: int,
    scores: np.ndarray,
    id2label: Mapping[int, str],
    tokenizer,
    strategy: str,
    ignore_labels: Sequence[str],
) -> list[dict[str, Any]]:
    """The entities of the tokens ``start:stop`` of one text, without ``ignore_labels``,
    with plain Python values.

    Example:

    >>> from textbones.tokenizers import BertTokenizer
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "in", "paris"],
    ...     lowercase=True)
    >>> spans = tokenizer.tokenize_with_offsets("in Paris")
    >>> window_entities("in Paris", spans, 0, 2, np.array([[0.9, 0.1], [0.2, 0.8]]),
    ...                 {0: "O", 1: "B-LOC"}, tokenizer, "simple", ("O",))
    [{'entity_group': 'LOC', 'score': 0.8, 'word': 'paris', 'start': 3, 'end': 8}]
    """
    tokens = pre_entities(text, spans, start, stop, scores, tokenizer)
    kept = []
    for entity in aggregate(tokens, id2label, strategy, tokenizer):
        label = entity.get("entity", entity.get("entity_group"))
        if label in ignore_labels:
            continue
        kept.append(
            {
                key: float(value)
                if key == "score"
                else int(value)
                if key in ("index", "start", "end")
                else str(value)
                for key, value in entity.items()
            }
        )
    return kept


def merge_overlapping(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entities of overlapping windows, sorted by start, each overlap resolved for the
    longer span (the higher score on equal lengths).

    Example:

    >>> merge_overlapping([
    ...     {"start": 0, "end": 4, "score": 0.9}, {"start": 2, "end": 9, "score": 0.5},
    ...     {"start": 10, "end": 12, "score": 0.4}])
    [{'start': 2, 'end': 9, 'score': 0.5}, {'start': 10, 'end': 12, 'score': 0.4}]
    """
    if not entities:
        return entities
    ordered = sorted(entities, key=lambda entity: entity["start"])
    merged = []
    previous = ordered[0]
    for entity in ordered:
        if previous["start"] <= entity["start"] < previous["end"]:
            length = entity["end"] - entity["start"]
            previous_length = previous["end"] - previous["start"]
            if length > previous_length or (
                length == previous_length and entity["score"] > previous["score"]
            ):
                previous = entity
        else:
            merged.append(previous)
            previous = entity
    merged.append(previous)
    return merged
