"""``SentencePieceTokenizer``: a tokenizer driven by a trained SentencePiece model proto.

The heavy lifting is done by the ``sentencepiece`` library's C++ encoder, called once per
batch (its batch API spreads the rows over threads); this class only turns the many forms
a proto arrives in (a path, raw bytes, base64 text, a preset's assets) into one loaded
processor, and plugs it into the generic :class:`~textbones.preprocessing.tokenizer.Tokenizer`.
"""

import base64
import binascii
import os
import pathlib
import re
from typing import Any

import keras
import sentencepiece

from textbones.preprocessing import sentence_piece_offsets
from textbones.preprocessing.safe_mode import refuse_file_in_safe_mode
from textbones.preprocessing.token_spans import NO_WORD, TokenSpans
from textbones.preprocessing.tokenizer import Tokenizer
from textbones.presets.atomic_directory import replace_file

# A base64 text this long cannot be a file name (file systems cap a name at 255 bytes), so
# when such a text fails to decode into a model, the error speaks of base64, not of files.
_SURELY_NOT_A_PATH = 1024
# Below this many rows, starting encoder threads costs more than it saves.
_ROWS_PER_THREAD = 64


@keras.saving.register_keras_serializable(package="textbones")
class SentencePieceTokenizer(Tokenizer):
    """Tokenize text with a trained SentencePiece model.

    The ids are exactly those of ``sentencepiece.SentencePieceProcessor`` on the same
    model; batches are encoded in one call to its multi-threaded batch encoder.

    Args:
        proto: the SentencePiece model: a path to a ``.model``/``.spm`` file, the
            serialized model as ``bytes``, or those bytes as a base64 string. ``None``
            leaves the tokenizer empty until :meth:`set_proto` or :meth:`load_assets`
            (as when loading a preset).
        sequence_length: pad or truncate outputs to this length (see ``Tokenizer``).
        add_bos: put the model's beginning-of-sentence id before every row (the model
            must have one: a ``ValueError`` otherwise).
        add_eos: put the model's end-of-sentence id after every row (likewise); with
            ``sequence_length`` it may be truncated away, as the rows are cut after it
            is added.
        lowercase: lowercase the text before SentencePiece sees it.
        strip_accents: decompose the text (NFKD) and drop its combining marks first.
        normalize_quotes: replace the LaTeX-style quotes ````` and ``''`` by ``"`` first.
        special_tokens_in_strings: special tokens typed in the text (``[MASK]``, ...) give
            their ids, and the text between them is encoded piece by piece.
        **kwargs: ``name``, ``dtype`` and the other ``Tokenizer`` arguments.

    The last four are the text handling of Hugging Face's ``AlbertTokenizer`` and
    ``FNetTokenizer`` (``do_lower_case``, ``keep_accents=False``; the first three are also
    ALBERT's original text preparation); loading a Hugging Face checkpoint sets them from
    its ``tokenizer_config.json``. They default to off, as in KerasHub, and are written to
    the config only when on.

    Example:

    >>> from textbones.preprocessing.sentence_piece_vocabulary import (
    ...     compute_sentence_piece_proto)
    >>> proto = compute_sentence_piece_proto(
    ...     ["the quick brown fox", "the lazy dog"], vocabulary_size=26)
    >>> tokenizer = SentencePieceTokenizer(proto)
    >>> ids = tokenizer("the fox")
    >>> ids.dtype.name, tokenizer.detokenize(ids)
    ('int32', 'the fox')
    >>> SentencePieceTokenizer(proto, sequence_length=4)(["the dog", "fox"]).shape
    (2, 4)
    """

    asset_file = "vocabulary.spm"

    def __init__(
        self,
        proto: str | os.PathLike | bytes | None = None,
        sequence_length: int | None = None,
        add_bos: bool = False,
        add_eos: bool = False,
        lowercase: bool = False,
        strip_accents: bool = False,
        normalize_quotes: bool = False,
        special_tokens_in_strings: bool = False,
        **kwargs,
    ):
        super().__init__(sequence_length=sequence_length, **kwargs)
        self.lowercase = bool(lowercase)
        self.strip_accents = bool(strip_accents)
        self.normalize_quotes = bool(normalize_quotes)
        self.special_tokens_in_strings = bool(special_tokens_in_strings)
        self._normalizer = self._text_normalizer()
        self.add_bos = bool(add_bos)
        self.add_eos = bool(add_eos)
        self.proto: bytes | None = None
        self._processor: sentencepiece.SentencePieceProcessor | None = None
        self._vocabulary: list[str] = []
        self.set_proto(proto)

    # -- the model ------------------------------------------------------------------------
    def set_proto(self, proto: str | os.PathLike | bytes | None) -> None:
        """Load a SentencePiece model (any form the constructor takes), or unload with ``None``.

        Nothing changes if the new model is unreadable or lacks a special token that this
        class needs: the error is raised first.

        Example:

        >>> from textbones.preprocessing.sentence_piece_vocabulary import (
        ...     compute_sentence_piece_proto)
        >>> tokenizer = SentencePieceTokenizer()
        >>> tokenizer.set_proto(compute_sentence_piece_proto(["a b c d"], 9))
        >>> tokenizer.vocabulary_size()
        9
        """
        refuse_file_in_safe_mode(proto, "proto", self)
        if proto is None:
            self.proto, self._processor, self._vocabulary = None, None, []
            self._token_index_cache = self._vocabulary_source = None
            return
        file = _proto_file(proto)
        proto_bytes = _proto_bytes(proto)
        processor = _load_processor(proto_bytes, file)
        vocabulary = [processor.id_to_piece(index) for index in range(processor.get_piece_size())]
        self._check_special_tokens(set(vocabulary))
        for wanted, piece_id, what in (
            (self.add_bos, processor.bos_id(), "beginning-of-sentence (`add_bos`)"),
            (self.add_eos, processor.eos_id(), "end-of-sentence (`add_eos`)"),
        ):
            if wanted and piece_id < 0:
                raise ValueError(
                    f"The SentencePiece model has no {what} piece to add. Pass "
                    "`add_bos=False`/`add_eos=False`, or use a model trained with "
                    "`bos_id`/`eos_id`."
                )
        self.proto, self._processor, self._vocabulary = proto_bytes, processor, vocabulary
        self._token_index_cache = None
        self._vocabulary_source = file

    def _check_special_tokens(self, vocabulary: set[str]) -> None:
        for name in self.special_token_names:
            token = getattr(self, name)
            if token not in vocabulary:
                raise ValueError(
                    f"The SentencePiece model has no {token!r} piece, which {type(self).__name__} "
                    f"needs as its `{name}`. Use a model trained with it, for example "
                    "`compute_sentence_piece_proto(..., control_symbols=[...])` or "
                    "`user_defined_symbols=[...]` listing the missing token."
                )

    def _require_processor(self) -> sentencepiece.SentencePieceProcessor:
        if self._processor is None:
            raise ValueError(
                f"This {type(self).__name__} has no SentencePiece model yet. Pass `proto=` "
                "when creating it, call `set_proto`, or build it with `from_preset`."
            )
        return self._processor

    def _special_token_id(self, token: str) -> int | None:
        """The id of a special token, or ``None`` while no model is loaded."""
        return None if self._processor is None else self.token_to_id(token)

    def _text_normalizer(self):
        """The ``tokenizers`` normalizer of the text preparation asked for, or ``None``.

        The same Rust normalizers Hugging Face's tokenizers run, so the prepared text
        (and hence the ids) match theirs character for character.
        """
        from tokenizers import normalizers

        steps = []
        if self.normalize_quotes:
            steps += [normalizers.Replace("``", '"'), normalizers.Replace("''", '"')]
        if self.strip_accents:
            steps += [normalizers.NFKD(), normalizers.StripAccents()]
        if self.lowercase:
            steps.append(normalizers.Lowercase())
        return normalizers.Sequence(steps) if steps else None

    # -- Tokenizer hooks -------------------------------------------------------------------
    def _tokenize_batch(self, texts: list[str]) -> list[list[int]]:
        return self._encode_rows(texts, int)

    def _tokenize_batch_as_strings(self, texts: list[str]) -> list[list[str]]:
        # SentencePiece's own pieces: a character the model lacks comes out as itself,
        # not as "<unk>", as KerasHub's `dtype="string"` gives it.
        return self._encode_rows(texts, str)

    def _encode_rows(self, texts: list[str], out_type: type) -> list[list]:
        if self.special_tokens_in_strings and self.special_tokens:
            return self._tokenize_around_special_tokens(texts, out_type)
        return self._encode(texts, out_type, add_bos=self.add_bos, add_eos=self.add_eos)

    def _special_token_pattern(self) -> re.Pattern:
        """The special tokens as one regex, longest first (so ``[MASK]`` beats ``[MA``)."""
        tokens = sorted(self.special_tokens, key=len, reverse=True)
        return re.compile("|".join(re.escape(token) for token in tokens))

    def _tokenize_around_special_tokens(self, texts: list[str], out_type: type) -> list[list]:
        """Split each text at the special tokens it holds (matched before any
        normalization), encode the pieces between them, and put the tokens back."""
        pattern = self._special_token_pattern()
        splits = [pattern.split(text) for text in texts]
        found = [pattern.findall(text) for text in texts]
        encoded = iter(self._encode([piece for pieces in splits for piece in pieces], out_type))
        processor = self._require_processor()
        mark = self.token_to_id if out_type is int else str
        framing = processor.id_to_piece if out_type is str else int
        bos = [framing(processor.bos_id())] if self.add_bos else []
        eos = [framing(processor.eos_id())] if self.add_eos else []
        rows = []
        for pieces, tokens in zip(splits, found):
            row = list(bos)
            for index, piece in enumerate(pieces):
                row += next(encoded)
                if index < len(tokens):
                    row.append(mark(tokens[index]))
            rows.append(row + eos)
        return rows

    def _encode(
        self, texts: list[str], out_type: type = int, add_bos: bool = False, add_eos: bool = False
    ) -> list[list]:
        processor = self._require_processor()
        if self._normalizer is not None:
            texts = [self._normalizer.normalize_str(text) for text in texts]
        threads = _threads_for(texts)
        try:
            return processor.encode(
                texts, out_type=out_type, add_bos=add_bos, add_eos=add_eos, num_threads=threads
            )
        except TypeError:
            _refuse_surrogates(texts)
            raise

    def _tokenize_with_offsets(self, texts: list[str]) -> list[TokenSpans]:
        """Pieces with their spans (see ``sentence_piece_offsets.piece_spans``) and words.

        A span covers the characters a piece is made from, in the text before this class's
        normalization (``lowercase``, ``strip_accents``, ``normalize_quotes``) and
        SentencePiece's own. The ``"▁"`` that starts a word stands for the whitespace
        before it, which no span includes: ``"▁world"`` in ``"hello  world"`` covers
        ``"world"``, as in Hugging Face's ``AlbertTokenizerFast``. A piece that is only
        ``"▁"`` spells no character: its span is empty, at the start of the word that
        follows (Hugging Face gives it that word's first character, which the next piece
        also covers). Characters the normalization deletes (control characters, stripped
        accents) are left out where they fall between pieces (spans are contiguous, so
        one inside a piece stays inside its span), but characters it merges into one
        (``e`` and U+0301 into ``é``; two backticks or two apostrophes into ``"``) all
        belong to the piece spelling the result (Hugging Face gives such a piece only one
        of them). Pieces spelled from one character (``"½"`` read as ``"1⁄2"``) all cover
        that character.

        A new word starts at each piece beginning with ``"▁"``, as Hugging Face's
        ``Metaspace`` splits words, and at each special token typed in the text; those
        (with ``special_tokens_in_strings``) keep their span, have a word of their own, are
        marked special, and the text around them is encoded on its own, as ``tokenize``
        does. The ids ``add_bos``/``add_eos`` add have the empty span ``(0, 0)`` and no
        word. Text holding a lone surrogate is refused (a ``ValueError``).

        Example:

        >>> from textbones.preprocessing.sentence_piece_vocabulary import (
        ...     compute_sentence_piece_proto)
        >>> proto = compute_sentence_piece_proto(
        ...     ["the quick brown fox", "the lazy dog"], vocabulary_size=26)
        >>> tokenizer = SentencePieceTokenizer(proto, lowercase=True)
        >>> spans = tokenizer.tokenize_with_offsets("The  Fox")
        >>> [tokenizer.id_to_token(i) for i in spans.ids.tolist()]
        ['▁', 't', 'h', 'e', '▁', 'f', 'o', 'x']
        >>> spans.offsets.tolist()
        [[0, 0], [0, 1], [1, 2], [2, 3], [5, 5], [5, 6], [6, 7], [7, 8]]
        >>> spans.word_ids.tolist(), spans.span_text(5)
        ([0, 0, 0, 0, 1, 1, 1, 1], 'F')
        """
        processor = self._require_processor()
        _refuse_surrogates(texts)
        pattern = None
        if self.special_tokens_in_strings and self.special_tokens:
            pattern = self._special_token_pattern()
        # Each text as runs of plain text and typed special tokens: (start, end, id or None).
        layouts = []
        for text in texts:
            runs, position = [], 0
            for match in pattern.finditer(text) if pattern else ():
                runs.append((position, match.start(), None))
                runs.append((match.start(), match.end(), self.token_to_id(match.group())))
                position = match.end()
            runs.append((position, len(text), None))
            layouts.append(runs)
        alignments = [
            sentence_piece_offsets.normalized_alignment(text[start:end], self._normalizer)
            for text, runs in zip(texts, layouts)
            for start, end, token in runs
            if token is None
        ]
        encodings = iter(self._encode_protos([normalized for normalized, _, _ in alignments]))
        aligned = iter(alignments)
        bos = [processor.bos_id()] if self.add_bos else []
        eos = [processor.eos_id()] if self.add_eos else []
        result = []
        for text, runs in zip(texts, layouts):
            ids, offsets = list(bos), [(0, 0)] * len(bos)
            words, special = [NO_WORD] * len(bos), [True] * len(bos)
            word = -1
            for start, end, token in runs:
                if token is not None:
                    word += 1
                    ids.append(token)
                    offsets.append((start, end))
                    words.append(word)
                    special.append(True)
                    continue
                normalized, starts, ends = next(aligned)
                pieces = next(encodings).pieces
                spans = sentence_piece_offsets.piece_spans(pieces, normalized, processor.normalize)
                for index, (piece, span) in enumerate(zip(pieces, spans)):
                    if index == 0 or piece.piece.startswith(sentence_piece_offsets.WORD_START):
                        word += 1
                    first, last = sentence_piece_offsets.original_span(
                        span, starts, ends, end - start
                    )
                    ids.append(piece.id)
                    offsets.append((start + first, start + last))
                    words.append(word)
                    special.append(False)
            ids += eos
            offsets += [(0, 0)] * len(eos)
            words += [NO_WORD] * len(eos)
            special += [True] * len(eos)
            result.append(TokenSpans.from_lists(text, ids, offsets, words, special))
        return result

    def _encode_protos(self, texts: list[str]) -> list:
        """SentencePiece's encodings of already normalized texts, with pieces' byte spans."""
        processor = self._require_processor()
        threads = _threads_for(texts)
        try:
            return processor.encode(texts, out_type="proto", num_threads=threads)
        except (ValueError, RuntimeError):
            # Releases without the "proto" output type raise for it; they give the same
            # pieces as "immutable_proto" (which newer releases refuse).
            return processor.encode(texts, out_type="immutable_proto", num_threads=threads)

    def _detokenize_batch(self, ids: list[list[int]]) -> list[str]:
        return self._require_processor().decode(ids)

    def _detokenize_strings(self, rows: list[list[str]]) -> list[str]:
        # Pieces go to SentencePiece as they are, so surface pieces of unknown
        # characters (which have no id) read back as themselves.
        return self._require_processor().decode(rows)

    def get_vocabulary(self) -> list[str]:
        """Every piece of the model, in id order.

        Example:

        >>> from textbones.preprocessing.sentence_piece_vocabulary import (
        ...     compute_sentence_piece_proto)
        >>> proto = compute_sentence_piece_proto(["a b c d"], 9)
        >>> SentencePieceTokenizer(proto).get_vocabulary()[:4]
        ['<pad>', '<unk>', '<s>', '</s>']
        """
        self._require_processor()
        return list(self._vocabulary)

    def vocabulary_size(self) -> int:
        """Number of pieces in the model, special pieces included.

        Example:

        >>> from textbones.preprocessing.sentence_piece_vocabulary import (
        ...     compute_sentence_piece_proto)
        >>> SentencePieceTokenizer(compute_sentence_piece_proto(["a b c d"], 9)).vocabulary_size()
        9
        """
        return self._require_processor().get_piece_size()

    def id_to_token(self, id: int) -> str:
        """The piece of an id (a ``ValueError`` outside the vocabulary).

        Example:

        >>> from textbones.preprocessing.sentence_piece_vocabulary import (
        ...     compute_sentence_piece_proto)
        >>> SentencePieceTokenizer(compute_sentence_piece_proto(["a b c d"], 9)).id_to_token(1)
        '<unk>'
        """
        size = self.vocabulary_size()
        if not 0 <= int(id) < size:
            raise ValueError(f"Id {id} is outside the vocabulary, whose ids are 0 to {size - 1}.")
        return self._vocabulary[int(id)]

    def save_assets(self, directory: pathlib.Path) -> None:
        """Write the model proto to ``directory / asset_file``.

        Example:

        >>> import pathlib, tempfile
        >>> from textbones.preprocessing.sentence_piece_vocabulary import (
        ...     compute_sentence_piece_proto)
        >>> tokenizer = SentencePieceTokenizer(compute_sentence_piece_proto(["a b c d"], 9))
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> tokenizer.save_assets(folder)
        >>> (folder / "vocabulary.spm").read_bytes() == tokenizer.proto
        True
        """
        self._require_processor()
        replace_file(pathlib.Path(directory) / self.asset_file).write_bytes(self.proto)

    def load_assets(self, directory: pathlib.Path) -> None:
        """Load the model proto from ``directory / asset_file``.

        Example:

        >>> import pathlib, tempfile
        >>> from textbones.preprocessing.sentence_piece_vocabulary import (
        ...     compute_sentence_piece_proto)
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> SentencePieceTokenizer(compute_sentence_piece_proto(["a b c d"], 9)).save_assets(folder)
        >>> empty = SentencePieceTokenizer()
        >>> empty.load_assets(folder)
        >>> empty.vocabulary_size()
        9
        """
        path = pathlib.Path(directory) / self.asset_file
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist, so {type(self).__name__} has no SentencePiece model "
                "to load. The preset is incomplete: save or download it again."
            )
        self.set_proto(path)

    # -- serialization ---------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, with the model left out (``proto: None``) as KerasHub does.

        Example:

        >>> sorted(SentencePieceTokenizer().get_config())  # doctest: +NORMALIZE_WHITESPACE
        ['add_bos', 'add_eos', 'config_file', 'dtype', 'name', 'proto', 'sequence_length',
         'trainable']
        """
        config = super().get_config()
        sequence_length = config.pop("sequence_length")
        config.update(
            proto=None, sequence_length=sequence_length, add_bos=self.add_bos, add_eos=self.add_eos
        )
        # Written only when on: KerasHub's tokenizers take no such arguments.
        for option in (
            "lowercase",
            "strip_accents",
            "normalize_quotes",
            "special_tokens_in_strings",
        ):
            if getattr(self, option):
                config[option] = True
        return config

    def __getstate__(self) -> dict[str, Any]:
        # The C++ processor does not pickle; the proto bytes rebuild it (worker processes).
        state = dict(self.__dict__)
        state["_processor"] = None
        state["_normalizer"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._normalizer = self._text_normalizer()
        if self.proto is not None:
            self._processor = _load_processor(self.proto)


def _threads_for(texts: list[str]) -> int:
    return max(1, min(os.cpu_count() or 1, len(texts) // _ROWS_PER_THREAD))


def _refuse_surrogates(texts: list[str]) -> None:
    """A ``ValueError`` naming the first text that holds a lone surrogate (no UTF-8 form)."""
    for index, text in enumerate(texts):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(
                f"Item {index} of the batch is not valid Unicode text: it holds the "
                f"lone surrogate {text[error.start]!r} at position {error.start}. Clean "
                "it, e.g. with `text.encode('utf-8', 'replace').decode('utf-8')`."
            ) from None


def _proto_file(proto) -> str | None:
    """The file ``proto`` names, or ``None`` when it is the model itself (bytes, base64)."""
    if isinstance(proto, os.PathLike) or (isinstance(proto, str) and os.path.isfile(proto)):
        return os.fspath(proto)
    return None


def _proto_bytes(proto) -> bytes:
    """The serialized model named by ``proto`` (a path, bytes, or base64 text)."""
    if isinstance(proto, (bytes, bytearray, memoryview)):
        return bytes(proto)
    if isinstance(proto, os.PathLike):
        return _read_proto_file(pathlib.Path(proto))
    if not isinstance(proto, str):
        raise ValueError(
            "`proto` must be a path to a SentencePiece model file, the model's bytes, or "
            f"those bytes as a base64 string; got a {type(proto).__name__}."
        )
    if os.path.isfile(proto):
        return _read_proto_file(pathlib.Path(proto))
    try:
        decoded = base64.b64decode(proto, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if decoded and (len(proto) > _SURELY_NOT_A_PATH or _parses(decoded)):
        return decoded
    raise FileNotFoundError(
        f"`proto` names no file: {proto[:200]!r} does not exist (nor is it a base64-encoded "
        "SentencePiece model). Check the path, or pass the model's bytes."
    )


def _read_proto_file(path: pathlib.Path) -> bytes:
    if not path.exists():
        raise FileNotFoundError(
            f"The SentencePiece model file {path} does not exist. Check the path, or pass "
            "the model's bytes."
        )
    if path.is_dir():
        raise ValueError(
            f"`proto` must be a SentencePiece model file, but {path} is a directory. To load a "
            "preset directory, use `from_preset`."
        )
    return path.read_bytes()


def _parses(proto_bytes: bytes) -> bool:
    try:
        _load_processor(proto_bytes)
    except ValueError:
        return False
    return True


def _load_processor(
    proto_bytes: bytes, file: str | None = None
) -> sentencepiece.SentencePieceProcessor:
    """A processor for ``proto_bytes`` (read from ``file``, if given), or a ``ValueError``
    saying why there is none."""
    problem = "it is empty"
    if proto_bytes:
        try:
            processor = sentencepiece.SentencePieceProcessor(model_proto=proto_bytes)
            if processor.get_piece_size() > 0:
                return processor
            problem = "it holds no pieces"
        except (RuntimeError, OSError) as error:
            reason = str(error).strip() or type(error).__name__
            problem = f"sentencepiece cannot parse it ({reason})"
    what = "`proto`" if file is None else f"The SentencePiece model file {file}"
    raise ValueError(
        f"{what} is not a SentencePiece model: {problem}. Pass the file written by "
        "`sentencepiece.SentencePieceTrainer` or `compute_sentence_piece_proto` (its path, "
        "bytes or base64 text), e.g. a preset's assets/tokenizer/vocabulary.spm."
    )
