r"""Closed forms of Gaussian expectations :math:`E[f(u)\,g(v)]`, matched on affine arguments.

(u, v) are jointly Gaussian with means (μ_u, μ_v), variances (σ_u², σ_v²) and covariance c.
A function of one variable x is read as a finite sum of *kernels* of affine arguments,

.. math:: f(x) = \sum_i k_i\, F_i(a_i x + b_i),
          \qquad F_i \in \{1,\ z,\ \mathrm{erf}(z),\ \mathrm{ReLU}(z),\ \Theta(z),\
          e^{z},\ e^{-z^2}\},

so that :math:`E[f(u)g(v)] = \sum_{ij} k_i l_j\, E[F_i(z_1) G_j(z_2)]` with the effective
Gaussian pair z_1 = a u + b, z_2 = c v + d: means (a μ_u + b, c μ_v + d), variances
(a² σ_u², c² σ_v²), covariance a c·cov. Constant factors and sums pull out; exp of a
quadratic with negative leading coefficient is a Gaussian kernel e^{−z²} (this is how the
derivative of erf, e.g. φ'(x) = e^{−πx²/4} for φ = erf(√π x/2), is matched); sign(z) is
read as 2Θ(z) − 1, |z| as 2 ReLU(z) − z and Max(z, 0) as ReLU(z).

Each pair of kernels has one registered formula (:func:`register_closed_form`, names
unique, pairs unique up to order). Formulas that are exact only at zero effective means
(erf × erf, ReLU × ReLU, Θ × Θ, and their mixtures — with means they need the bivariate
normal distribution function, which is not elementary) are marked ``zero_mean``; they
apply only when both effective means are identically zero, else :func:`closed_form`
returns None and the caller integrates numerically.

Sources: erf × erf, Williams, *Computing with infinite networks*, NIPS 9 (1997);
ReLU × ReLU, the arc-cosine kernel of Cho & Saul, NIPS 22 (2009); Θ × Θ, Sheppard's orthant
probability (1899); exp and e^{−z²} kernels by completing the square (a Gaussian tilt shifts
the mean of the other variable by its covariance); products with z by Stein's lemma
E[(z_1 − m_1) G(z_2)] = c E[G'(z_2)].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from fieldtheory.errors import DeclarationError
from fieldtheory.ir.nonlinearities import ReLU

__all__ = [
    "MU_U", "MU_V", "VAR_U", "VAR_V", "COV",
    "KERNELS", "Term", "Moments", "ClosedForm", "CLOSED_FORMS",
    "register_closed_form", "affine_terms", "pair_expectation", "closed_form",
]

MU_U, MU_V = sp.symbols("mu_u mu_v", real=True)
VAR_U, VAR_V = sp.symbols("var_u var_v", positive=True)
COV = sp.Symbol("cov", real=True)

#: The kernels F(z) a function is decomposed into, as sympy builders.
KERNELS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "one": lambda z: sp.Integer(1),
    "id": lambda z: z,
    "erf": sp.erf,
    "relu": ReLU,
    "heaviside": lambda z: sp.Heaviside(z, sp.Rational(1, 2)),
    "exp": sp.exp,
    "gauss": lambda z: sp.exp(-(z**2)),
}


@dataclass(frozen=True)
class Term:
    """One summand ``coefficient * KERNELS[kernel](slope * x + offset)``."""

    coefficient: sp.Expr
    kernel: str
    slope: sp.Expr
    offset: sp.Expr


@dataclass(frozen=True)
class Moments:
    """Means, variances and covariance of the effective pair (z_1, z_2)."""

    m1: sp.Expr
    m2: sp.Expr
    s1: sp.Expr
    s2: sp.Expr
    c: sp.Expr

    def swapped(self) -> Moments:
        return Moments(self.m2, self.m1, self.s2, self.s1, self.c)

    def with_second(self, m2: sp.Expr, s2: sp.Expr) -> Moments:
        return Moments(self.m1, m2, self.s1, s2, self.c)


@dataclass(frozen=True)
class ClosedForm:
    """A registered formula for E[F(z_1) G(z_2)] with F, G = ``kernels``."""

    name: str
    kernels: tuple[str, str]
    formula: Callable[[Moments], sp.Expr]
    zero_mean: bool

    def __call__(self, moments: Moments) -> sp.Expr | None:
        if self.zero_mean and not (_is_zero(moments.m1) and _is_zero(moments.m2)):
            return None
        return self.formula(moments)


CLOSED_FORMS: dict[str, ClosedForm] = {}
_BY_KERNELS: dict[tuple[str, str], ClosedForm] = {}


def register_closed_form(first: str, second: str, *, zero_mean: bool = False):
    """Decorator registering ``formula(moments) -> sympy expr`` for E[first(z_1) second(z_2)].

    The entry's name is the function's name; names and kernel pairs (in either order) are
    unique. ``zero_mean=True`` marks a formula exact only at m_1 = m_2 = 0.
    """

    def decorate(formula: Callable[[Moments], sp.Expr]) -> ClosedForm:
        name = formula.__name__
        for kernel in (first, second):
            if kernel not in KERNELS:
                raise DeclarationError(f"closed form {name!r}: unknown kernel {kernel!r}")
        if name in CLOSED_FORMS:
            raise DeclarationError(f"a closed form named {name!r} is already registered")
        if (first, second) in _BY_KERNELS or (second, first) in _BY_KERNELS:
            raise DeclarationError(
                f"closed form {name!r}: the kernel pair ({first}, {second}) is already "
                f"registered"
            )
        entry = ClosedForm(name, (first, second), formula, zero_mean)
        CLOSED_FORMS[name] = entry
        _BY_KERNELS[(first, second)] = entry
        return entry

    return decorate


def _is_zero(expr: sp.Expr) -> bool:
    return sp.sympify(expr).is_zero is True


# ---- single-variable expectations E[F(z)], z ~ N(m, s) (paired with the kernel "one") ----


def _mean_erf(m, s):
    # E[erf(z)] = erf(m / sqrt(1 + 2 s)): erf(z) = P(|W| < ...) with W ~ N(0, 1/2) independent
    return sp.erf(m / sp.sqrt(1 + 2 * s))


def _mean_relu(m, s):
    # m Φ(m/√s) + √s φ(m/√s)
    return m * (1 + sp.erf(m / sp.sqrt(2 * s))) / 2 + sp.sqrt(s / (2 * sp.pi)) * sp.exp(
        -(m**2) / (2 * s)
    )


def _mean_heaviside(m, s):
    return (1 + sp.erf(m / sp.sqrt(2 * s))) / 2


def _mean_exp(m, s):
    return sp.exp(m + s / 2)


def _mean_gauss(m, s):
    # ∫ e^{-z²} N(z; m, s) dz, completing the square
    return sp.exp(-(m**2) / (1 + 2 * s)) / sp.sqrt(1 + 2 * s)


def _density_at_zero(m, s):
    return sp.exp(-(m**2) / (2 * s)) / sp.sqrt(2 * sp.pi * s)


@register_closed_form("one", "one")
def one_one(q: Moments) -> sp.Expr:
    return sp.Integer(1)


@register_closed_form("id", "one")
def id_one(q: Moments) -> sp.Expr:
    return q.m1


@register_closed_form("erf", "one")
def erf_one(q: Moments) -> sp.Expr:
    return _mean_erf(q.m1, q.s1)


@register_closed_form("relu", "one")
def relu_one(q: Moments) -> sp.Expr:
    return _mean_relu(q.m1, q.s1)


@register_closed_form("heaviside", "one")
def heaviside_one(q: Moments) -> sp.Expr:
    return _mean_heaviside(q.m1, q.s1)


@register_closed_form("exp", "one")
def exp_one(q: Moments) -> sp.Expr:
    return _mean_exp(q.m1, q.s1)


@register_closed_form("gauss", "one")
def gauss_one(q: Moments) -> sp.Expr:
    return _mean_gauss(q.m1, q.s1)


# ---- z_1 × G(z_2): Stein's lemma E[z_1 G(z_2)] = m_1 E[G(z_2)] + c E[G'(z_2)] ----


@register_closed_form("id", "id")
def id_id(q: Moments) -> sp.Expr:
    return q.c + q.m1 * q.m2


@register_closed_form("id", "erf")
def id_erf(q: Moments) -> sp.Expr:
    return q.m1 * _mean_erf(q.m2, q.s2) + q.c * 2 / sp.sqrt(sp.pi) * _mean_gauss(q.m2, q.s2)


@register_closed_form("id", "relu")
def id_relu(q: Moments) -> sp.Expr:
    return q.m1 * _mean_relu(q.m2, q.s2) + q.c * _mean_heaviside(q.m2, q.s2)


@register_closed_form("id", "heaviside")
def id_heaviside(q: Moments) -> sp.Expr:
    return q.m1 * _mean_heaviside(q.m2, q.s2) + q.c * _density_at_zero(q.m2, q.s2)


@register_closed_form("id", "exp")
def id_exp(q: Moments) -> sp.Expr:
    return (q.m1 + q.c) * _mean_exp(q.m2, q.s2)


@register_closed_form("id", "gauss")
def id_gauss(q: Moments) -> sp.Expr:
    # E[-2 z e^{-z²}] = -2 m/(1 + 2s) · E[e^{-z²}]
    return (q.m1 - 2 * q.c * q.m2 / (1 + 2 * q.s2)) * _mean_gauss(q.m2, q.s2)


# ---- e^{z_1} × G(z_2): the tilt e^{z_1}/E[e^{z_1}] shifts m_2 by c (Cameron–Martin) ----


def _exp_tilt(q: Moments, mean_of_second: Callable) -> sp.Expr:
    return _mean_exp(q.m1, q.s1) * mean_of_second(q.m2 + q.c, q.s2)


@register_closed_form("exp", "exp")
def exp_exp(q: Moments) -> sp.Expr:
    # log-normal moment: exp(m_1 + m_2 + (s_1 + s_2 + 2c)/2)
    return sp.exp(q.m1 + q.m2 + (q.s1 + q.s2 + 2 * q.c) / 2)


@register_closed_form("exp", "erf")
def exp_erf(q: Moments) -> sp.Expr:
    return _exp_tilt(q, _mean_erf)


@register_closed_form("exp", "relu")
def exp_relu(q: Moments) -> sp.Expr:
    return _exp_tilt(q, _mean_relu)


@register_closed_form("exp", "heaviside")
def exp_heaviside(q: Moments) -> sp.Expr:
    return _exp_tilt(q, _mean_heaviside)


@register_closed_form("exp", "gauss")
def exp_gauss(q: Moments) -> sp.Expr:
    return _exp_tilt(q, _mean_gauss)


# ---- e^{-z_1²} × G(z_2): the tilt e^{-z_1²} gives z_2 mean m_2 - 2c m_1/(1+2s_1) and
#      variance s_2 - 2c²/(1+2s_1) (precision of z_1 raised by 2) ----


def _gauss_tilt(q: Moments, mean_of_second: Callable) -> sp.Expr:
    shifted_mean = q.m2 - 2 * q.c * q.m1 / (1 + 2 * q.s1)
    shrunk_variance = q.s2 - 2 * q.c**2 / (1 + 2 * q.s1)
    return _mean_gauss(q.m1, q.s1) * mean_of_second(shifted_mean, shrunk_variance)


@register_closed_form("gauss", "gauss")
def gauss_gauss(q: Moments) -> sp.Expr:
    r"""det(1 + 2Σ)^{-1/2} exp(−mᵀ(1 + 2Σ)^{-1} m)."""
    det = (1 + 2 * q.s1) * (1 + 2 * q.s2) - 4 * q.c**2
    quadratic = (1 + 2 * q.s2) * q.m1**2 - 4 * q.c * q.m1 * q.m2 + (1 + 2 * q.s1) * q.m2**2
    return sp.exp(-quadratic / det) / sp.sqrt(det)


@register_closed_form("gauss", "erf")
def gauss_erf(q: Moments) -> sp.Expr:
    return _gauss_tilt(q, _mean_erf)


@register_closed_form("gauss", "relu")
def gauss_relu(q: Moments) -> sp.Expr:
    return _gauss_tilt(q, _mean_relu)


@register_closed_form("gauss", "heaviside")
def gauss_heaviside(q: Moments) -> sp.Expr:
    return _gauss_tilt(q, _mean_heaviside)


# ---- odd/kinked kernels against each other: exact only at zero means ----


def _correlation(q: Moments) -> sp.Expr:
    return q.c / sp.sqrt(q.s1 * q.s2)


def _angle(q: Moments) -> sp.Expr:
    """arccos ρ, as atan2(√(s_1 s_2 − c²), c): well conditioned at |ρ| → 1 in floating point.

    (With positive variance symbols sympy splits √(s_1 s_2) into √s_1 √s_2, whose rounding
    moves ρ = 1 off 1 and arccos by √eps.)
    """
    return sp.atan2(sp.sqrt(q.s1 * q.s2 - q.c**2), q.c)


@register_closed_form("erf", "erf", zero_mean=True)
def erf_erf(q: Moments) -> sp.Expr:
    r"""(2/π) arcsin(2c / √((1 + 2s_1)(1 + 2s_2)))  (Williams 1997)."""
    return 2 / sp.pi * sp.asin(2 * q.c / sp.sqrt((1 + 2 * q.s1) * (1 + 2 * q.s2)))


@register_closed_form("erf", "relu", zero_mean=True)
def erf_relu(q: Moments) -> sp.Expr:
    # Stein: E[z_2 Θ(z_2) erf(z_1)] = c E[Θ(z_2) erf'(z_1)]; the s_2 δ(z_2) term vanishes by oddness
    return q.c / sp.sqrt(sp.pi * (1 + 2 * q.s1))


@register_closed_form("erf", "heaviside", zero_mean=True)
def erf_heaviside(q: Moments) -> sp.Expr:
    # ½ E[erf(z_1) sign(z_2)], sign the limit k → ∞ of erf(k z_2) in the arcsin form
    return sp.asin(sp.sqrt(2) * q.c / sp.sqrt(q.s2 * (1 + 2 * q.s1))) / sp.pi


@register_closed_form("relu", "relu", zero_mean=True)
def relu_relu(q: Moments) -> sp.Expr:
    r"""(√(s_1 s_2 − c²) + (π − arccos ρ) c) / (2π)  (Cho & Saul 2009, arc-cosine n = 1)."""
    return (sp.sqrt(q.s1 * q.s2 - q.c**2) + (sp.pi - _angle(q)) * q.c) / (2 * sp.pi)


@register_closed_form("relu", "heaviside", zero_mean=True)
def relu_heaviside(q: Moments) -> sp.Expr:
    # Stein: √s_1 E[X Θ(X) Θ(Y)] = √s_1 (1 + ρ) / (2√(2π))
    return sp.sqrt(q.s1) * (1 + _correlation(q)) / (2 * sp.sqrt(2 * sp.pi))


@register_closed_form("heaviside", "heaviside", zero_mean=True)
def heaviside_heaviside(q: Moments) -> sp.Expr:
    r"""Orthant probability ½ − arccos(ρ)/(2π) = ¼ + arcsin(ρ)/(2π)  (Sheppard 1899)."""
    return sp.Rational(1, 2) - _angle(q) / (2 * sp.pi)


# ---- matching ----


def _affine(arg: sp.Expr, x: sp.Symbol, degree: int) -> list[sp.Expr] | None:
    """Coefficients [lowest..highest] of ``arg`` as a polynomial in x of degree ≤ ``degree``."""
    if not arg.has(x):
        return None
    try:
        poly = sp.Poly(arg, x)
    except sp.PolynomialError:
        return None
    if poly.degree() > degree or any(c.has(x) for c in poly.coeffs()):
        return None
    coefficients = poly.all_coeffs()[::-1]
    return coefficients + [sp.Integer(0)] * (degree + 1 - len(coefficients))


def _kernel_term(coefficient: sp.Expr, factor: sp.Expr, x: sp.Symbol) -> Term | None:
    """Read ``coefficient * factor`` (factor depends on x) as one kernel of an affine argument."""
    if factor == x:
        return Term(coefficient, "id", sp.Integer(1), sp.Integer(0))
    if isinstance(factor, sp.Max) and len(factor.args) == 2 and 0 in factor.args:
        factor = ReLU(next(a for a in factor.args if a != 0))
    if isinstance(factor, sp.exp):
        coefficients = _affine(factor.args[0], x, 2)
        if coefficients is None:
            return None
        constant, linear, quadratic = coefficients
        if quadratic == 0:
            return Term(coefficient * sp.exp(constant), "exp", linear, sp.Integer(0))
        if quadratic.is_negative is not True:
            return None  # e^{+x²}: no finite expectation for every variance
        # A x² + B x + C = −(a x + b)² + C + b² with a = √(−A), b = −B/(2a)
        slope = sp.sqrt(-quadratic)
        offset = -linear / (2 * slope)
        return Term(coefficient * sp.exp(constant + offset**2), "gauss", slope, offset)
    names = {sp.erf: "erf", ReLU: "relu", sp.Heaviside: "heaviside"}
    kernel = names.get(factor.func)
    if kernel is None:
        return None
    coefficients = _affine(factor.args[0], x, 1)
    if coefficients is None:
        return None
    return Term(coefficient, kernel, coefficients[1], coefficients[0])


def affine_terms(expr: sp.Expr, x: sp.Symbol) -> tuple[Term, ...] | None:
    """Decompose ``expr`` into kernels of affine arguments of ``x``; None if it does not fit.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> affine_terms(3 * sp.erf(sp.sqrt(sp.pi) * x / 2) + 1, x)[1]
    Term(coefficient=3, kernel='erf', slope=sqrt(pi)/2, offset=0)
    """
    expr = sp.sympify(expr).replace(sp.sign, lambda z: 2 * sp.Heaviside(z, sp.Rational(1, 2)) - 1)
    expr = expr.replace(sp.Abs, lambda z: 2 * ReLU(z) - z)
    expr = sp.expand(expr, deep=False, power_exp=False, power_base=False, log=False)
    terms = []
    for summand in sp.Add.make_args(expr):
        coefficient, factor = summand.as_independent(x, as_Add=False)
        if factor == 1:
            terms.append(Term(coefficient, "one", sp.Integer(0), sp.Integer(0)))
            continue
        if isinstance(factor, sp.Mul):
            factor = sp.powsimp(factor, combine="exp")
        term = _kernel_term(coefficient, factor, x)
        if term is None:
            return None
        terms.append(term)
    return tuple(terms)


def pair_expectation(first: str, second: str, moments: Moments) -> sp.Expr | None:
    """E[first(z_1) second(z_2)] from the registry, or None (no entry, or means not zero)."""
    entry = _BY_KERNELS.get((first, second))
    if entry is not None:
        return entry(moments)
    entry = _BY_KERNELS.get((second, first))
    if entry is not None:
        return entry(moments.swapped())
    return None


@lru_cache(maxsize=1024)
def closed_form(
    f_expr: sp.Expr,
    g_expr: sp.Expr | None,
    x: sp.Symbol,
    *,
    mu_u: sp.Expr = MU_U,
    mu_v: sp.Expr = MU_V,
    var_u: sp.Expr = VAR_U,
    var_v: sp.Expr = VAR_V,
    cov: sp.Expr = COV,
) -> sp.Expr | None:
    r"""Closed form of E[f(u) g(v)] (or of E[f(u)] when ``g_expr`` is None), else None.

    The result is a sympy expression in the moment symbols :data:`MU_U`, :data:`MU_V`,
    :data:`VAR_U`, :data:`VAR_V`, :data:`COV` (or in whatever is passed for them). Pass
    ``mu_u=0, mu_v=0`` to reach the formulas that hold only at zero mean.

    >>> import sympy as sp
    >>> x, D0, D = sp.symbols("x Delta0 Delta", positive=True)
    >>> phi = sp.erf(sp.sqrt(sp.pi) * x / 2)
    >>> sp.simplify(closed_form(phi, phi, x, mu_u=0, mu_v=0, var_u=D0, var_v=D0, cov=D))
    2*asin(pi*Delta/(pi*Delta0 + 2))/pi
    """
    f_terms = affine_terms(f_expr, x)
    g_terms = (
        (Term(sp.Integer(1), "one", sp.Integer(0), sp.Integer(0)),)
        if g_expr is None
        else affine_terms(g_expr, x)
    )
    if f_terms is None or g_terms is None:
        return None
    total = sp.Integer(0)
    for f_term in f_terms:
        for g_term in g_terms:
            moments = Moments(
                m1=f_term.slope * mu_u + f_term.offset,
                m2=g_term.slope * mu_v + g_term.offset,
                s1=f_term.slope**2 * var_u,
                s2=g_term.slope**2 * var_v,
                c=f_term.slope * g_term.slope * cov,
            )
            value = pair_expectation(f_term.kernel, g_term.kernel, moments)
            if value is None:
                return None
            total += f_term.coefficient * g_term.coefficient * value
    return total
