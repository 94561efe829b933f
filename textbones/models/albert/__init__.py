"""The ALBERT family."""
