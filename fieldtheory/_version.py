"""The fieldtheory version, in a module of its own: ``fieldtheory/__init__.py``, the command
line and the code generators read it without importing the package's top level (which
imports them)."""

__version__ = "0.1.0"
