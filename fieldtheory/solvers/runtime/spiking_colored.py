r"""``lif_colored``: the LIF network's mean field with the colored recurrent input — the
colored-noise problem solved by sampling (issue 18; ``lif_siegert`` is its white-noise
closure, ``lif_shot`` the finite-K one).

The derived site (``transforms/spiking.py``) replaces a neuron's input by a Gaussian
process: V_i = μ_α + δμ_i + v_i(t), δμ_i ~ N(0, Σ_α), with the input noise η of spectrum

.. math:: S_{\eta,\alpha}(\omega) = D_\alpha + \sum_\beta a_{\alpha\beta}\,\hat C_\beta(\omega),

D_α the white part (each presynaptic spike's δ-peak, the external drive) and Ĉ_β the
δ-free autocorrelation of population β's spike trains (van Meegen & van Albada,
arXiv:1909.01908, Sec. II). ``lif_siegert`` keeps D only (Siegert's rate, the white-noise
CV and renewal spectrum); in recurrent networks the trains are far from Poisson (in
Brunel's network a_αβĈ_β(0) is −40 … −70 % of D), and the paper approximates the LIF's
colored-noise problem analytically (Stratonovich's approximation of the Wiener–Rice
series — not reproduced here: its text was not reachable). This runtime solves the *same*
mean-field equations without that approximation: the single neuron driven by the Gaussian
input of the current spectrum is **sampled**, and Ĉ_β is iterated to self-consistency
(the scheme of Dummer, Wieland & Lindner, Front. Comput. Neurosci. 8, 104, 2014, on the
derived site):

1. per population, ``neurons`` LIF neurons, each with its static offset δμ_i and its own
   Gaussian input η_i, synthesised on the step lattice h (``step``) by FFT over
   ``burn`` + ``time`` with the spectrum of the step averages
   [D_α + Σ_β a_αβ Ĉ_β(ω) sinc²(ωh/2)]/h, integrated exactly between steps (the
   propagators of ``iaf_psc_delta``/``iaf_psc_exp``: a step's input is a jump η_k h),
   the threshold checked on the lattice lowered by β√(D_α h), β = −ζ(½)/√(2π), for
   delta synapses (the continuity correction of a discretely monitored diffusion,
   Broadie, Glasserman & Kou 1997: the crossings between steps);
2. the same neurons again with the white part only — the *same* Gaussian draws scaled to
   the spectrum D_α/h (common random numbers). The ratio of the two rates r_α is the
   colored input's effect on the rate; the rates are then ``lif_siegert``'s fixed point
   with its transfer function × r (option ``gain``), so the time step's bias on threshold
   crossings (the same in both runs) drops out and the rates keep Siegert's continuum
   limit with the Fourcaud–Brunel shift;
3. the colored neurons' spike-train spectrum S_β(ω) (each train's periodogram, its own
   mean removed, averaged over the neurons), Ĉ_β(ω) = S_β(ω) − ν_β the next generation's
   colored input (mixed with the previous one by ``mixing``; 1 = plain iteration);
   ``generations`` times. At the end each population's rate change and the change of
   its fed-back input's mean below 1/τ_m (relative to the white part) must lie below
   ``tol`` or within 4 sampling errors, else ``ConvergenceError``.

Reported: rates (Siegert × r at the fixed point) and their variance across neurons,
and from the last generation's colored neurons the CV of the intervals (the simulations'
estimator: per-neuron CVs over ``time``, biased low by O(1/intervals) like theirs),
Ĉ(τ) (Hz², the δ-peak excluded), the spectrum S(ω) (Hz, the periodogram) and the
timescale, each with its
sampling error in ``stderr`` (the simulations' layout: errors across the independent
sampled neurons; the rate's carried through the fixed point's linear response); the rate
distribution is Siegert's over δμ × r, broadened by the counting law of Fano factor
S(0)/ν over a ``window``. The iteration's own noise (the sampled Ĉ fed in) enters
through a floor: each error is at least the spread between the last three generations
(curves: one factor per population pooled over the lags, ``iteration_inflation``).
Where the sparse mean field holds (inputs independent), this is exact up to sampling;
what it leaves out is what the site leaves out: cross-covariances of the inputs and the
non-Gaussian shot noise of finite weights.
"""

from __future__ import annotations

import numpy as np

from fieldtheory.resources import require
from fieldtheory.solvers.runtime.common import (
    ConvergenceError,
    SolverInputError,
    register_runtime,
)
from fieldtheory.solvers.runtime.spiking import (
    SpikingGrid,
    _bins_for,
    _siegert_of_offset,
    _timescale,
    lif_static_average,
    rate_distribution,
)
from fieldtheory.solvers.runtime.spiking_shot import (
    LIFCells,
    _response,
    gained_rates,
    runtime_options,
)

__all__ = ["gaussian_jumps", "sample_colored", "solve_lif_colored"]

#: the options and their defaults
COLORED_DEFAULTS = {"neurons": 500, "time": 2000.0, "burn": 200.0, "step": 0.1,
            "generations": 8, "mixing": 1.0, "tol": 0.05, "seed": 0}
#: bytes of the sampled inputs held at once (neurons are run in groups within it)
COLORED_GROUP_BYTES = 2.0e8
#: the generations whose spread bounds the errors from below (the iteration's noise)
RECENT = 3
#: trains transformed at once (bounds the FFTs' memory)
TRAIN_ROWS = 128
#: the continuity correction of a discretely monitored barrier, −ζ(½)/√(2π)
BGK_BETA = 1.4603545088095868 / np.sqrt(2 * np.pi)
#: neurons per jackknife group of the timescale's error
COLORED_JACKKNIFE = 20


def gaussian_jumps(spectrum: np.ndarray, D: np.ndarray, step: float, draws: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """A step's input jumps η_k h (mV) of each cell (rows of ``draws``, iid N(0, 1) on the
    n steps): colored — the stationary Gaussian sequence whose step averages η_k have the
    spectrum ``spectrum`` (rows, mV²/ms per step h, on the frequencies 2πj/(nh) of
    ``rfft``; the circulant synthesis, so its covariance is exactly the inverse DFT) —
    and white, the same draws scaled to the spectrum D/h (common random numbers)."""
    n = draws.shape[1]
    scale = np.sqrt(D * step)[:, None]
    filters = np.sqrt(spectrum * step / (D[:, None]))
    colored = np.fft.irfft(np.fft.rfft(draws, axis=1) * filters, n=n, axis=1)
    return colored * scale, draws * scale


def sample_colored(site, nu: np.ndarray, q: np.ndarray, C_omega: np.ndarray | None, *,
                   neurons: int, time: float, burn: float, step: float, lags: int,
                   rng: np.random.Generator, band: float = 0.05) -> dict:
    """One generation (module docstring, steps 1–3 without the solve): LIF neurons of
    every population driven by Gaussian input of spectrum D + Σ_β a_αβ Ĉ_β(ω) (``C_omega``
    P × (n//2 + 1) on the lattice's frequencies 2πj/(nh), Hz²·ms; None: white) and by
    its white part alone with the same draws. Returns ``counts`` and ``white`` (P × M
    spike counts over ``time``), ``C`` (P × M × (lags + 1), Hz², each neuron's δ-free
    autocorrelation on lags kh), ``cv`` (P × M, NaN below three spikes), ``S`` and
    ``S_err`` (P × frequencies, Hz: the mean periodogram and its error across neurons) on
    ``omega`` (rad/ms), and ``low`` (P × M, Hz): each neuron's periodogram averaged over
    0 < ω ≤ ``band`` (rad/ms) less its rate — Ĉ's mean there, per neuron."""
    net = site.values
    P, M = len(net.populations), int(neurons)
    burn_steps = round(burn / step)
    n = burn_steps + round(time / step)
    n_time = n - burn_steps
    D = np.asarray(site.D(nu, q), float)
    if np.any(D <= 0):
        al = int(np.argmin(D))
        raise SolverInputError(f"lif_colored: population {net.populations[al]} receives no "
                               "input noise (D = 0)")
    a = np.asarray(site.colored(nu, q), float)
    omega = 2 * np.pi * np.fft.rfftfreq(n, d=step)
    if C_omega is None:
        C_omega = np.zeros((P, omega.size))
    sinc2 = np.sinc(omega * step / (2 * np.pi)) ** 2
    spectrum = (D[:, None] + (a @ C_omega) * sinc2[None, :]) / step
    if np.any(spectrum < 0):
        # a noisy Ĉ can dip the spectrum below zero at some frequency: no Gaussian input
        # has such a spectrum; clipped to zero there
        spectrum = np.maximum(spectrum, 0.0)
    Sigma = np.maximum(site.Sigma(nu, q), 0.0)
    mu = np.asarray(site.mu(nu, q), float)
    # neurons in groups: two float64 (n)-arrays per neuron (colored and white input,
    # about twice that while they are made) and its train; the trains' transforms in
    # sub-groups of TRAIN_ROWS
    group = max(1, min(P * M, int(COLORED_GROUP_BYTES // (16.0 * n))))
    fft_size = 1 << int(np.ceil(np.log2(2 * n_time)))
    require(40.0 * group * n + 24.0 * TRAIN_ROWS * fft_size + 8.0 * P * M * (lags + 1),
            f"lif_colored: {P} × {M} sampled neurons over {n} steps")
    pop_all = np.repeat(np.arange(P), M)
    counts, white = np.zeros(P * M), np.zeros(P * M)
    C = np.zeros((P * M, lags + 1))
    cv = np.full(P * M, np.nan)
    frequencies = n_time // 2 + 1
    S1, S2 = np.zeros((P, frequencies)), np.zeros((P, frequencies))
    recorded = 2 * np.pi * np.fft.rfftfreq(n_time, d=step)
    in_band = (recorded > 0) & (recorded <= band)
    low = np.zeros(P * M)
    for start in range(0, P * M, group):
        cells_idx = np.arange(start, min(start + group, P * M))
        pop = pop_all[cells_idx]
        m = cells_idx.size
        colored, plain = gaussian_jumps(spectrum[pop], D[pop], step,
                                        rng.standard_normal((m, n)))
        # steps × cells, so that a step's jumps are one contiguous row
        inputs = np.ascontiguousarray(np.concatenate([colored, plain]).T)
        del colored, plain
        # both copies share the static offset; the mean input is μ (not E_L) + δμ
        rest = np.tile(mu[pop] + np.sqrt(Sigma[pop]) * rng.standard_normal(m), 2)
        cells = LIFCells(net.neurons, np.tile(pop, 2), step)
        # thresholds checked on the lattice miss the crossings between steps of a
        # diffusion: the continuity correction of Broadie, Glasserman & Kou (Math.
        # Finance 7, 325, 1997) lowers them by β√(D h), β = −ζ(½)/√(2π) (delta synapses;
        # with synaptic filtering V is smooth and needs none)
        shift = np.where(cells.synaptic, 0.0, BGK_BETA * np.sqrt(np.tile(D[pop], 2) * step))
        cells.cell["V_th"] = cells.cell["V_th"] - shift
        got, spikes = cells.run(rest, lambda k, x=inputs: x[k], n, burn_steps,
                                record=True)
        del inputs
        counts[cells_idx], white[cells_idx] = got[:m], got[m:]
        trains = np.zeros((m, n_time))
        for k, fired in spikes:
            mine = fired[fired < m]
            trains[mine, k] = 1.0
        for lo in range(0, m, TRAIN_ROWS):
            rows = slice(lo, min(lo + TRAIN_ROWS, m))
            part, where = trains[rows], cells_idx[rows]
            C[where] = _train_autocorrelations(part, lags, step)
            # each train's periodogram (Hz; its own mean removed: S_i(ω_j > 0) unchanged)
            f = np.fft.rfft(part - part.mean(axis=1, keepdims=True), axis=1)
            S_i = (f.real**2 + f.imag**2) / (time / 1000.0)
            np.add.at(S1, pop[rows], S_i)
            np.add.at(S2, pop[rows], S_i**2)
            low[where] = S_i[:, in_band].mean(axis=1) - part.sum(axis=1) / (time / 1000.0)
            cv[where] = _interval_cvs(part, step)
    S = S1 / M
    S_err = np.sqrt(np.maximum(S2 / M - S**2, 0.0) / (M - 1))
    return {"counts": counts.reshape(P, M), "white": white.reshape(P, M),
            "C": C.reshape(P, M, lags + 1), "cv": cv.reshape(P, M),
            "S": S, "S_err": S_err, "omega": recorded, "low": low.reshape(P, M)}


def _train_autocorrelations(trains: np.ndarray, lags: int, h: float) -> np.ndarray:
    """Per train (rows of 0/1 per step h, ms): Ĉ(kh) = ⟨n_t n_{t+k}⟩/h² − n̄(n̄ − 1)/(T²)
    in Hz² for k = 0 … ``lags`` (non-circular sums; the δ-peak excluded: at most one
    spike per step, so the lag-0 product of distinct spikes is 0), the simulations'
    estimator (``simulate/spike_stats.py``)."""
    n = trains.shape[1]
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(trains, n=size, axis=1)
    sums = np.fft.irfft(f * f.conj(), n=size, axis=1)[:, :lags + 1]
    sums[:, 0] = 0.0
    pairs = n - np.arange(lags + 1, dtype=float)
    N = trains.sum(axis=1)
    return (sums / pairs - (N * (N - 1) / n**2)[:, None]) * 1e6 / h**2


def _interval_cvs(trains: np.ndarray, h: float) -> np.ndarray:
    out = np.full(trains.shape[0], np.nan)
    for i, row in enumerate(trains):
        t = np.flatnonzero(row) * h
        if t.size >= 3:
            isi = np.diff(t)
            out[i] = isi.std(ddof=1) / isi.mean()
    return out


def solve_lif_colored(site, grid: SpikingGrid | None = None, options: dict | None = None
                      ) -> dict:
    """The LIF mean field with the colored recurrent input, sampled: see the module
    docstring. Options: ``neurons`` per population (500), ``time`` (2000 ms), ``burn``
    (200 ms), ``step`` (0.1 ms), ``generations`` (8), ``mixing`` (1.0), ``tol`` (0.05),
    ``seed`` (0)."""
    grid = grid or SpikingGrid()
    o = runtime_options("lif_colored", options, COLORED_DEFAULTS)
    M, generations, step = int(o["neurons"]), int(o["generations"]), float(o["step"])
    mixing = float(o["mixing"])
    if M < COLORED_JACKKNIFE or generations < 1 or not 0 < mixing <= 1 or step <= 0:
        raise SolverInputError(f"lif_colored: neurons = {M} must be ≥ {COLORED_JACKKNIFE}, "
                               f"generations = {generations} ≥ 1, mixing = {mixing} in "
                               f"(0, 1] and step = {step} > 0")
    net = site.values
    for x in net.neurons:
        if x.t_ref > 0 and abs(x.t_ref / step - round(x.t_ref / step)) > 1e-9:
            raise SolverInputError(f"lif_colored: t_ref = {x.t_ref} ms is no multiple of "
                                   f"the step {step} ms")
    h = step
    report_lags = round(grid.tau_max / h)
    T = float(o["time"]) / 1000.0
    n = round(float(o["burn"]) / h) + round(float(o["time"]) / h)
    omega = 2 * np.pi * np.fft.rfftfreq(n, d=h)
    low_band = 1.0 / max(x.tau_m for x in net.neurons)
    low = omega <= low_band
    tol = float(o["tol"])
    rng = np.random.default_rng(int(o["seed"]))
    transfer = lif_static_average(net.neurons, net.populations)

    nu, q = gained_rates(site, grid, None)
    C_omega, history, trace, recent = None, [], [], []
    for _ in range(generations):
        got = sample_colored(site, nu, q, C_omega, neurons=M, time=float(o["time"]),
                             burn=float(o["burn"]), step=h, lags=report_lags, rng=rng,
                             band=low_band)
        colored_sum, white_sum = got["counts"].sum(axis=1), got["white"].sum(axis=1)
        if np.any(colored_sum < 10) or np.any(white_sum < 10):
            al = int(np.argmin(np.minimum(colored_sum, white_sum)))
            raise ConvergenceError(f"lif_colored: population {net.populations[al]} fired "
                                   f"{int(colored_sum[al])} (colored) / "
                                   f"{int(white_sum[al])} (white) spikes in {M} sampled "
                                   f"neurons over {o['time']:g} ms: too few to measure "
                                   "(more neurons or a longer time)", history)
        gain = colored_sum / white_sum
        new_nu, new_q = gained_rates(site, grid, gain)
        # Ĉ_β(ω) = S_β(ω) − ν_β of the sampled trains (Hz → Hz²·ms), the mean-removed
        # zero bin replaced by its neighbour, onto the synthesis lattice's frequencies
        sampled_nu = colored_sum / (M * T)
        measured = 1000.0 * (got["S"] - sampled_nu[:, None])
        measured[:, 0] = measured[:, 1]
        measured = np.array([np.interp(omega, got["omega"], row) for row in measured])
        previous = C_omega
        C_omega = measured if previous is None else (1 - mixing) * previous + mixing * measured
        # convergence, per population: the rate's change and the change of the fed-back
        # input's mean below 1/τ_m (what the membrane integrates; relative to the white
        # part 1000 ν), each below ``tol`` or within 4 sampling errors of a difference of
        # two generations (rates: the gain's error through the fixed point's response;
        # input: the spread over the neurons of their periodograms' band mean less their
        # rates — static rate differences included)
        c, w = got["counts"], got["white"]
        var_gain = (c - gain[:, None] * w).var(axis=1, ddof=1) / M / w.mean(axis=1) ** 2
        rate_err = np.sqrt(_response(transfer, site, new_nu, new_q, gain) ** 2 @ var_gain)
        rate_change = np.abs(new_nu - nu) / nu
        rate_noise = np.sqrt(2) * rate_err / nu
        if previous is None:
            input_change, input_noise = np.ones(len(nu)), np.zeros(len(nu))
        else:
            input_change = np.abs((C_omega[:, low] - previous[:, low]).mean(axis=1)) / (
                1000.0 * nu)
            input_noise = (np.sqrt(2.0) * mixing * got["low"].std(axis=1, ddof=1)
                           / np.sqrt(M) / nu)
        score = np.maximum(np.minimum(rate_change / tol, rate_change / (4 * rate_noise + 1e-300)),
                           np.minimum(input_change / tol,
                                      input_change / (4 * input_noise + 1e-300)))
        history.append(float(score.max()))
        trace.append({name: {"rate": float(new_nu[al]), "gain": float(gain[al]),
                             "cv": _finite_mean(got["cv"][al]),
                             "rate_change": float(rate_change[al]),
                             "input_change": float(input_change[al])}
                      for al, name in enumerate(net.populations)})
        recent = [*recent[-(RECENT - 1):],
                  {"C": got["C"].mean(axis=1), "C_err": got["C"].std(axis=1, ddof=1)
                   / np.sqrt(M), "cv": np.array([_finite_mean(v) or np.nan
                                                 for v in got["cv"]]),
                   "gain": gain, "var_gain": var_gain}]
        nu, q = new_nu, new_q
    if history[-1] > 1.0:
        raise ConvergenceError(f"lif_colored: the rates or the colored input still change "
                               f"beyond tol = {tol} and beyond 4 sampling errors after "
                               f"{generations} generations (more generations, or more neurons "
                               "against the sampling noise; residuals are the change over "
                               "that bound)", history)
    # sampling errors of the last generation (above): the gain's (paired neurons, delta
    # method) carried to the rates by the fixed point's linear response; the curves'
    # across neurons — each inflated to the spread between the last RECENT generations
    # where that is larger: a generation's input (the sampled Ĉ fed back) is itself noisy
    inflation = _inflation(recent)
    if len(recent) > 1:
        gains = np.array([g["gain"] for g in recent])
        var_gain = np.maximum(var_gain, gains.var(axis=0, ddof=1))
        rate_err = np.sqrt(_response(transfer, site, nu, q, gain) ** 2 @ var_gain)
    mu, Sigma, D = site.mu(nu, q), site.Sigma(nu, q), site.D(nu, q)
    tau_all = np.arange(report_lags + 1) * h
    stride = max(1, round(grid.dtau / h))
    tau = tau_all[::stride]
    kept = slice(1, min(got["omega"].size, 4000))
    populations, errors = {}, {}
    for al, (name, x) in enumerate(zip(net.populations, net.neurons, strict=True)):
        Ci = got["C"][al]
        C_mean = Ci.mean(axis=0)
        C_err = Ci.std(axis=0, ddof=1) / np.sqrt(M) * inflation[al]
        cvs = got["cv"][al][np.isfinite(got["cv"][al])]
        # the Fano factor of long counts: S(0)/ν, S(0) from the lowest bins (≤ 2 Hz, at
        # least the first)
        slowest = (got["omega"] > 0) & (got["omega"] <= max(2 * np.pi * 2e-3,
                                                            got["omega"][1]))
        fano = max(float(got["S"][al][slowest].mean()) / nu[al], 1e-3)
        var_nu = max(q[al] - nu[al] ** 2, 0.0)
        sigma = float(np.sqrt(x.tau_m * D[al]))
        siegert_of = _siegert_of_offset(x, mu[al], sigma, Sigma[al])
        bins = _bins_for(grid, name, nu[al], np.sqrt(var_nu))
        timescale = _timescale(tau_all, C_mean)
        timescale_err = _jackknife_timescale(tau_all, Ci, timescale)
        populations[name] = {
            "rate": float(nu[al]), "rate_variance": var_nu,
            "cv": float(cvs.mean()) if cvs.size else None,
            "rate_distribution": rate_distribution(
                lambda d, f=siegert_of, g=float(gain[al]): g * f(d), Sigma[al], bins, fano,
                grid.window),
            "spike_autocorrelation": {"tau": tau, "values": C_mean[::stride]},
            "power_spectrum": {"omega": 1000 * got["omega"][kept],
                               "values": got["S"][al][kept]},
            "timescale": timescale,
            "input": {"mean": float(mu[al]), "static_variance": float(Sigma[al]),
                      "sigma": sigma, "white": float(D[al])},
            "colored_gain": float(gain[al]),
        }
        errors[name] = {
            "rate": float(rate_err[al]),
            "cv": _cv_error(cvs, [g["cv"][al] for g in recent]),
            "spike_autocorrelation": {"tau": tau, "values": C_err[::stride]},
            "power_spectrum": {"values": got["S_err"][al][kept]},
            "timescale": (None if timescale_err is None
                          else float(inflation[al] * timescale_err)),
            "iteration_inflation": float(inflation[al]),
        }
    return {"populations": populations, "stderr": {"populations": errors}, "trace": trace,
            "iterations": len(history), "history": history, "undefined": {},
            "branch": "noise_driven"}


def _inflation(recent: list) -> np.ndarray:
    """Per population, the factor ≥ 1 by which the spread of Ĉ between the recent
    generations exceeds one generation's error across its neurons, pooled over the lags
    (1 with fewer than two generations)."""
    if len(recent) < 2:
        return np.ones(recent[-1]["C"].shape[0])
    between = np.array([g["C"] for g in recent]).var(axis=0, ddof=1)   # P × lags
    within = recent[-1]["C_err"] ** 2
    ok = within > 0
    return np.array([max(1.0, float(np.sqrt(between[p][ok[p]].mean()
                                            / within[p][ok[p]].mean())))
                     if ok[p].any() else 1.0 for p in range(within.shape[0])])


def _cv_error(cvs: np.ndarray, recent: list) -> float | None:
    """The CV's error: across the last generation's neurons, or the spread of the recent
    generations' CVs where that is larger."""
    if cvs.size < 2:
        return None
    error = float(cvs.std(ddof=1) / np.sqrt(cvs.size))
    values = np.array([v for v in recent if np.isfinite(v)])
    return max(error, float(values.std(ddof=1))) if values.size > 1 else error


def _finite_mean(values: np.ndarray) -> float | None:
    """The mean of the finite entries; None without any (no neuron with three spikes)."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else None


def _jackknife_timescale(tau: np.ndarray, C: np.ndarray, value) -> float | None:
    """The timescale's error: jackknife over groups of the sampled neurons."""
    if value is None:
        return None
    label = np.arange(len(C)) % COLORED_JACKKNIFE
    replicas = [_timescale(tau, C[label != g].mean(axis=0)) for g in range(COLORED_JACKKNIFE)]
    if any(r is None for r in replicas):
        return None
    r = np.array(replicas)
    return float(np.sqrt((COLORED_JACKKNIFE - 1) / COLORED_JACKKNIFE
                         * np.sum((r - r.mean()) ** 2)))


def _lif_neurons(site) -> bool:
    return all(n.model == "lif" for n in site.values.neurons)


@register_runtime("lif_colored", applies=_lif_neurons, priority=5, needs=lambda problem: False,
                  kind="spiking")
def _solve_lif_colored(site, grid=None, options=None) -> dict:
    return solve_lif_colored(site, grid, options)
