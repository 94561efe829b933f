"""WordPiece tokenization, as BERT does it, on the Rust ``tokenizers`` library.

The text pipeline is the one Hugging Face's ``BertTokenizerFast`` builds: clean the text
(control and format characters dropped, every whitespace character made a space), put
spaces around CJK ideographs, strip accents and lowercase, split on whitespace and
punctuation, then match the longest vocabulary piece greedily inside each word. The
same settings therefore give the same ids as ``BertTokenizerFast`` on the same
vocabulary, and the whole batch is encoded in Rust.
"""

import os
import pathlib
import re
from collections.abc import Iterable
from typing import Any

import keras
import numpy as np
import tokenizers
from tokenizers import normalizers, pre_tokenizers

from textbones.preprocessing.safe_mode import refuse_file_in_safe_mode
from textbones.preprocessing.text_inputs import as_texts
from textbones.preprocessing.token_spans import TokenSpans
from textbones.preprocessing.tokenizer import Tokenizer
from textbones.presets.atomic_directory import replace_file

#: A word longer than this many characters becomes the out-of-vocabulary token (as in BERT).
MAX_CHARS_PER_WORD = 100
VOCABULARY_FILE = "vocabulary.txt"
#: A line break as Python's universal newlines see one.
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def configure_word_splitting(
    backend: tokenizers.Tokenizer,
    *,
    lowercase: bool,
    strip_accents: bool,
    split: bool,
    split_on_cjk: bool,
) -> None:
    """Give a ``tokenizers.Tokenizer`` BERT's normalizer and word splitter for these options.

    ``lowercase`` implies accent stripping, as BERT's uncased models (and
    ``BertTokenizerFast(do_lower_case=True)``) do. With ``split=False`` the text is
    neither cleaned nor split: each input string is one word.

    Args:
        backend: the tokenizer to configure in place.
        lowercase: lowercase the text (and strip accents).
        strip_accents: strip accents (decompose, then drop non-spacing marks).
        split: clean the text and split it on whitespace and punctuation.
        split_on_cjk: with ``split``, make every CJK ideograph a word of its own.

    Example:

    >>> import tokenizers
    >>> backend = tokenizers.Tokenizer(tokenizers.models.WordPiece(unk_token="[UNK]"))
    >>> configure_word_splitting(
    ...     backend, lowercase=True, strip_accents=False, split=True, split_on_cjk=True
    ... )
    >>> backend.normalizer.normalize_str("Déjà Vu")
    'deja vu'
    """
    backend.normalizer = normalizers.BertNormalizer(
        clean_text=split,
        handle_chinese_chars=split and split_on_cjk,
        strip_accents=bool(strip_accents or lowercase),
        lowercase=lowercase,
    )
    if split:
        backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()


def read_vocabulary_file(path: str | os.PathLike) -> list[str]:
    """The tokens of a one-token-per-line vocabulary file, in id order.

    Lines end at ``\\n``, ``\\r\\n`` or ``\\r``; the line break is not part of the token,
    but any other whitespace is (as ``transformers`` reads ``vocab.txt``). The file must be
    UTF-8 text with a token on every line: an empty line would take an id of its own and
    move every later token off the embedding row it was trained with, so it is refused
    (naming its line), as is text that is not UTF-8. One line break after the last token
    is the usual file ending, not an empty line.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "vocab.txt"
    >>> _ = path.write_text("[UNK]\\nthe\\n##s\\n", encoding="utf-8")
    >>> read_vocabulary_file(path)
    ['[UNK]', 'the', '##s']
    >>> _ = path.write_text("[UNK]\\n\\nthe\\n", encoding="utf-8")
    >>> read_vocabulary_file(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Line 2 of the vocabulary file .../vocab.txt is empty...
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No vocabulary file at {path}. Pass the path of a text file with one token "
            "per line, or the tokens as a list of strings."
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = len(_LINE_BREAK.split(data[: error.start]))
        raise ValueError(
            f"The vocabulary file {path} is not UTF-8 text: the byte at offset {error.start} "
            f"(line {line}) is not valid UTF-8. Convert the file to UTF-8, e.g. with "
            "`iconv -f <its encoding> -t UTF-8`, keeping one token per line."
        ) from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()  # the line break that ends the last line
    for number, line in enumerate(lines, start=1):
        if not line:
            raise ValueError(
                f"Line {number} of the vocabulary file {path} is empty. Every line must hold "
                "one token (a token's id is its line number minus one), so an empty line "
                "gives every token after it an id one higher than intended. Delete the line."
            )
    return lines


def _read_only(name: str, doc: str) -> property:
    return property(lambda self: getattr(self, f"_{name}"), doc=doc)


@keras.saving.register_keras_serializable(package="textbones")
class WordPieceTokenizer(Tokenizer):
    """BERT's WordPiece tokenizer: clean, split into words, then greedy longest-match pieces.

    Text goes through these steps: control and format characters are dropped and other
    whitespace becomes a space; CJK ideographs are set apart (``split_on_cjk``); accents
    are stripped (``strip_accents``, or ``lowercase``); the text is lowercased
    (``lowercase``); it is split on whitespace and punctuation, each punctuation
    character becoming a word (``split``); each word is cut into the longest vocabulary
    pieces from the left, pieces after the first carrying ``suffix_indicator``. A word
    that cannot be cut this way, or longer than 100 characters, becomes ``oov_token``.
    The ids equal those of ``transformers.BertTokenizerFast`` with the same vocabulary
    and ``do_lower_case=lowercase`` (called with ``add_special_tokens=False``).

    ``lowercase=True`` always strips accents, as BERT's uncased models were trained;
    ``strip_accents=True`` strips them from cased text too.

    Args:
        vocabulary: the tokens in id order, as a list of strings or the path of a file
            with one token per line. ``None`` leaves the tokenizer empty until
            ``load_assets`` (or ``set_vocabulary``) gives it one, as ``from_preset`` does.
        sequence_length: pad or truncate outputs to this length (see ``Tokenizer``).
        lowercase: lowercase the text and strip its accents.
        strip_accents: strip accents even when not lowercasing.
        split: split the text into words on whitespace and punctuation. With ``False``,
            the input is already split, as in KerasHub: each string is one word
            (uncleaned), a list of strings is the words of one example (its pieces
            come out as one row), and a list of such lists, or a 2-D array, is a batch.
        split_on_cjk: make each CJK ideograph a word of its own (only with ``split``).
        suffix_indicator: the prefix of pieces that continue a word.
        oov_token: the token given to words the vocabulary cannot spell; it must be in
            the vocabulary.
        special_tokens: more tokens to treat as special (they must be in the
            vocabulary); they join :attr:`special_tokens` and, with
            ``special_tokens_in_strings``, are kept whole when typed in the text.
        special_tokens_in_strings: keep special tokens typed in the text (say
            ``"[MASK]"``, matched as typed, before lowercasing) as one token each,
            instead of splitting them like words. Only with ``split``.
        **kwargs: ``name``, ``dtype`` and the other ``Tokenizer`` arguments.

    Example:

    >>> vocabulary = ["[UNK]", "the", "qu", "##ick", "br", "##own", "fox", "."]
    >>> tokenizer = WordPieceTokenizer(vocabulary, lowercase=True)
    >>> tokenizer("The quick brown fox.")
    array([1, 2, 3, 4, 5, 6, 7], dtype=int32)
    >>> tokenizer.detokenize([1, 2, 3, 6, 7])
    'the quick fox .'
    >>> WordPieceTokenizer(vocabulary, lowercase=True, sequence_length=4)(["The fox", "quick"])
    array([[1, 6, 0, 0],
           [2, 3, 0, 0]], dtype=int32)
    """

    asset_file = VOCABULARY_FILE

    def __init__(
        self,
        vocabulary: str | os.PathLike | Iterable[str] | None = None,
        sequence_length: int | None = None,
        lowercase: bool = False,
        strip_accents: bool = False,
        split: bool = True,
        split_on_cjk: bool = True,
        suffix_indicator: str = "##",
        oov_token: str = "[UNK]",
        special_tokens: Iterable[str] | None = None,
        special_tokens_in_strings: bool = False,
        **kwargs: Any,
    ):
        super().__init__(sequence_length=sequence_length, **kwargs)
        owner = type(self).__name__
        for argument, value in (("oov_token", oov_token), ("suffix_indicator", suffix_indicator)):
            if not isinstance(value, str) or not value:
                raise ValueError(
                    f"{owner}: `{argument}` must be a non-empty string, got {value!r}."
                )
        if special_tokens is not None:
            if isinstance(special_tokens, (str, bytes)) or not isinstance(special_tokens, Iterable):
                raise ValueError(
                    f"{owner}: `special_tokens` must be a list of strings, got {special_tokens!r}."
                )
            special_tokens = list(special_tokens)
            for token in special_tokens:
                if not isinstance(token, str) or not token:
                    raise ValueError(
                        f"{owner}: `special_tokens` must hold non-empty strings, got {token!r}."
                    )
        self._lowercase = bool(lowercase)
        self._strip_accents = bool(strip_accents)
        self._split = bool(split)
        self._split_on_cjk = bool(split_on_cjk)
        self._suffix_indicator = suffix_indicator
        self._oov_token = oov_token
        self._extra_special_tokens = special_tokens
        self._special_tokens_in_strings = bool(special_tokens_in_strings)
        self.set_vocabulary(vocabulary)

    lowercase = _read_only("lowercase", "Whether text is lowercased (and its accents stripped).")
    strip_accents = _read_only("strip_accents", "Whether accents are stripped from cased text too.")
    split = _read_only("split", "Whether text is split into words on whitespace and punctuation.")
    split_on_cjk = _read_only("split_on_cjk", "Whether each CJK ideograph is a word of its own.")
    suffix_indicator = _read_only("suffix_indicator", "The prefix of pieces that continue a word.")
    oov_token = _read_only("oov_token", "The token of words the vocabulary cannot spell.")
    special_tokens_in_strings = _read_only(
        "special_tokens_in_strings", "Whether special tokens typed in the text stay whole."
    )

    @property
    def special_tokens(self) -> list[str]:
        """The class's special tokens followed by those passed as ``special_tokens``."""
        tokens = super().special_tokens
        return tokens + [token for token in self._extra_special_tokens or () if token not in tokens]

    # -- vocabulary ---------------------------------------------------------------------
    def set_vocabulary(self, vocabulary: str | os.PathLike | Iterable[str] | None) -> None:
        """Use ``vocabulary`` (a list of tokens or a file path; ``None`` empties the tokenizer).

        Raises ``ValueError`` for an empty vocabulary, a token that is not a string,
        is empty, holds a line break or appears twice, for a file that is not UTF-8 or
        has an empty line, and for a missing ``oov_token`` or special token; the
        tokenizer is then left as it was.

        Example:

        >>> tokenizer = WordPieceTokenizer()
        >>> tokenizer.set_vocabulary(["[UNK]", "hi", "##s"])
        >>> tokenizer("his").tolist()
        [1, 2]
        """
        refuse_file_in_safe_mode(vocabulary, "vocabulary", self)
        if vocabulary is None:
            self._vocabulary = self._backend = self._token_index_cache = self._joined_forms = None
            self._vocabulary_source = None
            return
        tokens, file = self._checked_tokens(vocabulary)
        index = {token: position for position, token in enumerate(tokens)}
        required = [("oov_token", self.oov_token)]
        required += [(name, getattr(self, name)) for name in self.special_token_names]
        required += [("special_tokens", token) for token in self._extra_special_tokens or ()]
        for argument, token in required:
            if token not in index:
                raise ValueError(self._missing_token_message(argument, token))

        backend = tokenizers.Tokenizer(
            tokenizers.models.WordPiece(
                index,
                unk_token=self.oov_token,
                continuing_subword_prefix=self.suffix_indicator,
                max_input_chars_per_word=MAX_CHARS_PER_WORD,
            )
        )
        configure_word_splitting(
            backend,
            lowercase=self.lowercase,
            strip_accents=self.strip_accents,
            split=self.split,
            split_on_cjk=self.split_on_cjk,
        )
        if self.special_tokens_in_strings and self.split:
            # Matched in the raw text, before cleaning and lowercasing, as Hugging Face
            # matches BERT's special tokens.
            backend.add_special_tokens(
                [
                    tokenizers.AddedToken(token, special=True, normalized=False)
                    for token in self.special_tokens
                ]
            )
        self._vocabulary, self._token_index_cache, self._backend = tokens, index, backend
        self._joined_forms = None
        self._vocabulary_source = file

    def _checked_tokens(self, vocabulary) -> tuple[list[str], str | None]:
        """The tokens of ``vocabulary`` and the file they were read from (``None`` for a list)."""
        owner = type(self).__name__
        if isinstance(vocabulary, (str, os.PathLike)):
            tokens = read_vocabulary_file(vocabulary)
            file = str(vocabulary)
            source = f"the vocabulary file {vocabulary}"
        elif isinstance(vocabulary, Iterable) and not isinstance(vocabulary, bytes):
            tokens = list(vocabulary)
            file = None
            source = "the vocabulary"
        else:
            raise ValueError(
                f"{owner}: `vocabulary` must be a list of token strings or the path of a "
                f"one-token-per-line file, got {type(vocabulary).__name__}."
            )
        if not tokens:
            raise ValueError(f"{owner}: {source} is empty; it needs at least {self.oov_token!r}.")
        seen: dict[str, int] = {}
        duplicates = []
        for position, token in enumerate(tokens):
            if not isinstance(token, str):
                raise ValueError(
                    f"{owner}: entry {position} of {source} is a {type(token).__name__} "
                    f"({token!r}); every token must be a string."
                )
            if not token or "\n" in token or "\r" in token:
                problem = "is empty" if not token else "holds a line break"
                raise ValueError(
                    f"{owner}: token {position} of {source} ({token!r}) {problem}, which a "
                    "one-token-per-line vocabulary file cannot store. Remove or fix it."
                )
            if token in seen:
                duplicates.append((seen[token], position, token))
            seen.setdefault(token, position)
        if duplicates:
            if file is None:
                listed = [f"{token!r} (ids {one} and {two})" for one, two, token in duplicates]
                what = f"lists {len(duplicates)} token(s) twice: "
            else:
                # Line numbers only: the file's content is not repeated in messages.
                listed = [f"lines {first + 1} and {again + 1}" for first, again, _ in duplicates]
                what = f"holds {len(duplicates)} token(s) twice, on "
            shown = ", ".join(listed[:5]) + (" ..." if len(listed) > 5 else "")
            raise ValueError(
                f"{owner}: {source} {what}{shown}. "
                "Each token needs exactly one id; remove the repeats."
            )
        return tokens, file

    def _missing_token_message(self, argument: str, token: str) -> str:
        owner = type(self).__name__
        if argument in ("oov_token", "special_tokens"):
            fix = f"or pass a `{argument}` the vocabulary has"
        else:
            fix = f"as {owner} needs it"
        return (
            f"{owner}: the vocabulary has no {token!r} (the `{argument}`). "
            f"Add {token!r} to the vocabulary (a line of its own in the file), {fix}."
        )

    def _require_vocabulary(self) -> list[str]:
        if self._vocabulary is None:
            raise ValueError(
                f"This {type(self).__name__} has no vocabulary yet. Pass `vocabulary=` "
                "(a list of tokens or a file path), call `load_assets(directory)`, or "
                "build it with `from_preset`."
            )
        return self._vocabulary

    def get_vocabulary(self) -> list[str]:
        """Every token, in id order (a copy)."""
        return list(self._require_vocabulary())

    def vocabulary_size(self) -> int:
        """Number of ids, special tokens included."""
        return len(self._require_vocabulary())

    def id_to_token(self, id: int) -> str:
        """The token string of an id."""
        vocabulary = self._require_vocabulary()
        if not 0 <= int(id) < len(vocabulary):
            raise ValueError(
                f"Id {id} is outside the vocabulary, whose ids are 0 to {len(vocabulary) - 1}."
            )
        return vocabulary[int(id)]

    def _token_index(self) -> dict[str, int]:
        self._require_vocabulary()
        return self._token_index_cache

    # -- the hooks -----------------------------------------------------------------------
    def _tokenized_rows(self, inputs) -> tuple[list[list], bool]:
        """With ``split=False``, the words of each example in one row (see ``split``)."""
        if self.split:
            return super()._tokenized_rows(inputs)
        examples, single = _presplit_examples(inputs, type(self).__name__)
        pieces = iter(self._tokenize_texts([word for words in examples for word in words]))
        rows = [[piece for _ in words for piece in next(pieces)] for words in examples]
        return rows, single

    def _tokenize_batch(self, texts: list[str]) -> list[list[int]]:
        self._require_vocabulary()
        try:
            encodings = self._backend.encode_batch_fast(texts, add_special_tokens=False)
        except TypeError:
            # A lone surrogate cannot cross into Rust as UTF-8: pair what pairs, replace
            # the rest with U+FFFD, which the cleaning step drops.
            texts = [
                text.encode("utf-16", "surrogatepass").decode("utf-16", "replace") for text in texts
            ]
            encodings = self._backend.encode_batch_fast(texts, add_special_tokens=False)
        return [encoding.ids for encoding in encodings]

    def tokenize_with_offsets(self, inputs, *, is_split_into_words: bool = False):
        """See ``Tokenizer.tokenize_with_offsets``. With ``split=False`` the input is read
        as ``tokenize`` reads it (already split words: a string is one word, a list of
        strings one example, a list of lists a batch), so as ``is_split_into_words=True``.

        Example:

        >>> tokenizer = WordPieceTokenizer(["[UNK]", "new", "york", "##er"], split=False)
        >>> spans = tokenizer.tokenize_with_offsets(["new", "yorker"])
        >>> spans.ids.tolist(), spans.word_ids.tolist(), spans.offsets.tolist()
        ([1, 2, 3], [0, 1, 1], [[0, 3], [0, 4], [4, 6]])
        """
        if not self.split and not is_split_into_words:
            if isinstance(inputs, (str, bytes)):
                inputs = [inputs]
            is_split_into_words = True
        return super().tokenize_with_offsets(inputs, is_split_into_words=is_split_into_words)

    def _tokenize_with_offsets(self, texts: list[str]) -> list[TokenSpans]:
        if not self.split:
            return self._tokenize_words_with_offsets([[text] for text in texts])
        encodings = self._encode_batch(texts)
        return [self._spans(text, encoding) for text, encoding in zip(texts, encodings)]

    def _tokenize_words_with_offsets(self, examples: list[list[str]]) -> list[TokenSpans]:
        encodings = self._encode_batch(examples, is_pretokenized=True)
        return [self._spans(list(words), encoding) for words, encoding in zip(examples, encodings)]

    def _spans(self, text: str | list[str], encoding) -> TokenSpans:
        """The spans of one encoding. The backend marks only the tokens its post-processor
        adds (none here) as special; special tokens typed in the text are marked here: a
        token with a special token's id whose span reads that token exactly (an unknown
        word's ``[UNK]`` spans the word, never the string ``"[UNK]"``)."""
        spans = TokenSpans.from_lists(
            text, encoding.ids, encoding.offsets, encoding.word_ids, encoding.special_tokens_mask
        )
        if self.special_tokens_in_strings and self.split:
            typed = {self.token_to_id(token): token for token in self.special_tokens}
            for index, token_id in enumerate(spans.ids.tolist()):
                if typed.get(token_id) == spans.span_text(index) != "":
                    spans.special[index] = True
        return spans

    def _encode_batch(self, inputs: list, is_pretokenized: bool = False) -> list:
        """The backend's encodings with offsets (``encode_batch_fast`` skips them)."""
        self._require_vocabulary()
        try:
            return self._backend.encode_batch(
                inputs, is_pretokenized=is_pretokenized, add_special_tokens=False
            )
        except TypeError:
            raise ValueError(
                f"{type(self).__name__} cannot give offsets for text holding a lone surrogate "
                "(it has no UTF-8 form). Clean it first, e.g. with "
                "`text.encode('utf-8', 'replace').decode('utf-8')`."
            ) from None

    def _detokenize_batch(self, ids: list[list[int]]) -> list[str]:
        vocabulary = self._require_vocabulary()
        forms = self._joined_forms
        if forms is None:
            # How each token reads after another one: a continuation piece loses its
            # indicator and joins on; anything else starts a new space-separated word.
            marker = self.suffix_indicator
            forms = [
                token[len(marker) :]
                if len(token) > len(marker) and token.startswith(marker)
                else " " + token
                for token in vocabulary
            ]
            self._joined_forms = forms
        return [
            vocabulary[row[0]] + "".join([forms[i] for i in row[1:]]) if row else "" for row in ids
        ]

    # -- presets and serialization -------------------------------------------------------
    def save_assets(self, directory: str | os.PathLike) -> None:
        """Write the vocabulary to ``directory/vocabulary.txt``, one token per line."""
        text = "".join(token + "\n" for token in self._require_vocabulary())
        replace_file(pathlib.Path(directory) / self.asset_file).write_text(
            text, encoding="utf-8", newline="\n"
        )

    def load_assets(self, directory: str | os.PathLike) -> None:
        """Read the vocabulary from ``directory/vocabulary.txt``."""
        path = pathlib.Path(directory) / self.asset_file
        if not path.is_file():
            raise FileNotFoundError(
                f"{type(self).__name__} found no {self.asset_file} in {directory}; the preset's "
                "tokenizer assets are missing. Save or download the preset again."
            )
        self.set_vocabulary(path)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, with the keys (and order) KerasHub writes; no vocabulary.

        ``split_on_cjk`` appears only when ``False``: KerasHub leaves it out, and its
        constructors still accept it, so configs stay readable both ways.
        """
        base = super().get_config()
        config = {key: base[key] for key in ("name", "trainable", "dtype", "config_file")}
        config.update(
            {
                "vocabulary": None,
                "sequence_length": self.sequence_length,
                "lowercase": self.lowercase,
                "strip_accents": self.strip_accents,
                "split": self.split,
                "suffix_indicator": self.suffix_indicator,
                "oov_token": self.oov_token,
                "special_tokens": None
                if self._extra_special_tokens is None
                else list(self._extra_special_tokens),
                "special_tokens_in_strings": self.special_tokens_in_strings,
            }
        )
        if not self.split_on_cjk:
            config["split_on_cjk"] = False
        return config


def _presplit_examples(inputs, owner: str) -> tuple[list[list[str]], bool]:
    """Already split input (``split=False``) as lists of words, and whether it was one example.

    Example:

    >>> _presplit_examples(["the", "fox"], "Demo")
    ([['the', 'fox']], True)
    >>> _presplit_examples([["the", "fox"], ["ran"]], "Demo")
    ([['the', 'fox'], ['ran']], False)
    """
    if isinstance(inputs, np.ndarray) and inputs.ndim == 2:
        inputs = list(inputs)
    if (
        isinstance(inputs, (list, tuple))
        and inputs
        and all(isinstance(example, (list, tuple, np.ndarray)) for example in inputs)
    ):
        return [as_texts(list(example), owner)[0] for example in inputs], False
    if isinstance(inputs, (list, tuple)) and not inputs:
        return [], False
    words, _ = as_texts(inputs, owner)
    return [words], True
