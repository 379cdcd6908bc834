"""NEST as an optional engine (``fieldtheory.simulate.spiking_nest``), against the numpy one.

The tests that simulate need NEST (``pip install 'fieldtheory[nest]'``) and are skipped
without it; the refusals are raised before NEST is imported and run everywhere, and the
missing-NEST message is checked with the import blocked.

Errors of the engine comparisons. The standard errors that ``spike_statistics`` reports
are across neurons of one run; they leave out what all neurons of a run share (slow
fluctuations of the population activity), which in a recurrent network is several times
larger for the population rate and CV than the spread across neurons. The comparison of
two runs therefore adds the batch-means error (the spread of the statistics over
``BATCHES`` consecutive windows of the run, over √BATCHES) to the reported one, per
engine — conservative, since the per-neuron noise then counts twice.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from fieldtheory.errors import MissingDependencyError, ParameterError, SimulationError
from fieldtheory.ir.spiking_values import (
    ConnectionValues,
    DriveValues,
    NetworkValues,
    NeuronValues,
)
from fieldtheory.simulate.spike_stats import SpikeRecord, spike_statistics
from fieldtheory.simulate.spiking import simulate_spiking
from fieldtheory.simulate.spiking_nest import simulate_nest

#: Consecutive windows of a run whose spread estimates the run-to-run error.
BATCHES = 10
#: Largest |z| of a statistic between the engines.
Z_MAX = 4.0


@pytest.fixture
def nest():
    """The nest module (the test is skipped without it)."""
    return pytest.importorskip("nest")


def brunel(N_E: int = 800, N_I: int = 200, K_E: int = 80, K_I: int = 20, J: float = 0.2,
           g: float = 5.0, eta: float = 2.0, D: float = 1.5) -> NetworkValues:
    """Brunel's model A, small: fixed in-degrees, K_E external inputs at η ν_thr each."""
    tau_m, theta = 20.0, 20.0
    lif = NeuronValues("lif", tau_m=tau_m, V_th=theta, V_reset=10.0, t_ref=2.0,
                       V_init=(5.0, 5.0))
    nu_ext = eta * theta / (J * K_E * tau_m / 1000.0)   # Hz per external input
    blocks = tuple(ConnectionValues(target, source, "fixed_indegree", K, w, delay=D)
                   for target in (0, 1)
                   for source, K, w in ((0, K_E, J), (1, K_I, -g * J)))
    drives = tuple(DriveValues(target, nu_ext, K_E, J, delay=D) for target in (0, 1))
    return NetworkValues(("E", "I"), (N_E, N_I), (lif, lif), blocks, drives)


def driven(tau_s: float, size: int = 1000) -> NetworkValues:
    """An unconnected LIF population under Poisson drive (fluctuation-driven, ~10 Hz)."""
    lif = NeuronValues("lif", tau_m=20.0, E_L=-65.0, V_th=-50.0, V_reset=-60.0, t_ref=2.0,
                       tau_s=tau_s, C_m=200.0, V_init=(-60.0, 3.0))
    return NetworkValues(("A",), (size,), (lif,), (),
                         (DriveValues(0, 11.0, 100, 0.6, delay=1.0),))


def _statistics(record: SpikeRecord, tau_max: float) -> dict[str, dict[str, np.ndarray]]:
    """Per population: rate, cv and Ĉ(τ) of the whole record, and their errors (reported
    across neurons ⊕ batch means over ``BATCHES`` windows)."""
    obs, err = spike_statistics(record, tau_max=tau_max)
    width = (record.t_stop - record.t_start) / BATCHES
    batches = []
    for b in range(BATCHES):
        lo, hi = record.t_start + b * width, record.t_start + (b + 1) * width
        inside = (record.times > lo) & (record.times <= hi)
        window = SpikeRecord(record.times[inside], record.senders[inside], lo, hi,
                             record.network)
        batches.append(spike_statistics(window, tau_max=tau_max)[0])
    out = {}
    for name in record.network.populations:
        def value(o, key, name=name):
            entry = o["populations"][name][key]
            return np.asarray(entry["values"] if isinstance(entry, dict) else entry, float)

        stats = {}
        for key in ("rate", "cv", "spike_autocorrelation"):
            spread = np.std([value(o, key) for o in batches], axis=0, ddof=1)
            stats[key] = value(obs, key)
            stats[key + "_err"] = np.hypot(value(err, key), spread / np.sqrt(BATCHES))
        out[name] = stats
    return out


def _z(a: dict, b: dict, key: str) -> np.ndarray:
    return (a[key] - b[key]) / np.hypot(a[key + "_err"], b[key + "_err"])


# ----- the engines agree -------------------------------------------------------------------


def test_brunel_network_agrees_with_numpy_engine(nest):
    """Rates, CVs and spike autocorrelations of a small Brunel network (g = 5, η = 2; with
    K = 80 a mean-driven, regular state at ~80 Hz): NEST and numpy, different seeds."""
    network = brunel()
    t_max, tau_max = 4000.0, 30.0
    record = simulate_nest(network, t_max=t_max, t_burn=200.0, dt=0.1, seed=1)
    reference, _, _ = simulate_spiking(network, t_max=t_max, t_burn=200.0, dt=0.1, seed=2,
                                       tau_max=tau_max)
    assert record.t_start == reference.t_start and record.t_stop == reference.t_stop
    ours, theirs = _statistics(record, tau_max), _statistics(reference, tau_max)
    for name in network.populations:
        a, b = ours[name], theirs[name]
        assert 60.0 < a["rate"] < 100.0, a["rate"]
        for key in ("rate", "cv"):
            assert abs(_z(a, b, key)) <= Z_MAX, (name, key, a[key], b[key], _z(a, b, key))
        z = _z(a, b, "spike_autocorrelation")
        assert np.all(np.abs(z) <= Z_MAX), (name, np.round(z, 2))
        assert np.mean(z**2) < 3.0, (name, np.mean(z**2))


@pytest.mark.parametrize("tau_s", [0.0, 5.0], ids=["delta", "exp"])
def test_poisson_driven_population_agrees_with_numpy_engine(nest, tau_s):
    """Unconnected LIF neurons under Poisson drive: the rate and CV in NEST and numpy
    (with τ_s > 0 this checks the current weight C_m J/τ_s of ``iaf_psc_exp``)."""
    network = driven(tau_s)
    record = simulate_nest(network, t_max=2000.0, t_burn=100.0, seed=3)
    _, theirs, theirs_err = simulate_spiking(network, t_max=2000.0, t_burn=100.0, seed=4,
                                             keep_spikes=False, tau_max=20.0)
    ours, ours_err = spike_statistics(record, tau_max=20.0)
    for key in ("rate", "cv"):
        a, b = ours["populations"]["A"][key], theirs["populations"]["A"][key]
        ea, eb = ours_err["populations"]["A"][key], theirs_err["populations"]["A"][key]
        assert a > 0.1 * (key == "cv") + 1.0 * (key == "rate"), (key, a)
        assert abs(a - b) <= Z_MAX * np.hypot(ea, eb), (tau_s, key, a, ea, b, eb)


def test_spike_timing_matches_numpy_engine(nest):
    """A driven neuron S and a silent one T that fires on each of S's spikes (J above
    threshold): T's spikes are S's plus the delay, to the step, in both engines."""
    delay = 2.3
    lif = NeuronValues("lif", tau_m=10.0, V_th=20.0, V_reset=0.0, t_ref=0.5)
    network = NetworkValues(("S", "T"), (1, 1), (lif, lif),
                            (ConnectionValues(1, 0, "fixed_indegree", 1, 25.0, delay=delay),),
                            (DriveValues(0, 1000.0, 10, 1.0),))
    for record in (simulate_nest(network, t_max=500.0, t_burn=0.0, seed=0),
                   simulate_spiking(network, t_max=500.0, t_burn=0.0, seed=0)[0]):
        source = record.times[record.senders == 0]
        target = record.times[record.senders == 1]
        expected = source[source + delay <= record.t_stop] + delay
        assert len(source) > 10
        np.testing.assert_allclose(target, expected, atol=1e-9)


@pytest.mark.parametrize("tau_s", [0.0, 2.0, 5.0])
def test_psp_follows_the_convention(nest, tau_s):
    """One spike of weight J through the engine's neuron and weight mapping: the PSP is
    J e^{−s/τ_m} (delta) or J τ_m/(τ_m − τ_s)(e^{−s/τ_m} − e^{−s/τ_s}) (exponential), of
    area τ_m J, s the time since the arrival (emission + delay)."""
    from fieldtheory.simulate.spiking_nest import _model_name, _neuron_params, _weight_scale

    neuron = NeuronValues("lif", tau_m=20.0, E_L=-65.0, V_th=-50.0, V_reset=-70.0,
                          t_ref=2.0, tau_s=tau_s, C_m=200.0)
    J, dt, t_spike, delay = 0.5, 0.1, 10.0, 1.0
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": dt})
    cell = nest.Create(_model_name(neuron), params=_neuron_params(neuron))
    cell.set(V_m=neuron.E_L)
    source = nest.Create("spike_generator", params={"spike_times": [t_spike]})
    nest.Connect(source, cell, syn_spec={"weight": J * _weight_scale(neuron), "delay": delay})
    meter = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": dt})
    nest.Connect(meter, cell)
    nest.Simulate(400.0)
    events = meter.get("events")
    s = np.asarray(events["times"]) - t_spike - delay
    v = np.asarray(events["V_m"]) - neuron.E_L
    tm = neuron.tau_m
    with np.errstate(over="ignore"):
        if tau_s > 0:
            expected = J * tm / (tm - tau_s) * (np.exp(-s / tm) - np.exp(-s / tau_s))
        else:
            expected = J * np.exp(-s / tm)
    expected = np.where(s >= 0, expected, 0.0)
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-9 * J)
    assert v.sum() * dt == pytest.approx(J * tm, rel=0.03)   # the area τ_m J
    assert v.max() == pytest.approx(expected.max(), rel=1e-6)


def test_record_layout_and_determinism(nest):
    """Global indices 0 … N − 1 in declaration order, times in (t_burn, t_burn + t_max] on
    the grid, sorted; the same seed gives the same spikes, also with two threads."""
    network = brunel(N_E=80, N_I=20, K_E=8, K_I=2, J=2.0)
    record = simulate_nest(network, t_max=300.0, t_burn=50.0, dt=0.1, seed=5)
    assert record.times.dtype == np.float64 and record.senders.dtype == np.int64
    assert record.t_start == 50.0 and record.t_stop == 350.0 and record.network is network
    assert len(record.times) > 100
    assert np.all((record.times > 50.0) & (record.times <= 350.0))
    assert np.allclose(record.times / 0.1, np.round(record.times / 0.1))
    assert np.all(np.diff(record.times) >= 0)
    assert record.senders.min() >= 0 and record.senders.max() < network.N
    assert set(np.unique(record.senders)) & set(range(80, 100))   # I neurons spike too
    again = simulate_nest(network, t_max=300.0, t_burn=50.0, dt=0.1, seed=5)
    np.testing.assert_array_equal(record.times, again.times)
    np.testing.assert_array_equal(record.senders, again.senders)
    other = simulate_nest(network, t_max=300.0, t_burn=50.0, dt=0.1, seed=6)
    assert not np.array_equal(record.senders[:50], other.senders[:50])
    threaded = simulate_nest(network, t_max=300.0, t_burn=50.0, dt=0.1, seed=5, threads=2)
    assert np.all(np.diff(threaded.times) >= 0) and len(threaded.times) > 100


def test_connection_rules_and_weight_draws(nest):
    """Bernoulli and fixed-total-number blocks with normal weights and delays run; the
    drawn weights keep their sign and the delays are at least one step."""
    lif = NeuronValues("lif", tau_m=10.0, V_th=15.0, V_reset=0.0, t_ref=1.0, tau_s=2.0,
                       C_m=100.0)
    blocks = (ConnectionValues(0, 0, "bernoulli", 0.1, 0.5, weight_sd=0.5, delay=0.3,
                               delay_sd=0.5),
              ConnectionValues(1, 0, "fixed_total_number", 500, 0.5, weight_sd=0.2),
              ConnectionValues(0, 1, "fixed_indegree", 10, -1.0, weight_sd=2.0,
                               delay=0.2, delay_sd=1.0, multapses=True))
    network = NetworkValues(("E", "I"), (100, 20), (lif, lif), blocks,
                            (DriveValues(0, 2000.0, 1, 0.5, delay=0.0),
                             DriveValues(1, 2000.0, 1, 0.5)))
    record = simulate_nest(network, t_max=100.0, t_burn=0.0, seed=0)
    assert len(record.times) > 0
    synapses = nest.GetConnections(synapse_model="static_synapse").get(
        ["source", "target", "weight", "delay"])
    source, target = np.asarray(synapses["source"]) - 1, np.asarray(synapses["target"]) - 1
    weight, delay = np.asarray(synapses["weight"]), np.asarray(synapses["delay"])
    recurrent = (source < network.N) & (target < network.N)   # not generators, recorder
    assert np.all(delay >= 0.1 - 1e-12)
    scale = lif.C_m / lif.tau_s
    ee = recurrent & (source < 100) & (target < 100)
    assert 0.05 < ee.sum() / 100**2 < 0.15
    assert weight[ee].min() >= 0 and weight[ee].mean() / scale > 0.5   # truncated normal
    assert np.count_nonzero(recurrent & (source < 100) & (target >= 100)) == 500
    ie = recurrent & (source >= 100)
    assert ie.sum() == 1000 and weight[ie].max() <= 0
    assert set(np.round(delay[ee] / 0.1, 9)) <= set(range(1, 100))   # whole steps


# ----- refusals ----------------------------------------------------------------------------


def test_missing_nest_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "nest", None)   # import nest → ImportError
    with pytest.raises(MissingDependencyError, match=r"fieldtheory\[nest\]") as info:
        simulate_nest(driven(0.0, size=2), t_max=10.0, t_burn=0.0)
    assert "nest-simulator" in str(info.value)


def _with(network: NetworkValues, **changes) -> NetworkValues:
    from dataclasses import replace
    return replace(network, **changes)


def test_glm_population_is_refused():
    glm = NeuronValues("glm", tau_m=10.0, intensity=lambda v: np.exp(v))
    network = NetworkValues(("E", "G"), (10, 10), (driven(0.0).neurons[0], glm), ())
    with pytest.raises(SimulationError, match=r"'G'.*NEST has no GLM.*numpy engine"):
        simulate_nest(network, t_max=10.0)


@pytest.mark.parametrize("change, match", [
    (dict(delay=0.05), r"delay 0.05 ms < dt"),
    (dict(delay=0.25), r"not a multiple of dt"),
    (dict(number=800), r"in-degree 800 but only 799 distinct"),
    (dict(number=2.5), r"non-negative integer"),
    (dict(rule="gaussian"), r"rule 'gaussian'"),
])
def test_bad_connections_are_refused(change, match):
    from dataclasses import replace
    network = brunel()
    blocks = (replace(network.connections[0], **change), *network.connections[1:])
    with pytest.raises(ParameterError, match=match):
        simulate_nest(_with(network, connections=blocks), t_max=10.0)


def test_indegree_within_population_counts_autapses(monkeypatch):
    from dataclasses import replace
    network = brunel(N_E=80, N_I=20, K_E=80)   # E → E: 80 of the 79 others
    with pytest.raises(ParameterError, match="only 79 distinct"):
        simulate_nest(network, t_max=10.0)
    # With autapses (or multapses) the checks pass: with NEST blocked, the import fails.
    monkeypatch.setitem(sys.modules, "nest", None)
    for change in (dict(autapses=True), dict(multapses=True)):
        blocks = tuple(replace(b, **change) for b in network.connections)
        with pytest.raises(MissingDependencyError):
            simulate_nest(_with(network, connections=blocks), t_max=10.0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(threads=0), r"threads = 0"),
    (dict(threads=1.5), r"threads = 1.5"),
    (dict(dt=0.0), r"dt = 0.0 ms must be positive"),
    (dict(t_max=10.05), r"t_max = 10.05 ms is not a multiple"),
    (dict(t_burn=-1.0), r"non-negative"),
    (dict(seed=-1), r"seed = -1"),
])
def test_bad_arguments_are_refused(kwargs, match):
    arguments = dict(t_max=10.0, t_burn=0.0) | kwargs
    with pytest.raises(ParameterError, match=match):
        simulate_nest(driven(0.0, size=2), **arguments)


def test_bad_neurons_are_refused():
    from dataclasses import replace
    network = driven(0.0, size=2)
    lif = network.neurons[0]
    for neuron, match in [(replace(lif, t_ref=0.25), r"t_ref = 0.25 ms, not a multiple"),
                          (replace(lif, V_th=np.inf), r"non-finite V_th"),
                          (replace(lif, V_reset=-40.0), r"V_reset = -40.0 >= V_th"),
                          (replace(lif, tau_m=0.0), r"tau_m > 0")]:
        with pytest.raises(ParameterError, match=match):
            simulate_nest(_with(network, neurons=(neuron,)), t_max=10.0, dt=0.1)
