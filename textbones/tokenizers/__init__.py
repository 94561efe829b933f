"""Tokenizers (WordPiece and SentencePiece families) — filled in by the preprocessing work."""

__all__: list[str] = []
