r"""Text and LaTeX of a lowered single-site problem (``codegen.site.SiteProblem``).

The lowered problem is the fifth stage of a derivation (``site``, after ``saddle_point``):
the saddle point's single-site process read off as the coefficients of one general
equation, per population α,

.. math::
    \partial_t u = -a_\alpha u + r_\alpha(u) + I_\alpha + \sum_l B_{\alpha l}\, m_l(t)
        + \sum_j \kappa_{\alpha j} \int ds\, R_j(t, s)\, h_j(u(s)) + \eta_\alpha(t),
    \qquad \langle \eta_\alpha(t)\eta_\alpha(s) \rangle = D_\alpha\, \delta(t - s)
        + \sum_k A_{\alpha k}\, C_k(t, s)

(u is the site's one field; a map has u(n + 1) − u(n) on the left and Kronecker deltas).
This is what the generated solvers are built from, so printing it shows what they solve.
The printed coefficients are named by words (leak a, input I, noise D), which no model
parameter can be mistaken for, and by order parameter (B[m_tanh], A[C_tanh], κ[R_tanh]).
The printers take the problem's attributes only and do not import
:mod:`fieldtheory.codegen.site` (which may import them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from fieldtheory.printing import latex, text

if TYPE_CHECKING:
    from fieldtheory.codegen.site import PopulationSite, SiteProblem, TermSpec

__all__ = ["site_latex", "site_text"]

#: The one variable of the problem's functions (equal to ``fieldtheory.codegen.site.U``).
_U = sp.Symbol("u", real=True)


def _times(problem: SiteProblem) -> tuple[sp.Symbol, sp.Symbol]:
    return (sp.Symbol("n"), sp.Symbol("m")) if problem.step is not None else (
        sp.Symbol("t"), sp.Symbol("s"))


def _at(expr: sp.Expr, time: sp.Symbol) -> sp.Expr:
    """f(u) → f(u(time)), u(time) printed as a plain symbol."""
    return expr.xreplace({_U: sp.Symbol(f"u({time})")})


def _average_text(kind: str, term: TermSpec, t, s) -> str:
    if kind == "means":
        return f"{term.name}({t}) = ⟨{text(_at(term.left, t))}⟩"
    if kind == "correlations":
        return (f"{term.name}({t}, {s}) = ⟨{text(_at(term.left, t))} · "
                f"{text(_at(term.right, s))}⟩")
    return (f"{term.name}({t}, {s}) = ⟨{text(_at(term.left, t))} · ũ({s})⟩, "
            f"kernel on h(u) = {text(term.right)}")


def _averages(problem: SiteProblem):
    for kind in ("means", "correlations", "responses"):
        for term in getattr(problem, kind):
            yield kind, term


def _coefficient_lines(site: PopulationSite, problem: SiteProblem, printer) -> list[str]:
    lines = []
    for label, pairs, terms in (
        ("B", site.mean_coefficients, problem.means),
        ("A", site.correlation_coefficients, problem.correlations),
        ("κ", site.response_coefficients, problem.responses),
    ):
        for index, coefficient in pairs:
            lines.append((label, terms[index].name, printer(coefficient)))
    return lines


def site_text(problem: SiteProblem) -> str:
    """The lowered problem as plain text: the general equation, the averages it uses (each
    over its population's site), and per population the coefficients of that equation."""
    t, s = _times(problem)
    if problem.step is None:
        when, change, white, memory = "continuous time", f"∂_{t} u", f"δ({t} - {s})", f"∫d{s}"
    else:
        when = f"discrete time, step {text(problem.step)}"
        change, white, memory = f"u({t} + 1) - u({t})", f"δ_{t}{s}", f"Σ_{s}"
    lines = [
        f"lowered single site ({when}; u is the site's field):",
        f"  {change} = -leak·u + r(u) + input + Σ_l B_l m_l({t}) "
        f"+ Σ_j κ_j {memory} R_j({t}, {s}) h_j(u({s})) + η({t})",
        f"  ⟨η({t})η({s})⟩ = noise·{white} + Σ_k A_k C_k({t}, {s})",
        f"  observed φ(u) = {text(problem.phi)}",
    ]
    averages = list(_averages(problem))
    if averages:
        lines.append("averages (over the site of their population):")
        lines += [f"  {_average_text(kind, term, t, s)}  [{term.population}]"
                  for kind, term in averages]
    for site, fraction in zip(problem.sites, problem.fractions, strict=True):
        lines.append(f"population {site.population} (fraction {text(fraction)}):")
        lines.append(f"  leak = {text(site.leak)}, r(u) = {text(site.nonlinear)}, "
                     f"input = {text(site.offset)}, noise = {text(site.noise)}")
        lines += [f"  {label}[{name}] = {value}"
                  for label, name, value in _coefficient_lines(site, problem, text)]
    lines += [_dressing_text(problem, d) for d in problem.dressings]
    lines += [f"mixture of sites: {line}" for line in problem.mixtures]
    return "\n".join(lines)


def _dressing_text(problem: SiteProblem, d) -> str:
    """A resummed correlated-mode term: which A·C_k and κ·R_j are dressed, and how."""
    C, R = problem.correlations[d.correlation].name, problem.responses[d.response].name
    if d.mixed is not None:  # a mixture of sites: the modes see the nodes' weighted sums
        C, R = (" + ".join(f"{float(w):.4g}·{terms[j].name}" for j, w in part)
                for part, terms in zip(d.mixed[:2], (problem.correlations, problem.responses),
                                       strict=True))
        C, R = f"({C})", f"({R})"
    return (f"dressed by correlated random modes [{d.population}] (α = {text(d.alpha)}, "
            f"ρ = {text(d.overlap)}, d = c·s(u), α⟨d²⟩ = {text(d.variance)}, "
            f"s(u) = {text(d.shape)}, u ∈ (0, 1)): C_k = {C} enters as "
            f"α⟨d²(1 + d²ρ²|{R}(ω)|²)/|1 − d²ρ²{R}(ω)²|²⟩ {C}(ω), R_j = {R} as "
            f"α⟨d²ρ² {R}(ω)/(1 − d²ρ²{R}(ω)²)⟩, both times A_k, κ_j")


def _name_latex(name: str) -> str:
    """m_tanh_E → m_{\\mathrm{tanh\\_E}}: the order parameter's symbol and subscript."""
    head, _, tail = name.partition("_")
    if not tail:
        return head
    subscript = tail.replace("_", r"\_")
    return rf"{head}_{{\mathrm{{{subscript}}}}}"


def site_latex(problem: SiteProblem) -> str:
    """The lowered problem as LaTeX lines joined by ``\\\\`` (as the other stages)."""
    t, s = _times(problem)
    u_t, u_s = sp.Symbol(f"u({t})"), sp.Symbol(f"u({s})")
    if problem.step is None:
        change, white, memory = rf"\partial_{t} u", rf"\delta({t} - {s})", rf"\int d{s}\,"
    else:
        change, white, memory = rf"u({t} + 1) - u({t})", rf"\delta_{{{t}{s}}}", rf"\sum_{s}"
    lines = [
        rf"{change} = -\mathrm{{leak}}\, u + r(u) + \mathrm{{input}} + \sum_l B_l\, m_l({t}) "
        rf"+ \sum_j \kappa_j {memory} "
        rf"R_j({t}, {s})\, h_j(u({s})) + \eta({t})",
        rf"\langle \eta({t})\eta({s}) \rangle = \mathrm{{noise}}\, {white} "
        rf"+ \sum_k A_k\, C_k({t}, {s})",
        rf"\varphi(u) = {latex(problem.phi)}",
    ]
    for kind, term in _averages(problem):
        name = _name_latex(term.name)
        left = latex(term.left.xreplace({_U: u_t}))
        if kind == "means":
            lines.append(rf"{name}({t}) = \langle {left} \rangle_{{{term.population}}}")
        elif kind == "correlations":
            right = latex(term.right.xreplace({_U: u_s}))
            lines.append(rf"{name}({t}, {s}) = \langle {left}\, {right} "
                         rf"\rangle_{{{term.population}}}")
        else:
            lines.append(rf"{name}({t}, {s}) = \langle {left}\, \tilde u({s}) "
                         rf"\rangle_{{{term.population}}},\quad h(u) = {latex(term.right)}")
    for site, fraction in zip(problem.sites, problem.fractions, strict=True):
        lines.append(rf"\text{{population {site.population} (fraction }} {latex(fraction)}"
                     r"\text{):}")
        lines.append(rf"\mathrm{{leak}} = {latex(site.leak)},\ r(u) = {latex(site.nonlinear)},\ "
                     rf"\mathrm{{input}} = {latex(site.offset)},\ "
                     rf"\mathrm{{noise}} = {latex(site.noise)}")
        symbols = {"B": "B", "A": "A", "κ": r"\kappa"}
        lines += [rf"{symbols[label]}_{{{_name_latex(name)}}} = {value}"
                  for label, name, value in _coefficient_lines(site, problem, latex)]
    for d in problem.dressings:
        C = _name_latex(problem.correlations[d.correlation].name)
        R = _name_latex(problem.responses[d.response].name)
        lines.append(
            rf"\text{{dressed ({d.population}): }} C \to \alpha\left\langle "
            rf"\frac{{d^2(1 + d^2\rho^2|{R}(\omega)|^2)}}{{|1 - d^2\rho^2 {R}(\omega)^2|^2}}"
            rf"\right\rangle {C}(\omega),\ R \to \alpha\left\langle \frac{{d^2\rho^2 {R}(\omega)}}"
            rf"{{1 - d^2\rho^2 {R}(\omega)^2}}\right\rangle,\ \alpha = {latex(d.alpha)},\ "
            rf"\rho = {latex(d.overlap)},\ d = c\,s(u),\ "
            rf"\alpha\langle d^2\rangle = {latex(d.variance)},\ "
            rf"s(u) = {latex(d.shape)}")
    lines += [rf"\text{{mixture of sites: {line}}}" for line in problem.mixtures]
    return " \\\\\n".join(lines)
