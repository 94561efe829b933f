"""Tokenizers: WordPiece (BERT) and SentencePiece (ALBERT, FNet), on NumPy alone."""

from textbones.models.albert.tokenizer import AlbertTokenizer
from textbones.models.bert.tokenizer import BertTokenizer
from textbones.models.f_net.tokenizer import FNetTokenizer
from textbones.preprocessing.sentence_piece_tokenizer import SentencePieceTokenizer
from textbones.preprocessing.sentence_piece_vocabulary import compute_sentence_piece_proto
from textbones.preprocessing.tokenizer import Tokenizer
from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer
from textbones.preprocessing.word_piece_vocabulary import compute_word_piece_vocabulary

__all__ = [
    "AlbertTokenizer",
    "BertTokenizer",
    "FNetTokenizer",
    "SentencePieceTokenizer",
    "Tokenizer",
    "WordPieceTokenizer",
    "compute_sentence_piece_proto",
    "compute_word_piece_vocabulary",
]
