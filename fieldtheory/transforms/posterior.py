r"""The saddle point of a wide network's posterior (issue 15; arXiv:2406.16689).

From a declared :class:`~fieldtheory.ir.posterior.Posterior` — a readout ψ(a, h) of one
neuron, a Gaussian prior on its readout weight a, Gaussian input weights (prior kernel
K = σ_w² X Xᵀ/d of its pre-activations h), the data set and the scaling γ — four
symbolic steps, each a generic transform of the declaration:

1. ``collective_fields``: the squared loss is linearised by a Hubbard–Stratonovich field
   v_μk per pattern and output, exp(−β z²/2) ∝ ∫dv exp(z²… ) along the imaginary axis;
   with β = N/T and v → N v the weights of different neurons decouple,

   .. math:: Z = \int dv\, \exp N\Bigl[\tfrac T2\sum v_{\mu k}^2 - \sum v_{\mu k} y_{\mu k}
             + \ln Z_1(v)\Bigr],\quad Z_1 = \Bigl\langle \exp N^{1-\gamma}
             \sum_{\mu k} v_{\mu k}\, \psi(a_k, h_\mu)\Bigr\rangle_{\rm prior},

   the power of N read off by sympy from the declared scaling.
2. ``single_neuron``: a readout linear in its weight, ψ = α(h) a + ψ₀(h), lets the Gaussian
   integral over a be done (by sympy): ln Z₁ = ln ⟨exp(σ_a²/2 Σ_k B_k² + Σ v ψ₀)⟩_h,
   B_k = Σ_μ v_μk α(h_μ), and a_k | h ~ N(σ_a² B_k, σ_a²) (the derivatives of the
   exponent in B_k).
3. ``saddle_point``: at γ = 1, ∂/∂v_μk of the bracket: ⟨ψ_k(μ)⟩_v = y_μk − T v_μk, the
   tilted average written out by differentiating the single-neuron exponent. At γ = ½ the
   tilt is O(N^{−1/2}): ln Z₁ to second order in it (a cumulant expansion) is a Gaussian
   process for f with kernel Cov₀[ψ_k(μ), ψ_l(ν)] (derived from the prior moments of a),
   the pre-activation kernel staying at K up to O(1/N) — the lazy (NNGP) limit.
4. ``site``: the lowered :class:`PosteriorProblem` the runtimes take.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from fieldtheory.errors import ActionStructureError
from fieldtheory.ir.posterior import Posterior
from fieldtheory.printing import latex as latex_of
from fieldtheory.printing import text as text_of

__all__ = ["PosteriorProblem", "posterior_stages"]

# the symbols of the derivation: pattern and output indices, the conjugate field, targets
N = sp.Symbol("N", positive=True, integer=True)
P, M = sp.symbols("P m", positive=True, integer=True)
MU, NU = sp.Idx("mu", (1, P)), sp.Idx("nu", (1, P))
K_, L_ = sp.Idx("k", (1, M)), sp.Idx("l", (1, M))
V = sp.IndexedBase("v", real=True)
Y = sp.IndexedBase("y", real=True)
H = sp.IndexedBase("h", real=True)
A = sp.IndexedBase("a", real=True)


class PriorAverage(sp.Function):
    """⟨X⟩₀: the average over one neuron's prior (a ~ N(0, σ_a²), h ~ N(0, K))."""

    nargs = 1

    @classmethod
    def eval(cls, arg):
        if arg.is_number:  # the average of a constant
            return arg
        return None

    def _sympystr(self, printer) -> str:
        return f"<{printer._print(self.args[0])}>_0"

    def _latex(self, printer, exp=None) -> str:
        body = rf"\left\langle {printer._print(self.args[0])} \right\rangle_0"
        return body if exp is None else f"{body}^{{{exp}}}"


class TiltedAverage(sp.Function):
    """⟨X⟩_v: the average over the single-neuron posterior at the saddle point."""

    nargs = 1

    def _sympystr(self, printer) -> str:
        return f"<{printer._print(self.args[0])}>_v"

    def _latex(self, printer, exp=None) -> str:
        body = rf"\left\langle {printer._print(self.args[0])} \right\rangle_v"
        return body if exp is None else f"{body}^{{{exp}}}"


@dataclass(frozen=True)
class PosteriorProblem:
    """The lowered single-neuron problem (the ``site`` of a posterior).

    ψ(a, h) = ``alpha``·a + ``offset`` (expressions in the symbol ``h``); the prior
    variances of a (``weight_variance``) and of the input weights (``hidden_variance``:
    K = hidden_variance · X Xᵀ/d); ``scaling`` γ and ``temperature`` T as expressions;
    ``linear``: α = c·h with a constant c and ψ₀ = 0 (the Gaussian closed form holds).
    """

    h: sp.Symbol
    alpha: sp.Expr
    offset: sp.Expr
    weight_variance: sp.Expr
    hidden_variance: sp.Expr
    scaling: sp.Expr
    temperature: sp.Expr
    linear: bool
    slope: sp.Expr | None

    def text(self) -> str:
        kind = (f"linear: α(h) = {text_of(self.slope)}·h, the Gaussian closed form"
                if self.linear else "nonlinear: the single-neuron measure is sampled")
        return "\n".join([
            f"ψ(a, h) = α(h) a + ψ₀(h), α(h) = {text_of(self.alpha)}, "
            f"ψ₀(h) = {text_of(self.offset)}",
            f"a ~ N(0, {text_of(self.weight_variance)}), "
            f"h ~ N(0, {text_of(self.hidden_variance)} K_X), K_X = X Xᵀ/d",
            f"γ = {text_of(self.scaling)}, T = {text_of(self.temperature)}; {kind}",
        ])

    def latex(self) -> str:
        return (rf"\psi(a,h) = \alpha(h)\,a + \psi_0(h),\ \alpha(h) = {latex_of(self.alpha)},"
                rf"\ \psi_0(h) = {latex_of(self.offset)} \\ a\sim\mathcal N(0, "
                rf"{latex_of(self.weight_variance)}),\ h\sim\mathcal N(0, "
                rf"{latex_of(self.hidden_variance)} K_X),\ \gamma = {latex_of(self.scaling)},"
                rf"\ T = {latex_of(self.temperature)}")


@dataclass(frozen=True)
class PosteriorStages:
    """What :func:`posterior_stages` returns: printed stages (name, text, latex), the
    order parameters and self-consistency (as text), the lazy kernel and the site."""

    stages: tuple[tuple[str, str, str], ...]
    order_parameters: tuple[str, ...]
    self_consistency: tuple[str, ...]
    site: PosteriorProblem


def _split_readout(post: Posterior) -> tuple[sp.Expr, sp.Expr]:
    """ψ = α(h) a + ψ₀(h); a readout of higher degree in a is refused by name."""
    a = post.weight
    expr = sp.expand(post.readout)
    try:
        poly = sp.Poly(expr, a)
    except sp.PolynomialError:
        poly = None
    if poly is None or poly.degree() > 1:
        raise ActionStructureError(
            f"the readout {post.readout} is not linear in the weight {a}: the Gaussian "
            f"integral over {a} that gives the single-neuron measure needs ψ = α(h)·{a} + "
            "ψ₀(h)")
    alpha = sp.simplify(poly.coeff_monomial(a))
    offset = sp.simplify(poly.coeff_monomial(1))
    return alpha, offset


def _in_range(expr: sp.Expr) -> sp.Expr:
    """The value of the Kronecker-delta sums sympy leaves as Piecewise for an index in its
    range (every index here is)."""
    return expr.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0][0])


def _at(expr: sp.Expr, post: Posterior, a_value, h_value) -> sp.Expr:
    return expr.subs({post.weight: a_value, post.preactivation: h_value}, simultaneous=True)


def posterior_stages(post: Posterior) -> PosteriorStages:
    """Derive the single-neuron saddle point of ``post`` (module docstring)."""
    a = post.weight
    gamma, T = post.scaling, post.temperature
    s2 = post.weight_prior.variance
    i = sp.Idx("i", (1, N))
    psi = post.readout
    # 0. the declared log posterior: loss over the unit sum, priors
    a_i, h_i = sp.IndexedBase("a", real=True), sp.IndexedBase("h", real=True)
    output = N ** (-gamma) * sp.Sum(_at(psi, post, a_i[i, K_], h_i[i, MU]), (i, 1, N))
    log_post = (-(N / (2 * T)) * sp.Sum((output - Y[MU, K_]) ** 2, (MU, 1, P), (K_, 1, M))
                - sp.Sum(a_i[i, K_] ** 2 / (2 * s2), (i, 1, N), (K_, 1, M)))
    stage0 = (f"ln p = {text_of(log_post)} + Σ_i ln N(h_i; 0, K),  "
              f"K = {text_of(post.hidden_prior.variance)} X Xᵀ/d",
              rf"\ln p = {latex_of(log_post)} + \sum_i \ln\mathcal N(h_i; 0, K),\ "
              rf"K = {latex_of(post.hidden_prior.variance)} XX^\top/d")
    # 1. Hubbard–Stratonovich: v conjugate to N·(f − y); the tilt of one neuron
    tilt_power = sp.powsimp(N * N ** (-gamma))
    tilt = tilt_power * sp.Sum(V[MU, K_] * _at(psi, post, A[K_], H[MU]), (MU, 1, P), (K_, 1, M))
    bracket = (T / 2 * sp.Sum(V[MU, K_] ** 2, (MU, 1, P), (K_, 1, M))
               - sp.Sum(V[MU, K_] * Y[MU, K_], (MU, 1, P), (K_, 1, M)))
    z1 = PriorAverage(sp.exp(tilt))
    collective = N * (bracket + sp.log(z1))
    stage1 = (f"Z = ∫dv exp S,  S = {text_of(collective)}   (v on the imaginary axis, "
              "β = N/T, neurons decoupled)",
              rf"Z = \int dv\, e^{{S}},\ S = {latex_of(collective)}")
    # 2. the Gaussian integral over a (sympy), per output k: exp(σ_a² B²/2)
    alpha, offset = _split_readout(post)
    a_sym, b_sym = sp.Symbol("a", real=True), sp.Symbol("B", real=True)
    s2_sym = sp.Symbol("s2", positive=True)
    gauss = sp.simplify(sp.integrate(
        sp.exp(-a_sym**2 / (2 * s2_sym) + a_sym * b_sym) / sp.sqrt(2 * sp.pi * s2_sym),
        (a_sym, -sp.oo, sp.oo), conds="none"))
    log_gauss = sp.expand_log(sp.log(gauss), force=True)
    if log_gauss.has(sp.erf) or log_gauss.has(sp.Integral):
        raise ActionStructureError(f"the Gaussian integral over {a} did not close: {gauss}")
    cond_mean = sp.diff(log_gauss, b_sym)       # E[a | B] = σ_a² B
    cond_var = sp.diff(log_gauss, b_sym, 2)     # Var[a | B] = σ_a²
    B = sp.Sum(V[NU, K_] * _at(alpha, post, 0, H[NU]), (NU, 1, P))
    exponent = sp.Sum(log_gauss.subs({b_sym: B, s2_sym: s2}), (K_, 1, M))
    if offset != 0:
        exponent += sp.Sum(V[NU, K_] * _at(offset, post, 0, H[NU]), (NU, 1, P), (K_, 1, M))
    stage2 = ("ln Z₁ = ln <exp E(h)>_{h ~ N(0, K)},  E(h) = " + text_of(exponent)
              + f";  a_k | h ~ N({text_of(cond_mean.subs({b_sym: sp.Symbol('B_k'), s2_sym: s2}))}"
              f", {text_of(cond_var.subs(s2_sym, s2))}),  "
              f"B_k = {text_of(B)}",
              rf"\ln Z_1 = \ln\left\langle e^{{E(h)}}\right\rangle_{{h\sim\mathcal N(0,K)}},\ "
              rf"E(h) = {latex_of(exponent)}")
    # 3. saddle point (γ = 1) and the lazy limit (γ = ½)
    # ∂E/∂v_μl (l: a free output index distinct from the summed k), then l → k
    d_exponent = sp.diff(exponent, V[MU, L_]).doit()
    for _ in range(3):  # each pass collapses one level of Kronecker-delta sums
        d_exponent = _in_range(sp.piecewise_fold(d_exponent)).doit()
    d_exponent = d_exponent.subs(L_, K_)
    equation = sp.Eq(TiltedAverage(d_exponent), Y[MU, K_] - T * V[MU, K_])
    psi_k_mu = _at(psi, post, A[K_], H[MU])
    psi_l_nu = _at(psi, post, A[L_], H[NU])
    # Cov₀[ψ_k(μ), ψ_l(ν)] from the prior moments of a: E a = 0, E a_k a_l = σ_a² δ_kl
    product = sp.expand(psi_k_mu * psi_l_nu)
    moments = {A[K_] * A[L_]: s2 * sp.KroneckerDelta(K_, L_), A[K_]: 0, A[L_]: 0}
    second = sp.expand(product.subs(moments))
    lazy_kernel = PriorAverage(second) - PriorAverage(_at(offset, post, 0, H[MU])) \
        * PriorAverage(_at(offset, post, 0, H[NU]))
    lazy_kernel = sp.simplify(lazy_kernel)
    stage3 = (f"γ = 1 (mean field): {text_of(equation)}  (∂S/∂v_μk = 0; single-neuron "
              "posterior p(a, h) ∝ N(a; 0, σ_a²) N(h; 0, K) exp(tilt))\n"
              f"γ = 1/2 (lazy): the tilt is O(N^(-1/2)); to second order f is a Gaussian "
              f"process with kernel Cov0[ψ_k(μ), ψ_l(ν)] = {text_of(lazy_kernel)}, noise T/N,"
              " and the pre-activation kernel stays K + O(1/N)",
              rf"\gamma = 1:\ {latex_of(equation)} \\ \gamma = \tfrac12:\ "
              rf"\mathrm{{Cov}}_0[\psi_k(\mu), \psi_l(\nu)] = {latex_of(lazy_kernel)}")
    # 4. the lowered problem
    h_sym = sp.Symbol("h", real=True)
    alpha_h = _at(alpha, post, 0, h_sym)
    offset_h = _at(offset, post, 0, h_sym)
    slope = sp.simplify(alpha_h / h_sym)
    linear = offset_h == 0 and h_sym not in slope.free_symbols and slope != 0
    site = PosteriorProblem(h_sym, alpha_h, offset_h, s2, post.hidden_prior.variance,
                            gamma, T, bool(linear), slope if linear else None)
    stages = (("posterior", *stage0), ("collective_fields", *stage1),
              ("single_neuron", *stage2), ("saddle_point", *stage3),
              ("site", site.text(), site.latex()))
    return PosteriorStages(stages, (text_of(V[MU, K_]),), (text_of(equation),), site)
