r"""``lif_shot``: LIF networks at finite in-degree — the compound-Poisson site, sampled
(issue 19; the diffusion runtime is ``lif_siegert``).

The disorder average of ``transforms/spiking.py`` keeps the first two cumulants of a
neuron's input; the input it averages is a sum of compound Poisson processes — from block
b spikes at the rate E[K]_b ν_β, each a jump w ~ N(w̄_b, s_b²) (kept to its sign) — whose
n-th cumulant per unit time is E[K]_b ν_β E[wⁿ]. At finite K the higher cumulants matter:
large inhibitory jumps skew the membrane potential downwards, and a neuron driven by them
fires less than Siegert's formula for the same mean and variance (measured on the
down-scaled multi-area example: 8–45 % in open loop, docs/models/multi-area.md). This
runtime solves the sparse-limit mean field with the whole compound-Poisson input:

.. math:: \nu_\alpha = \mathbb E\bigl[\text{rate of a LIF neuron of }\alpha\text{ driven by}
          \textstyle\sum_b \mathrm{CP}(E[K]_b\nu_{\beta(b)}, w_b)\ \text{at rest}\
          E_L + \delta\mu_i\bigr],\qquad \delta\mu_i \sim N(0, \Sigma_\alpha(\nu, q)),

the static variability Σ being the derived site's (quenched in-degrees, weights and
rates). The rate of such a neuron has no closed form; it is **sampled**: ``neurons``
neurons per population with independent inputs, integrated exactly between steps of
``step`` ms (exponential synapses: the propagators of ``iaf_psc_exp``; delta synapses:
jumps of V), refractory clamp, spikes counted over ``time`` ms after ``burn`` ms.

The self-consistency is solved **deterministically with a sampled correction**: at the
current rates the sampled rate of each population is divided by Siegert's at the same
(μ, Σ, D), r_α = ν_α^{sampled}/Φ_α, and the diffusion fixed point is solved again with
its transfer function multiplied by r (``lif_siegert`` with ``gain``); repeated ``outer``
times. At the fixed point of this iteration ν = r Φ(ν) = ν^{sampled}(ν): the sampled
map's fixed point, with the recurrent feedback handled by MINPACK instead of a noisy
iteration. The sampling error of r_α (the spread of the counts over the sampled neurons)
is carried to the fixed point by its linear response, (1 − ∂G/∂x)⁻¹ ∂G/∂r with
G = (rΦ, r²Φ₂) the corrected map, and reported as ``stderr`` in the simulations' layout.

Reports rates, their sampling errors and the fixed point's
input (μ, Σ, D); spectra, timescales and rate distributions are not sampled (null, with
the reason), and the stability of the diffusion fixed point is not claimed for this one.
"""

from __future__ import annotations

import numpy as np

from fieldtheory.solvers.runtime.common import (
    ConvergenceError,
    SolverInputError,
    register_runtime,
)
from fieldtheory.solvers.runtime.spiking import (
    SpikingGrid,
    _pointer,
    lif_static_average,
    solve_lif,
)

__all__ = ["LIFCells", "sample_shot_rates", "solve_lif_shot"]

#: the options and their defaults
DEFAULTS = {"neurons": 1000, "time": 1000.0, "burn": 100.0, "step": 0.1, "outer": 3,
            "seed": 0}


def _signed_normal(rng, mean: np.ndarray, sd: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Draws of N(mean, sd²), redrawn where ``clip`` and the sign differs from the mean's
    (NEST's ``redraw``; the law the derivation's weight moments are of)."""
    w = mean + sd * rng.standard_normal(mean.shape)
    bad = clip & (sd > 0) & (np.sign(w) != np.sign(mean))
    while bad.any():
        w[bad] = mean[bad] + sd[bad] * rng.standard_normal(int(bad.sum()))
        bad = clip & (sd > 0) & (np.sign(w) != np.sign(mean))
    return w


class LIFCells:
    """Leaky integrate-and-fire neurons stepped exactly between input jumps (the
    propagators of NEST's ``iaf_psc_delta`` / ``iaf_psc_exp``): ``neurons[pop[i]]`` is
    the model of cell i. An input ``jump`` w (mV) at a step boundary moves V by w (delta
    synapses) or adds w/τ_s to the synaptic variable y (mV/ms), whose integral is then w
    (exponential synapses) — the weight convention of the derived site's mean
    μ = E_L + τ_m Σ E[K]E[w]ν."""

    def __init__(self, neurons, pop: np.ndarray, step: float) -> None:
        cell = {k: np.array([getattr(x, k) for x in neurons], float)[pop]
                for k in ("tau_m", "tau_s", "V_th", "V_reset", "t_ref")}
        self.cell, self.n = cell, len(pop)
        self.dm = np.exp(-step / cell["tau_m"])
        self.synaptic = cell["tau_s"] > 0
        self.tau_s = np.where(self.synaptic, cell["tau_s"], 1.0)
        self.ds = np.where(self.synaptic, np.exp(-step / self.tau_s), 0.0)
        equal = np.isclose(self.tau_s, cell["tau_m"])
        with np.errstate(divide="ignore", invalid="ignore"):
            # V(t + h) − E: (V − E) e^{−h/τm} + y A (e^{−h/τs} − e^{−h/τm}), y in mV/ms
            coupling = np.where(equal, step * self.dm,
                                self.tau_s * cell["tau_m"] / (self.tau_s - cell["tau_m"])
                                * (self.ds - self.dm))
        self.coupling = np.where(self.synaptic, coupling, 0.0)
        self.refractory_steps = np.rint(cell["t_ref"] / step).astype(int)

    def run(self, rest: np.ndarray, jumps, steps: int, burn_steps: int,
            record: bool = False) -> tuple[np.ndarray, list | None]:
        """Spike counts per cell after ``burn_steps`` of ``steps``, V starting at ``rest``
        (the cells' resting potentials, each with its static offset); ``jumps(k)`` the
        input of step k. ``record``: also the (step − burn_steps, cells) of every spike."""
        V, y = rest.copy(), np.zeros(self.n)
        refractory = np.zeros(self.n, dtype=int)
        counts = np.zeros(self.n)
        spikes = [] if record else None
        V_th, V_reset, synaptic = self.cell["V_th"], self.cell["V_reset"], self.synaptic
        for k in range(steps):
            jump = jumps(k)
            V_new = rest + (V - rest) * self.dm + self.coupling * y + np.where(
                synaptic, 0.0, jump)
            y = y * self.ds + np.where(synaptic, jump / self.tau_s, 0.0)
            active = refractory <= 0
            V = np.where(active, V_new, V_reset)
            refractory -= 1
            fire = active & (V >= V_th)
            V[fire] = V_reset[fire]
            refractory[fire] = self.refractory_steps[fire]
            if k >= burn_steps:
                counts += fire
                if record:
                    spikes.append((k - burn_steps, np.flatnonzero(fire)))
        return counts, spikes


def sample_shot_rates(site, nu: np.ndarray, q: np.ndarray, *, neurons: int = 1000,
                      time: float = 1000.0, burn: float = 100.0, step: float = 0.1,
                      rng: np.random.Generator | None = None) -> np.ndarray:
    """Spike counts (P × ``neurons``) over ``time`` ms of LIF neurons driven by the
    site's compound Poisson inputs at presynaptic rates ``nu`` (Hz), each with its
    static offset δμ_i ~ N(0, Σ_α(ν, q)). All populations at once; per step, rows of a
    fixed jump (drives, blocks without weight spread) by one Poisson count per row and
    neuron, the others by one Poisson draw per neuron for their total count, the events
    then assigned to rows by their rates and given their jumps."""
    rng = rng if rng is not None else np.random.default_rng(0)
    net, shot = site.values, site.shot()
    P, M = len(net.populations), int(neurons)
    nu = np.asarray(nu, float)
    # event rates per row (1/ms), per population the cumulative distribution over rows
    source_rate = np.where(shot.source >= 0, nu[np.maximum(shot.source, 0)], shot.rate)
    lam = shot.count * source_rate / 1000.0
    order = np.argsort(shot.target, kind="stable")
    target, lam, mean, sd, clip, expected = (
        shot.target[order].astype(int), lam[order], shot.mean[order], shot.sd[order],
        shot.clip[order].astype(bool), shot.expected[order])
    total = np.bincount(target, weights=lam, minlength=P)
    if np.any(total <= 0):
        al = int(np.argmin(total))
        raise SolverInputError(f"lif_shot: population {net.populations[al]} receives no "
                               "input spikes")
    # rows of one fixed jump (sd = 0: drives, plain blocks) contribute count × w — one
    # Poisson draw per row and neuron; rows with a weight spread go event by event
    fixed = sd == 0
    spread_total = np.bincount(target[~fixed], weights=lam[~fixed], minlength=P)
    cumulative = np.zeros_like(lam)
    for al in range(P):
        rows = (target == al) & ~fixed
        if rows.any():
            c = np.cumsum(lam[rows]) / spread_total[al]
            c[-1] = 1.0
            cumulative[rows] = al + c
    spread_rows = np.flatnonzero(~fixed)
    cumulative_spread = cumulative[spread_rows]
    # the first two cumulants must be the derived site's: a check of the decomposition
    q = np.asarray(q, float)
    tau_m = np.array([n.tau_m for n in net.neurons])
    E_L = np.array([n.E_L for n in net.neurons])
    mean_jump = np.bincount(target, weights=lam * expected, minlength=P)
    if not np.allclose(E_L + tau_m * mean_jump, site.mu(nu, q), rtol=1e-6, atol=1e-6):
        raise SolverInputError("lif_shot: the compound-Poisson input does not have the "
                               "derived site's mean (a bug in the stage)")
    Sigma = np.maximum(site.Sigma(nu, q), 0.0)
    pop = np.repeat(np.arange(P), M)
    n = P * M
    cells = LIFCells(net.neurons, pop, step)
    rest = E_L[pop] + np.sqrt(Sigma)[pop] * rng.standard_normal(n)
    per_step = spread_total[pop] * step
    # the fixed rows, one entry per (row, neuron of its target)
    fixed_rows = np.flatnonzero(fixed)
    fixed_cell = (target[fixed_rows][:, None] * M + np.arange(M)[None, :]).ravel()
    fixed_lam = np.repeat(lam[fixed_rows] * step, M)
    fixed_w = np.repeat(mean[fixed_rows], M)

    def jumps(_k):
        jump = np.bincount(fixed_cell, weights=rng.poisson(fixed_lam) * fixed_w, minlength=n)
        if spread_rows.size:
            who = np.repeat(np.arange(n), rng.poisson(per_step))
            row = spread_rows[np.searchsorted(cumulative_spread,
                                              pop[who] + rng.random(who.size),
                                              side="right")]
            jump += np.bincount(who, weights=_signed_normal(rng, mean[row], sd[row],
                                                            clip[row]), minlength=n)
        return jump

    counts, _ = cells.run(rest, jumps, round((burn + time) / step), round(burn / step))
    return counts.reshape(P, M)


def runtime_options(name: str, options: dict | None, defaults: dict) -> dict:
    """``defaults`` updated by ``options``; an unknown option is named."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise SolverInputError(f"{name}: unknown option(s) {unknown}; known: "
                               f"{sorted(defaults)}")
    return {**defaults, **options}


def gained_rates(site, grid: SpikingGrid, gain) -> tuple[np.ndarray, np.ndarray]:
    """(ν, q) of ``lif_siegert``'s fixed point with its transfer function × ``gain``
    (None: the plain diffusion fixed point) — the deterministic feedback of the sampled
    runtimes."""
    out = solve_lif(site, grid, {"spectrum": False, "gain": gain})
    pops = [out["populations"][name] for name in site.values.populations]
    nu = np.array([p["rate"] for p in pops])
    return nu, np.array([p["rate_variance"] for p in pops]) + nu**2


def solve_lif_shot(site, grid: SpikingGrid | None = None, options: dict | None = None
                   ) -> dict:
    """The finite-K (compound-Poisson) mean field of a LIF network: see the module
    docstring. Options: ``neurons`` per population (1000), ``time`` (1000 ms), ``burn``
    (100 ms), ``step`` (0.1 ms), ``outer`` (3), ``seed`` (0)."""
    grid = grid or SpikingGrid()
    o = runtime_options("lif_shot", options, DEFAULTS)
    M = int(o["neurons"])
    if M < 2 or int(o["outer"]) < 1:
        raise SolverInputError(f"lif_shot: neurons = {M} must be ≥ 2 and outer = "
                               f"{o['outer']} ≥ 1")
    if site.shot is None:
        raise SolverInputError("lif_shot: the site carries no compound-Poisson input")
    net = site.values
    rng = np.random.default_rng(int(o["seed"]))
    transfer = lif_static_average(net.neurons, net.populations)
    T = float(o["time"]) / 1000.0

    nu, q = gained_rates(site, grid, None)
    history = []
    for _ in range(int(o["outer"])):
        counts = sample_shot_rates(site, nu, q, neurons=M, time=float(o["time"]),
                                   burn=float(o["burn"]), step=float(o["step"]), rng=rng)
        siegert_nu, _ = transfer(site.mu(nu, q), site.Sigma(nu, q), site.D(nu, q))
        sampled = counts.mean(axis=1) / T
        if np.any(sampled <= 0) or np.any(siegert_nu <= 0):
            al = int(np.argmin(np.minimum(sampled, siegert_nu)))
            raise ConvergenceError(f"lif_shot: population {net.populations[al]}: "
                                   f"{sampled[al]:.3g} Hz sampled ({M} neurons over "
                                   f"{o['time']:g} ms), {siegert_nu[al]:.3g} Hz by Siegert: "
                                   "no correction can be measured (more neurons or a "
                                   "longer time)", history)
        gain = sampled / siegert_nu
        new_nu, new_q = gained_rates(site, grid, gain)
        history.append(float(np.max(np.abs(new_nu - nu) / nu)))
        nu, q = new_nu, new_q
    # the sampling error: Var(r_α) from the spread of the counts over the M neurons,
    # carried to the fixed point by its linear response
    var_gain = counts.var(axis=1, ddof=1) / M / T**2 / siegert_nu**2
    stderr = np.sqrt(_response(transfer, site, nu, q, gain) ** 2 @ var_gain)
    mu, Sigma, D = site.mu(nu, q), site.Sigma(nu, q), site.D(nu, q)
    populations, errors, undefined = {}, {}, {}
    reason = ("lif_shot samples rates only; the spike-train statistics of the "
              "compound-Poisson site are not computed")
    for al, name in enumerate(net.populations):
        populations[name] = {
            "rate": float(nu[al]), "rate_variance": float(max(q[al] - nu[al] ** 2, 0.0)),
            "cv": None, "rate_distribution": None, "spike_autocorrelation": None,
            "power_spectrum": None, "timescale": None,
            "input": {"mean": float(mu[al]), "static_variance": float(Sigma[al]),
                      "white": float(D[al])},
        }
        errors[name] = {"rate": float(stderr[al])}
        for key in ("cv", "rate_distribution", "spike_autocorrelation", "power_spectrum",
                    "timescale"):
            undefined[f"/populations/{_pointer(name)}/{key}"] = reason
    return {"populations": populations, "stderr": {"populations": errors},
            "iterations": len(history), "undefined": undefined, "branch": "noise_driven"}


def _response(transfer, site, nu, q, gain) -> np.ndarray:
    """∂ν*/∂r (P × P) at the fixed point x* = G(x*) of the corrected map
    G(ν, q) = (r Φ(ν, q), r² Φ₂(ν, q)): (1 − ∂G/∂x)⁻¹ ∂G/∂r, ∂G/∂x by central
    differences (4P evaluations of the vectorised map)."""
    P = len(nu)

    def G(x):
        a, b = transfer(site.mu(x[:P], x[P:]), site.Sigma(x[:P], x[P:]),
                        site.D(x[:P], x[P:]))
        return np.concatenate([gain * a, gain**2 * b])

    x = np.concatenate([nu, q])
    J = np.empty((2 * P, 2 * P))
    for k in range(2 * P):
        h = 1e-6 * max(abs(x[k]), 1e-3)
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] -= h
        J[:, k] = (G(up) - G(down)) / (2 * h)
    a, b = transfer(site.mu(nu, q), site.Sigma(nu, q), site.D(nu, q))
    dG = np.vstack([np.diag(a), np.diag(2 * gain * b)])
    return np.linalg.solve(np.eye(2 * P) - J, dG)[:P]


def _lif(site) -> bool:
    return all(n.model == "lif" for n in site.values.neurons) and site.shot is not None


@register_runtime("lif_shot", applies=_lif, priority=10, needs=lambda problem: False,
                  kind="spiking")
def _solve_lif_shot(site, grid=None, options=None) -> dict:
    return solve_lif_shot(site, grid, options)
