r"""Recorded activity: the data files of ``infer`` and ``predict-series`` (issue 17).

A file is a numpy ``.npz`` archive with

* ``x`` — the activity, shape (units, samples), finite numbers;
* ``dt`` — the sampling step (model time units), a positive number;
* ``populations`` (optional) — an integer label per unit (0, 1, … in the model's order of
  populations; without it every unit belongs to the model's only population).

``fieldtheory simulate MODEL --save DATA.npz`` writes such a file: the first field sampled
every dτ after the burn-in, trials stacked along the units (trial k's units are rows
k·N … (k+1)·N − 1), with the labels of the simulator's contiguous population blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fieldtheory.errors import DataFileError

__all__ = ["Activity", "load_activity", "save_activity"]


@dataclass(frozen=True)
class Activity:
    """Recorded activity: ``x`` (units × samples), step ``dt``, a label per unit."""

    x: np.ndarray
    dt: float
    populations: np.ndarray
    path: str = "<array>"

    @property
    def units(self) -> int:
        return int(self.x.shape[0])

    @property
    def samples(self) -> int:
        return int(self.x.shape[1])

    def members(self, population: int) -> np.ndarray:
        """Indices of the units with label ``population``."""
        return np.flatnonzero(self.populations == population)


def activity(x, dt, populations=None, *, path: str = "<array>") -> Activity:
    """Validate arrays as recorded activity (the checks :func:`load_activity` applies)."""
    try:
        x = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as error:
        raise DataFileError(f"data {path}: x is not an array of numbers ({error})",
                            path=path, key="x") from None
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] < 2:
        raise DataFileError(f"data {path}: x must have shape (units, samples) with at "
                            f"least one unit and two samples, got shape {x.shape}",
                            path=path, key="x")
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        i, n = (int(v) for v in bad[0])
        raise DataFileError(f"data {path}: x[{i}, {n}] is {x[i, n]} (unit {i}, sample "
                            f"{n}); recorded activity must be finite", path=path, key="x")
    try:
        step = float(np.asarray(dt, dtype=float).reshape(()))
    except (TypeError, ValueError):
        raise DataFileError(f"data {path}: dt = {dt!r} must be one number (the sampling "
                            "step)", path=path, key="dt") from None
    if not (np.isfinite(step) and step > 0):
        raise DataFileError(f"data {path}: dt = {step:g} must be a positive finite number",
                            path=path, key="dt")
    if populations is None:
        labels = np.zeros(x.shape[0], dtype=int)
    else:
        raw = np.asarray(populations)
        if raw.ndim != 1 or raw.shape[0] != x.shape[0]:
            raise DataFileError(f"data {path}: populations has shape {raw.shape}; it must "
                                f"hold one label per unit ({x.shape[0]})", path=path,
                                key="populations")
        integral = raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(
            raw == np.round(raw))
        if raw.dtype.kind not in "iub" and not integral:
            raise DataFileError(f"data {path}: population labels must be integers "
                                f"(0, 1, …), got dtype {raw.dtype}", path=path,
                                key="populations")
        labels = raw.astype(int)
        if labels.min() < 0:
            raise DataFileError(f"data {path}: population label {int(labels.min())} is "
                                "negative; labels are 0, 1, … in the model's order",
                                path=path, key="populations")
    return Activity(x, step, labels, path)


def load_activity(path) -> Activity:
    """Read and validate a data file (see the module docstring).

    :class:`~fieldtheory.errors.DataFileError` names the file and the key for a missing
    file, a file that is no ``.npz`` archive, a missing ``x`` or ``dt``, a NaN or infinite
    entry (its unit and sample), a wrong shape, and labels of the wrong length or type.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise DataFileError(f"data file {path}: no such file", path=str(path)) from None
    except (ValueError, OSError, AttributeError, TypeError) as error:
        raise DataFileError(f"data file {path}: not a numpy .npz archive ({error})",
                            path=str(path)) from None
    if not isinstance(contents, dict):  # np.load of a .npy gives an array
        raise DataFileError(f"data file {path}: not an .npz archive", path=str(path))
    for key in ("x", "dt"):
        if key not in contents:
            raise DataFileError(f"data file {path}: missing key {key!r} (it has "
                                f"{sorted(contents) or 'no keys'}); a data file holds x "
                                "(units × samples), dt and optionally populations",
                                path=str(path), key=key)
    return activity(contents["x"], contents["dt"], contents.get("populations"),
                    path=str(path))


def save_activity(path, x, dt: float, populations=None) -> Path:
    """Write ``x`` (units × samples), ``dt`` and the labels as a data file."""
    data = activity(x, dt, populations, path=str(path))
    path = Path(path)
    np.savez(path, x=data.x, dt=np.float64(data.dt), populations=data.populations)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")
