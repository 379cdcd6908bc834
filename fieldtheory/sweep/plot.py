"""Figures of a sweep: phases on a 2-D grid, observables along a 1-D one (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fieldtheory.errors import FieldTheoryError
from fieldtheory.phases import Phase
from fieldtheory.sweep.classification import FAILED, PHASES, SCALARS

if TYPE_CHECKING:
    from fieldtheory.sweep.grid import SweepResult

__all__ = ["PHASE_COLOURS", "plot_sweep"]


#: Colours of the phases in a 2-D diagram (failed points are grey).
PHASE_COLOURS = {
    Phase.FIXED_POINT: "#f2f2f2",
    Phase.NOISE_DRIVEN: "#f2d9a6",
    Phase.CHAOTIC: "#e4572e",
    Phase.MAGNETIC: "#4c78a8",
    Phase.MAGNETIC_CHAOTIC: "#8e44ad",
    FAILED: "#7f7f7f",
}


def plot_sweep(result: SweepResult, path: str | Path) -> Path:
    """Save ``result`` as a figure: phases on the grid (2-D) or observables (1-D)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch
    except ImportError:
        raise FieldTheoryError(
            "plotting needs matplotlib: pip install 'fieldtheory[plot]'"
        ) from None
    names = list(result.grid)
    if len(names) == 2:
        figure, axes = plt.subplots(figsize=(5.5, 4.5))
        order = [*PHASES, FAILED]
        codes = np.vectorize(order.index)(result.phase).astype(float)
        x, y = result.grid[names[0]], result.grid[names[1]]
        axes.pcolormesh(
            x,
            y,
            codes.T,
            shading="nearest",
            vmin=-0.5,
            vmax=len(order) - 0.5,
            cmap=ListedColormap([PHASE_COLOURS[p] for p in order]),
        )
        axes.set_xlabel(names[0])
        axes.set_ylabel(names[1])
        present = [p for p in order if np.any(result.phase == p)]
        axes.legend(
            handles=[Patch(color=PHASE_COLOURS[p], label=p) for p in present],
            loc="upper left",
            fontsize="small",
        )
    else:
        x = result.grid[names[0]]
        figure, rows = plt.subplots(len(SCALARS), 1, sharex=True, figsize=(5.5, 8))
        chaotic = np.array([Phase(p).chaotic for p in result.phase])
        for axes, key in zip(rows, SCALARS, strict=True):
            axes.plot(x, result.observable(key), "o-", markersize=3)
            axes.plot(
                x[chaotic], result.observable(key)[chaotic], "o", color="#e4572e", markersize=4
            )
            axes.set_ylabel(key)
        rows[-1].set_xlabel(names[0])
        axes = rows[0]
    fixed = ", ".join(f"{k} = {v:g}" for k, v in result.fixed.items())
    axes.set_title(f"{result.model}" + (f" ({fixed})" if fixed else ""))
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path)
    plt.close(figure)
    return path
