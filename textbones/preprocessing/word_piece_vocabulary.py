"""Train a WordPiece vocabulary on a corpus, with the Rust ``tokenizers`` trainer."""

import os
import pathlib
from collections.abc import Iterable, Iterator, Sequence

import tokenizers

from textbones.preprocessing.word_piece_tokenizer import (
    MAX_CHARS_PER_WORD,
    configure_word_splitting,
)

#: What ``reserved_tokens=None`` reserves (KerasHub's default): BERT's special tokens.
DEFAULT_RESERVED_TOKENS = ("[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]")


def compute_word_piece_vocabulary(
    data: Iterable[str] | Iterable[Sequence[str]] | Sequence[str | os.PathLike] | str | os.PathLike,
    vocabulary_size: int,
    vocabulary_output_file: str | os.PathLike | None = None,
    lowercase: bool = False,
    strip_accents: bool = False,
    split: bool = True,
    split_on_cjk: bool = True,
    suffix_indicator: str = "##",
    reserved_tokens: Iterable[str] | None = None,
) -> list[str]:
    """Learn a WordPiece vocabulary of at most ``vocabulary_size`` tokens from a corpus.

    The text is cleaned, split and normalized exactly as a ``WordPieceTokenizer`` with
    the same options does, then ``tokenizers``' WordPiece trainer picks the pieces. The
    vocabulary starts with ``reserved_tokens`` in the given order, then every character
    seen (alone and as a continuation), then the learned pieces. If the corpus has more
    distinct characters than ``vocabulary_size`` allows, the list is cut at
    ``vocabulary_size``, and the characters left out become the out-of-vocabulary token.
    Pieces that no tokenizer could use (longer than the 100-character word limit, or
    holding a line break) are left out.

    Args:
        data: the corpus: texts (a list or any iterable of strings, read once), or text
            files (a list of paths, or one path), read line by line. A list counts as
            files when every item is a ``pathlib.Path`` or a string naming an existing
            file. With ``split=False`` each text is one word, and an item may also be a
            list of words.
        vocabulary_size: the most tokens to return, reserved tokens included.
        vocabulary_output_file: also write the vocabulary there, one token per line.
        lowercase: lowercase the text and strip accents (as ``WordPieceTokenizer``).
        strip_accents: strip accents from cased text too.
        split: split texts on whitespace and punctuation before training.
        split_on_cjk: make each CJK ideograph a word of its own (only with ``split``).
        suffix_indicator: the prefix of pieces that continue a word.
        reserved_tokens: tokens given the first ids whatever the corpus holds;
            ``None`` reserves ``[PAD] [CLS] [SEP] [UNK] [MASK]``, ``[]`` nothing.

    Returns:
        The tokens in id order, ready for ``WordPieceTokenizer(vocabulary=...)`` or
        ``BertTokenizer(vocabulary=...)``.

    Example:

    >>> vocabulary = compute_word_piece_vocabulary(["bat sat pat mat rat"] * 3, 20)
    >>> vocabulary[:6]
    ['[PAD]', '[CLS]', '[SEP]', '[UNK]', '[MASK]', 'a']
    >>> from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer
    >>> tokenizer = WordPieceTokenizer(vocabulary)
    >>> tokenizer.detokenize(tokenizer("bat sat"))
    'bat sat'
    """
    if isinstance(vocabulary_size, bool) or not isinstance(vocabulary_size, int) or vocabulary_size <= 0:
        raise ValueError(f"`vocabulary_size` must be a positive integer, got {vocabulary_size!r}.")
    reserved = _checked_reserved_tokens(reserved_tokens, vocabulary_size)
    if not isinstance(suffix_indicator, str) or not suffix_indicator:
        raise ValueError(f"`suffix_indicator` must be a non-empty string, got {suffix_indicator!r}.")

    backend = tokenizers.Tokenizer(
        tokenizers.models.WordPiece(
            unk_token="[UNK]",
            continuing_subword_prefix=suffix_indicator,
            max_input_chars_per_word=MAX_CHARS_PER_WORD,
        )
    )
    configure_word_splitting(
        backend, lowercase=lowercase, strip_accents=strip_accents, split=split, split_on_cjk=split_on_cjk
    )
    trainer = tokenizers.trainers.WordPieceTrainer(
        vocab_size=vocabulary_size,
        special_tokens=reserved,
        continuing_subword_prefix=suffix_indicator,
        show_progress=False,
    )
    files = _as_files(data)
    if files is not None:
        if not split:
            raise ValueError(
                "Training on files needs `split=True`: a file holds running text, not "
                "words. For custom word splitting, pass the words as lists of strings "
                "with `split=False`."
            )
        backend.train([str(path) for path in files], trainer)
    else:
        backend.train_from_iterator(_texts(data, split), trainer)

    by_id = sorted(backend.get_vocab(with_added_tokens=True).items(), key=lambda item: item[1])
    vocabulary = [token for token, _ in by_id if token in reserved or _usable(token, suffix_indicator)]
    vocabulary = vocabulary[:vocabulary_size]
    if vocabulary_output_file is not None:
        pathlib.Path(vocabulary_output_file).write_text(
            "".join(token + "\n" for token in vocabulary), encoding="utf-8", newline="\n"
        )
    return vocabulary


def _usable(token: str, suffix_indicator: str) -> bool:
    """Whether a learned piece can ever be produced and stored.

    A piece longer than a word may be never matches (such words become the
    out-of-vocabulary token), and one holding a line break (possible without splitting)
    cannot live in a one-token-per-line file.
    """
    piece = token.removeprefix(suffix_indicator)
    return len(piece) <= MAX_CHARS_PER_WORD and "\n" not in token and "\r" not in token


def _checked_reserved_tokens(reserved_tokens, vocabulary_size: int) -> list[str]:
    reserved = list(DEFAULT_RESERVED_TOKENS if reserved_tokens is None else reserved_tokens)
    if isinstance(reserved_tokens, str):
        raise ValueError(f"`reserved_tokens` must be a list of strings, got the string {reserved_tokens!r}.")
    for token in reserved:
        if not isinstance(token, str) or not token or "\n" in token or "\r" in token:
            raise ValueError(
                f"`reserved_tokens` must hold non-empty strings without line breaks, got {token!r}."
            )
    repeated = sorted({token for token in reserved if reserved.count(token) > 1})
    if repeated:
        raise ValueError(f"`reserved_tokens` lists {repeated} more than once; each token needs one id.")
    if len(reserved) > vocabulary_size:
        raise ValueError(
            f"`vocabulary_size={vocabulary_size}` leaves no room: the {len(reserved)} reserved "
            "tokens alone exceed it. Raise `vocabulary_size` or reserve fewer tokens."
        )
    return reserved


def _as_files(data) -> list | None:
    """``data`` as a list of file paths, or ``None`` if it holds texts."""
    if isinstance(data, os.PathLike) or (isinstance(data, str) and os.path.isfile(data)):
        return [data]
    if isinstance(data, str):
        raise ValueError(
            f"`data` is a single string that names no file ({data[:60]!r}). Pass a list of "
            "texts, or the paths of text files."
        )
    if data is None:
        raise ValueError("`data` is None; pass a list of texts or of text file paths.")
    if isinstance(data, Sequence) and data and all(
        isinstance(item, os.PathLike) or (isinstance(item, str) and os.path.isfile(item)) for item in data
    ):
        for item in data:
            if not os.path.isfile(item):
                raise FileNotFoundError(f"No text file at {item}; `data` lists it as a training file.")
        return list(data)
    return None


def _texts(data, split: bool) -> Iterator[str]:
    if not isinstance(data, Iterable):
        raise ValueError(
            f"`data` must be a list or iterable of texts, or of text file paths, got {type(data).__name__}."
        )
    for index, item in enumerate(data):
        if isinstance(item, bytes):
            item = item.decode("utf-8")
        if isinstance(item, str):
            yield item
        elif not split and isinstance(item, Sequence) and all(isinstance(word, str) for word in item):
            yield from item
        else:
            raise ValueError(
                f"Item {index} of `data` is a {type(item).__name__} ({item!r:.60}); the corpus "
                "must be strings (or, with `split=False`, lists of words)."
            )
