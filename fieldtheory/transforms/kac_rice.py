r"""The Kac–Rice stage: the static field theory of a network's fixed points, read off the
lowered single site (issue 16; arXiv:2210.07877).

The fixed-point equation F(x) = 0 of the noiseless network has the same disorder average
as the dynamics with all times equal: averaging exp(Σ_i x̃_i F_i(x)) over a Gaussian J
gives the site sums of the ``collective_fields`` stage at one time, so the coupling input
of a site is Gaussian with mean Σ_l B_l m_l and variance S = Σ_k A_k C_k (m_l = ⟨f_l⟩,
C_k = ⟨f_k h_k⟩ at equal times) — exactly the coefficients of the ``site`` stage. The
response field integrates out to the density N(e(u); 0, S) of the residual
e(u) = −a u + r(u) + I + Σ_l B_l m_l. What the dynamics does not have is the determinant
|det ∂F/∂x|; it enters through the ensemble's spectral rule for −Λ + J diag(f') with
Λ = a − r'(u) (column variance profile v = Σ_k A_k f_k' h_k'):
(1/N) ln|det| = ½ sup_p [⟨ln(Λ² + p v)⟩ − p] (the Hermitised resolvent of a rank-one
variance profile, solved exactly). Every piece below is a sympy expression of the model's
parameters and of the site variable u, taken from the ``site`` stage; the numeric runtime
(:mod:`fieldtheory.solvers.runtime.kac_rice`) evaluates the same quantities from the
generated ``SiteSpec``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from fieldtheory.codegen.site import SiteProblem, U
from fieldtheory.errors import ActionStructureError
from fieldtheory.printing import latex, text

__all__ = ["KacRiceStage", "PopulationPieces", "kac_rice"]

Q, Q_HAT, T = sp.symbols("q q̂ T", real=True)


def hat(name: str) -> sp.Symbol:
    """The conjugate of an order parameter (ĉ of C_k, b̂ of m_l)."""
    return sp.Symbol(f"{'ĉ' if name.startswith('C') else 'b̂'}_{name}", real=True)


@dataclass(frozen=True)
class PopulationPieces:
    """One population's site of the Kac–Rice theory (sympy, in the variable u)."""

    name: str
    fraction: sp.Expr
    residual: sp.Expr  # e_α(u)
    variance: sp.Expr  # S_α = Σ_k A_αk C_k
    diagonal: sp.Expr  # Λ_α(u) = a_α − r_α'(u)
    self_energy: sp.Expr  # B_α(u) = Σ_{k∈α} Y_k f_k' h_k'
    log_weight: sp.Expr  # ln w_α(u)
    X: sp.Symbol


@dataclass(frozen=True)
class KacRiceStage:
    """The annealed Kac–Rice theory of a network's fixed points (symbolic)."""

    populations: tuple[PopulationPieces, ...]
    complexity: sp.Expr  # Σ without the populations' ln ∫ w (added in print), T a symbol
    equations: tuple[str, ...]  # the saddle point, as text
    conditions: tuple[str, ...]

    def __str__(self) -> str:
        out = ["Kac–Rice (annealed): E#{x*} = ∫dᴺx E_J[δ(F(x)) |det ∂F/∂x|], D = 0"]
        for pop in self.populations:
            out.append(f"  population {pop.name} (fraction {text(pop.fraction)}):")
            out += [f"    e(u) = {text(pop.residual)}",
                    f"    S_{pop.name} = {text(pop.variance)}",
                    f"    Λ(u) = {text(pop.diagonal)}",
                    f"    B(u) = {text(pop.self_energy)}",
                    f"    ln w(u) = {text(pop.log_weight)}"]
        out.append("  Σ(q) = extr [" + text(self.complexity)
                   + " + Σ_α f_α (ln ∫du w_α(u) − ln(2π S_α)/2)]")
        out.append("  saddle point (⟨·⟩_α over w_α):")
        out += [f"    {eq}" for eq in self.equations]
        out += ["  Jacobian at the fixed points of a shell (eigenvalues z): the same self-"
                "energies at τ = |z + Λ|²;",
                "    index k = 1/2 − (1/2π) ∫dy Σ_α f_α ⟨Λ/(X_α B_α + y² + Λ²)⟩_α",
                "  valid for: " + "; ".join(self.conditions)]
        return "\n".join(out)

    def latex(self) -> str:
        rows = [r"\mathbb{E}\,\#\{x^*\} = \int d^N x\, \mathbb{E}_J\big[\delta(F(x))\,"
                r"|\det \partial F/\partial x|\big]"]
        for pop in self.populations:
            rows += [rf"\text{{{pop.name}}}:\ e(u) = {latex(pop.residual)},\ "
                     rf"S_{{{pop.name}}} = {latex(pop.variance)},\ "
                     rf"\Lambda(u) = {latex(pop.diagonal)}",
                     rf"B(u) = {latex(pop.self_energy)}",
                     rf"\ln w(u) = {latex(pop.log_weight)}"]
        rows.append(r"\Sigma(q) = \operatorname{extr}\Big[" + latex(self.complexity)
                    + r" + \sum_\alpha f_\alpha \big(\ln\int du\, w_\alpha(u)"
                    r" - \tfrac12 \ln 2\pi S_\alpha\big)\Big]")
        rows.append(r"k = \tfrac12 - \frac{1}{2\pi}\int dy\,\sum_\alpha f_\alpha\Big\langle "
                    r"\frac{\Lambda}{X_\alpha B_\alpha + y^2 + \Lambda^2}\Big\rangle_\alpha")
        out = " \\\\\n".join(rows)
        for mark, command in (("ĉ", r"\hat{c}"), ("b̂", r"\hat{b}"), ("q̂", r"\hat{q}")):
            out = out.replace(mark, command + " ")
        return out


def kac_rice(site: SiteProblem) -> KacRiceStage:
    """The Kac–Rice stage of a lowered site (continuous time, any number of populations)."""
    if site.step is not None:
        raise ActionStructureError("Kac–Rice: maps are not supported yet")
    names = [pop.population for pop in site.sites]
    fractions = dict(zip(names, site.fractions, strict=True))
    conditions = []
    for pop in site.sites:
        if pop.noise != 0:
            conditions.append(f"noise {text(pop.noise)} = 0")
        if any(c != 0 for _, c in pop.response_coefficients):
            kappa = ", ".join(text(c) for _, c in pop.response_coefficients)
            conditions.append(f"independent J_ij, J_ji (response kernel {kappa} = 0)")
    conditions = list(dict.fromkeys(conditions)) or ["noiseless, ρ = 0 (as declared)"]
    m = {k: sp.Symbol(t.name, real=True) for k, t in enumerate(site.means)}
    C = {k: sp.Symbol(t.name, real=True) for k, t in enumerate(site.correlations)}
    Y = {k: sp.Symbol(f"Y_{t.name}", positive=True) for k, t in enumerate(site.correlations)}
    pieces = []
    for index, pop in enumerate(site.sites):
        X = sp.Integer(1) if index == 0 else sp.Symbol(f"X_{pop.population}", positive=True)
        mean_input = sp.Add(*[c * m[k] for k, c in pop.mean_coefficients])
        residual = -pop.leak * U + pop.nonlinear + pop.offset + mean_input
        variance = sp.Add(*[c * C[k] for k, c in pop.correlation_coefficients])
        diagonal = pop.leak - sp.diff(pop.nonlinear, U)
        own = [k for k, t in enumerate(site.correlations) if t.population == pop.population]
        self_energy = sp.Add(*[Y[k] * _pair(site.correlations[k], True) for k in own])
        weight = (-residual**2 / (2 * sp.Symbol(f"S_{pop.population}", positive=True))
                  + sp.Add(*[hat(site.correlations[k].name) * _pair(site.correlations[k])
                             for k in own])
                  + sp.Add(*[hat(t.name) * t.left for t in site.means
                             if t.population == pop.population])
                  + Q_HAT * U**2 + sp.log(diagonal**2 + X * self_energy) / 2)
        pieces.append(PopulationPieces(pop.population, fractions[pop.population], residual,
                                       variance, diagonal, self_energy, weight, X))
    complexity = (-sp.Add(*[fractions[t.population] * hat(t.name) * C[k]
                            for k, t in enumerate(site.correlations)])
                  - sp.Add(*[fractions[t.population] * hat(t.name) * m[k]
                             for k, t in enumerate(site.means)])
                  - Q_HAT * Q - T / 2)
    equations = (
        "C_k = ⟨f_k h_k⟩, m_l = ⟨f_l⟩ (their population), q = Σ_α f_α ⟨u²⟩_α",
        "f_{β_k} ĉ_k = Σ_α f_α A_αk (⟨e_α²⟩ − S_α)/(2 S_α²),  "
        "f_{β_l} b̂_l = −Σ_α f_α B_αl ⟨e_α⟩/S_α",
        "X_α = Σ_k A_αk ⟨v_k b⟩_{β_k},  Y_k = Σ_α (f_α/f_{β_k}) A_αk ⟨a⟩_α,  "
        "a = B/(X B + Λ²), b = X/(X B + Λ²), v_k = f_k' h_k'",
        "(X = Y = 0 while the spectral radius of M_αβ = Σ_{k∈β} A_αk ⟨v_k/Λ²⟩_β is ≤ 1; "
        "X of the first population = 1)",
        "T = Σ_α f_α X_α ⟨a⟩_α = 2 [Σ_α f_α ⟨ln(Λ² + X B)⟩_α/2 − (1/N) ln|det|];  "
        "Σ* = Σ at q̂ = 0",
    )
    return KacRiceStage(tuple(pieces), complexity, equations, tuple(conditions))


def _pair(term, derivative: bool = False) -> sp.Expr:
    """f h of a correlation term (f' h' with ``derivative``)."""
    right = term.right if term.right is not None else term.left
    if derivative:
        return sp.diff(term.left, U) * sp.diff(right, U)
    return term.left * right
