"""Training text for ``textbones pretrain``: files given by the user, or an embedded default.

The default corpus is the docstrings of the Python standard library installed with the
running interpreter, read from its source files with ``ast`` (nothing is imported or
executed, nothing is downloaded). It is English prose about programming: plenty of
repeated structure for a small masked language model to learn.
"""

from __future__ import annotations

import ast
import os
import pathlib
import re
import sysconfig
from collections.abc import Iterable, Iterator

#: Sentences shorter or longer than this many words are left out of the default corpus.
MIN_WORDS, MAX_WORDS = 4, 48

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def read_corpus_files(paths: Iterable[str | os.PathLike]) -> list[str]:
    """The non-empty lines of the given UTF-8 text files, in order.

    Each path must be a readable text file (a pipe such as ``<(zcat corpus.gz)`` works
    too) that holds some text. A missing path, a folder, a file that is not UTF-8 text or
    holds NUL bytes (a binary file), and a file with no text (empty, or ``/dev/null``) are
    refused with an error that names the file and the problem; nothing of its content is
    repeated.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "corpus.txt"
    >>> _ = path.write_text("first line\\n\\n  second line  \\n")
    >>> read_corpus_files([path])
    ['first line', 'second line']
    >>> _ = path.write_bytes(b"\\x7fELF\\x02\\x01\\x00\\x00")
    >>> read_corpus_files([path])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Corpus file ... is not text: line 1 holds a NUL byte (a binary file?). ...
    """
    lines: list[str] = []
    for path in map(pathlib.Path, paths):
        lines.extend(_text_lines(path))
    return lines


def numbered_lines(
    path: str | os.PathLike, fix: str = "Give a UTF-8 text file, one text per line."
) -> list[tuple[int, str]]:
    """The non-blank lines of one UTF-8 text file, stripped, with their line numbers
    (counted from 1, blank lines included); refuses what is not text.

    A missing path, a folder, a file that is not UTF-8 or holds NUL bytes (a binary
    file), and a file with no text are refused with an error that names the file and the
    problem, then ``fix``.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "texts.txt"
    >>> _ = path.write_text("first\\n\\n  second  \\n")
    >>> numbered_lines(path)
    [(1, 'first'), (3, 'second')]
    >>> _ = path.write_text("\\n")
    >>> numbered_lines(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Corpus file ... holds no text (it is empty or only blank lines). ...
    """
    path = pathlib.Path(path)
    lines = _read_lines(path, fix, "--corpus takes one text file.")
    if not lines:
        raise ValueError(
            f"Corpus file {path} holds no text (it is empty or only blank lines). {fix}"
        )
    return lines


def _read_lines(path: pathlib.Path, fix: str, folder_hint: str) -> list[tuple[int, str]]:
    """The numbered non-blank lines of ``path`` (perhaps none); refuses what is not text."""
    noun = "Corpus"
    if path.is_dir():
        raise IsADirectoryError(f"{noun} path {path} is a folder, not a file: {folder_hint}")
    if not path.exists():
        problem = "is a broken symbolic link" if path.is_symlink() else "does not exist"
        raise FileNotFoundError(f"{noun} file {path} {problem}. {fix}")
    lines: list[tuple[int, str]] = []
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if b"\0" in raw:
                    raise ValueError(
                        f"{noun} file {path} is not text: line {number} holds a NUL byte "
                        f"(a binary file?). {fix}"
                    )
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise ValueError(
                        f"{noun} file {path} is not UTF-8 text: line {number} holds a byte "
                        f"UTF-8 does not allow (column {error.start + 1}). Convert the file "
                        "to UTF-8 first (e.g. with iconv), or leave it out."
                    ) from None
                line = line.removeprefix("\ufeff").strip() if number == 1 else line.strip()
                if line:
                    lines.append((number, line))
    except PermissionError:
        raise PermissionError(f"{noun} file {path} can't be read (permission denied).") from None
    return lines


def _text_lines(path: pathlib.Path) -> list[str]:
    """The non-blank lines of one pretraining corpus file, stripped; refuses what is not text."""
    fix = "Give UTF-8 text files, one sentence or paragraph per line."
    folder_hint = (
        f"--corpus takes text files. Name the files inside it (e.g. --corpus {path / '*.txt'})."
    )
    lines = [line for _, line in _read_lines(path, fix, folder_hint)]
    if not lines:
        raise ValueError(
            f"The corpus is empty: {path} holds no text (it is empty or only blank lines). "
            f"{fix} Or leave out --corpus for the embedded default."
        )
    return lines


def standard_library_sentences(limit: int | None = None) -> list[str]:
    """Sentences from the docstrings of this Python's standard library, deduplicated and in
    a fixed order (the same interpreter gives the same corpus).

    Example:

    >>> sentences = standard_library_sentences(limit=50)
    >>> len(sentences), all(MIN_WORDS <= len(s.split()) <= MAX_WORDS for s in sentences)
    (50, True)
    """
    seen: set[str] = set()
    sentences: list[str] = []
    for docstring in _standard_library_docstrings():
        for sentence in _sentences(docstring):
            if sentence not in seen:
                seen.add(sentence)
                sentences.append(sentence)
                if limit is not None and len(sentences) >= limit:
                    return sentences
    return sentences


def _standard_library_docstrings() -> Iterator[str]:
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).parts
        if (
            relative[0] in ("site-packages", "dist-packages", "test", "tests", "idlelib", "lib2to3")
            or "test" in relative[:-1]
        ):
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                docstring = ast.get_docstring(node)
                if docstring:
                    yield docstring


def _sentences(docstring: str) -> Iterator[str]:
    # Paragraphs of prose only: code examples, tables and argument lists are not sentences.
    for paragraph in re.split(r"\n\s*\n", docstring):
        lines = [line.strip() for line in paragraph.splitlines()]
        if any(line.startswith((">>>", "...", "$", "|", "+", "-", "*", ":")) for line in lines):
            continue
        text = " ".join(lines)
        for sentence in _SENTENCE_END.split(text):
            words = sentence.split()
            if (
                MIN_WORDS <= len(words) <= MAX_WORDS
                and sentence[0].isupper()
                and sentence.endswith(".")
            ):
                yield " ".join(words)
