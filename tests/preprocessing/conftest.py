"""Fixtures of the preprocessing tests: the hard text corpus and tiny SentencePiece models.

The data and the training live in ``tests/helpers/sentence_piece.py`` (cached per process),
so tests outside this folder can use the same models by calling it directly.
"""

import pytest

from tests.helpers import sentence_piece


@pytest.fixture(scope="session")
def sentence_piece_corpus() -> tuple[str, ...]:
    """Texts with mixed case, accents, CJK, emoji, control and zero-width characters,
    ``[MASK]`` typed in, empty strings and very long words."""
    return sentence_piece.corpus()


@pytest.fixture(scope="session")
def sentence_piece_proto() -> bytes:
    """A tiny lowercasing model laid out as ALBERT's: ``<pad>`` 0, ``<unk>`` 1, control
    ``[CLS]`` 2, ``[SEP]`` 3, ``[MASK]`` 4, no bos/eos."""
    return sentence_piece.tiny_proto("albert")


@pytest.fixture(scope="session", params=sorted(sentence_piece.LAYOUTS))
def any_sentence_piece_proto(request) -> bytes:
    """Each of the tiny models of ``tests/helpers/sentence_piece.py``, in turn."""
    return sentence_piece.tiny_proto(request.param)
