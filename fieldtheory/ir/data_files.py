"""Arrays a model takes from files: mode strengths (``--spectrum``), gains (``--gains``),
input patterns (``--inputs``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fieldtheory.errors import ModelFileError

__all__ = ["load_table", "load_vector"]


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


def load_table(path, what: str, *, vector_as_column: bool = False) -> np.ndarray:
    """A P × d table of finite numbers (one pattern per row) from a ``.npy`` or text
    (whitespace- or comma-separated, ``.csv``) file.

    :class:`~fieldtheory.errors.ModelFileError` for a file that is missing, not numeric,
    ragged, not two-dimensional (a one-dimensional ``.npy`` array is ambiguous: one pattern
    or P patterns of d = 1; ``vector_as_column`` reads it as one column, as for targets),
    empty, or has a NaN or infinite entry (its row and column named).
    """
    path = Path(path)
    try:
        if path.suffix == ".npy":
            data = np.asarray(np.load(path, allow_pickle=False), dtype=float)
        else:
            delimiter = "," if path.suffix == ".csv" else None
            data = np.loadtxt(path, dtype=float, ndmin=2, delimiter=delimiter)
    except FileNotFoundError:
        raise ModelFileError(f"{what} file {path}: no such file", path=str(path)) from None
    except (ValueError, TypeError, OSError) as error:
        raise ModelFileError(f"{what} file {path}: not a table of numbers, one pattern per "
                             f"row ({error})", path=str(path)) from None
    if vector_as_column and data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.size == 0:
        raise ModelFileError(f"{what} file {path}: expected a P × d array (one pattern per "
                             f"row), got shape {data.shape}", path=str(path))
    bad = np.argwhere(~np.isfinite(data))
    if bad.size:
        a, j = (int(v) for v in bad[0])
        raise ModelFileError(f"{what} file {path}: entry ({a}, {j}) is {data[a, j]}; inputs "
                             "must be finite numbers", path=str(path))
    return data
