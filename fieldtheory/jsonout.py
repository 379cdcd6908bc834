"""Strict JSON out (RFC 8259: no NaN, no Infinity) with the ``undefined`` convention of
``../shared/CLI.md``: a quantity that cannot be computed is ``null``, and
``"undefined": {"<JSON pointer>": "reason"}`` says why.

Every ``to_json`` of a result passes through :func:`strict`, so no command can print a
bare NaN; :func:`dumps` is what the command line prints with.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["dumps", "plain", "strict"]


def strict(data: dict[str, Any], reasons: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``data`` in plain JSON types, every non-finite number replaced by None and recorded
    under ``"undefined"`` (a reason from ``reasons`` by JSON pointer when one is given,
    else "not finite: nan/inf"). A pointer of ``reasons`` whose value is None, or absent
    from an existing object, becomes an explicit null with its reason."""
    undefined: dict[str, str] = {}
    out = _walk(data, "", undefined, dict(reasons or {}))
    for pointer, reason in (reasons or {}).items():
        if _null_at(out, pointer):
            undefined.setdefault(pointer, reason)
    if undefined:
        out["undefined"] = {**out.get("undefined", {}), **undefined}
    return out


def plain(value: Any) -> Any:
    """``value`` with numpy arrays and scalars turned into lists and Python numbers,
    mappings into dicts with string keys (what :func:`strict` and ``json`` take)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def dumps(data: dict[str, Any], **kwargs: Any) -> str:
    """``json.dumps`` of :func:`strict` data, refusing any NaN that slipped through."""
    return json.dumps(strict(data), allow_nan=False, **kwargs)


def _walk(value: Any, pointer: str, undefined: dict[str, str], reasons: dict[str, str]):
    if isinstance(value, Mapping):
        return {str(k): _walk(v, f"{pointer}/{_escape(str(k))}", undefined, reasons)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(v, f"{pointer}/{k}", undefined, reasons) for k, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _walk(value.tolist(), pointer, undefined, reasons)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            undefined[pointer] = reasons.get(pointer, f"not finite: {number}")
            return None
        return number
    return value


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _null_at(data: Any, pointer: str) -> bool:
    """Whether ``pointer`` holds None — set there when its object exists but lacks the key;
    False when it holds a value or its parent does not exist."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = data
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    if not parts or not isinstance(node, dict):
        return False
    node.setdefault(parts[-1], None)
    return node[parts[-1]] is None
