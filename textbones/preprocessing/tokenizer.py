"""The ``Tokenizer`` base class: string handling, padding, vocabulary lookups and presets.

Tokenizers run on Python strings and NumPy arrays only, never on backend tensors, so
they behave the same under JAX, PyTorch and TensorFlow and inside data-loading workers.
Subclasses implement four hooks (``_tokenize_batch``, ``_detokenize_batch``,
``get_vocabulary`` and the asset I/O); everything a user calls lives here once.
"""

import numbers
import pathlib
from collections.abc import Iterable, Mapping, Sequence, Set
from typing import Any, ClassVar

import numpy as np

from textbones.models.classproperty import classproperty
from textbones.preprocessing.tf_tensors import accepts_tf_tensors
from textbones.serialization import register_keras_hub_aliases

TOKENIZER_CONFIG_FILE = "tokenizer.json"
TOKENIZER_ASSET_DIR = ("assets", "tokenizer")


def special_token_id(attribute: str) -> property:
    """A read-only property: the id of the special token named by ``attribute``.

    Families declare ``cls_token_id = special_token_id("cls_token")`` and so on, so the
    lookup is written once.

    Example:

    >>> class Demo:
    ...     cls_token = "[CLS]"
    ...     cls_token_id = special_token_id("cls_token")
    ...     def _special_token_id(self, token):
    ...         return {"[CLS]": 2}[token]
    >>> Demo().cls_token_id
    2
    """

    def getter(self) -> int | None:
        return self._special_token_id(getattr(self, attribute))

    return property(getter, doc=f"The id of ``{attribute}``.")


class Tokenizer:
    """Base class of every tokenizer: text in, int32 ids out, and back.

    ``tokenize`` (also ``__call__``) takes one string or a batch of strings (a list,
    tuple or NumPy array). One string gives a 1-D int32 array; a batch gives a list of
    1-D arrays, or a padded ``[batch, sequence_length]`` array when ``sequence_length``
    is set (longer rows are truncated, shorter ones padded with the pad id).
    ``detokenize`` reverses it.

    Args:
        sequence_length: pad or truncate outputs to this length; ``None`` keeps each
            row's own length.
        name: a name kept in the config, as Keras layers have.
        dtype: the id dtype, ``"int32"`` by default (a Keras dtype-policy config is
            accepted too, as KerasHub writes one).
        **kwargs: ``trainable`` and ``config_file`` as found in KerasHub configs; ignored.

    Subclasses set ``special_token_names`` (attribute names such as ``"cls_token"``), fill
    those attributes in ``__init__``, and implement the hooks.

    Example:

    >>> from textbones.tokenizers import BertTokenizer
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox"], sequence_length=4)
    >>> tokenizer(["the fox", "fox"]).tolist(), tokenizer.detokenize([5, 6])
    ([[5, 6, 0, 0], [6, 0, 0, 0]], 'the fox')
    """

    #: Names of the attributes holding this tokenizer's special token strings.
    special_token_names: ClassVar[tuple[str, ...]] = ()
    #: File name of the vocabulary inside ``assets/tokenizer/`` of a preset.
    asset_file: ClassVar[str] = ""
    _registry: ClassVar[dict[str, type["Tokenizer"]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Tokenizer._registry[cls.__name__] = cls
        register_keras_hub_aliases(cls)

    def __init__(self, sequence_length: int | None = None, name: str | None = None, dtype="int32", **kwargs):
        unexpected = set(kwargs) - {"trainable", "config_file"}
        if unexpected:
            raise TypeError(
                f"{type(self).__name__} got unexpected argument(s) {sorted(unexpected)}."
            )
        if isinstance(dtype, dict):  # a serialized Keras DTypePolicy
            dtype = dtype.get("config", {}).get("name", "int32")
        if sequence_length is not None and (
            isinstance(sequence_length, bool)
            or not isinstance(sequence_length, numbers.Integral)
            or sequence_length <= 0
        ):
            raise ValueError(f"`sequence_length` must be a positive integer or None, got {sequence_length!r}.")
        self.sequence_length = None if sequence_length is None else int(sequence_length)
        self.name = name or _snake_case(type(self).__name__)
        self.dtype = str(dtype)

    # -- hooks for subclasses ------------------------------------------------------------
    def _tokenize_batch(self, texts: list[str]) -> list[list[int]]:
        raise NotImplementedError

    def _detokenize_batch(self, ids: list[list[int]]) -> list[str]:
        raise NotImplementedError

    def get_vocabulary(self) -> list[str]:
        """Every token, in id order."""
        raise NotImplementedError

    def save_assets(self, directory: pathlib.Path) -> None:
        """Write the vocabulary into ``directory`` (a preset's ``assets/tokenizer``)."""
        raise NotImplementedError

    def load_assets(self, directory: pathlib.Path) -> None:
        """Read the vocabulary from ``directory`` (a preset's ``assets/tokenizer``)."""
        raise NotImplementedError

    @property
    def pad_token_id(self) -> int:
        """The id used to pad rows to ``sequence_length``."""
        return 0

    # -- the public surface ----------------------------------------------------------------
    @accepts_tf_tensors
    def tokenize(self, inputs):
        """Token ids of a string (1-D int32 array) or of a batch of strings (see the class doc)."""
        texts, single = _as_texts(inputs, type(self).__name__)
        rows = self._tokenize_batch(texts)
        if single:
            return self._pad([rows[0]])[0] if self.sequence_length else np.asarray(rows[0], self.dtype)
        if self.sequence_length:
            return self._pad(rows)
        return [np.asarray(row, self.dtype) for row in rows]

    def __call__(self, inputs):
        return self.tokenize(inputs)

    @accepts_tf_tensors
    def detokenize(self, inputs):
        """Text of a 1-D id sequence, or a list of texts for a batch (2-D array or list of rows)."""
        if isinstance(inputs, np.ndarray) and inputs.ndim == 1 or (
            isinstance(inputs, Sequence) and inputs and np.isscalar(inputs[0])
        ):
            return self._detokenize_batch([self._checked_ids(inputs)])[0]
        return self._detokenize_batch([self._checked_ids(row) for row in inputs])

    def vocabulary_size(self) -> int:
        """Number of ids, special tokens included."""
        return len(self.get_vocabulary())

    def id_to_token(self, id: int) -> str:
        """The token string of an id."""
        vocabulary = self.get_vocabulary()
        if not 0 <= int(id) < len(vocabulary):
            raise ValueError(f"Id {id} is outside the vocabulary, whose ids are 0 to {len(vocabulary) - 1}.")
        return vocabulary[int(id)]

    def token_to_id(self, token: str) -> int:
        """The id of a token string; a ``ValueError`` if the vocabulary lacks it."""
        index = self._token_index().get(token)
        if index is None:
            raise ValueError(f"The token {token!r} is not in the vocabulary.")
        return index

    def _special_token_id(self, token: str) -> int | None:
        """The id of a special token (subclasses may answer ``None`` before loading)."""
        return self.token_to_id(token)

    @property
    def special_tokens(self) -> list[str]:
        """This tokenizer's special tokens, e.g. ``["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"]``."""
        return [getattr(self, name) for name in self.special_token_names if getattr(self, name, None) is not None]

    @property
    def special_token_ids(self) -> list[int]:
        """The ids of :attr:`special_tokens`, in the same order."""
        return [self.token_to_id(token) for token in self.special_tokens]

    # -- serialization -----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments; subclasses add theirs (vocabularies are left out as ``None``)."""
        return {
            "name": self.name,
            "trainable": True,
            "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": self.dtype}, "registered_name": None},
            "config_file": TOKENIZER_CONFIG_FILE,
            "sequence_length": self.sequence_length,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Tokenizer":
        return cls(**config)

    @classproperty
    def presets(cls) -> dict[str, dict[str, Any]]:
        """The built-in presets whose tokenizer is this class (or a subclass), by name."""
        from textbones.presets.registry import builtin_presets

        return {
            name: entry
            for name, entry in builtin_presets().items()
            if entry.get("tokenizer_class") in {n for n, k in Tokenizer._registry.items() if issubclass(k, cls)}
        }

    @classmethod
    def from_preset(cls, preset, **kwargs) -> "Tokenizer":
        """Load the tokenizer of a preset (``tokenizer.json`` and ``assets/tokenizer/``).

        Takes the same handles as ``Backbone.from_preset``; on the ``Tokenizer`` base
        the class is read from the preset. ``kwargs`` override the saved config.
        """
        from textbones.presets.loader import load_tokenizer

        return load_tokenizer(cls, preset, **kwargs)

    def save_to_preset(self, preset_dir, format: str = "keras") -> None:
        """Write ``tokenizer.json`` and the vocabulary under ``assets/tokenizer/``, atomically.

        With ``format="transformers"``: ``vocab.txt`` or ``spiece.model`` and
        ``tokenizer_config.json``, as Hugging Face's ``AutoTokenizer`` reads them.
        """
        from textbones.presets.saver import save_tokenizer

        save_tokenizer(self, preset_dir, format=format)

    # -- helpers ---------------------------------------------------------------------------
    def _pad(self, rows: list[list[int]]) -> np.ndarray:
        length = self.sequence_length
        output = np.full((len(rows), length), self.pad_token_id, dtype=self.dtype)
        for index, row in enumerate(rows):
            row = row[:length]
            output[index, : len(row)] = row
        return output

    def _token_index(self) -> dict[str, int]:
        cache = getattr(self, "_token_index_cache", None)
        if cache is None:
            cache = {token: index for index, token in enumerate(self.get_vocabulary())}
            self._token_index_cache = cache
        return cache

    def _checked_ids(self, row) -> list[int]:
        ids = np.asarray(row)
        if ids.dtype.kind not in "iu":
            raise ValueError(f"detokenize takes integer ids, got dtype {ids.dtype}.")
        size = self.vocabulary_size()
        if ids.size and (ids.min() < 0 or ids.max() >= size):
            bad = int(ids.min() if ids.min() < 0 else ids.max())
            raise ValueError(f"Id {bad} is outside the vocabulary, whose ids are 0 to {size - 1}.")
        return ids.tolist()


def _snake_case(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _as_texts(inputs, owner: str, segment: tuple[int, int] | None = None) -> tuple[list[str], bool]:
    """``inputs`` as a list of str, and whether it was a single string.

    The one place where raw text is checked item by item, for tokenizers, preprocessors
    and the raw-text inputs of tasks: ``None``, NaN, numbers, nested lists and any other
    non-string are refused with their index (and, for ``segment=(index, count)``, which
    segment of a pair), never turned into text such as ``"None"`` or ``"nan"``. A dict or
    a set is refused too: iterating it would read its keys, in no meaningful order.

    Example:

    >>> _as_texts(["a", b"b"], "Demo")
    (['a', 'b'], False)
    >>> _as_texts(["a", None], "Demo", segment=(1, 2))  # doctest: +ELLIPSIS
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
        return _as_texts(inputs.item(), owner, segment)
    if isinstance(inputs, (Mapping, Set)):
        kind = "dict" if isinstance(inputs, Mapping) else "set"
        raise ValueError(
            f"{owner} takes a string or a list of strings, got a {type(inputs).__name__}: "
            f"reading a {kind} as text would take its {'keys' if kind == 'dict' else 'items'} "
            "in no meaningful order. Pass a list of the texts (e.g. `list(texts.values())`)."
        )
    if not isinstance(inputs, (Iterable, np.ndarray)):
        raise ValueError(f"{owner} takes a string or a list of strings, got {type(inputs).__name__}.")
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
