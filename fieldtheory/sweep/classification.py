r"""The phase of one solved sweep point: chaos, magnetisation, the symmetry x → −x.

A point is **chaotic** when the solver found its chaotic branch (D = 0), or when its largest
Lyapunov exponent is positive beyond :data:`CHAOS_SIGMAS` standard errors (a noise-driven
state, D > 0, or any sampled solution; a deterministic solver's λ_max has no standard
error, so it counts from λ_max > 0); a noise-driven point that is not chaotic is
``noise_driven``. It is **magnetic** when the network spontaneously breaks the symmetry
x → −x: the magnetisation m = ⟨φ⟩ (``mean_phi``) exceeds :data:`MAGNETIC_THRESHOLD` (and 4
standard errors of a sampled m) where the symmetry holds. The symmetry exists only where
every function of the state in the site is odd and every bias vanishes; where either breaks
it explicitly, m ≠ 0 in every phase, there is no magnetic transition (only a crossover),
and the point is classified by chaos alone (``symmetric`` is false).

The threshold. Near the pitchfork J0⟨φ'⟩ = 1 the self-consistency m = ⟨φ(J0 m + u)⟩ has
the residual (J0⟨φ'⟩ − 1)m − c m³. The solver resolves the paramagnetic root to
|m| ≲ ε/|J0⟨φ'⟩ − 1| (ε ≈ 1e-16, its residual rounding) and the magnetised root is
m ≈ √((J0⟨φ'⟩ − 1)/c). A threshold τ therefore misclassifies only points within
max(cτ², ε/τ) of the transition (in J0⟨φ'⟩ − 1); τ = 1e-5 ≈ (ε/c)^{1/3} makes both
≈ 1e-11, far below any grid spacing or bisection tolerance.

Why k = 3 for chaos. A sampled λ_max (Monte-Carlo runtime) is the mean of B replicas with
a standard error from their scatter; λ_max > 3σ is a one-sided Student-t test with B − 1
degrees of freedom, false-positive rate ≈ 1 % at the default B = 8 (3 % at B = 4). The
Monte-Carlo runtime decides its own D = 0 branch with the same k (``MC_CHAOS_SIGMAS``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from fieldtheory.phases import Branch, Phase

__all__ = ["CHAOS_SIGMAS", "FAILED", "MAGNETIC_THRESHOLD", "PHASES", "SCALARS", "classify"]

#: The scalar observables each point keeps (curves only on request).
SCALARS = ("mean", "variance", "mean_phi", "mean_gain", "lyapunov_max")
#: The phases a converged point can be in.
PHASES = tuple(p for p in Phase if p is not Phase.FAILED)
#: The phase of a point whose solve raised.
FAILED = Phase.FAILED
#: |m| above which a symmetric point is magnetised (derivation in the module docstring).
MAGNETIC_THRESHOLD = 1e-5
#: λ_max counts as positive beyond this many of its standard errors (module docstring).
CHAOS_SIGMAS = 3.0
#: A sampled m is zero within this many standard errors (as verify's |z| ≤ 4).
MAGNETIC_SIGMAS = 4.0


def classify(point: Mapping[str, Any], threshold: float = MAGNETIC_THRESHOLD) -> Phase:
    """The phase of one solved point (a dict of the scalars, ``branch``, ``symmetric`` and,
    for a sampled solution, ``lyapunov_max_stderr`` and ``mean_phi_stderr``).

    Chaotic: the chaotic branch, or λ_max > :data:`CHAOS_SIGMAS` standard errors on any
    other than the fixed-point branch; noise-driven: the noise-driven branch otherwise.
    Magnetic: |m| > max(``threshold``, 4 standard errors) where the symmetry x → −x holds
    (``symmetric`` not false).
    """
    if point.get("error") is not None:
        return Phase.FAILED
    branch = Branch(point["branch"])
    lyapunov = point.get("lyapunov_max")
    if branch is Branch.NOISE_DRIVEN:
        sigma = point.get("lyapunov_max_stderr") or 0.0
        chaotic = lyapunov is not None and lyapunov > CHAOS_SIGMAS * sigma
    else:
        chaotic = branch is Branch.CHAOTIC
    floor = max(threshold, MAGNETIC_SIGMAS * (point.get("mean_phi_stderr") or 0.0))
    magnetic = point.get("symmetric") is not False and abs(point["mean_phi"]) > floor
    if magnetic:
        return Phase.MAGNETIC_CHAOTIC if chaotic else Phase.MAGNETIC
    if chaotic:
        return Phase.CHAOTIC
    return Phase.NOISE_DRIVEN if branch is Branch.NOISE_DRIVEN else Phase.FIXED_POINT


def _odd(function: Callable | None) -> bool:
    """Whether an elementwise callable is odd on [−8, 8] (None, no term, counts as odd)."""
    if function is None:
        return True
    u = np.linspace(-8.0, 8.0, 161)
    with np.errstate(all="ignore"):
        return bool(np.allclose(function(-u), -np.asarray(function(u)), rtol=1e-12, atol=1e-14))


def _symmetry_test(module) -> Callable[[Mapping[str, float]], bool | None]:
    """Whether x → −x is a symmetry of the single site at given parameter values.

    It is when every function of the state in the site (φ, a nonlinear drift, the functions
    inside the order parameters) is odd and every bias vanishes: then m → −m maps solutions
    to solutions, and m ≠ 0 breaks the symmetry spontaneously. Read off the generated
    module's ``spec`` (the runtimes' ``SiteSpec``).
    """
    spec = module.spec
    odd: dict[int, bool] = {}

    def all_odd(functions: Iterable[Callable | None]) -> bool:
        for function in functions:
            if id(function) not in odd:
                odd[id(function)] = _odd(function)
            if not odd[id(function)]:
                return False
        return True

    def symmetric(values: Mapping[str, float]) -> bool | None:
        try:
            site = spec(**values)
        except (ValueError, TypeError, ArithmeticError):  # not buildable here: unknown
            return None
        terms = (*site.means, *site.correlations, *site.responses)
        functions = [
            *site.phi,
            *site.nonlinear,
            *(t.left for t in terms),
            *(t.right for t in terms),
        ]
        return bool(np.all(np.asarray(site.offset) == 0.0)) and all_odd(functions)

    return symmetric
