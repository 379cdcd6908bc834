r"""The mean-field derivation of a spiking network (issue 18; arXiv:1909.01908).

Stages, each printed as text and LaTeX:

``network``
    the declared populations, neuron models, blocks and drives.
``disorder_average``
    the input I_i(t) = Σ_β Σ_{j∈β} W_ij s_j(t − d_ij) of a neuron of population α,
    averaged over the graph. Each block is a compound sum of K_i synapses (K_i the
    in-degree, with E[K] and Var[K] from the connection rule) with i.i.d. weights w (their
    moments E[w], E[w²] derived from the declared normal law kept to its sign) onto
    presynaptic neurons whose rates ν_j are i.i.d. draws from their population's rate
    distribution (mean ν_β, second moment q_β) and whose spike trains have the
    δ-free autocorrelation Ĉ_β(τ) on average. The compound-sum cumulants give
    E_i[⟨I_i⟩_t] = E[K]E[w]ν_β, Var_i[⟨I_i⟩_t] = E[K](E[w²]q_β − E[w]²ν_β²) + Var[K]E[w]²ν_β²
    (static variability: quenched differences between neurons) and the dynamic
    autocovariance E[K]E[w²](ν_β δ(τ) + Ĉ_β(τ)) (cross-covariances of different
    presynaptic trains are O(1/K) and dropped; fixed delays drop out of an
    autocorrelation).
``site``
    the colored-noise problem of one neuron: V_i = μ_α + δμ_i + v_i(t) with
    δμ_i ~ N(0, Σ_α) and v_i a stationary Gaussian process of spectrum
    S_v(ω) = τ_m²|H_s(ω)|²/(1 + ω²τ_m²) S_I(ω); white part D_α, colored coefficients
    a_αβ multiplying Ĉ_β. The neuron model's registered closure maps it to ν_i and the
    spike-train statistics (``fieldtheory/solvers/runtime/spiking_*.py``).

The coefficients are sympy expressions in the model's parameters and the symbols ν_β, q_β;
:class:`SpikingProblem` lambdifies them for the runtimes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

from fieldtheory.ir.spiking import SpikingNetwork
from fieldtheory.ir.spiking_values import NetworkValues

__all__ = ["SpikingProblem", "SpikingStages", "spiking_stages", "weight_moments"]

#: ms per s: rates are in Hz, times in ms.
MS = sp.Rational(1, 1000)


def weight_moments(mean: sp.Expr, sd: sp.Expr, sd_positive: bool = False
                   ) -> tuple[sp.Expr, sp.Expr]:
    r"""E[w], E[w²] of a normal weight N(m, s²) redrawn until it has the sign of m (NEST's
    ``redraw``): a normal truncated at 0. With a = |m|/s, λ = φ(a)/Φ(a):
    E[w] = m + sign(m) s λ, E[w²] = m² + s² + |m| s λ; s = 0 gives m, m².
    ``sd_positive`` (s > 0 for every admissible parameter value, from their domains) or a
    number s drops the branch at s = 0; numbers give numbers."""
    m, s = sp.sympify(mean), sp.sympify(sd)
    if s.is_zero:
        return m, m**2
    if m.is_number and s.is_number:  # numbers: the same formulas in floats
        mf, sf = float(m), float(s)
        a = abs(mf) / sf
        lam = math.exp(-a * a / 2) / math.sqrt(2 * math.pi) / ((1 + math.erf(a / math.sqrt(2))) / 2)
        sign = (mf > 0) - (mf < 0)
        return sp.Float(mf + sign * sf * lam), sp.Float(mf * mf + sf * sf + abs(mf) * sf * lam)
    a = sp.Abs(m) / s
    phi = sp.exp(-a**2 / 2) / sp.sqrt(2 * sp.pi)
    Phi = (1 + sp.erf(a / sp.sqrt(2))) / 2
    lam = phi / Phi
    first, second = m + sp.sign(m) * s * lam, m**2 + s**2 + sp.Abs(m) * s * lam
    if s.is_number or sd_positive:  # s ≠ 0: no branch
        return first, second
    return (sp.Piecewise((first, sp.Ne(s, 0)), (m, True)),
            sp.Piecewise((second, sp.Ne(s, 0)), (m**2, True)))


def _block_moments(mean: sp.Expr, sd: sp.Expr, network: SpikingNetwork
                   ) -> tuple[sp.Expr, sp.Expr]:
    """:func:`weight_moments` of a block, using their homogeneity: when mean = r·m₀ and
    sd = r·s₀ share a factor r > 0 (parameters positive by their domains; an area graph
    scaled by ``weight_scale``, ``inhibition``) and m₀, s₀ are numbers, the sign-kept
    normal is r times that of (m₀, s₀): E[w] = r E₀, E[w²] = r² E₂ — numbers times r,
    not erf expressions of r."""
    m, s = sp.sympify(mean), sp.sympify(sd)
    cm, rm = m.as_coeff_Mul()
    cs, rs = s.as_coeff_Mul()
    if (rm == rs and rm != 1 and cm.is_number and cs.is_number and cs > 0
            and _positive(rm, network)):
        e1, e2 = weight_moments(cm, cs)
        return rm * e1, rm**2 * e2
    return weight_moments(mean, sd, _positive(sd, network))


def _positive(expr: sp.Expr, network: SpikingNetwork) -> bool:
    """Whether ``expr`` — a positive number times powers of parameters or of their
    absolute values — is positive for every admissible value (from the domains)."""
    number, factors = sp.sympify(expr).as_coeff_Mul()
    if not (number.is_number and number > 0):
        return False
    for factor in sp.Mul.make_args(factors):
        base = factor.base if isinstance(factor, sp.Pow) else factor
        absolute = isinstance(base, sp.Abs)
        if absolute:
            base = base.args[0]
        if not (isinstance(base, sp.Symbol) and base.name in network.parameters.names):
            return False
        domain = network.parameters[base.name].domain
        above = domain.lower > 0 or (domain.lower == 0 and not domain.closed_lower)
        below = domain.upper < 0 or (domain.upper == 0 and not domain.closed_upper)
        if not (above or (absolute and below)):
            return False
    return True


#: expressions with more operations than this are printed as they are
SIMPLIFY_OPS = 40


#: a graph with more blocks than this is not simplified block by block (expanded only)
SIMPLIFY_BLOCKS = 200


def _tidy(expr: sp.Expr, light: bool = False) -> sp.Expr:
    """Simplified for printing; expressions holding the weight moments' Piecewise, or
    large ones, are left as they are (sympy's simplification costs seconds to minutes
    there and gains nothing), and so are those free of parameters (numbers times rates:
    nothing to simplify, and a data-driven graph has thousands of them). ``light``
    (graphs of more than ``SIMPLIFY_BLOCKS`` blocks): expanded, not simplified."""
    expr = sp.sympify(expr)
    if all(s.name.startswith(("nu_", "q_")) for s in expr.free_symbols):
        return expr
    if light:
        return expr if expr.atoms(sp.Function) else sp.expand(expr)
    if expr.atoms(sp.Function) or sp.count_ops(expr) > SIMPLIFY_OPS:
        # weight moments (erf, Piecewise) and large sums of blocks (area graphs): sympy's
        # simplification costs seconds to minutes there and gains nothing
        return expr
    # rational in the parameters here: cancelled and common factors pulled out
    # (simplify's other strategies cost ten times more and find nothing more)
    return sp.factor_terms(sp.cancel(expr))


@dataclass(frozen=True)
class SpikingStages:
    stages: tuple[tuple[str, str, str], ...]
    problem: SpikingProblem


@dataclass(frozen=True)
class SpikingProblem:
    """The ``site`` stage of a spiking network, symbolic: per population α the mean input
    ``mu[α]`` (mV), the static variance ``Sigma[α]`` (mV²), the white-noise intensity
    ``D[α]`` (mV²/ms) of the input I and the coefficients ``colored[α][β]`` (mV²/ms²·s²,
    times Ĉ_β in Hz²) of its colored part — expressions in the parameters and the rate
    symbols ``nu[β]`` (Hz), ``q[β]`` (Hz²)."""

    network: SpikingNetwork
    nu: tuple[sp.Symbol, ...]
    q: tuple[sp.Symbol, ...]
    mu: tuple[sp.Expr, ...]
    Sigma: tuple[sp.Expr, ...]
    D: tuple[sp.Expr, ...]
    colored: tuple[tuple[sp.Expr, ...], ...]

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(p.neuron.kind for p in self.network.populations)

    def compiled(self):
        """The coefficients as numpy functions of the parameters, lambdified once per
        problem (kept on it, outside equality and hashing). By construction of the
        compound-sum cumulants μ and D are affine in ν, Σ is linear in q and in ν², and the
        colored coefficients do not depend on the rates: each is split here into the
        nonzero entries of its coefficient arrays (term by term: hundreds of rate symbols
        would make a polynomial ring slow), so evaluating the site is a few matrix
        products. Any other dependence is refused by name (a bug in the stage)."""
        cached = vars(self).get("_compiled")
        if cached is not None:
            return cached
        P = len(self.nu)
        params = tuple(self.network.parameters.symbols)
        rates = (*self.nu, *self.q)
        column = {r: 1 + k for k, r in enumerate(rates)}
        width = 1 + 2 * P + P

        def split(expr, what):
            entries: dict[int, sp.Expr] = {}
            fast = _numbers_times_rates(sp.sympify(expr))
            if fast is not None:  # numbers times rates (a graph at numbers): no algebra
                for c, m in fast:
                    k = 0 if m == 1 else column.get(m) if m in column else (
                        2 * P + column[m.base] if m.is_Pow and m.exp == 2
                        and column.get(m.base, 2 * P) <= P else None)
                    if k is None:
                        break
                    entries[k] = entries.get(k, sp.Integer(0)) + sp.Float(c)
                else:
                    return entries
                entries = {}
            for term in sp.Add.make_args(sp.expand(sp.sympify(expr))):
                if term == 0:
                    continue
                coefficient, rate = term.as_independent(*rates, as_Add=False)
                if rate == 1:
                    k = 0
                elif rate in column:
                    k = column[rate]
                elif (rate.is_Pow and rate.exp == 2 and rate.base in column
                      and column[rate.base] <= P):
                    k = 2 * P + column[rate.base]
                else:
                    raise ValueError(f"spiking site: {what} = {expr} is not of the "
                                     "compound-sum form (affine in ν, q and ν²)")
                entries[k] = entries.get(k, sp.Integer(0)) + coefficient
            return entries

        index, flat = [], []
        for b, (what, exprs) in enumerate((("μ", self.mu), ("Σ", self.Sigma),
                                           ("D", self.D))):
            for a, expr in enumerate(exprs):
                for k, coefficient in split(expr, what).items():
                    index.append((b * P + a) * width + k)
                    flat.append(coefficient)
        for a, row in enumerate(self.colored):
            for b, coefficient in enumerate(row):
                if coefficient != 0:
                    index.append(3 * P * width + a * P + b)
                    flat.append(coefficient)
        if all(sp.sympify(v).is_Number for v in flat):  # a graph at numbers: no code
            numbers = [float(v) for v in flat]

            def function(*_):
                return numbers
        else:
            function = sp.lambdify(params, flat, modules=["scipy", "numpy"])
        cached = (function, width, np.array(index, dtype=np.int64))
        vars(self)["_compiled"] = cached
        return cached

    def at(self, params: Mapping[str, float] | None, values: NetworkValues | None = None
           ) -> NumericSite:
        """The coefficients at parameter values: callables of (ν, q) arrays."""
        resolved = self.network.resolve(params)
        # numpy floats: a Piecewise branch not taken may divide by zero (a weight sd of 0)
        bound = tuple(np.float64(resolved[s.name]) for s in self.network.parameters.symbols)
        function, width, index = self.compiled()
        P = len(self.nu)
        numbers = np.zeros(3 * P * width + P * P)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            numbers[index] = [float(v) for v in function(*bound)]
        blocks = numbers[: 3 * P * width].reshape(3, P, width)
        colored = numbers[3 * P * width:].reshape(P, P)
        if values is None:
            values = self.network.values(params)

        def evaluate(block):
            const, linear, square = block[:, 0], block[:, 1: 1 + 2 * P], block[:, 1 + 2 * P:]

            def at_rates(nu, q):
                nu, q = np.asarray(nu, float), np.asarray(q, float)
                return const + linear @ np.concatenate([nu, q]) + square @ (nu * nu)

            return at_rates

        def gradient(nu):
            nu = np.asarray(nu, float)
            out = []
            for block in blocks:
                linear = block[:, 1: 1 + 2 * P].copy()
                linear[:, :P] += 2 * block[:, 1 + 2 * P:] * nu[None, :]
                out.append(linear)
            return tuple(out)

        network = self.network

        def shot():
            """The input as compound Poisson processes (what the second-order site keeps
            of it are its first two cumulants): one row per block and per drive —
            target, source (−1: a drive), the mean number of synapses E[K] (the rule's
            in-degree moment, as in ``disorder_average``; a drive's in-degree), the
            drive's rate (Hz; NaN for a block), the weight law's mean and sd (mV),
            whether it keeps its sign, and its first moment E[w] (``weight_moments``)."""
            size = {p.name: p.size for p in network.populations}
            subs = {s: float(resolved[s.name]) for s in network.parameters.symbols}
            names = list(network.names)
            rows = []
            for c, cv in zip(network.connections, values.connections, strict=True):
                EK = c.rule.in_degree_moments(size[c.source], size[c.target])[0]
                Ew = (float(weight_moments(cv.weight, cv.weight_sd)[0]) if cv.clip_sign
                      else cv.weight)
                rows.append((cv.target, cv.source, float(sp.sympify(EK).subs(subs)),
                             math.nan, cv.weight, cv.weight_sd, cv.clip_sign, Ew))
            for d in values.drives:
                rows.append((d.target, -1, d.in_degree, d.rate, d.weight, 0.0, False,
                             d.weight))
            if not rows:
                return ShotInput(names, *(np.zeros(0) for _ in range(8)))
            columns = list(zip(*rows, strict=True))
            return ShotInput(names, *(np.asarray(c) for c in columns))

        return NumericSite(values=values, mu=evaluate(blocks[0]), Sigma=evaluate(blocks[1]),
                           D=evaluate(blocks[2]), colored=lambda nu, q: colored.copy(),
                           gradient=gradient, shot=shot)


@dataclass(frozen=True)
class ShotInput:
    """The blocks and drives of a network at numbers as compound Poisson inputs (arrays
    over rows; see ``SpikingProblem.at``): a neuron of ``target`` receives, from row b,
    spikes at the rate E[K]_b ν_source (or E[K]_b × the drive's rate), each a jump drawn
    from N(mean_b, sd_b²) (redrawn to its sign where ``clip``)."""

    names: list
    target: np.ndarray
    source: np.ndarray
    count: np.ndarray
    rate: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    clip: np.ndarray
    expected: np.ndarray


@dataclass(frozen=True)
class NumericSite:
    """The site at parameter values (what the spiking runtimes take)."""

    values: NetworkValues
    mu: object
    Sigma: object
    D: object
    colored: object
    #: ν ↦ (∂μ, ∂Σ, ∂D), each P × 2P: the derivatives in (ν, q) (μ, D affine, Σ linear
    #: in q and ν², so these are the site's coefficients; None: not known)
    gradient: object = None
    #: () ↦ :class:`ShotInput`, the input as compound Poisson processes (all its
    #: cumulants; the finite-K runtime ``lif_shot``); None: not known
    shot: object = None


def _linear(terms) -> sp.Expr:
    """Σ c·m for (float c, rate monomial m or 1), built without sympy's evaluation (its
    assumption queries cost a millisecond per product, minutes for a data-driven graph);
    equal monomials are combined, zero coefficients dropped."""
    combined: dict = {}
    for c, m in terms:
        combined[m] = combined.get(m, 0.0) + float(c)
    parts = [sp.Float(c) if m == 1 else sp.Mul(sp.Float(c), m, evaluate=False)
             for m, c in combined.items() if c != 0.0]
    if not parts:
        return sp.Integer(0)
    return parts[0] if len(parts) == 1 else sp.Add(*parts, evaluate=False)


def _scaled_sum(factor, terms, constant=0) -> sp.Expr:
    """constant + factor·Σ terms: in floats by :func:`_linear` when everything is numbers
    times rates (a graph at numbers), else by sympy."""
    factor, constant = sp.sympify(factor), sp.sympify(constant)
    if factor.is_Number and constant.is_Number:
        pieces = [_numbers_times_rates(sp.sympify(t)) for t in terms]
        if all(piece is not None for piece in pieces):
            return _linear([(float(constant), sp.Integer(1))]
                           + [(float(factor) * c, m) for piece in pieces for c, m in piece])
    return constant + factor * sp.Add(*terms)


def _numbers_times_rates(expr: sp.Expr) -> list[tuple[float, sp.Expr]] | None:
    """[(number, monomial)] of a sum whose coefficients are all numbers (a graph at
    numbers); None if any coefficient holds a parameter."""
    out = []
    for term in sp.Add.make_args(expr):
        coefficient, rest = term.as_coeff_Mul()
        if not coefficient.is_Number or not all(
                s.name.startswith(("nu_", "q_")) for s in rest.free_symbols) or (
                rest != 1 and not (rest.is_Symbol or rest.is_Pow)):
            return None
        out.append((float(coefficient), rest))
    return out


def _printers():
    """text and LaTeX with a fast path for sums of numbers times rates: sympy's printers
    order and parenthesise every term, seconds for the sums of a data-driven graph."""
    from fieldtheory.printing import latex, text

    def fast(printer, times):
        cache: dict = {}

        def show(expr):
            expr = sp.sympify(expr)
            terms = _numbers_times_rates(expr) if len(expr.args) > 1 or expr.is_Number \
                else None
            if terms is None:
                return printer(expr)
            parts = []
            for c, m in terms:
                if m == 1:
                    parts.append(f"{c:.6g}")
                else:
                    if m not in cache:
                        cache[m] = printer(m)
                    parts.append(f"{c:.6g}{times}{cache[m]}")
            return " + ".join(parts).replace("+ -", "- ")

        return show

    return fast(text, "*"), fast(latex, r"\,")


def spiking_stages(network: SpikingNetwork) -> SpikingStages:
    """Derive the input cumulants and the single-neuron problem of every population."""
    text, latex = _printers()

    names = network.names
    nu = tuple(sp.Symbol(f"nu_{n}", positive=True) for n in names)
    q = tuple(sp.Symbol(f"q_{n}", positive=True) for n in names)
    size = {p.name: p.size for p in network.populations}
    mean_terms: dict[str, list] = {n: [] for n in names}
    static_terms: dict[str, list] = {n: [] for n in names}
    white_terms: dict[str, list] = {n: [] for n in names}
    colored = {a: {b: sp.Integer(0) for b in names} for a in names}
    lines, latex_lines = [], []
    light = len(network.connections) > SIMPLIFY_BLOCKS
    for c in network.connections:
        b = names.index(c.source)
        EK, VK = c.rule.in_degree_moments(size[c.source], size[c.target])
        Ew, Ew2 = _block_moments(c.weight, c.weight_sd, network)
        # compound sum Σ_{k ≤ K} w_k ν_{j_k} over independent sources: E = E[K]E[X],
        # Var = E[K]Var[X] + Var[K]E[X]² (with multapses a source may repeat: the
        # same-source pairs are left out, see docs/models/multi-area.md)
        if all(isinstance(x, sp.Number) for x in (EK, VK, Ew, Ew2)):
            # a block at numbers: the same algebra in floats (sympy's is the cost)
            ek, vk, m1, m2 = (float(x) for x in (EK, VK, Ew, Ew2))
            mean = _linear([(ek * m1, nu[b])])
            static = _linear([(ek * m2, q[b]), ((vk - ek) * m1 * m1,
                                                sp.Pow(nu[b], 2, evaluate=False))])
            dynamic = sp.Float(ek * m2)
        else:
            EX, EX2 = Ew * nu[b], Ew2 * q[b]
            mean = _tidy(EK * EX, light)
            static = _tidy(EK * (EX2 - EX**2) + VK * EX**2, light)
            dynamic = _tidy(EK * Ew2, light)
        mean_terms[c.target].append(mean)
        static_terms[c.target].append(static)
        white_terms[c.target].append(_linear([(float(dynamic), nu[b])]) if dynamic.is_Number
                                     else dynamic * nu[b])
        colored[c.target][c.source] += dynamic
        lines.append(f"{c.label}: {c.rule.text()}; E[K] = {text(EK)}, Var[K] = {text(VK)}, "
                     f"E[w] = {text(Ew)}, E[w²] = {text(Ew2)}\n"
                     f"    E_i⟨I⟩ += {text(mean)}·(1/ms)   Var_i⟨I⟩ += {text(static)}   "
                     f"C_I(τ) += {text(dynamic)}·(ν δ(τ) + Ĉ_{c.source}(τ))")
        latex_lines.append(rf"\text{{{c.label}}}:\ \mathbb E_i\langle I\rangle \mathrel{{+}}= "
                           rf"{latex(mean)},\ \mathrm{{Var}}_i \mathrel{{+}}= {latex(static)},"
                           rf"\ C_I(\tau) \mathrel{{+}}= {latex(dynamic)}"
                           rf"\,(\nu_{{{c.source}}}\delta(\tau) + \hat C_{{{c.source}}}(\tau))")
    for d in network.drives:
        mean_terms[d.target].append(d.in_degree * d.weight * d.rate)
        white_terms[d.target].append(d.in_degree * d.weight**2 * d.rate)
        lines.append(f"drive → {d.target}: {text(d.in_degree)} Poisson trains: "
                     f"E⟨I⟩ += {text(d.in_degree * d.weight * d.rate)}·(1/ms), white "
                     f"intensity += {text(d.in_degree * d.weight**2 * d.rate)}·(1/ms)")
    mu, Sigma, D, site_lines, site_latex = [], [], [], [], []
    for p in network.populations:
        n, tm = p.name, p.neuron.tau_m
        mu.append(_tidy(_scaled_sum(tm * MS, mean_terms[n], p.neuron.E_L), light))
        Sigma.append(_tidy(_scaled_sum((tm * MS) ** 2, static_terms[n]), light))
        D.append(_tidy(_scaled_sum(MS, white_terms[n]), light))
        synapse = "" if sp.sympify(p.neuron.tau_s).is_zero else f"/(1 + ω²{text(p.neuron.tau_s)}²)"
        site_lines.append(
            f"{n}: V_i = μ + δμ_i + v_i(t), μ = {text(mu[-1])} mV, δμ_i ~ N(0, Σ), "
            f"Σ = {text(Sigma[-1])} mV²;\n    S_v(ω) = τ_m²{synapse}/(1 + ω²τ_m²)·"
            f"[D + Σ_β a_β Ĉ_β(ω)], D = {text(D[-1])} mV²/ms, τ_m = {text(tm)} ms; "
            f"closure: {p.neuron.kind}")
        site_latex.append(rf"\text{{{n}}}:\ \mu = {latex(mu[-1])},\ \Sigma = "
                          rf"{latex(Sigma[-1])},\ D = {latex(D[-1])}")
    colored_rows = tuple(tuple(_tidy(colored[a][b] * MS**2, light) for b in names)
                         for a in names)
    problem = SpikingProblem(network, nu, q, tuple(mu), tuple(Sigma), tuple(D), colored_rows)
    stages = (
        ("disorder_average",
         "input cumulants over the graph (ν_β mean rate, q_β = E[ν²] over neurons, "
         "Ĉ_β the δ-free spike autocorrelation, Hz; τ in ms):\n" + "\n".join(lines),
         r"\\ ".join(latex_lines)),
        ("site", "single-neuron colored-noise problems:\n" + "\n".join(site_lines),
         r"\\ ".join(site_latex)),
    )
    return SpikingStages(stages, problem)
