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
    """The non-empty lines of the given text files, in order.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` when the files hold
    no text at all.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "corpus.txt"
    >>> _ = path.write_text("first line\\n\\n  second line  \\n")
    >>> read_corpus_files([path])
    ['first line', 'second line']
    """
    lines: list[str] = []
    for path in map(pathlib.Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"Corpus file {path} does not exist. Give text files, one sentence or paragraph per line.")
        with path.open(encoding="utf-8", errors="replace") as handle:
            lines.extend(line.strip() for line in handle if line.strip())
    if not lines:
        raise ValueError(
            "The corpus is empty: the given files hold no text. Give text files with one "
            "sentence or paragraph per line (or no --corpus, for the embedded default)."
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
        if relative[0] in ("site-packages", "dist-packages", "test", "tests", "idlelib", "lib2to3") or "test" in relative[:-1]:
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
            if MIN_WORDS <= len(words) <= MAX_WORDS and sentence[0].isupper() and sentence.endswith("."):
                yield " ".join(words)
