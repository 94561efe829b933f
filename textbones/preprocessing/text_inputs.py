"""Checking what users pass as text, ids or words, before any tokenizing.

Every entry point that takes raw text (tokenizers, preprocessors, tasks' ``fit`` and
``predict``) reads it through :func:`as_texts`: a string, UTF-8 bytes, or a list, tuple or
NumPy array of them; anything else (``None``, NaN, numbers) is refused naming its index and,
for pairs, its segment. :func:`word_examples` does the same for pre-split words, and
:func:`token_rows` for what ``detokenize`` takes.
"""

import numbers
from collections.abc import Iterable, Mapping, Sequence, Set

import numpy as np


def token_rows(inputs, owner: str) -> tuple[list, bool]:
    """What ``detokenize`` was given, as a list of rows, and whether it was one row."""
    if isinstance(inputs, (str, bytes)):
        raise ValueError(
            f"{owner}.detokenize takes token ids (or token strings) of one row or of a batch "
            f"of rows, got the single string {inputs!r}; wrap it in a list."
        )
    if isinstance(inputs, np.ndarray):
        if inputs.ndim == 0:
            return [[inputs.item()]], True
        if inputs.ndim == 1:
            return [inputs.tolist()], True
        if inputs.ndim == 2:
            return inputs.tolist(), False
        raise ValueError(f"{owner}.detokenize takes 1-D or 2-D input, got shape {inputs.shape}.")
    if isinstance(inputs, (numbers.Integral, np.integer)):
        return [[int(inputs)]], True
    if not isinstance(inputs, Sequence):
        raise ValueError(
            f"{owner}.detokenize takes a row of ids, a batch of rows or a NumPy array, got "
            f"{type(inputs).__name__}."
        )
    if not inputs:
        return [[]], True
    first = inputs[0]
    if isinstance(first, (str, numbers.Integral, np.generic)):
        return [list(inputs)], True
    return [row.tolist() if isinstance(row, np.ndarray) else list(row) for row in inputs], False


def word_examples(inputs, owner: str) -> tuple[list[list[str]], bool]:
    """Pre-split input as a list of examples of words, and whether it was one example.

    Example:

    >>> word_examples(["a", "b"], "Demo"), word_examples([["a"], []], "Demo")
    (([['a', 'b']], True), ([['a'], []], False))
    """
    if isinstance(inputs, (str, bytes)):
        raise ValueError(
            f"{owner}: with is_split_into_words=True the input is words: a list of strings "
            f"for one example or a list of lists for a batch, got the string {inputs!r}. "
            "Split it (e.g. `text.split()`), or pass is_split_into_words=False."
        )
    if isinstance(inputs, np.ndarray):
        inputs = inputs.tolist()
    if not isinstance(inputs, Sequence):
        raise ValueError(
            f"{owner}: with is_split_into_words=True pass a list of words or a list of lists "
            f"of words, got {type(inputs).__name__}."
        )
    if inputs and all(isinstance(item, (str, bytes, np.str_)) for item in inputs):
        return [as_texts(inputs, owner)[0]], True
    examples = []
    for index, example in enumerate(inputs):
        if isinstance(example, (str, bytes)) or not isinstance(example, (Sequence, np.ndarray)):
            raise ValueError(
                f"{owner}: with is_split_into_words=True a batch is a list of lists of words, "
                f"but item {index} is {example!r}. Give every example as a list of words."
            )
        examples.append(as_texts(list(example), owner)[0])
    return examples, False


def as_texts(inputs, owner: str, segment: tuple[int, int] | None = None) -> tuple[list[str], bool]:
    """``inputs`` as a list of str, and whether it was a single string.

    The one place where raw text is checked item by item, for tokenizers, preprocessors
    and the raw-text inputs of tasks: ``None``, NaN, numbers, nested lists and any other
    non-string are refused with their index (and, for ``segment=(index, count)``, which
    segment of a pair), never turned into text such as ``"None"`` or ``"nan"``. A dict or
    a set is refused too: iterating it would read its keys, in no meaningful order.

    Example:

    >>> as_texts(["a", b"b"], "Demo")
    (['a', 'b'], False)
    >>> as_texts(["a", None], "Demo", segment=(1, 2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Demo takes strings, but item 1 of the batch is a NoneType (None) in segment 2 ...
    """
    if isinstance(inputs, str):
        return [inputs], True
    if isinstance(inputs, bytes):
        return [_decoded(inputs, owner, 0, segment)], True
    if inputs is None:
        raise ValueError(f"{owner} got None; pass a string or a list of strings.")
    if isinstance(inputs, np.ndarray) and inputs.ndim == 0:
        return as_texts(inputs.item(), owner, segment)
    if isinstance(inputs, (Mapping, Set)):
        kind = "dict" if isinstance(inputs, Mapping) else "set"
        raise ValueError(
            f"{owner} takes a string or a list of strings, got a {type(inputs).__name__}: "
            f"reading a {kind} as text would take its {'keys' if kind == 'dict' else 'items'} "
            "in no meaningful order. Pass a list of the texts (e.g. `list(texts.values())`)."
        )
    if not isinstance(inputs, (Iterable, np.ndarray)):
        raise ValueError(
            f"{owner} takes a string or a list of strings, got {type(inputs).__name__}."
        )
    texts = []
    for index, item in enumerate(inputs):
        if isinstance(item, (bytes, np.bytes_)):
            item = _decoded(item, owner, index, segment)
        elif isinstance(item, np.str_):
            item = str(item)
        if not isinstance(item, str):
            shown = repr(item)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise ValueError(
                f"{owner} takes strings, but item {index} of the batch is a "
                f"{type(item).__name__} ({shown}){_segment_words(segment)}. None, NaN and "
                "other non-strings are not read as text: drop that example or replace it "
                "with a string."
            )
        texts.append(item)
    return texts, False


def _segment_words(segment: tuple[int, int] | None) -> str:
    if segment is None:
        return ""
    index, count = segment
    ordinal = ["first", "second", "third"][index] if index < 3 else f"#{index + 1}"
    group = "pair" if count == 2 else "example"
    return f" in segment {index + 1} of {count} (the {ordinal} text of each {group})"


def _decoded(value: bytes, owner: str, index: int, segment: tuple[int, int] | None) -> str:
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{owner} takes UTF-8 text, but item {index} of the batch is bytes that are not "
            f"valid UTF-8 (at byte {error.start}){_segment_words(segment)}. Decode it with "
            "its own encoding first."
        ) from None
