"""Tokenizers: WordPiece and SentencePiece on NumPy alone, and each family's tokenizer.

The family tokenizers (``BertTokenizer``, ``AlbertTokenizer``, ...) are those the registered
families declare; their classes live in their family's folder under ``textbones.models``.

Example:

>>> import textbones
>>> textbones.tokenizers.FNetTokenizer is textbones.models.FNetTokenizer
True
"""

import textbones.models  # noqa: F401  (registers the families)
from textbones import registry
from textbones.preprocessing.sentence_piece_tokenizer import SentencePieceTokenizer
from textbones.preprocessing.sentence_piece_vocabulary import compute_sentence_piece_proto
from textbones.preprocessing.tokenizer import Tokenizer
from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer
from textbones.preprocessing.word_piece_vocabulary import compute_word_piece_vocabulary

globals().update({family.tokenizer.__name__: family.tokenizer for family in registry.families()})

__all__ = [
    "SentencePieceTokenizer",
    "Tokenizer",
    "WordPieceTokenizer",
    "compute_sentence_piece_proto",
    "compute_word_piece_vocabulary",
    *(family.tokenizer.__name__ for family in registry.families()),
]
