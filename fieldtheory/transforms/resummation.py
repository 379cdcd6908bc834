r"""Resummed cumulant terms: correlated random modes at the saddle point.

A :class:`~fieldtheory.ir.ensembles.cumulants.ModeDeterminant` (random modes J = Σ_a d_a
l_a r_aᵀ with corr(l_a, r_a) = ρσ_a) is kept whole by the disorder average. With the
mode variables u_a(t) = l_a·x̃(t), v_a(t) = r_a·B(t) — Gaussian given the fields, with
covariance [[C_x̃, ρσ_a Rᵀ], [ρσ_a R, C_B]] — its exponent d_a ∫u_a v_a is a Gaussian
integral, so in the collective fields

.. math::  W = \alpha N \Big\langle -\tfrac12 \ln\det\Big(1 - d
           \begin{pmatrix} \rho\sigma R^\top & C_{\tilde x} \\ C_B & \rho\sigma R
           \end{pmatrix}\Big)\Big\rangle_{d,\sigma},

R(t, s) = (1/N) Σ_j B_j(t) x̃_j(s) (causal: t > s), C_B = (1/N) Σ_j B_j B_j, C_x̃ =
(1/N) Σ_j x̃_j x̃_j, products of kernels = time convolutions, ⟨·⟩ over the spectrum and
the signs (Clark, Marschall, van Meegen & Litwin-Kumar, arXiv:2409.01969). Its
variations at the saddle point (C_x̃ = 0, where the block matrix is triangular and
ln det(1 − dρσR) = 0 for a causal R) follow from δ ln det M = tr(M⁻¹ δM):

.. math::
    \tilde C_{\tilde x}(t, s) = \tfrac12 S(t, s), \quad
    S = \alpha\big\langle d^2 (1 - d\rho\sigma R)^{-1} C_B (1 - d\rho\sigma R)^{-\top}
        \big\rangle_{d,\sigma},
    \qquad
    \tilde R(t, s) = K(s, t), \quad
    K = \alpha\big\langle d\rho\sigma\,(1 - d\rho\sigma R)^{-1}\big\rangle_{d,\sigma}
      = \alpha\big\langle d^2\rho^2 R\,(1 - d^2\rho^2 R^2)^{-1}\big\rangle_d,

and C̃_B = 0. The single site thus has the self-coupling kernel K (a resolvent of the
response, not ρg²R) and the dressed Gaussian input S. Stationary:
K(ω) = α⟨d²ρ²R(ω)/(1 − d²ρ²R(ω)²)⟩_d and
S(ω) = α⟨d²(1 + d²ρ²|R(ω)|²)/|1 − d²ρ²R(ω)²|²⟩_d C_B(ω) (the σ average done). The
second order of the expansion, S = α r₂ C_B and K = α r₂ ρ² R, is what the generic saddle
point finds from the pair terms; :func:`resummed_conjugates` checks that and replaces it.

**Fluctuations (order 1/N).** Around the saddle point, with G = (1 − dM*)⁻¹ =
[[Bᵀ, 0], [Γ, B]], B = (1 − dρσR)⁻¹ (causal), Γ = d B C_B Bᵀ, the determinant's second
order in δM = [[ρσ δRᵀ, δC_x̃], [δC_B, ρσ δR]] is

.. math::  N S_2 \supset \frac{\alpha N}{4}\Big\langle d^2 \big[\operatorname{tr}(G\,\delta M)^2
           - \operatorname{tr}(\delta M)^2\big]\Big\rangle_{d,\sigma}

(δ²ln det(1 − dM) = −d² tr(GδMGδM); its second order, tr(δM)², is already in the pair
terms). :func:`resummed_hessian` expands the traces of the block matrices
(noncommutative letters) and reads every word tr(K₁ δP K₂ δQ) = ∫K₁(t₁,t₂)δP(t₂,t₃)
K₂(t₃,t₄)δQ(t₄,t₁) as a Hessian entry whose two kernels each pair a time of δP with
one of δQ. At overlap 0 (B = 1, Γ = dC_B) it is the fourth cumulant's
(α r₄/2) C_B C_B on δC_x̃ δC_x̃ (:mod:`~fieldtheory.transforms.trace_cumulants`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp
from sympy.core.function import UndefinedFunction

from fieldtheory.errors import ActionStructureError
from fieldtheory.ir.ensembles.cumulants import ModeDeterminant
from fieldtheory.transforms.nodes import OrderParameterValue, time_variables
from fieldtheory.transforms.printing import latex, text

__all__ = ["Dressing", "ModeResummation", "ResolventEntry", "locate", "resummed_conjugates",
           "resummed_hessian"]

#: The mode strength d and the random sign σ inside a mode average ⟨·⟩_(d,σ).
MODE_STRENGTH, MODE_SIGN = sp.Symbol("d", positive=True), sp.Symbol("sigma")


@dataclass(frozen=True)
class ModeResummation:
    """A :class:`ModeDeterminant` written in the order parameters it depends on."""

    determinant: ModeDeterminant
    response_correlation: object  # OrderParameter C_x̃ (vanishes)
    correlation: object  # OrderParameter C_B
    response: object  # OrderParameter R(t, s) = ⟨B(t) x̃(s)⟩

    def _names(self) -> tuple[str, str, str]:
        return self.response.name, self.response_correlation.name, self.correlation.name

    def __str__(self) -> str:
        r, cx, cb = self._names()
        return (f"α⟨−½ ln det(1 − d·[[ρσ {r}ᵀ, {cx}], [{cb}, ρσ {r}]])⟩_(d,σ) beyond its "
                "second order (the terms above), resummed at the saddle point; "
                f"α = {text(self.determinant.alpha)}, ρ = {text(self.determinant.overlap)}, "
                f"d = c·s(u), α⟨d²⟩ = {text(self.determinant.variance)}, "
                f"s(u) = {text(self.determinant.shape)}, u ∈ (0, 1), σ = ±1")

    def latex(self) -> str:
        r, cx, cb = (q.latex_name for q in (self.response, self.response_correlation,
                                              self.correlation))
        return (rf"\Big[\alpha\Big\langle -\tfrac12 \ln\det\Big(1 - d\begin{{pmatrix}}"
                rf"\rho\sigma {r}^\top & {cx} \\ {cb} & \rho\sigma {r}\end{{pmatrix}}\Big)"
                rf"\Big\rangle_{{d,\sigma}}\Big]_{{\text{{orders}} > 2}}, \quad "
                rf"\rho = {latex(self.determinant.overlap)}, \quad d = c\,s(u), \quad "
                rf"\alpha\langle d^2\rangle = {latex(self.determinant.variance)}, \quad "
                rf"s(u) = {latex(self.determinant.shape)}")

    @cached_property
    def dressings(self) -> tuple[Dressing, Dressing]:
        """The dressed noise S and kernel K of the single site."""
        return (Dressing("noise", self), Dressing("kernel", self))


@dataclass(frozen=True)
class Dressing:
    """S (``kind`` "noise") or K ("kernel"): a resolvent functional of the order
    parameters, a function of two times in the single-site process."""

    kind: str
    resummation: ModeResummation

    @property
    def acts_on(self):
        """The order parameter the site term is read as: C_B for S, R for K."""
        r = self.resummation
        return r.correlation if self.kind == "noise" else r.response

    @cached_property
    def function(self) -> UndefinedFunction:
        base = "S" if self.kind == "noise" else "K"
        label = self.acts_on.name.partition("_")[2]
        latex_label = self.acts_on.latex_name.partition("_")[2] or "{}"
        return UndefinedFunction(f"{base}_{label}", bases=(OrderParameterValue,),
                                 op_role="value", text_name=f"{base}_{label}",
                                 latex_name=f"{base}_{latex_label}")

    def definition_text(self) -> str:
        r = self.resummation
        R, C = r.response.name, r.correlation.name
        name = self.function.__name__
        if self.kind == "kernel":
            return (f"{name} = α⟨d²ρ² {R}·(1 − d²ρ² {R}·{R})⁻¹⟩_d, stationary: "
                    f"{name}(ω) = α⟨d²ρ² {R}(ω)/(1 − d²ρ² {R}(ω)²)⟩_d")
        return (f"{name} = α⟨d² (1 − dρσ {R})⁻¹·{C}·(1 − dρσ {R})⁻ᵀ⟩_(d,σ), stationary: "
                f"{name}(ω) = α⟨d² (1 + d²ρ²|{R}(ω)|²)/|1 − d²ρ² {R}(ω)²|²⟩_d {C}(ω)")

    def definition_latex(self) -> str:
        r = self.resummation
        R, C = r.response.latex_name, r.correlation.latex_name
        name = self.function.latex_name
        if self.kind == "kernel":
            return (rf"{name}(\omega) = \alpha\left\langle \frac{{d^2\rho^2 {R}(\omega)}}"
                    rf"{{1 - d^2\rho^2 {R}(\omega)^2}}\right\rangle_d")
        return (rf"{name}(\omega) = \alpha\left\langle \frac{{d^2 (1 + d^2\rho^2 |{R}(\omega)|^2)}}"
                rf"{{|1 - d^2\rho^2 {R}(\omega)^2|^2}}\right\rangle_d {C}(\omega)")


def locate(determinant: ModeDeterminant, coupling_term, order_parameters, observe,
           discrete: bool, taken) -> ModeResummation:
    """The order parameters of ``determinant``: C_x̃ = ⟨A A⟩, C_B = ⟨B B⟩ and
    R(t, s) = ⟨B(t) A(s)⟩ for its coupling term A_i Σ_j J_ij B_j, found among
    ``order_parameters`` (the second order's pair terms made them) through ``observe``
    (the collective-field stage's canonical site observable)."""
    t, s = time_variables(2, discrete, taken)
    tau = coupling_term.target.free_symbols & coupling_term.source.free_symbols
    (time,) = tau if len(tau) == 1 else (None,)
    if time is None:
        raise ActionStructureError(f"coupling term {coupling_term} is not at one time")

    def at(expr, when):
        return expr.xreplace({time: when})

    found = {(q.population, q.content): q for q in order_parameters}
    population = determinant.population
    out = []
    for factor in (at(coupling_term.target, t) * at(coupling_term.target, s),
                   at(coupling_term.source, t) * at(coupling_term.source, s),
                   at(coupling_term.source, t) * at(coupling_term.target, s)):
        observable, _ = observe(factor, (t, s), population, discrete, taken)
        key = (population, observable.content)
        if key not in found:  # pragma: no cover - the second order always makes them
            raise ActionStructureError(f"the order parameter of {factor} was not found")
        out.append(found[key])
    return ModeResummation(determinant, *out)


def resummed_conjugates(resummation: ModeResummation, conjugates: dict) -> dict:
    r"""``conjugates`` with C̃_x̃ = S/2 and R̃(t, s) = K(s, t), after checking that the
    generic saddle point found their second order, α r₂ C_B/2 and α⟨d²ρ²⟩ R(s, t)."""
    r = resummation
    variance, rho2 = r.determinant.variance, r.determinant.symmetry
    cx, cb, R = r.response_correlation, r.correlation, r.response
    t, s = cx.times
    noise, kernel = r.dressings
    expected = {cx: variance / 2 * cb.value(t, s), R: variance * rho2 * R.value(*R.times[::-1])}
    for q, leading in expected.items():
        if sp.simplify(conjugates[q] - leading) != 0:
            raise ActionStructureError(  # pragma: no cover - a bug guard
                f"the saddle point's second order of the correlated modes, {q.conjugate()} = "
                f"{conjugates[q]}, is not the expansion's {leading}")
    out = dict(conjugates)
    out[cx] = noise.function(t, s) / 2
    out[R] = kernel.function(*R.times[::-1])
    return out


# ----------------------------------------------------------------- the Hessian (order 1/N)

#: Slot kernels of a resummed Hessian entry, as functions of (row time − column time):
#: "1" the δ, "B" the causal resolvent b(τ) = (1 − dρσR)⁻¹(τ), "Γ" γ(τ) = (d B C_B Bᵀ)(τ);
#: a trailing "~" is the reversed kernel k(−τ).
KERNELS = ("1", "B", "B~", "Γ", "Γ~")


def reversed_kernel(name: str) -> str:
    """k(−τ) of the slot kernel k(τ) named ``name``."""
    if name == "1":
        return name
    return name[:-1] if name.endswith("~") else name + "~"


@dataclass(frozen=True)
class ResolventEntry:
    r"""H[δrow, δcolumn](t, s; t₃, t₄) ⊃ α⟨weight(d, σ)·k₀(t − t_a)·k₁(s − t_b)⟩_(d,σ):
    ``pattern`` "straight" pairs (t, s) with (t₃, t₄), "crossed" with (t₄, t₃); the slot
    kernels ``kernels`` (of row time − column time, :data:`KERNELS`) depend on d and σ
    through the resolvent B. ``weight`` is a polynomial in d, σ and the overlap."""

    row: object  # OrderParameter
    column: object  # OrderParameter
    pattern: str
    kernels: tuple[str, str]
    weight: sp.Expr
    resummation: ModeResummation | None = None

    def _kernel(self, name: str, row_time, column_time, printer) -> str:
        if name == "1":
            return f"δ({printer(row_time - column_time)})"
        base = name.rstrip("~")
        difference = column_time - row_time if name.endswith("~") else row_time - column_time
        return f"{base}({printer(difference)})"

    def text(self, times) -> str:
        t, s, t3, t4 = times
        columns = (t3, t4) if self.pattern == "straight" else (t4, t3)
        kernels = "·".join(self._kernel(k, r, c, text)
                           for k, r, c in zip(self.kernels, (t, s), columns, strict=True))
        return (f"H[δ{self.row.name}, δ{self.column.name}]({t}, {s}; {t3}, {t4}) ⊃ "
                f"α⟨{text(self.weight)}·{kernels}⟩_(d,σ)")


def _letters():
    names = ("B", "Bt", "Gamma", "One", "dR", "dRt", "dX", "dC")
    return dict(zip(names, sp.symbols(" ".join(names), commutative=False), strict=True))


def _product(a, b):
    """The 2 × 2 block product of nested lists of noncommutative expressions."""
    return [[sp.expand(a[i][0] * b[0][j] + a[i][1] * b[1][j]) for j in range(2)]
            for i in range(2)]


def _trace_square(g, m) -> sp.Expr:
    p = _product(g, m)
    return sp.expand(sum(p[i][k] * p[k][i] for i in range(2) for k in range(2)))


def resummed_hessian(resummation: ModeResummation) -> tuple[ResolventEntry, ...]:
    r"""The Hessian entries of (α/4)⟨d²[tr(GδM)² − tr(δM)²]⟩ (module docstring): every
    ordered pair of the order parameters (R, C_x̃, C_B) it couples, both triangles."""
    L = _letters()
    rho, sigma, d = resummation.determinant.overlap, MODE_SIGN, MODE_STRENGTH
    delta_m = [[rho * sigma * L["dRt"], L["dX"]], [L["dC"], rho * sigma * L["dR"]]]
    full = [[L["Bt"], 0], [L["Gamma"], L["B"]]]
    bare = [[L["One"], 0], [0, L["One"]]]
    words = sp.expand(_trace_square(full, delta_m) - _trace_square(bare, delta_m))
    r = resummation
    fields = {L["dR"]: (r.response, False), L["dRt"]: (r.response, True),
              L["dX"]: (r.response_correlation, False), L["dC"]: (r.correlation, False)}
    kernels = {L["B"]: "B", L["Bt"]: "B~", L["Gamma"]: "Γ", L["One"]: "1"}
    entries: dict = {}
    for word in sp.Add.make_args(words):
        commutative, letters = word.args_cnc()
        weight = sp.expand(sp.Mul(*commutative) * d**2 / 4).subs(sigma**2, 1)
        if len(letters) != 4 or letters[0] not in kernels:
            raise ActionStructureError(  # pragma: no cover - a bug guard
                f"the resummed Hessian's word {word} is not tr(K δP K δQ)")
        k1, p, k2, q = letters
        # both readings of the cyclic word: δP as the row, and δQ as the row
        for (first, row), (second, column) in (((k1, p), (k2, q)), ((k2, q), (k1, p))):
            key, weight_ = _entry(first, row, second, column, fields, kernels)
            entries[key] = entries.get(key, 0) + weight * weight_
    out = []
    for (row, column, pattern, slots), weight in entries.items():
        weight = sp.factor(sp.expand(weight))
        if weight != 0:
            out.append(ResolventEntry(row, column, pattern, slots, weight, resummation))
    return tuple(out)


def _entry(k1, p, k2, q, fields, kernels):
    r"""The entry of tr(K₁ δP K₂ δQ) = ∫K₁(t₁,t₂)δP(t₂,t₃)K₂(t₃,t₄)δQ(t₄,t₁) at δP(row
    times), δQ(column times): K₁ pairs t₂ (row) with t₁ (column), K₂ t₃ (row) with t₄."""
    (row, row_t), (column, column_t) = fields[p], fields[q]
    # slots of t₂, t₃ among the row times, of t₄, t₁ among the column times (a transposed
    # letter δRᵀ(t₂, t₃) = δR(t₃, t₂) swaps them)
    t2, t3 = (1, 0) if row_t else (0, 1)
    t4, t1 = (1, 0) if column_t else (0, 1)
    # as functions of (row time − column time): K₁(t₁, t₂) = k₁(column − row) is reversed
    slot = {t2: (reversed_kernel(kernels[k1]), t1), t3: (kernels[k2], t4)}
    pattern = "straight" if slot[0][1] == 0 else "crossed"
    return (row, column, pattern, (slot[0][0], slot[1][0])), sp.S.One
