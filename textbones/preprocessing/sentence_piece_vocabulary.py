"""Train a SentencePiece model proto from text, quietly and in memory."""

import io
import os
import pathlib
from collections.abc import Iterable, Iterator, Mapping

import sentencepiece

from textbones.preprocessing.training_corpus import dataset_strings, is_tf_dataset

# Trainer settings applied unless the caller passes their own. The ids follow KerasHub's
# trainer: padding 0, unknown 1, begin/end of sentence 2 and 3. `minloglevel=1` keeps the
# trainer's progress log (hundreds of lines on stderr) quiet but lets its warnings through.
_DEFAULT_TRAINER_SETTINGS = {
    "pad_id": 0,
    "unk_id": 1,
    "bos_id": 2,
    "eos_id": 3,
    "minloglevel": 1,
}


def compute_sentence_piece_proto(
    data: Iterable[str] | Iterable[os.PathLike],
    vocabulary_size: int,
    model_type: str = "unigram",
    proto_output_file: str | os.PathLike | None = None,
    lowercase: bool = False,
    **trainer_kwargs,
) -> bytes:
    """Train a SentencePiece model and return its serialized proto.

    ``data`` is the training text: a ``tf.data.Dataset`` of strings (scalar or batched
    elements), or any iterable of strings (a list, a NumPy array), one sentence or
    paragraph each; or a list of paths to plain-text files, read line by line. A list
    counts as paths when every item is a ``pathlib.Path`` or a string naming an existing
    file. With the same sentences and settings, the model is the one KerasHub's
    ``compute_sentence_piece_proto`` trains.

    Unless overridden, the model gets ``<pad>`` id 0, ``<unk>`` id 1, ``<s>`` id 2 and
    ``</s>`` id 3, and NFKC normalization. Any other ``sentencepiece`` trainer option
    passes through ``trainer_kwargs`` (lists are allowed where the trainer takes a
    comma-separated value). For an ALBERT/FNet-style model laid out like the published
    ALBERT one (``<pad>`` 0, ``<unk>`` 1, ``[CLS]`` 2, ``[SEP]`` 3, ``[MASK]`` 4), pass
    ``bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"]``; use
    ``user_defined_symbols`` instead for tokens that should also be recognised when typed
    in the text. ``hard_vocab_limit=False`` lets a small corpus give fewer pieces than
    ``vocabulary_size`` instead of failing.

    Args:
        data: training sentences (a ``tf.data.Dataset``, list or other iterable of
            strings), or a list of text-file paths.
        vocabulary_size: number of pieces, special ones included.
        model_type: ``"unigram"``, ``"bpe"``, ``"word"`` or ``"char"``.
        proto_output_file: if given, the proto is also written to this path (and still
            returned, where KerasHub returns ``None``).
        lowercase: case-fold the text (normalization ``nmt_nfkc_cf`` rather than ``nmt_nfkc``).
        **trainer_kwargs: further ``sentencepiece.SentencePieceTrainer`` options; they
            override the defaults above.

    Returns:
        The serialized model, ready for ``SentencePieceTokenizer(proto=...)``.

    Raises:
        ValueError: ``data`` is empty, a dict, a dataset of anything but strings, holds
            non-strings, or mixes paths and text; or the trainer refused the settings
            (its reason is in the message; that error is also a ``RuntimeError``, the
            type KerasHub lets through from ``sentencepiece``).
        FileNotFoundError: a ``pathlib.Path`` in ``data`` names no file.

    Example:

    >>> import sentencepiece
    >>> proto = compute_sentence_piece_proto(
    ...     ["The cat sat.", "The dog ran."], vocabulary_size=19, lowercase=True,
    ...     bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"])
    >>> model = sentencepiece.SentencePieceProcessor(model_proto=proto)
    >>> [model.id_to_piece(i) for i in range(5)]
    ['<pad>', '<unk>', '[CLS]', '[SEP]', '[MASK]']
    """
    if model_type not in ("unigram", "bpe", "word", "char"):
        raise ValueError(
            f"`model_type` must be 'unigram', 'bpe', 'word' or 'char', got {model_type!r}."
        )
    if int(vocabulary_size) <= 0:
        raise ValueError(f"`vocabulary_size` must be a positive integer, got {vocabulary_size!r}.")
    settings = {
        **_DEFAULT_TRAINER_SETTINGS,
        "vocab_size": int(vocabulary_size),
        "model_type": model_type,
        "normalization_rule_name": "nmt_nfkc_cf" if lowercase else "nmt_nfkc",
        **trainer_kwargs,
    }
    for reserved in ("input", "model_prefix", "sentence_iterator", "model_writer"):
        if reserved in trainer_kwargs:
            raise ValueError(
                f"`{reserved}` is set by compute_sentence_piece_proto itself; pass the text "
                "as `data` and a path as `proto_output_file` instead."
            )
    sentences = _SentenceStream(_sentences(data))
    writer = io.BytesIO()
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=sentences, model_writer=writer, **settings
        )
    except RuntimeError as error:
        if sentences.error is not None:  # raised while reading `data`, wrapped by the trainer
            raise sentences.error from None
        if "sentences_.empty()" in str(error) or "all_chars_count" in str(error):
            raise ValueError(
                "`data` holds no text to train on (no non-empty sentence); give it some."
            ) from None
        raise TrainerRefusedError(
            f"SentencePiece could not train a model with these settings: {str(error).strip()}"
        ) from None
    proto = writer.getvalue()
    if proto_output_file is not None:
        pathlib.Path(proto_output_file).write_bytes(proto)
    return proto


class TrainerRefusedError(ValueError, RuntimeError):
    """The SentencePiece trainer refused the settings (a vocabulary size the corpus cannot
    fill, say).

    A ``ValueError`` like textbones' other argument errors, and a ``RuntimeError`` like the
    error KerasHub lets through from ``sentencepiece``, so either ``except`` catches it.

    Example:

    >>> try:
    ...     compute_sentence_piece_proto(["a b"], vocabulary_size=500)
    ... except RuntimeError as error:
    ...     print(type(error).__name__, isinstance(error, ValueError))
    TrainerRefusedError True
    """


def _sentences(data) -> Iterator[str]:
    """The training sentences of ``data`` (text, or the lines of the files it names)."""
    if is_tf_dataset(data):
        return dataset_strings(data, "compute_sentence_piece_proto")
    if isinstance(data, Mapping):
        raise ValueError(
            "`data` must be a tf.data.Dataset of strings, a list of sentences or a list of "
            f"text file paths, not a {type(data).__name__}. Pass the sentences themselves, "
            "e.g. `list(data.values())`."
        )
    if isinstance(data, (str, bytes)):
        raise ValueError(
            "`data` must be a list (or other iterable) of strings or of file paths, not a "
            "single string; wrap it in a list."
        )
    if not isinstance(data, Iterable):
        raise ValueError(
            f"`data` must be a list (or other iterable) of strings or of file paths, got a "
            f"{type(data).__name__}."
        )
    if isinstance(data, (list, tuple)):
        if not data:
            raise ValueError("`data` is empty; give at least one sentence or file.")
        paths = _as_paths(data)
        if paths is not None:
            return _file_lines(paths)
    return _checked_texts(data)


class _SentenceStream:
    """An iterator that keeps the exception it raised, which the trainer would swallow."""

    def __init__(self, sentences: Iterator[str]):
        self._sentences = sentences
        self.error: BaseException | None = None

    def __iter__(self) -> "_SentenceStream":
        return self

    def __next__(self) -> str:
        try:
            return next(self._sentences)
        except StopIteration:
            raise
        except Exception as error:
            self.error = error
            raise


def _as_paths(items) -> list[pathlib.Path] | None:
    """``items`` as file paths if they are paths, ``None`` if they are text."""
    if any(isinstance(item, os.PathLike) for item in items):
        paths = [pathlib.Path(item) for item in items]
        for path in paths:
            if not path.is_file():
                raise FileNotFoundError(f"The training file {path} does not exist.")
        return paths
    is_file = [isinstance(item, str) and os.path.isfile(item) for item in items]
    if all(is_file):
        return [pathlib.Path(item) for item in items]
    if any(is_file):
        missing = items[is_file.index(False)]
        raise ValueError(
            f"`data` mixes file paths with other strings ({missing!r} is not a file). Pass "
            "only paths to text files, or only training text."
        )
    return None


def _checked_texts(items) -> Iterator[str]:
    for index, item in enumerate(items):
        if isinstance(item, bytes):
            item = item.decode("utf-8")
        if not isinstance(item, str):
            raise ValueError(
                f"Item {index} of `data` is a {type(item).__name__} ({item!r}), not a string. "
                "Convert it with str() or drop it."
            )
        yield item


def _file_lines(paths: list[pathlib.Path]) -> Iterator[str]:
    for path in paths:
        with path.open(encoding="utf-8") as file:
            for line in file:
                yield line.rstrip("\r\n")
