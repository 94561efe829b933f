"""The textbones version string, kept in one place for the package and its build."""

__version__ = "0.1.0"
