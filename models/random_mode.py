"""Random-mode network (Clark, Marschall, van Meegen & Litwin-Kumar, arXiv:2409.01969).

J = Σ_{a=1}^{M} d_a l_a r_aᵀ, M = round(αN), l_a, r_a independent with iid entries
N(0, 1/N), d_a = c exp(−β(a − ½)/M) with c such that (1/N) Σ_a d_a² = g² exactly (g is the
effective gain g_eff). φ = erf(√π x/2). Correlated left and right modes are the model
``random_mode_overlap``; single-neuron gains Φ_i = G_i φ(x_i) (log-normal, mean 1, with
participation ratio ``gain_pr`` = q₂²/q₄) the model ``random_mode_gain``.
"""

import sympy as sp

import fieldtheory as ft


def declare(spectrum=None, *, overlap: bool = False, gains=None,
            name: str = "random_mode") -> ft.Model:
    """The model; ``spectrum`` (an array of d_a shapes) replaces the exponential one;
    ``overlap`` adds the parameter ``overlap`` = corr(l_a, r_a)/σ_a (correlated modes);
    ``gains`` adds single-neuron gains G_i: ``"lognormal"`` (parameter ``gain_pr``) or an
    array of given gains (one per unit)."""
    entries = {
        "g": (2.0, "positive", "effective gain √(α r₂)"),
        "alpha": (1.0, "positive", "mode density M/N"),
        "beta": (3.0, "nonnegative", "decay of the exponential spectrum"),
    }
    if overlap:
        entries["overlap"] = (0.0, (-1, 1), "correlation of left and right modes")
    if isinstance(gains, str):
        entries["gain_pr"] = (0.5, (0, 1), "participation ratio q2²/q4 of the gains")
    p = ft.parameters(**entries)
    g, alpha, beta = p.symbols[:3]
    a, M = ft.MODE_INDEX, ft.MODE_COUNT
    if spectrum is None:
        spectrum = sp.exp(-beta * (a - sp.Rational(1, 2)) / M)
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    ensemble = ft.RandomMode(alpha=alpha, spectrum=spectrum, gain=g,
                             overlap=p.symbols[3] if overlap else 0)
    output, quenched = ft.erf_sqrtpi(x(t)), {}
    if gains is not None:
        G = ft.Quenched("G")
        quenched[G] = (ft.LogNormalGain(pr=p["gain_pr"].symbol) if isinstance(gains, str)
                       else ft.GainArray(tuple(gains)))
        output = G * output
    action = ft.langevin(drift={x: -x(t) + J @ output}, couplings={J: ensemble},
                         parameters=p, quenched=quenched)
    description = "random-mode (extensive low-rank) network, φ = erf" + (
        ", correlated left/right modes" if overlap else "") + (
        ", single-neuron gains G_i" if gains is not None else "")
    return ft.Model(name, action, description, "Clark et al., arXiv:2409.01969")


model = declare()
