"""What ``fieldtheory diagrams MODEL --order K`` prints: diagrams and series, as text, LaTeX, JSON.

Zero-dimensional theories list the diagrams of ln Z, of every ⟨x⟩ and ⟨x y⟩, and the exact
series of ln Z and ⟨x²⟩ (coefficients of the coupling's powers where the vertices share one
coupling). Dynamic units list ⟨x⟩, ⟨x y⟩ and ⟨x ỹ⟩; their series are time integrals
(evaluated by ``fieldtheory solve MODEL --loops K``), so the JSON says so instead.
"""

from __future__ import annotations

import itertools

from fieldtheory.diagrams.series import ln_z_series, moment_series
from fieldtheory.diagrams.theory import PerturbativeTheory, perturbative_theory
from fieldtheory.diagrams.wick import expand
from fieldtheory.ir.model import Model, as_model
from fieldtheory.printing import latex

__all__ = ["functions", "diagrams_json", "diagrams_text"]

DYNAMIC_SERIES_NOTE = (
    "dynamic model: each order is a time integral, not a number; evaluate the loop "
    "corrections with `fieldtheory solve MODEL --loops K`"
)


def functions(theory: PerturbativeTheory) -> list[tuple[str, tuple[str, ...]]]:
    """(name, external legs) of the functions listed: ln Z, one- and two-point cumulants."""
    fields = [leg for leg in theory.legs if not leg.endswith("~")]
    out: list[tuple[str, tuple[str, ...]]] = []
    if theory.zero_dimensional:
        out.append(("lnZ", ()))
    out += [(f"<{f}>", (f,)) for f in fields]
    out += [(f"<{a} {b}>", (a, b)) for a, b in itertools.combinations_with_replacement(fields, 2)]
    if not theory.zero_dimensional:
        out += [(f"<{a} {b}~>", (a, f"{b}~")) for a in fields for b in fields]
    return out


def diagrams_json(model: Model, order: int) -> dict:
    """``{"diagrams": [{order, loops, symmetry_factor, expression, external}], "series"}``."""
    model = as_model(model)
    theory = perturbative_theory(model)
    diagrams = [
        d.to_json() for _, legs in functions(theory) for d in expand(theory, legs, order=order)
    ]
    data: dict = {"model": model.name, "order": order, "diagrams": diagrams}
    if theory.zero_dimensional:
        series = {"lnZ": ln_z_series(theory, order).strings()}
        for f in (leg for leg in theory.legs if not leg.endswith("~")):
            series[f"{f}2"] = moment_series(theory, (f, f), order).strings()
        data["series"] = series
    else:
        data["series"] = {}
        data["series_note"] = DYNAMIC_SERIES_NOTE
    return data


def diagrams_text(model: Model, order: int, as_latex: bool = False) -> str:
    """One block per function: each diagram's order, loops, 1/S and expression."""
    model = as_model(model)
    theory = perturbative_theory(model)
    comment = "% " if as_latex else ""
    lines = [f"{comment}diagrams of {model.name} to order {order} (order = number of vertices)"]
    for name, legs in functions(theory):
        found = expand(theory, legs, order=order)
        lines.append(f"{comment}{name}: {len(found)} connected diagram(s)")
        for d in found:
            head = f"order {d.order}, {d.loops} loop(s), 1/S = {d.symmetry_factor}"
            if as_latex:
                lines.append(f"% {head}\n{d.latex()}")
            else:
                lines.append(f"  {head}: {d.text()}    [{d.structure()}]")
    if theory.zero_dimensional:
        lnz = ln_z_series(theory, order)
        lines.append(f"{comment}series (terms of order 0..{order}):")
        lines.append(_series_line("\\ln Z" if as_latex else "ln Z", lnz, as_latex))
        for f in (leg for leg in theory.legs if not leg.endswith("~")):
            name = f"\\langle {f}^2 \\rangle" if as_latex else f"<{f}^2>"
            lines.append(_series_line(name, moment_series(theory, (f, f), order), as_latex))
    return "\n".join(lines)


def _series_line(name: str, series, as_latex: bool) -> str:
    if as_latex:
        body = " + ".join(latex(t) for t in series.terms).replace("+ - ", "- ")
        return f"{name} = {body} + \\dots"
    return f"  {name} = " + " + ".join(f"({t})" for t in series.terms) + " + ..."
