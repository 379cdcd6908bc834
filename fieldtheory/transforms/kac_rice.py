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

__all__ = ["KacRiceStage", "kac_rice"]

S, P, Q = sp.symbols("S p q", real=True)
C_HAT, B_HAT, Q_HAT = sp.symbols("ĉ b̂ q̂", real=True)


@dataclass(frozen=True)
class KacRiceStage:
    """The annealed Kac–Rice theory of one population's fixed points (symbolic)."""

    residual: sp.Expr  # e(u)
    variance: sp.Expr  # S = Σ A_k C_k, in the equal-time order parameters
    share: sp.Expr  # s(u) = Σ A_k f_k h_k
    mean_share: sp.Expr  # μ(u) = Σ B_l f_l
    column_variance: sp.Expr  # v(u) = Σ A_k f_k' h_k'
    diagonal: sp.Expr  # Λ(u) = a − r'(u)
    log_weight: sp.Expr  # ln w(u)
    complexity: sp.Expr  # Σ without the log-integral (added in print)
    mean_input: sp.Expr  # Σ B_l m_l
    conditions: tuple[str, ...]

    def lines(self, fmt) -> list[tuple[str, str]]:
        return [
            ("e(u)", fmt(self.residual)),
            ("S", fmt(self.variance)),
            ("s(u)", fmt(self.share)),
            ("μ(u)", fmt(self.mean_share)),
            ("v(u)", fmt(self.column_variance)),
            ("Λ(u)", fmt(self.diagonal)),
            ("ln w(u)", fmt(self.log_weight)),
        ]

    def __str__(self) -> str:
        out = ["Kac–Rice (annealed): E#{x*} = ∫dⁿx E_J[δ(F(x)) |det ∂F/∂x|], D = 0",
               "  site residual, its Gaussian input and the Jacobian's pieces:"]
        out += [f"    {name} = {value}" for name, value in self.lines(text)]
        out.append(f"  Σ(q) = extr_{{S, ĉ, m, b̂, p, q̂}} [{text(self.complexity)} "
                   "+ ln ∫du w(u)]")
        out += ["  saddle point (averages over w):",
                "    S = ⟨s(u)⟩,  Σ_l B_l m_l = ⟨μ(u)⟩,  ĉ = (⟨e²⟩ − S)/(2S²),  b̂ = −⟨e⟩/S,",
                "    q = ⟨u²⟩,  ⟨v/(Λ² + p v)⟩ = 1 (else p = 0);  Σ* = Σ at q̂ = 0",
                "  Jacobian at the fixed points of a shell: disc ⟨v/|z + Λ|²⟩ ≥ 1; index",
                "    k = 1/2 − (1/2π) ∫dy ⟨Λ/(p(y) v + y² + Λ²)⟩",
                "  valid for: " + "; ".join(self.conditions)]
        return "\n".join(out)

    def latex(self) -> str:
        rows = [r"\mathbb{E}\,\#\{x^*\} = \int d^N x\, \mathbb{E}_J\big[\delta(F(x))\,"
                r"|\det \partial F/\partial x|\big]"]
        names = {"e(u)": "e(u)", "S": "S", "s(u)": "s(u)", "μ(u)": r"\mu(u)",
                 "v(u)": "v(u)", "Λ(u)": r"\Lambda(u)", "ln w(u)": r"\ln w(u)"}
        rows += [f"{names[n]} = {v}" for n, v in self.lines(latex)]
        rows.append(r"\Sigma(q) = \operatorname{extr}\Big[" + latex(self.complexity)
                    + r" + \ln\int du\, w(u)\Big]")
        rows.append(r"k = \tfrac12 - \frac{1}{2\pi}\int dy\,\Big\langle \frac{\Lambda}"
                    r"{p(y)\,v + y^2 + \Lambda^2}\Big\rangle")
        out = " \\\\\n".join(rows)
        for hat, command in (("ĉ", r"\hat{c}"), ("b̂", r"\hat{b}"), ("q̂", r"\hat{q}")):
            out = out.replace(hat, command + " ")
        return out


def kac_rice(site: SiteProblem) -> KacRiceStage:
    """The Kac–Rice stage of a lowered site (one population, continuous time)."""
    if len(site.sites) != 1:
        raise ActionStructureError(
            f"Kac–Rice: one population is supported, the site has {len(site.sites)}")
    if site.step is not None:
        raise ActionStructureError("Kac–Rice: maps are not supported yet")
    (pop,) = site.sites
    conditions = ["noiseless" if pop.noise == 0 else f"noise {text(pop.noise)} = 0"]
    if any(c != 0 for _, c in pop.response_coefficients):
        kappa = ", ".join(text(c) for _, c in pop.response_coefficients)
        conditions.append(f"independent J_ij, J_ji (response kernel {kappa} = 0)")
    means = {k: sp.Symbol(site.means[k].name, real=True) for k, _ in pop.mean_coefficients}
    corr = {k: sp.Symbol(site.correlations[k].name, real=True)
            for k, _ in pop.correlation_coefficients}
    mean_input = sp.Add(*[c * means[k] for k, c in pop.mean_coefficients])
    residual = -pop.leak * U + pop.nonlinear + pop.offset + mean_input
    variance = sp.Add(*[c * corr[k] for k, c in pop.correlation_coefficients])

    def pair(k, f):
        spec = site.correlations[k]
        right = spec.right if spec.right is not None else spec.left
        return f(spec.left) * f(right)

    share = sp.Add(*[c * pair(k, lambda e: e) for k, c in pop.correlation_coefficients])
    column = sp.Add(*[c * pair(k, lambda e: sp.diff(e, U))
                      for k, c in pop.correlation_coefficients])
    mean_share = sp.Add(*[c * site.means[k].left for k, c in pop.mean_coefficients])
    diagonal = pop.leak - sp.diff(pop.nonlinear, U)
    log_weight = (-residual**2 / (2 * S) + C_HAT * share + B_HAT * mean_share + Q_HAT * U**2
                  + sp.log(diagonal**2 + P * column) / 2)
    complexity = (-C_HAT * S - B_HAT * mean_input - Q_HAT * Q - sp.log(2 * sp.pi * S) / 2
                  - P / 2)
    return KacRiceStage(residual, variance, share, mean_share, column, diagonal,
                        log_weight, complexity, mean_input, tuple(conditions))
