"""The FNet family."""
