r"""The strip of analyticity of a site function, read off its sympy expression.

The runtimes' trapezoidal rules (:func:`fieldtheory.solvers.runtime.quadrature.normal_rule`)
integrate f(μ + σz) e^{−z²/2} with the step h = min(1/4, 2πd/40), d = s/σ, where s is
the half-width of a strip |Im x| < s in which f is analytic. By the trapezoid theorem
(Trefethen & Weideman, SIAM Rev. 56, 385 (2014), Thm 5.1) the error is at most
2M/(e^{2πa/h} − 1) for any contour shift a < d, with M = ∫|g(x + ia)|dx the integrand's
size on that line. :func:`strip_of` returns an s that makes this ≲ 1e-15 relative:

* **Poles and branch points** at distance p from the real axis: s = p. tanh(a x + b):
  π/(2|a|); logistic 1/(1 + c e^{−(a x + b)}) (c > 0): π/|a|; 1/(A x² + B x + C) with
  4AC > B²: √(4AC − B²)/(2|A|) (numeric polynomial denominators: their nearest root);
  atan(a x + b): 1/|a|.
* **Entire functions are not "infinite strip"**: the Gaussian weight and the function may
  grow off the axis. With |f(x + iy)| ≤ C(x) e^{κy²} (κ: the *Gaussian growth* of f in
  the imaginary direction), shifting the contour by a (units of z) multiplies M by
  e^{(κσ² + 1/2)a²}. erf(a x + b), erfc: κ = a² (|erf(s + it)| ≤ 1 + (2/√π)|t| e^{t²});
  e^{−(a x + b)²}: κ = a²; sin, cos of a x + b (exponential type |a|): κ = a²/4, since
  |a||y| ≤ 1 + a²y²/4; polynomials, e^{a x + b}, sinh, cosh: κ = 0. Products add κ,
  sums take the largest, integer powers multiply it. Taking s = 1/√κ: for an integrand
  holding at most two such factors (E[φ²], E[φ(u)φ(v)]) κs² ≤ 2, and the shift used is
  a = min(d, 40h/2π) ≤ 10/π, so M ≤ C e^{2 + 50/π²} and the error ≤ 2C e^{−40 + 7.1} ≈
  1e-14·C — provably accurate, where s = ∞ would make h far too coarse for erf at large
  σ. κ = 0 and no singularity: s = :data:`ENTIRE_STRIP` (finite, so that the printed
  value is a number; the step is then 1/4 up to σ ≈ 600).
* **Kinks** (Abs, sign, Heaviside, ReLU, Max, Min, Piecewise, floor, ceiling): s = 0, the
  runtimes' kink path (fixed fine step, no Hermite series). Real poles (tan, coth, 1/x,
  log) also give 0.
* **Anything else** (a function of a non-affine argument, tanh(x²), 1/cosh(x), a
  denominator whose zeros depend on parameters in an unknown way): s = 0 as well — the
  conservative choice, because the kink path assumes nothing about analyticity (its
  error is O(h²) with h = 1/64 in z at worst), while a guessed positive strip could be
  wrong by any factor. :func:`strip_reason` says which rule applied.

The result is a sympy expression in the function's parameters (tanh(βx) → π/(2|β|));
the code generator prints it as a function of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from fieldtheory.ir.nonlinearities import ReLU

__all__ = ["ENTIRE_STRIP", "strip_of", "strip_reason"]

#: The strip used for entire functions without Gaussian growth (polynomials, e^{ax}).
ENTIRE_STRIP = 1000

_KINKED = (sp.Abs, sp.sign, sp.Heaviside, ReLU, sp.Max, sp.Min, sp.Piecewise, sp.floor,
           sp.ceiling, sp.DiracDelta)
_REAL_POLES = (sp.tan, sp.cot, sp.sec, sp.csc, sp.coth, sp.csch, sp.log, sp.LambertW)


@dataclass(frozen=True)
class _Analysis:
    """Inverse widths 1/p of the singularities found, the Gaussian growth κ, and why the
    strip is zero (``None`` when it is not)."""

    inverse: tuple = ()
    growth: sp.Expr = sp.S.Zero
    zero: str | None = None


def _zero(reason: str) -> _Analysis:
    return _Analysis(zero=reason)


def _affine(argument: sp.Expr, x: sp.Symbol):
    """(a, b) with argument = a x + b, a ≠ 0 free of x; None otherwise."""
    poly = _polynomial(argument, x)
    if poly is None or poly.degree() != 1:
        return None
    a, b = poly.all_coeffs()
    return a, b


def _polynomial(expr: sp.Expr, x: sp.Symbol):
    try:
        return sp.Poly(sp.expand(expr), x)
    except sp.PolynomialError:
        return None


def _combine(parts, growth) -> _Analysis:
    for part in parts:
        if part.zero is not None:
            return part
    inverse = tuple(w for part in parts for w in part.inverse)
    return _Analysis(inverse, growth)


def _denominator_zeros(base: sp.Expr, x: sp.Symbol) -> _Analysis:
    """Singularities of base^e (e < 0 or not an integer): the zeros of ``base``."""
    if isinstance(base, (sp.cosh, sp.sech)) and _affine(base.args[0], x) is not None:
        # cosh(a x + b) = 0 at a x + b = iπ(k + 1/2)
        return _Analysis((2 * sp.Abs(_affine(base.args[0], x)[0]) / sp.pi,))
    exponentials = [t for t in sp.Add.make_args(base) if t.has(x)]
    if len(exponentials) == 1:
        c1, exponential = exponentials[0].as_independent(x, as_Add=False)
        c0 = base - exponentials[0]
        line = _affine(exponential.args[0], x) if isinstance(exponential, sp.exp) else None
        if line is not None and sp.simplify(c0 / c1).is_positive:
            # c0 + c1 e^{a x + b} = 0 at a x + b = ln(c0/c1) + iπ(2k + 1)
            return _Analysis((sp.Abs(line[0]) / sp.pi,))
    poly = _polynomial(base, x)
    if poly is None or poly.degree() < 1:
        return _zero(f"zeros of {base} not located")
    if not poly.free_symbols - {x}:
        nearest = min(abs(sp.im(r)) for r in poly.nroots())
        if nearest < 1e-12:
            return _zero(f"{base} has a real zero")
        return _Analysis((1 / sp.Float(nearest),))
    if poly.degree() == 2:
        A, B, C = poly.all_coeffs()
        excess = sp.simplify(4 * A * C - B**2)
        if excess.is_nonnegative:
            # roots at (−B ± i√(4AC − B²))/(2A)
            return _Analysis((sp.simplify(2 * sp.Abs(A) / sp.sqrt(excess)),))
    return _zero(f"zeros of {base} depend on parameters in an unknown way")


def _power(expr: sp.Pow, x: sp.Symbol) -> _Analysis:
    base, exponent = expr.args
    if exponent.has(x):
        if base.has(x) or not base.is_positive:
            return _zero(f"{expr} is not an exponential of a known kind")
        return _analyse(sp.exp(exponent * sp.log(base)), x)
    inner = _analyse(base, x)
    if inner.zero is not None:
        return inner
    if exponent.is_integer and exponent.is_nonnegative:
        return _Analysis(inner.inverse, inner.growth * exponent)
    zeros = _denominator_zeros(base, x)
    if zeros.zero is not None:
        return zeros
    growth = inner.growth * exponent if exponent.is_positive else sp.S.Zero
    return _Analysis(inner.inverse + zeros.inverse, growth)


def _function(expr: sp.Function, x: sp.Symbol) -> _Analysis:
    if isinstance(expr, _REAL_POLES):
        return _zero(f"{expr.func.__name__} is singular on the real axis")
    (argument,) = expr.args if len(expr.args) == 1 else (None,)
    if argument is None:
        return _zero(f"{expr} is not a function of one argument")
    if isinstance(expr, sp.exp):
        poly = _polynomial(argument, x)
        if poly is not None and poly.degree() <= 1:
            return _Analysis()  # |e^{a(x+iy)+b}| = e^{ax+b}: no growth off the axis
        if poly is not None and poly.degree() == 2 and poly.LC().is_negative:
            return _Analysis(growth=-poly.LC())
        return _zero(f"exp of {argument} is not an exponential of a known kind")
    line = _affine(argument, x)
    if line is None:
        return _zero(f"{expr.func.__name__} of the non-affine argument {argument}")
    a = line[0]
    if isinstance(expr, (sp.tanh, sp.sech)):
        return _Analysis((2 * sp.Abs(a) / sp.pi,))
    if isinstance(expr, sp.atan):
        return _Analysis((sp.Abs(a),))
    if isinstance(expr, (sp.erf, sp.erfc)):
        return _Analysis(growth=a**2)
    if isinstance(expr, (sp.sin, sp.cos)):
        return _Analysis(growth=a**2 / 4)
    if isinstance(expr, (sp.sinh, sp.cosh)):
        return _Analysis()  # |sinh(s + it)| ≤ cosh(s)
    return _zero(f"no strip rule for {expr.func.__name__}")


def _analyse(expr: sp.Expr, x: sp.Symbol) -> _Analysis:
    expr = sp.sympify(expr)
    if not expr.has(x):
        return _Analysis()
    if expr == x:
        return _Analysis()
    if isinstance(expr, _KINKED):
        return _zero(f"{expr.func.__name__} has kinks")
    if isinstance(expr, sp.Add):
        parts = [_analyse(a, x) for a in expr.args]
        return _combine(parts, sp.Max(*(p.growth for p in parts)))
    if isinstance(expr, sp.Mul):
        parts = [_analyse(a, x) for a in expr.args]
        return _combine(parts, sp.Add(*(p.growth for p in parts)))
    if isinstance(expr, sp.Pow):
        return _power(expr, x)
    if isinstance(expr, sp.Function):
        return _function(expr, x)
    return _zero(f"no strip rule for {type(expr).__name__}")


def strip_of(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    r"""The half-width s of the strip |Im x| < s the runtimes integrate ``expr`` with.

    0 for kinks and for what no rule covers (see the module). Otherwise
    s = 1/max(1/p_k, √κ, 1/:data:`ENTIRE_STRIP`) over the singularities p_k and the
    Gaussian growth κ, as a sympy expression in the parameters.

    >>> import sympy as sp
    >>> x, beta = sp.symbols("x beta", real=True)
    >>> strip_of(sp.tanh(beta * x), x)
    1/Max(1/1000, 2*Abs(beta)/pi)
    >>> strip_of(1 / (1 + sp.exp(-x)), x), strip_of(sp.erf(3 * x), x), strip_of(x**3, x)
    (pi, 1/3, 1000)
    """
    analysis = _analyse(expr, x)
    if analysis.zero is not None:
        return sp.S.Zero
    widths = [*analysis.inverse, sp.sqrt(analysis.growth), sp.Rational(1, ENTIRE_STRIP)]
    return sp.simplify(1 / sp.Max(*widths))


def strip_reason(expr: sp.Expr, x: sp.Symbol) -> str:
    """Why :func:`strip_of` gives what it gives (one line)."""
    analysis = _analyse(expr, x)
    if analysis.zero is not None:
        return f"0: {analysis.zero}"
    parts = [f"a singularity at distance {sp.simplify(1 / w)}" for w in analysis.inverse]
    if analysis.growth != 0:
        parts.append(f"Gaussian growth κ = {analysis.growth}")
    return "; ".join(parts) or "entire without Gaussian growth"
