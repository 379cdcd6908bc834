"""Strict JSON for the tests: every ``--json`` output and every dump is read with this.

``strict_loads`` is ``json.loads`` refusing ``NaN``, ``Infinity`` and ``-Infinity`` (RFC 8259
has none of them; ``../shared/CLI.md``): Python's json reads them by default, so a NaN would
pass a test unnoticed. ``tests/conftest.py``'s ``run`` fixture applies it to the stdout of
every in-process command line that has ``--json``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["NonStrictJSON", "strict_loads"]


class NonStrictJSON(AssertionError):
    """Output that is not strict JSON: names the constant found."""


def _refuse(constant: str) -> Any:
    raise NonStrictJSON(f"non-strict JSON: {constant} (RFC 8259 has no NaN or Infinity; "
                        "an undefined quantity is null with its reason)")


def strict_loads(text: str | bytes) -> Any:
    """``json.loads(text)`` that raises :class:`NonStrictJSON` on NaN or ±Infinity."""
    return json.loads(text, parse_constant=_refuse)
