"""Checks of a backbone's constructor arguments, made before any weight is allocated.

A wrong argument used to build a wrong model without a word (``num_layers=-1`` gave an
encoder with no blocks) or to take the process down (``vocabulary_size=10**12`` asked
the backend for petabytes, ``num_layers=10**6`` built a graph for hours). ``Backbone``
runs ``check_backbone_config`` on the arguments of every family's constructor first, so
each of these is refused with a message that names the field.

Two bounds keep a config within reason; each can be lifted with an environment
variable, read at every check:

* ``TEXTBONES_MAX_PARAMETERS`` (default 20 billion): the most parameters a backbone
  may hold. The largest built-in preset, BERT-large, has 335 million; 20 billion leaves
  room for any encoder that has been trained (and is 80 GB of float32 variables).
* ``TEXTBONES_MAX_LAYERS`` (default 1024): the most blocks a backbone may apply in depth
  (for ALBERT ``num_layers × num_inner_repetitions``, since its blocks are shared and a
  deep ALBERT holds few parameters). Keras builds one graph node per block, about 20 ms
  each, so 1024 takes seconds and a million would take hours.

Set either to a larger integer (``"1e11"`` is read too) or to ``"none"`` to lift it.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence
from typing import NamedTuple

MAX_PARAMETERS_VARIABLE = "TEXTBONES_MAX_PARAMETERS"
MAX_LAYERS_VARIABLE = "TEXTBONES_MAX_LAYERS"
DEFAULT_MAX_PARAMETERS = 20_000_000_000
DEFAULT_MAX_LAYERS = 1024

#: Constructor arguments that count something and must be integers >= 1 in every family.
POSITIVE_INTEGER_ARGUMENTS = (
    "vocabulary_size",
    "num_layers",
    "num_heads",
    "embedding_dim",
    "hidden_dim",
    "intermediate_dim",
    "num_groups",
    "num_inner_repetitions",
    "max_sequence_length",
    "num_segments",
)

_ITEM_SIZES = {
    "bfloat16": 2,
    "float16": 2,
    "float32": 4,
    "float64": 8,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
}


class ParameterPart(NamedTuple):
    """The parameters of one part of a backbone, and the config field that scales them.

    Example:

    >>> ParameterPart("vocabulary_size", 30522 * 128, "the token embedding")
    ParameterPart(field='vocabulary_size', parameters=3906816, what='the token embedding')
    """

    field: str
    parameters: int
    what: str


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_argument_values(owner: str, config: Mapping) -> None:
    """Refuse counts that are not integers >= 1 and rates outside ``[0, 1)``, by field.

    Only the fields present in ``config`` are checked.

    Example:

    >>> check_argument_values("Demo", {"num_layers": 2, "dropout": 0.1})
    >>> check_argument_values("Demo", {"num_layers": -1})
    Traceback (most recent call last):
    ...
    ValueError: Demo: `num_layers` must be an integer >= 1, got -1.
    """
    for name in POSITIVE_INTEGER_ARGUMENTS:
        if name not in config:
            continue
        value = config[name]
        if not _is_integer(value) or value < 1:
            kind = "" if _is_integer(value) else f" (a {type(value).__name__})"
            raise ValueError(f"{owner}: `{name}` must be an integer >= 1, got {value!r}{kind}.")
    if "dropout" in config:
        rate = config["dropout"]
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError(
                f"{owner}: `dropout` must be a number in [0, 1) (the fraction of units "
                f"dropped), got {rate!r}."
            )
    if "layer_norm_epsilon" in config:
        epsilon = config["layer_norm_epsilon"]
        if (
            isinstance(epsilon, bool)
            or not isinstance(epsilon, numbers.Real)
            or not math.isfinite(epsilon)
            or epsilon < 0
        ):
            raise ValueError(
                f"{owner}: `layer_norm_epsilon` must be a finite number >= 0, got {epsilon!r}."
            )
    if "num_heads" in config and config["hidden_dim"] % config["num_heads"] != 0:
        raise ValueError(
            f"`hidden_dim` ({config['hidden_dim']}) must be divisible by `num_heads` "
            f"({config['num_heads']}) so that every head gets hidden_dim / num_heads features. "
            "Change one of them."
        )


def limit_from_environment(variable: str, default: int) -> int | None:
    """The bound set by environment ``variable``, ``default`` if unset, ``None`` for "none".

    Example:

    >>> import os
    >>> os.environ["DEMO_LIMIT"] = "1e6"
    >>> limit_from_environment("DEMO_LIMIT", 10), limit_from_environment("UNSET_DEMO", 10)
    (1000000, 10)
    """
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if text.lower() in ("none", "inf", "unlimited"):
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value >= 1 and value == int(value)):
        raise ValueError(
            f"The environment variable {variable}={text!r} must be a whole number >= 1 "
            "(e.g. 50000000000 or 5e10) or 'none'."
        )
    return int(value)


def format_bytes(count: int) -> str:
    """A byte count in decimal units.

    Example:

    >>> format_bytes(413_000_000), format_bytes(3 * 10**15), format_bytes(12)
    ('413.0 MB', '3.0 PB', '12 bytes')
    """
    units = (("EB", 18), ("PB", 15), ("TB", 12), ("GB", 9), ("MB", 6), ("kB", 3))
    for unit, exponent in units:
        size = 10**exponent
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def item_size(dtype_name: str) -> int:
    """Bytes per element of a variable dtype such as ``"float32"`` or ``"bfloat16"``.

    Example:

    >>> item_size("bfloat16"), item_size("float32")
    (2, 4)
    """
    return _ITEM_SIZES.get(dtype_name, 4)


def check_backbone_size(
    owner: str,
    parts: Sequence[ParameterPart],
    depth: tuple[int, str],
    variable_dtype: str = "float32",
) -> None:
    """Refuse a backbone whose parameters or depth are beyond the bounds (see module doc).

    Args:
        owner: the class name, used in messages.
        parts: the backbone's parameters, part by part (their sum is the total).
        depth: the number of blocks the backbone applies, and the field(s) that set it.
        variable_dtype: the dtype the variables would be stored in, for the byte count.

    Example:

    >>> check_backbone_size("Demo", [ParameterPart("vocabulary_size", 10**12, "a table")],
    ...                     (2, "`num_layers`"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Demo would hold 1,000,000,000,000 parameters (4.0 TB as float32), ...
    """
    total = sum(part.parameters for part in parts)
    limit = limit_from_environment(MAX_PARAMETERS_VARIABLE, DEFAULT_MAX_PARAMETERS)
    size = item_size(variable_dtype)
    if limit is not None and total > limit:
        largest = max(parts, key=lambda part: part.parameters)
        raise ValueError(
            f"{owner} would hold {total:,} parameters ({format_bytes(total * size)} as "
            f"{variable_dtype}), more than the limit of {limit:,}. Most come from "
            f"`{largest.field}`: {largest.what} holds {largest.parameters:,} parameters "
            f"({format_bytes(largest.parameters * size)}). Check that value; to build so "
            f"large a model on purpose, set the environment variable "
            f"{MAX_PARAMETERS_VARIABLE} to a larger count (or to 'none')."
        )
    blocks, fields = depth
    layer_limit = limit_from_environment(MAX_LAYERS_VARIABLE, DEFAULT_MAX_LAYERS)
    if layer_limit is not None and blocks > layer_limit:
        raise ValueError(
            f"{owner} would apply {blocks:,} blocks in depth ({fields}), more than the "
            f"limit of {layer_limit:,}: Keras would spend hours building a graph that deep. "
            f"Check that value; to build so deep a model on purpose, set the environment "
            f"variable {MAX_LAYERS_VARIABLE} to a larger count (or to 'none')."
        )


def embedding_parts(config: Mapping, width: int) -> list[ParameterPart]:
    """The token, position and segment tables of ``TextEmbeddings`` at ``width``.

    Example:

    >>> [part.parameters for part in embedding_parts(
    ...     {"vocabulary_size": 10, "max_sequence_length": 8, "num_segments": 2}, 4)]
    [40, 32, 8]
    """
    return [
        ParameterPart(
            "vocabulary_size",
            config["vocabulary_size"] * width,
            f"the token embedding (vocabulary_size {config['vocabulary_size']:,} x {width:,})",
        ),
        ParameterPart(
            "max_sequence_length",
            config["max_sequence_length"] * width,
            f"the position embedding (max_sequence_length {config['max_sequence_length']:,} "
            f"x {width:,})",
        ),
        ParameterPart(
            "num_segments",
            config["num_segments"] * width,
            f"the segment embedding (num_segments {config['num_segments']:,} x {width:,})",
        ),
    ]


def transformer_block_parameters(hidden_dim: int, intermediate_dim: int) -> int:
    """Parameters of one ``TransformerEncoder``: attention, two layer norms, feed-forward.

    Example:

    >>> transformer_block_parameters(128, 512)
    198272
    """
    attention = 4 * (hidden_dim * hidden_dim + hidden_dim)
    layer_norms = 2 * 2 * hidden_dim
    feedforward = 2 * hidden_dim * intermediate_dim + intermediate_dim + hidden_dim
    return attention + layer_norms + feedforward


def f_net_block_parameters(hidden_dim: int, intermediate_dim: int) -> int:
    """Parameters of one ``FNetEncoder``: two layer norms and the feed-forward network.

    Example:

    >>> f_net_block_parameters(768, 3072)
    4725504
    """
    return 2 * 2 * hidden_dim + 2 * hidden_dim * intermediate_dim + intermediate_dim + hidden_dim
