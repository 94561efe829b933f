"""The ``Tokenizer`` base class: padding, vocabulary lookups, offsets and presets.

Tokenizers run on Python strings and NumPy arrays only, never on backend tensors, so
they behave the same under JAX, PyTorch and TensorFlow and inside data-loading workers.
Subclasses implement four hooks (``_tokenize_batch``, ``_detokenize_batch``,
``get_vocabulary`` and the asset I/O); everything a user calls lives here once. What
the methods accept as text, words or ids is checked in ``text_inputs``.
"""

import numbers
import pathlib
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from textbones import registry
from textbones.classproperty import classproperty
from textbones.preprocessing.text_inputs import as_texts, token_rows, word_examples
from textbones.preprocessing.tf_tensors import accepts_tf_tensors
from textbones.preprocessing.token_spans import TokenSpans
from textbones.presets.files import TOKENIZER_CONFIG_FILE
from textbones.serialization import register_keras_hub_aliases


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
    """Base class of every tokenizer: text in, int32 ids (or token strings) out, and back.

    ``tokenize`` (also ``__call__``) takes one string or a batch of strings (a list,
    tuple or NumPy array), and returns what KerasHub 0.32 returns for the same call:

    - one string: a 1-D NumPy array of ids, padded or truncated to ``sequence_length``
      when it is set;
    - a batch with ``sequence_length``: a ``[batch, sequence_length]`` NumPy array
      (longer rows are truncated, shorter ones padded with the pad id);
    - a batch without it: a list of Python lists of ints, one per string (rows differ
      in length, so no array can hold them).

    With ``dtype="string"`` the tokens themselves come out instead of their ids, always
    as Python lists (a list of str for one string, a list of lists for a batch), padded
    with ``""`` to ``sequence_length`` when it is set. ``detokenize`` reverses either.

    Args:
        sequence_length: pad or truncate outputs to this length; ``None`` keeps each
            row's own length.
        name: a name kept in the config, as Keras layers have.
        dtype: ``"int32"`` by default, any integer dtype, or ``"string"`` for token
            strings (a Keras dtype-policy config is accepted too, as KerasHub writes one).
        **kwargs: ``trainable`` and ``config_file`` as found in KerasHub configs; ignored.

    Subclasses set ``special_token_names`` (attribute names such as ``"cls_token"``), fill
    those attributes in ``__init__``, and implement the hooks.

    Example:

    >>> from textbones.tokenizers import BertTokenizer
    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox"]
    >>> tokenizer = BertTokenizer(vocabulary, sequence_length=4)
    >>> tokenizer(["the fox", "fox"]).tolist(), tokenizer.detokenize([5, 6])
    ([[5, 6, 0, 0], [6, 0, 0, 0]], 'the fox')
    >>> BertTokenizer(vocabulary)(["the fox", "fox"])
    [[5, 6], [6]]
    >>> BertTokenizer(vocabulary, dtype="string", sequence_length=3)(["the fox", "fox"])
    [['the', 'fox', ''], ['fox', '', '']]
    """

    #: Names of the attributes holding this tokenizer's special token strings.
    special_token_names: ClassVar[tuple[str, ...]] = ()
    #: File name of the vocabulary inside ``assets/tokenizer/`` of a preset.
    asset_file: ClassVar[str] = ""
    _registry: ClassVar[Mapping[str, type["Tokenizer"]]] = registry.classes("tokenizer")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        registry.register_class("tokenizer", cls)
        register_keras_hub_aliases(cls)

    def __init__(
        self, sequence_length: int | None = None, name: str | None = None, dtype="int32", **kwargs
    ):
        unexpected = set(kwargs) - {"trainable", "config_file"}
        if unexpected:
            raise TypeError(
                f"{type(self).__name__} got unexpected argument(s) {sorted(unexpected)}."
            )
        if isinstance(dtype, dict):  # a serialized Keras DTypePolicy
            dtype = dtype.get("config", {}).get("name", "int32")
        dtype = _checked_dtype(dtype, type(self).__name__)
        if sequence_length is not None and (
            isinstance(sequence_length, bool)
            or not isinstance(sequence_length, numbers.Integral)
            or sequence_length <= 0
        ):
            raise ValueError(
                f"`sequence_length` must be a positive integer or None, got {sequence_length!r}."
            )
        self.sequence_length = None if sequence_length is None else int(sequence_length)
        self.name = name or _snake_case(type(self).__name__)
        self.dtype = dtype

    # -- hooks for subclasses ------------------------------------------------------------
    def _tokenize_batch(self, texts: list[str]) -> list[list[int]]:
        raise NotImplementedError

    def _detokenize_batch(self, ids: list[list[int]]) -> list[str]:
        raise NotImplementedError

    def _tokenize_batch_as_strings(self, texts: list[str]) -> list[list[str]]:
        """The token strings of each text (``dtype="string"``): by default the
        vocabulary entries of its ids; SentencePiece returns its own pieces."""
        vocabulary = self.get_vocabulary()
        return [[vocabulary[index] for index in row] for row in self._tokenize_batch(texts)]

    def _detokenize_strings(self, rows: list[list[str]]) -> list[str]:
        """Text of rows of token strings: by default through their ids."""
        return self._detokenize_batch([[self.token_to_id(token) for token in row] for row in rows])

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

    @property
    def start_token_id(self) -> int | None:
        """The id a packer puts at the start of every row, as KerasHub's tokenizers name it.

        It is the id of the tokenizer's ``start_token`` (``[CLS]`` for every family so far,
        the WordPiece ones and the SentencePiece ones alike), or ``None`` for a tokenizer
        without one (a bare ``WordPieceTokenizer`` or ``SentencePieceTokenizer``).

        Example:

        >>> from textbones.tokenizers import BertTokenizer, WordPieceTokenizer
        >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the"]
        >>> BertTokenizer(vocabulary).start_token_id, BertTokenizer(vocabulary).end_token_id
        (2, 3)
        >>> WordPieceTokenizer(vocabulary).start_token_id is None
        True
        """
        return self._optional_special_token_id("start_token")

    @property
    def end_token_id(self) -> int | None:
        """The id a packer puts after each segment (``[SEP]`` so far), or ``None``; see
        ``start_token_id``."""
        return self._optional_special_token_id("end_token")

    def _optional_special_token_id(self, attribute: str) -> int | None:
        token = getattr(self, attribute, None)
        return None if token is None else self._special_token_id(token)

    # -- the public surface ----------------------------------------------------------------
    @property
    def outputs_strings(self) -> bool:
        """Whether this tokenizer outputs token strings (``dtype="string"``) rather than ids."""
        return self.dtype == "string"

    @accepts_tf_tensors
    def tokenize(self, inputs):
        """Ids (or token strings) of a string or of a batch of strings (see the class doc)."""
        rows, single = self._tokenized_rows(inputs)
        return self._shaped(rows, single)

    def _tokenized_rows(self, inputs) -> tuple[list[list], bool]:
        """The token rows of ``inputs`` (one per string) and whether it was one string;
        a subclass reading its input differently (``split=False``) overrides this."""
        texts, single = as_texts(inputs, type(self).__name__)
        return self._tokenize_texts(texts), single

    def _tokenize_texts(self, texts: list[str]) -> list[list]:
        if self.outputs_strings:
            return self._tokenize_batch_as_strings(texts)
        return self._tokenize_batch(texts)

    def _shaped(self, rows: list[list], single: bool):
        """Rows of tokens in KerasHub's output form: a NumPy array where the result is
        dense ids, Python lists where it is ragged or made of strings."""
        if self.outputs_strings:
            if self.sequence_length:
                length = self.sequence_length
                rows = [row[:length] + [""] * (length - len(row)) for row in rows]
            return rows[0] if single else rows
        if self.sequence_length:
            padded = self._pad(rows)
            return padded[0] if single else padded
        if single:
            return np.asarray(rows[0], self.dtype)
        return [list(row) for row in rows]

    def __call__(self, inputs):
        return self.tokenize(inputs)

    def tokenize_with_offsets(self, inputs, *, is_split_into_words: bool = False):
        """The ids of a string (or of a batch) with each token's character span and word.

        Returns a ``TokenSpans`` for one string, a list of them for a batch. The ids are
        those ``tokenize`` gives (never padded or truncated here: ``sequence_length`` is
        the packer's business); the offsets index the original string, before lowercasing
        or accent stripping, so ``text[start:end]`` is what each token was read from.

        With ``is_split_into_words=True`` the input is words: a list of strings is one
        example, a list of such lists a batch. Each token's word index is then the index
        of the word it came from and its offsets index that word, as Hugging Face's
        ``is_split_into_words`` gives them.

        Example:

        >>> from textbones.tokenizers import BertTokenizer
        >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "new", "york", "##er"]
        >>> tokenizer = BertTokenizer(vocabulary, lowercase=True)
        >>> [spans.offsets.tolist() for spans in tokenizer.tokenize_with_offsets(
        ...     ["New Yorker", "york"])]
        [[[0, 3], [4, 8], [8, 10]], [[0, 4]]]
        >>> spans = tokenizer.tokenize_with_offsets(["New", "Yorker"], is_split_into_words=True)
        >>> spans.word_ids.tolist(), spans.offsets.tolist()
        ([0, 1, 1], [[0, 3], [0, 4], [4, 6]])
        """
        if self.outputs_strings:
            raise ValueError(
                f"{type(self).__name__} was built with dtype='string'; tokenize_with_offsets "
                "returns ids. Build the tokenizer with an integer dtype (the default)."
            )
        if is_split_into_words:
            examples, single = word_examples(inputs, type(self).__name__)
            spans = self._tokenize_words_with_offsets(examples)
        else:
            texts, single = as_texts(inputs, type(self).__name__)
            spans = self._tokenize_with_offsets(texts)
        return spans[0] if single else spans

    def _tokenize_with_offsets(self, texts: list[str]) -> list[TokenSpans]:
        """Hook: the ``TokenSpans`` of each text."""
        raise NotImplementedError(f"{type(self).__name__} cannot give token offsets yet.")

    def _tokenize_words_with_offsets(self, examples: list[list[str]]) -> list[TokenSpans]:
        """Hook: the ``TokenSpans`` of each example of pre-split words. By default each word
        is tokenized as a text of its own and its tokens take the word's index."""
        words = [word for example in examples for word in example]
        pieces = iter(self._tokenize_with_offsets(words))
        result = []
        for example in examples:
            ids, offsets, word_ids, special = [], [], [], []
            for index, _ in enumerate(example):
                word = next(pieces)
                ids += word.ids.tolist()
                offsets += word.offsets.tolist()
                word_ids += [index] * len(word)
                special += word.special.tolist()
            result.append(TokenSpans.from_lists(list(example), ids, offsets, word_ids, special))
        return result

    @accepts_tf_tensors
    def detokenize(self, inputs):
        """Text of one row of ids, or a list of texts for a batch (2-D array or list of rows).

        Rows of token strings (what ``dtype="string"`` gives) are read too; their ``""``
        padding is dropped.
        """
        rows, single = token_rows(inputs, type(self).__name__)
        if rows and any(row and isinstance(row[0], str) for row in rows):
            texts = self._detokenize_strings([self._checked_strings(row) for row in rows])
        else:
            texts = self._detokenize_batch([self._checked_ids(row) for row in rows])
        return texts[0] if single else texts

    def vocabulary_size(self) -> int:
        """Number of ids, special tokens included."""
        return len(self.get_vocabulary())

    def id_to_token(self, id: int) -> str:
        """The token string of an id."""
        vocabulary = self.get_vocabulary()
        if not 0 <= int(id) < len(vocabulary):
            raise ValueError(
                f"Id {id} is outside the vocabulary, whose ids are 0 to {len(vocabulary) - 1}."
            )
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
        """This tokenizer's special tokens, e.g.
        ``["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"]``."""
        return [
            getattr(self, name)
            for name in self.special_token_names
            if getattr(self, name, None) is not None
        ]

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
            "dtype": {
                "module": "keras",
                "class_name": "DTypePolicy",
                "config": {"name": self.dtype},
                "registered_name": None,
            },
            "config_file": TOKENIZER_CONFIG_FILE,
            "sequence_length": self.sequence_length,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Tokenizer":
        return cls(**config)

    @classproperty
    def presets(cls) -> dict[str, dict[str, Any]]:
        """The built-in presets this class can load, by name, as KerasHub lists them: those
        of every family whose tokenizer is this class or a subclass of it, or whose
        tokenizer this class subclasses. Values are those of ``Backbone.presets``.

        Example:

        >>> import textbones
        >>> sorted(textbones.models.FNetTokenizer.presets)
        ['f_net_base_en', 'f_net_large_en']
        >>> len(Tokenizer.presets) == len(textbones.models.Backbone.presets)
        True
        """
        from textbones.presets.registry import presets_for_class

        owner = registry.family_of(cls)
        return presets_for_class(
            {
                family.backbone.__name__
                for family in registry.families()
                if family is owner or issubclass(family.tokenizer, cls)
            }
        )

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

    def _checked_strings(self, row) -> list[str]:
        if not all(isinstance(token, str) for token in row):
            raise ValueError(
                "detokenize takes rows of integer ids or rows of token strings, not both "
                f"in one call; got {row!r}."
            )
        return [token for token in row if token]

    def _checked_ids(self, row) -> list[int]:
        ids = np.asarray(row)
        if ids.size == 0:
            return []
        if ids.dtype.kind not in "iu":
            raise ValueError(
                f"detokenize takes integer ids (or token strings), got dtype {ids.dtype}."
            )
        size = self.vocabulary_size()
        if ids.size and (ids.min() < 0 or ids.max() >= size):
            bad = int(ids.min() if ids.min() < 0 else ids.max())
            raise ValueError(f"Id {bad} is outside the vocabulary, whose ids are 0 to {size - 1}.")
        return ids.tolist()


def _checked_dtype(dtype, owner: str) -> str:
    """``dtype`` as a name: an integer dtype or ``"string"`` (what tokenizers can output)."""
    if dtype in ("string", str):
        return "string"
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind not in "iu":
        raise ValueError(
            f"{owner} outputs token ids or token strings, so `dtype` must be an integer "
            f'dtype (such as "int32") or "string"; got dtype={dtype!r}.'
        )
    return resolved.name


def _snake_case(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
