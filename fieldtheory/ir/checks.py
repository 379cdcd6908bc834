"""Type checks at the boundary: a wrong type is refused with what was expected.

The model language and the entry points take mappings, fields, ensembles and models; a
value of the wrong type (a list for a mapping, the string ``"x"`` for the Field ``x``, a
number for an ensemble) would otherwise fail deep inside with an unrelated message. These
helpers raise a :class:`TypeError` subclass of the fieldtheory hierarchy that names the
argument, what it expects and what it got.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fieldtheory.errors import DeclarationTypeError

__all__ = ["describe", "require_instance", "require_mapping"]


def describe(value: object) -> str:
    """``type repr`` of a value, the repr cut to 60 characters."""
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def require_instance(value: Any, kinds: type | tuple[type, ...], what: str, expected: str,
                     error: type[TypeError] = DeclarationTypeError) -> Any:
    """``value`` if it is an instance of ``kinds``; else ``error`` naming ``what`` it was."""
    if not isinstance(value, kinds):
        raise error(f"{what} must be {expected}, got {describe(value)}")
    return value


def require_mapping(value: Any, what: str, expected: str,
                    error: type[TypeError] = DeclarationTypeError) -> Mapping:
    """``value`` if it is a mapping (``expected`` describes its keys and values)."""
    if not isinstance(value, Mapping):
        raise error(f"{what} must be a mapping {expected}, got {describe(value)}")
    return value
