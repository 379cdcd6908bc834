"""The numpy spiking simulator (`fieldtheory/simulate/spiking.py`) and the spike-train
statistics (`fieldtheory/simulate/spike_stats.py`).

Oracles: the exact law of the Bernoulli-per-step GLM train (rate, CV, Ĉ, S), the Siegert
formula of the diffusion approximation (mpmath) for LIF neurons under Poisson input, the
closed-form PSPs of delta and exponential synapses, and exact counting for the
connectivity. Tolerances are 4 standard errors plus, where stated, a derived bias bound.
"""

from __future__ import annotations

import json

import mpmath as mp
import numpy as np
import pytest
from scipy.stats import poisson, truncnorm

from fieldtheory.errors import ParameterError, SimulationError
from fieldtheory.ir.spiking_values import (
    ConnectionValues,
    DriveValues,
    NetworkValues,
    NeuronValues,
)
from fieldtheory.simulate import spiking
from fieldtheory.simulate.spike_stats import SpikeStatistics, spike_statistics
from fieldtheory.simulate.spiking import (
    PoissonSampler,
    SpikingSimulator,
    connect,
    sample_connection,
    simulate_spiking,
)

LIF = NeuronValues(model="lif", tau_m=20.0, E_L=0.0, V_th=20.0, V_reset=10.0, t_ref=2.0)


def glm(rate: float) -> NeuronValues:
    return NeuronValues(model="glm", tau_m=10.0,
                        intensity=lambda V: np.full_like(V, rate), intensity_text=f"{rate}")


# ----------------------------------------------------------------- GLM: the Poisson oracle
@pytest.fixture(scope="module")
def poisson_run():
    """300 unconnected GLM neurons of constant intensity F = 50 Hz, dt = 0.1, 5 s."""
    F, dt = 50.0, 0.1
    net = NetworkValues(("A",), (300,), (glm(F),), ())
    record, obs, err = simulate_spiking(net, t_max=5000.0, t_burn=0.0, dt=dt, seed=7,
                                        max_units=200)
    return F, dt, record, obs, err


def test_glm_rate_cv_and_flat_statistics(poisson_run):
    F, dt, _, obs, err = poisson_run
    pop, pe = obs["populations"]["A"], err["populations"]["A"]
    # At most one spike per step: Bernoulli(p) per step, p = 1 − exp(−F dt/1000).
    p = -np.expm1(-F * dt / 1000.0)
    nu = p / dt * 1000.0
    assert abs(pop["rate"] - nu) <= 4 * pe["rate"]
    assert obs["rate"] == pop["rate"]
    # Geometric intervals: CV = √(1 − p). The ratio estimator sd/mean of n exponential
    # intervals has the first-order bias −1/n; allowed in full (n ≈ 250 here).
    n_isi = nu * 5.0
    assert abs(pop["cv"] - np.sqrt(1 - p)) <= 4 * pe["cv"] + 2.0 / n_isi
    # Ĉ: zero at every lag; at lag 0 the same-step pairs that cannot both spike are left
    # out of the normalisation (resolution dt), which removes the −(dt/dτ) ν² offset.
    C = np.array(pop["spike_autocorrelation"]["values"])
    Ce = np.array(pe["spike_autocorrelation"]["values"])
    expected = np.zeros_like(C)
    assert pop["spike_autocorrelation"]["tau"][:3] == [0.0, 1.0, 2.0]
    assert np.all(np.abs(C - expected) <= 4 * Ce)
    # S(ω) = Var of the binned counts / bin = ν(1 − p), flat, ω = 0 included.
    S = np.array(pop["power_spectrum"]["values"])
    Se = np.array(pe["power_spectrum"]["values"])
    omega = np.array(pop["power_spectrum"]["omega"])
    assert omega[1] == pytest.approx(2 * np.pi / 0.2)   # segments of 2 τ_max = 0.2 s
    assert len(S) == 101
    assert np.all(np.abs(S - nu * (1 - p)) <= 4 * Se)
    # The rate histogram is a density over its bins.
    hist = pop["rate_distribution"]
    assert np.sum(np.array(hist["density"]) * np.diff(hist["bins"])) == pytest.approx(1.0)
    assert hist["outside"] == 0.0
    assert pe["rate_distribution"]["density"][0] is not None
    json.dumps([obs, err], allow_nan=False)   # plain, finite JSON


def test_chunked_and_direct_statistics_agree_exactly(poisson_run):
    *_, record, obs, err = poisson_run
    assert spike_statistics(record, max_units=200, seed=7) == (obs, err)
    # Any chunking, any order within a chunk: the same numbers.
    stats = SpikeStatistics(record.network, record.t_start, record.t_stop, max_units=200,
                            seed=7, resolution=record.resolution)
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.choice(len(record.times), size=40, replace=False))
    for part in np.split(np.arange(len(record.times)), cuts):
        shuffled = rng.permutation(part)
        stats.add(record.times[shuffled], record.senders[shuffled])
    assert stats.result() == (obs, err)


def test_statistics_edge_cases():
    net = NetworkValues(("A", "B"), (3, 2), (glm(1.0), glm(1.0)), ())
    # Neuron 0: 4 spikes (CV defined), neuron 1: 2 spikes, B silent; a spike at t_start is
    # outside the window (t_start, t_stop].
    times = np.array([0.0, 10.0, 30.0, 60.0, 100.0, 50.0, 70.0])
    senders = np.array([0, 0, 0, 0, 0, 1, 1])
    stats = SpikeStatistics(net, 0.0, 1000.0, bins={"A": [0.0, 1.0, 3.0]}, tau_max=10.0)
    stats.add(times, senders)
    obs, err = stats.result()
    a, b = obs["populations"]["A"], obs["populations"]["B"]
    assert a["rate"] == pytest.approx((4 + 2 + 0) / 3)
    intervals = np.array([20.0, 30.0, 40.0])
    assert a["cv"] == pytest.approx(intervals.std(ddof=1) / intervals.mean())
    assert err["populations"]["A"]["cv"] is None   # one neuron only
    assert b["cv"] is None and b["timescale"] is None
    assert a["rate_distribution"]["bins"] == [0.0, 1.0, 3.0]
    assert a["rate_distribution"]["density"] == [0.5, 0.25]
    assert a["rate_distribution"]["outside"] == pytest.approx(1 / 3)   # 4 Hz is outside
    # Out of order is refused once it matters: a block (here 419 420 bins) already closed.
    late = SpikeStatistics(net, 0.0, 1e6, tau_max=10.0)
    late.add([9e5], [0])
    with pytest.raises(ParameterError, match="out of time order"):
        late.add([10.0], [0])
    with pytest.raises(ParameterError, match="multiple of dtau"):
        SpikeStatistics(net, 0.0, 100.0, tau_max=10.5, dtau=1.0)
    with pytest.raises(ParameterError, match="unknown population"):
        SpikeStatistics(net, 0.0, 100.0, bins={"C": [0.0, 1.0]})


def test_cox_process_correlation_spectrum_and_timescale():
    r"""GLM neurons of intensity F = cV driven by shot noise: a Cox process whose
    statistics follow exactly from the AR(1) membrane u_{k+1} = a u_k + J n_k
    (a = e^{−dt/τ}, n_k ~ Poisson(r dt)): cov(u_k, u_{k+m}) = J² r dt a^{|m|}/(1 − a²).
    Per bin of 10 steps, Ĉ(K) = c² × the bin-averaged covariance (at K = 0 averaged over
    the 90 pairs of distinct steps: same-step pairs cannot both spike); S(ω) from the
    covariance of the binned counts with the rectangular window's weights (1 − |K|/L).
    Neglected: the curvature of p = 1 − e^{−F dt} (relative F dt/2 = 10⁻³) and the
    −(1/T)∫C bias of the mean subtraction (≈ 0.4 Hz² against errors of ≈ 11 Hz²).
    """
    tau, dt, J, r, c = 10.0, 0.1, 5.0, 0.2, 2.0      # ms, ms, mV, 1/ms, Hz/mV
    neuron = NeuronValues(model="glm", tau_m=tau, V_init=(10.0, 0.0),
                          intensity=lambda V: c * V, intensity_text="2 V")
    drive = DriveValues(target=0, rate=r * 1000.0 / 100, in_degree=100, weight=J)
    net = NetworkValues(("A",), (1000,), (neuron,), (), (drive,))
    _, obs, err = simulate_spiking(net, t_max=4000.0, t_burn=100.0, dt=dt, seed=2,
                                   keep_spikes=False)
    pop, pe = obs["populations"]["A"], err["populations"]["A"]
    a = np.exp(-dt / tau)
    variance, mean = J**2 * r * dt / (1 - a**2), J * r * dt / (1 - a)
    nu = c * mean                                     # Hz
    steps = np.arange(10)
    L = 200                                           # bins per segment (2 τ_max / dτ)
    C = np.empty(L)                                   # expected Ĉ (Hz²), dτ = 1 ms
    for K in range(L):
        cov = variance * a ** np.abs(10 * K + steps[None, :] - steps[:, None])
        C[K] = c**2 * (cov[~np.eye(10, dtype=bool)] if K == 0 else cov).sum() / 100
    C_raw = C.copy()                                  # the raw binned covariance at K = 0
    C_raw[0] -= dt * nu**2
    C[0] *= 100 / 90
    assert abs(pop["rate"] - nu) <= 4 * pe["rate"] + 1e-3 * nu
    values = np.array(pop["spike_autocorrelation"]["values"])
    errors = np.array(pe["spike_autocorrelation"]["values"])
    assert np.all(np.abs(values - C[:101]) <= 4 * errors)
    ratio = (C[:101] / C[0]) ** 2
    timescale = 2 * np.trapezoid(ratio, dx=1.0)
    assert abs(pop["timescale"] - timescale) <= 4 * pe["timescale"]
    # Counts covariance per bin pair (counts²), its windowed transform, in Hz.
    gamma = C_raw / 1e6
    gamma[0] += nu / 1e3
    K = np.arange(1, L)
    omega = np.array(pop["power_spectrum"]["omega"]) / 1000.0      # rad/ms
    S = 1000.0 * np.array([gamma[0] + 2 * np.sum((1 - K / L) * gamma[1:] * np.cos(w * K))
                           for w in omega])
    values = np.array(pop["power_spectrum"]["values"])
    errors = np.array(pe["power_spectrum"]["values"])
    bad = np.abs(values - S) > 4 * errors
    assert not bad.any(), (np.flatnonzero(bad), values[bad], S[bad], errors[bad])


# ----------------------------------------------------------------- LIF: Siegert
def siegert(mu: float, sigma: float, theta: float, reset: float, tau: float,
            t_ref: float) -> float:
    """Rate (Hz) of τ dV = (μ − V) dt + σ√τ dW with threshold θ, reset, t_ref (ms)."""
    integral = mp.quad(lambda u: mp.exp(u**2) * (1 + mp.erf(u)),
                       [(reset - mu) / sigma, (theta - mu) / sigma])
    return float(1000.0 / (t_ref + tau * mp.sqrt(mp.pi) * integral))


def test_lif_rate_matches_the_diffusion_approximation():
    r"""τ dV/dt = −V + τ Σ_k J_k δ(t − t_k), Poisson inputs of total rates r_e, r_i (1/ms),
    weights ±J: in the diffusion limit τ dV = (μ − V) dt + σ√τ dW with μ = τJ(r_e − r_i)
    and σ² = τJ²(r_e + r_i) (the free membrane's variance is σ²/2).

    Bias bound: the threshold is checked at the ends of steps, which misses crossings in
    between; to first order this raises the threshold by Siegmund's 0.5826 (= −ζ(½)/√(2π))
    times the sd J√(r dt) of a step's input, and finite jumps overshoot by at most J. The
    rate must lie between the Siegert rate at θ + shift + J and at θ, within 4 stderr.
    """
    J, tau, mu, sigma, dt = 0.02, 20.0, 20.0, 4.0, 0.02
    r = sigma**2 / (tau * J**2)
    r_e, r_i = (r + mu / (tau * J)) / 2, (r - mu / (tau * J)) / 2
    neuron = NeuronValues(model="lif", tau_m=tau, E_L=0.0, V_th=20.0, V_reset=10.0,
                          t_ref=2.0, V_init=(15.0, 3.0))
    drives = (DriveValues(target=0, rate=r_e, in_degree=1000, weight=J),
              DriveValues(target=0, rate=r_i, in_degree=1000, weight=-J))
    net = NetworkValues(("E",), (400,), (neuron,), (), drives)
    _, obs, err = simulate_spiking(net, t_max=1000.0, t_burn=100.0, dt=dt, seed=3,
                                   keep_spikes=False)
    rate, se = obs["populations"]["E"]["rate"], err["populations"]["E"]["rate"]
    exact = siegert(mu, sigma, 20.0, 10.0, tau, 2.0)
    shift = 0.5826 * J * np.sqrt(r * dt) + J
    lowest = siegert(mu, sigma, 20.0 + shift, 10.0, tau, 2.0)
    assert lowest - 4 * se <= rate <= exact + 4 * se
    assert exact - lowest < 0.03 * exact   # the bound is a small part of the rate


# ----------------------------------------------------------------- PSPs and refractoriness
def two_neurons(post: NeuronValues, weight: float, delay: float) -> NetworkValues:
    """A 'pre' neuron started above threshold (it spikes in the first step, once) and
    one 'post' neuron it projects to."""
    pre = NeuronValues(model="lif", tau_m=10.0, V_th=20.0, V_reset=0.0, V_init=(30.0, 0.0))
    conn = ConnectionValues(target=1, source=0, rule="fixed_indegree", number=1,
                            weight=weight, delay=delay)
    return NetworkValues(("pre", "post"), (1, 1), (pre, post), (conn,))


@pytest.mark.parametrize("tau_s", [0.0, 2.0, 10.0, 10.0 + 1e-12])
def test_psp_matches_the_closed_form(tau_s):
    J, tau_m, E_L, dt, delay = 0.5, 10.0, -65.0, 0.1, 1.0   # J exact in float32
    post = NeuronValues(model="lif", tau_m=tau_m, E_L=E_L, V_th=0.0, V_reset=-70.0,
                        tau_s=tau_s, V_init=(E_L, 0.0))
    sim = SpikingSimulator(two_neurons(post, J, delay), dt=dt)
    V = []
    for n in range(1, 501):
        spikes = sim.step()
        assert spikes.tolist() == ([0] if n == 1 else [])
        V.append(sim.V[1])
    t = np.arange(1, 501) * dt
    lag = np.round(t / dt - (1 + delay / dt)) * dt   # t − (spike time + delay)
    after = lag >= 0
    if tau_s == 0:
        psp = J * np.exp(-lag / tau_m)
    elif abs(tau_s - tau_m) < 1e-9:   # the degenerate propagator (off by O(1e-13) at 1e-12)
        psp = J * lag / tau_m * np.exp(-lag / tau_m)
    else:
        psp = J * tau_m / (tau_s - tau_m) * (np.exp(-lag / tau_s) - np.exp(-lag / tau_m))
    expected = E_L + np.where(after, psp, 0.0)
    np.testing.assert_allclose(V, expected, rtol=0, atol=1e-10)


def test_delta_inputs_during_refractoriness_are_discarded():
    # post spikes in step 1 (started above threshold) and is refractory for 2 ms; pre's
    # spike arrives 1 ms later, inside the refractory period, and is lost (NEST's
    # iaf_psc_delta): V stays at V_reset, then relaxes freely.
    post = NeuronValues(model="lif", tau_m=20.0, E_L=0.0, V_th=20.0, V_reset=10.0,
                        t_ref=2.0, V_init=(25.0, 0.0))
    sim = SpikingSimulator(two_neurons(post, 5.0, 1.0), dt=0.1)
    assert sim.step().tolist() == [0, 1]
    V = [sim.V[1] for _ in range(40) if sim.step() is not None]
    assert V[:20] == [10.0] * 20
    np.testing.assert_allclose(V[20:], 10.0 * np.exp(-0.1 * np.arange(1, 21) / 20.0),
                               rtol=1e-12)


# ----------------------------------------------------------------- connectivity
def block_network(conn: ConnectionValues, sizes=(200, 150)) -> NetworkValues:
    return NetworkValues(("E", "I"), sizes, (LIF, LIF), (conn,))


def test_fixed_indegree_exact_and_distinct():
    conn = ConnectionValues(target=0, source=0, rule="fixed_indegree", number=150,
                            weight=0.1, delay=1.5)
    net = block_network(conn)
    sources, targets, weights, delays = sample_connection(net, 0, dt=0.1, seed=1)
    assert np.all(np.bincount(targets, minlength=200) == 150)
    pairs = targets.astype(np.int64) * 1000 + sources
    assert len(np.unique(pairs)) == len(pairs)          # no multapses
    assert not np.any(sources == targets)               # no autapses
    assert sources.max() < 200 and weights.dtype == np.float32
    assert np.all(weights == np.float32(0.1)) and np.all(delays == 15)
    # The CSR of the whole network holds the same synapses, grouped by source.
    c = connect(net, 0.1, seed=1)
    assert c.delays is None and c.delay_steps == 15 and c.n_synapses == 200 * 150
    src, tgt, w, d = c.synapses()
    got = np.sort(src * 1000 + tgt)
    assert np.array_equal(got, np.sort(sources.astype(np.int64) * 1000 + targets))
    assert np.all(w == np.float32(0.1)) and np.all(d == 15)


def test_bernoulli_in_degree_is_binomial():
    p, n_src, n_tgt = 0.1, 150, 200
    conn = ConnectionValues(target=0, source=1, rule="bernoulli", number=p, weight=-0.5)
    sources, targets, *_ = sample_connection(block_network(conn), 0, dt=0.1, seed=2)
    k = np.bincount(targets, minlength=n_tgt)
    mean, var = n_src * p, n_src * p * (1 - p)
    assert abs(k.mean() - mean) <= 4 * np.sqrt(var / n_tgt)
    # sd of a sample variance: √((μ4 − σ⁴(n−3)/(n−1))/n), μ4 of the binomial
    mu4 = var * (1 + 3 * (n_src - 2) * p * (1 - p))
    se_var = np.sqrt((mu4 - var**2 * (n_tgt - 3) / (n_tgt - 1)) / n_tgt)
    assert abs(k.var(ddof=1) - var) <= 4 * se_var
    assert sources.min() >= 200 and sources.max() < 350    # I's global indices
    pairs = targets.astype(np.int64) * 1000 + sources
    assert len(np.unique(pairs)) == len(pairs)


def test_fixed_total_number_weights_and_delays():
    conn = ConnectionValues(target=1, source=0, rule="fixed_total_number", number=5000,
                            weight=0.2, weight_sd=0.2, delay=1.0, delay_sd=0.5)
    sources, targets, weights, delays = sample_connection(block_network(conn), 0, dt=0.1,
                                                          seed=3)
    assert len(sources) == 5000
    assert targets.min() >= 200 and sources.max() < 200
    # Sign clipping by redraw: a normal truncated to w ≥ 0.
    assert weights.min() >= 0
    law = truncnorm(-1.0, np.inf, loc=0.2, scale=0.2)
    assert abs(weights.mean() - law.mean()) <= 4 * law.std() / np.sqrt(5000)
    # Delays: whole steps, at least one; the rounded normal's mean.
    assert delays.min() >= 1
    steps = np.arange(1, 60)
    # P(step s) = P((s − ½)dt ≤ delay < (s + ½)dt); step 1 also takes every shorter draw
    probability = np.diff(np.r_[0.0, [float(mp.ncdf((s + 0.5) * 0.1, 1.0, 0.5))
                                      for s in steps]])
    m = np.sum(steps * probability)
    sd = np.sqrt(np.sum((steps - m) ** 2 * probability))
    assert abs(delays.mean() - m) <= 4 * sd / np.sqrt(5000)


@pytest.mark.parametrize(("change", "message"), [
    ({"delay": -1.0}, "connection E→I: negative delay"),
    ({"delay": 1.25}, "connection E→I: delay 1.25 ms is not a positive multiple of dt"),
    ({"number": 300}, "connection E→I: in-degree 300 exceeds the 200 neurons of E"),
    ({"rule": "bernoulli", "number": 1.5}, "connection E→I: probability p = 1.5"),
])
def test_bad_connections_are_named(change, message):
    base = {"target": 1, "source": 0, "rule": "fixed_indegree", "number": 10,
            "weight": 0.1, "delay": 1.5}
    net = block_network(ConnectionValues(**{**base, **change}))
    with pytest.raises(ParameterError, match=message):
        connect(net, 0.1)


def test_t_ref_not_a_multiple_of_dt_is_named():
    neuron = NeuronValues(model="lif", tau_m=20.0, V_th=20.0, V_reset=10.0, t_ref=2.05)
    net = NetworkValues(("E",), (10,), (neuron,), ())
    with pytest.raises(ParameterError, match=r"population E: t_ref = 2\.05 ms is not a "
                                             r"non-negative multiple of dt = 0\.1 ms"):
        SpikingSimulator(net, dt=0.1)


# ----------------------------------------------------------------- propagation
def recurrent_network(**neuron) -> NetworkValues:
    """A small E–I network with spread weights and delays and an external drive."""
    lif = NeuronValues(model="lif", tau_m=20.0, V_th=20.0, V_reset=10.0, t_ref=0.5,
                       V_init=(10.0, 5.0), **neuron)
    conns = tuple(
        ConnectionValues(target=t, source=s, rule=rule, number=number, weight=w,
                         weight_sd=abs(w) / 2, delay=1.5, delay_sd=0.8)
        for t, s, rule, number, w in ((0, 0, "fixed_indegree", 40, 0.3),
                                      (1, 0, "bernoulli", 0.2, 0.3),
                                      (0, 1, "fixed_total_number", 2000, -1.2),
                                      (1, 1, "fixed_indegree", 10, -1.2)))
    drives = tuple(DriveValues(target=t, rate=25.0, in_degree=200, weight=0.3)
                   for t in (0, 1))
    return NetworkValues(("E", "I"), (160, 40), (lif, lif), conns, drives)


def test_all_spiking_fills_the_ring_like_a_naive_sum():
    net = recurrent_network()
    net = NetworkValues(net.populations, net.sizes,
                        (NeuronValues(model="lif", tau_m=20.0, V_th=20.0, V_reset=10.0,
                                      V_init=(25.0, 0.0)),) * 2, net.connections)
    sim = SpikingSimulator(net, dt=0.1, seed=5)
    assert sim.connectivity.delays is not None
    assert sim.step().tolist() == list(range(200))
    expected = np.zeros_like(sim.ring)
    _, tgt, w, d = sim.connectivity.synapses()
    np.add.at(expected, (d % len(expected), tgt), w.astype(np.float64))
    np.testing.assert_allclose(sim.ring, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("tau_s", [0.0, 3.0])
def test_padded_and_unpadded_rows_give_the_same_run(monkeypatch, tau_s):
    net = recurrent_network(tau_s=tau_s)
    padded, *_ = simulate_spiking(net, t_max=200.0, t_burn=0.0, seed=4)
    assert all(w > 0 for w in connect(net, 0.1, seed=4).row_width)
    monkeypatch.setattr(spiking, "PADDING", 0.0)
    monkeypatch.setattr(spiking, "PADDING_SLACK", 0)
    assert connect(net, 0.1, seed=4).row_width == (0, 0)
    plain, *_ = simulate_spiking(net, t_max=200.0, t_burn=0.0, seed=4)
    assert len(padded.times) > 500
    assert np.array_equal(padded.times, plain.times)
    assert np.array_equal(padded.senders, plain.senders)


@pytest.mark.parametrize("lam", [0.05, 2.0, 150.0])
def test_poisson_sampler_has_the_poisson_law(lam):
    counts = PoissonSampler(lam).sample(np.random.default_rng(1), 400_000)
    k = np.arange(int(lam + 8 * np.sqrt(lam)) + 3)
    expected = poisson.pmf(k, lam) * len(counts)
    observed = np.bincount(counts, minlength=len(k))[:len(k)]
    shown = expected > 20
    assert np.all(np.abs(observed - expected)[shown] <= 4 * np.sqrt(expected[shown]))
    assert abs(counts.mean() - lam) <= 4 * np.sqrt(lam / len(counts))


def test_glm_dead_time_bad_intensity_and_progress(capsys):
    dead = NeuronValues(model="glm", tau_m=10.0, t_ref=1.0, V_init=(3.0, 0.0),
                        intensity=lambda V: np.full_like(V, 1e6))   # spikes when it may
    net = NetworkValues(("A",), (5,), (dead,), ())
    record, obs, _ = simulate_spiking(net, t_max=100.0, t_burn=0.0, seed=1, progress=True)
    assert "spiking network" in capsys.readouterr().err
    # A spike every 1 + t_ref/dt = 11 steps: 1.1 ms apart, and V untouched by the spikes.
    assert np.allclose(np.diff(record.times[record.senders == 0]), 1.1)
    assert obs["populations"]["A"]["cv"] == pytest.approx(0.0, abs=1e-9)
    sim = SpikingSimulator(net, dt=0.1)
    sim.run(30)
    np.testing.assert_allclose(sim.V, 3.0 * np.exp(-3.0 / 10.0), rtol=1e-12)
    bad = NeuronValues(model="glm", tau_m=10.0, intensity=lambda V: V - 1.0,
                       intensity_text="V − 1")
    with pytest.raises(SimulationError, match=r"population A: GLM intensity 'V − 1' gave -1\.0 Hz"):
        SpikingSimulator(NetworkValues(("A",), (3,), (bad,), ()), dt=0.1).step()
