"""The registered model families, as the family-wide tests see them.

Every test that runs once per family iterates over ``textbones.registry.families()``
through these helpers, so that a new family is covered by registering it: no test module
lists the families or their classes. What a test needs to know about a family is read
from the registry or derived from the family's classes (the tokenizer's base class, the
backbone's input names), never keyed by the family's name.

Example:

>>> import tests.helpers.families as families
>>> [family.name for family in families.families()][:3]
['bert', 'albert', 'f_net']
>>> backbone = families.tiny_backbone(families.family("bert"))
>>> sorted(families.backbone_inputs(families.family("bert"), lengths=(2,), total=3))
['padding_mask', 'segment_ids', 'token_ids']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import keras
import numpy as np
import pytest

import textbones  # noqa: F401 - importing the models registers the families
from tests.helpers.sentence_piece import tiny_proto
from textbones import registry
from textbones.preprocessing.sentence_piece_tokenizer import SentencePieceTokenizer
from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer

#: The vocabulary size of the tiny backbones (the registry's ``tiny_config`` leaves it out).
TINY_VOCABULARY_SIZE = 97

#: A WordPiece vocabulary for the tiny tokenizers: the five special tokens, then words.
TINY_WORD_PIECE_VOCABULARY = (
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + ["the", "a", "quick", "brown", "fox", "dog", "cat", "sat", "ran", "on", "mat", "."]
    + ["##s", "##ed", "##ing"]
)


def families() -> tuple[registry.Family, ...]:
    """Every registered family, in registration order."""
    return registry.families()


def family(name: str) -> registry.Family:
    """The registered family called ``name``."""
    return registry.family(name)


def family_names(where: Callable[[registry.Family], bool] | None = None) -> list[str]:
    """The names of the registered families (those ``where`` accepts, if given).

    Example:

    >>> family_names(lambda family: not has_padding_mask(family))
    ['f_net']
    """
    return [family.name for family in families() if where is None or where(family)]


def family_params(where: Callable[[registry.Family], bool] | None = None) -> list[Any]:
    """``pytest.param`` of each registered family (those ``where`` accepts), by name.

    For ``@pytest.mark.parametrize("family", family_params())``.

    Example:

    >>> [param.id for param in family_params()][:2]
    ['bert', 'albert']
    >>> family_params()[0].values[0].display_name
    'Bert'
    """
    return [
        pytest.param(family, id=family.name)
        for family in families()
        if where is None or where(family)
    ]


def has_segment_ids(family: registry.Family) -> bool:
    """Whether the family's backbone takes ``segment_ids``.

    Example:

    >>> has_segment_ids(family("f_net"))
    True
    """
    return "segment_ids" in family.backbone.input_names


def has_padding_mask(family: registry.Family) -> bool:
    """Whether the family's backbone takes a ``padding_mask`` (FNet's does not).

    Example:

    >>> has_padding_mask(family("bert")), has_padding_mask(family("f_net"))
    (True, False)
    """
    return "padding_mask" in family.backbone.input_names


def tiny_config(family: registry.Family, **overrides: Any) -> dict[str, Any]:
    """The constructor arguments of the family's tiny backbone, ``overrides`` on top.

    Example:

    >>> tiny_config(family("bert"), num_layers=1)["num_layers"]
    1
    >>> tiny_config(family("bert"))["vocabulary_size"]
    97
    """
    return {"vocabulary_size": TINY_VOCABULARY_SIZE, **family.tiny_config, **overrides}


def perturb_weights(model: keras.Layer, seed: int = 0) -> None:
    """Move every weight (layer norms and biases too) away from its initial value.

    Example:

    >>> layer = keras.layers.Dense(2)
    >>> layer.build((None, 3))
    >>> perturb_weights(layer)
    >>> bool(np.any(keras.ops.convert_to_numpy(layer.bias) != 0))
    True
    """
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        value = np.asarray(keras.ops.convert_to_numpy(variable))
        variable.assign(value + rng.normal(0.0, 0.05, value.shape).astype(value.dtype))


def tiny_backbone(family: registry.Family, seed: int = 0, **overrides: Any) -> keras.Model:
    """A tiny backbone of ``family`` (its ``tiny_config``), weights moved off their init.

    Example:

    >>> type(tiny_backbone(family("albert"), num_layers=2)).__name__
    'AlbertBackbone'
    """
    keras.utils.set_random_seed(seed)
    model = family.backbone(**tiny_config(family, **overrides))
    perturb_weights(model, seed)
    return model


def backbone_inputs(
    family: registry.Family,
    lengths: tuple[int, ...] = (7, 5, 2),
    total: int = 7,
    seed: int = 0,
    vocabulary_size: int = TINY_VOCABULARY_SIZE,
) -> dict[str, np.ndarray]:
    """A batch for the family's backbone: rows of the given real lengths, right-padded
    with id 0; only the inputs the backbone takes.

    Example:

    >>> batch = backbone_inputs(family("f_net"), lengths=(3, 1), total=4)
    >>> sorted(batch), batch["token_ids"][1].tolist()[1:]
    (['segment_ids', 'token_ids'], [0, 0, 0])
    """
    rng = np.random.default_rng(seed)
    mask = (np.arange(total)[None, :] < np.array(lengths)[:, None]).astype("int32")
    inputs = {
        "token_ids": (rng.integers(1, vocabulary_size, (len(lengths), total)) * mask).astype(
            "int32"
        ),
        "segment_ids": ((np.arange(total)[None, :] >= 3) * mask).astype("int32"),
        "padding_mask": mask,
    }
    return {name: inputs[name] for name in family.backbone.input_names}


def tiny_tokenizer(
    family: registry.Family,
    vocabulary: list[str] | None = None,
    proto: bytes | None = None,
    **kwargs: Any,
):
    """A tokenizer of ``family`` on a tiny vocabulary, chosen by the tokenizer's base class:
    a WordPiece vocabulary (``vocabulary``, by default ``TINY_WORD_PIECE_VOCABULARY``) or a
    SentencePiece model (``proto``, by default ``tiny_proto("albert")``).

    Example:

    >>> tiny_tokenizer(family("bert")).vocabulary_size()
    20
    >>> tiny_tokenizer(family("f_net")).mask_token_id
    4
    """
    if issubclass(family.tokenizer, WordPieceTokenizer):
        return family.tokenizer(vocabulary=vocabulary or TINY_WORD_PIECE_VOCABULARY, **kwargs)
    if issubclass(family.tokenizer, SentencePieceTokenizer):
        return family.tokenizer(proto=proto or tiny_proto("albert"), **kwargs)
    raise TypeError(
        f"{family.tokenizer.__name__} is neither a WordPieceTokenizer nor a "
        "SentencePieceTokenizer; teach tests/helpers/families.py:tiny_tokenizer its vocabulary."
    )


def uses_word_piece(family: registry.Family) -> bool:
    """Whether the family's tokenizer is a WordPiece one (else SentencePiece).

    Example:

    >>> uses_word_piece(family("bert")), uses_word_piece(family("albert"))
    (True, False)
    """
    return issubclass(family.tokenizer, WordPieceTokenizer)


def outputs_by_name(outputs: Any) -> Mapping[str, Any]:
    """A backbone's outputs by name: its dict as is, a single tensor as ``sequence_output``.

    Example:

    >>> sorted(outputs_by_name(np.zeros((1, 2, 3))))
    ['sequence_output']
    """
    if isinstance(outputs, Mapping):
        return outputs
    return {"sequence_output": outputs}


def other_family(family: registry.Family) -> registry.Family:
    """Another registered family (the next one, cyclically), for the tests that mix two.

    Example:

    >>> other_family(family("bert")).name
    'albert'
    """
    names = family_names()
    return registry.family(names[(names.index(family.name) + 1) % len(names)])
