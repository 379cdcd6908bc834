"""Arrays a model takes from files: mode strengths (``--spectrum``), gains (``--gains``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fieldtheory.errors import ModelFileError

__all__ = ["load_vector"]


def load_vector(path, what: str, entry: str) -> tuple[float, ...]:
    """A one-dimensional array of finite numbers ≥ 0, not all zero, from a ``.npy`` or
    text file (one number per entry; a single row or column is accepted).

    ``what`` names the file in messages ("spectrum file …"), ``entry`` its entries ("mode
    strength"). :class:`~fieldtheory.errors.ModelFileError` for a file that is missing,
    not numeric, not one-dimensional, empty, or has a negative, NaN or infinite entry (its
    index named), or is all zero.
    """
    path = Path(path)
    try:
        if path.suffix == ".npy":
            raw = np.load(path, allow_pickle=False)
        else:
            raw = np.loadtxt(path, dtype=float, ndmin=1)
        data = np.asarray(raw, dtype=float)
    except FileNotFoundError:
        raise ModelFileError(f"{what} file {path}: no such file", path=str(path)) from None
    except (ValueError, TypeError, OSError) as error:
        raise ModelFileError(f"{what} file {path}: not an array of numbers ({error})",
                             path=str(path)) from None
    data = data.ravel() if data.ndim == 2 and 1 in data.shape else data
    if data.ndim != 1 or data.size == 0:
        raise ModelFileError(f"{what} file {path}: expected a non-empty list of {entry}s, "
                             f"got shape {data.shape}", path=str(path))
    bad = np.flatnonzero(~np.isfinite(data) | (data < 0))
    if bad.size:
        k = int(bad[0])
        raise ModelFileError(f"{what} file {path}: entry {k} is {float(data[k]):g}; "
                             f"{entry}s must be finite and ≥ 0", path=str(path))
    if not np.any(data > 0):
        raise ModelFileError(f"{what} file {path}: every {entry} is zero", path=str(path))
    return tuple(float(v) for v in data)
