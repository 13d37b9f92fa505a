"""The package version, in a module of its own so that any module can import it without importing
the package's public API (``doi2data/__init__.py``) and closing an import circle through it."""

__version__ = "0.1.0"
