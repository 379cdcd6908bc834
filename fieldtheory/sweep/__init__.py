r"""Phase diagrams: :func:`~fieldtheory.solve.solve` over a grid of one or two parameters.

Every grid point is solved independently (serially, in a local process pool, or on a Dask
cluster) and classified into a phase:

* **chaotic** when the solver took its chaotic branch (D = 0), or, for a noise-driven
  state (D > 0), when its largest Lyapunov exponent is positive;
* **magnetic** when the network spontaneously breaks the symmetry x → −x: the
  magnetisation m = ⟨φ⟩ (``mean_phi``) exceeds :data:`MAGNETIC_THRESHOLD` in absolute
  value. The symmetry exists only where φ is odd and the effective bias I vanishes; where
  either breaks it explicitly, m ≠ 0 in every phase, there is no magnetic transition (only
  a crossover), and the point is classified by chaos alone (``symmetric`` is false);

giving a :class:`~fieldtheory.phases.Phase`: ``fixed_point``, ``noise_driven`` (noisy and
stable), ``chaotic``, ``magnetic`` or ``magnetic_chaotic``; a point whose solve fails is
``failed`` and keeps the error message. See ``docs/sweeps.md``.

Modules: :mod:`~fieldtheory.sweep.grid` (parsing, the grid, execution, the result),
:mod:`~fieldtheory.sweep.classification` (the phase of a point, the symmetry test),
:mod:`~fieldtheory.sweep.transition` (bisection of a boundary),
:mod:`~fieldtheory.sweep.plot` (figures).

The threshold. Near the pitchfork J0⟨φ'⟩ = 1 the self-consistency m = ⟨φ(J0 m + u)⟩ has
the residual (J0⟨φ'⟩ − 1)m − c m³. The solver resolves the paramagnetic root to
|m| ≲ ε/|J0⟨φ'⟩ − 1| (ε ≈ 1e-16, its residual rounding) and the magnetised root is
m ≈ √((J0⟨φ'⟩ − 1)/c). A threshold τ therefore misclassifies only points within
max(cτ², ε/τ) of the transition (in J0⟨φ'⟩ − 1); τ = 1e-5 ≈ (ε/c)^{1/3} makes both
≈ 1e-11, far below any grid spacing or bisection tolerance.
"""


from fieldtheory.sweep.classification import (
    CHAOS_SIGMAS,
    FAILED,
    MAGNETIC_THRESHOLD,
    PHASES,
    SCALARS,
    _symmetry_test,
    classify,
)
from fieldtheory.sweep.grid import (
    CURVES,
    SweepResult,
    parse_range,
    parse_sweep_parameters,
    sweep,
)
from fieldtheory.sweep.plot import PHASE_COLOURS, plot_sweep
from fieldtheory.sweep.transition import Transition, transition

__all__ = [
    "CHAOS_SIGMAS",
    "CURVES",
    "FAILED",
    "MAGNETIC_THRESHOLD",
    "PHASES",
    "PHASE_COLOURS",
    "SCALARS",
    "SweepResult",
    "Transition",
    "_symmetry_test",
    "classify",
    "parse_range",
    "parse_sweep_parameters",
    "plot_sweep",
    "sweep",
    "transition",
]
