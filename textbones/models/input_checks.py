"""Checks of a backbone's input dict that turn silent misbehaviour into clear errors.

Embedding lookups clamp or wrap out-of-range ids on some backends and Keras casts float
ids to int without a word, so a wrong input can give plausible but meaningless outputs.
These checks run before a backbone is called on concrete data; symbolic and traced
tensors only get the checks their static shapes and dtypes allow.
"""

import difflib
from collections.abc import Mapping

import numpy as np


def _static_dtype(value) -> str | None:
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return None
    name = getattr(dtype, "name", None) or str(dtype)
    return name.replace("torch.", "")


def _is_integer_dtype(name: str) -> bool:
    return name.startswith(("int", "uint")) or name == "bool"


def _suggest(key: str, expected: list[str]) -> str:
    close = difflib.get_close_matches(key, expected, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_backbone_inputs(
    inputs,
    *,
    model_name: str,
    input_names: list[str],
    max_sequence_length: int,
    id_ranges: dict[str, int],
) -> None:
    """Raise a ``ValueError`` naming the problem and its fix if ``inputs`` can't feed the model.

    Args:
        inputs: what the caller passed to the backbone.
        model_name: the class name, used in messages.
        input_names: the keys the model expects.
        max_sequence_length: the longest sequence the position table covers.
        id_ranges: for id inputs, the exclusive upper bound of valid values (for
            example ``{"token_ids": vocabulary_size}``); checked on NumPy data only.

    Example:

    >>> import numpy as np
    >>> check_backbone_inputs(
    ...     {"token_ids": np.zeros((1, 3), "int32")},
    ...     model_name="Demo", input_names=["token_ids"],
    ...     max_sequence_length=8, id_ranges={"token_ids": 10})
    """
    expected = ", ".join(repr(name) for name in input_names)
    if not isinstance(inputs, Mapping):
        raise ValueError(
            f"{model_name} takes a dict of integer arrays with the keys {expected}; got "
            f"a {type(inputs).__name__}. Pass e.g. {{'token_ids': ids, ...}}, or use a "
            "preprocessor to turn raw text into that dict."
        )
    missing = [name for name in input_names if name not in inputs]
    unknown = [key for key in inputs if key not in input_names]
    if missing or unknown:
        problems = []
        if missing:
            problems.append("missing " + ", ".join(repr(name) for name in missing))
        if unknown:
            problems.append(
                "unexpected "
                + ", ".join(
                    f"{key!r}{_suggest(str(key), missing or input_names)}" for key in unknown
                )
            )
        raise ValueError(
            f"{model_name} inputs must have exactly the keys {expected}: "
            + "; ".join(problems)
            + "."
        )

    shape = None
    for name in input_names:
        value = inputs[name]
        if isinstance(value, (list, tuple)):
            value = np.asarray(value)
        dtype = _static_dtype(value)
        if dtype is not None and not _is_integer_dtype(dtype):
            raise ValueError(
                f"{model_name} input {name!r} must hold integers, got dtype {dtype}. "
                f"Cast it first, e.g. `np.asarray({name}, dtype='int32')`."
            )
        value_shape = tuple(getattr(value, "shape", ()))
        if len(value_shape) != 2:
            raise ValueError(
                f"{model_name} input {name!r} must be 2-D [batch, sequence_length], got "
                f"shape {value_shape}. Add a batch axis for a single sequence, e.g. "
                f"`{name}[None, :]`."
            )
        if shape is None:
            shape = value_shape
        elif value_shape != shape and None not in value_shape + shape:
            raise ValueError(
                f"{model_name} inputs must all have the same shape; {input_names[0]!r} has "
                f"{shape} but {name!r} has {value_shape}."
            )
        length = value_shape[1]
        if isinstance(length, int) and length > max_sequence_length:
            raise ValueError(
                f"{model_name} input {name!r} has {length} positions, more than this "
                f"model's max_sequence_length of {max_sequence_length}. Truncate inputs to "
                f"{max_sequence_length} tokens (a preprocessor's `sequence_length` does "
                "this), or build the backbone with a larger `max_sequence_length`."
            )
        limit = id_ranges.get(name)
        if limit is not None and isinstance(value, np.ndarray) and value.size:
            low, high = int(value.min()), int(value.max())
            if low < 0 or high >= limit:
                bad = low if low < 0 else high
                raise ValueError(
                    f"{model_name} input {name!r} holds the id {bad}, outside the valid "
                    f"range [0, {limit - 1}]. Check that the tokenizer matches this model's "
                    "vocabulary (or the segment ids its `num_segments`)."
                )
