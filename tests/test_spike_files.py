"""Bounded-memory spiking runs (issue 19): NEST in chunks streamed into the statistics, and
spike trains to disk for both engines (``spikes_to``, :func:`read_spikes`).

The NEST tests are skipped without NEST; the refusals run everywhere (they are raised
before NEST is imported or the network is built).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fieldtheory.errors import DataFileError, OutputPathError, ParameterError
from fieldtheory.ir.spiking_values import (
    ConnectionValues,
    DriveValues,
    NetworkValues,
    NeuronValues,
)
from fieldtheory.simulate.spike_stats import (
    SPIKE_DTYPE,
    SpikeWriter,
    read_spikes,
    spike_statistics,
)
from fieldtheory.simulate.spiking import simulate_spiking
from fieldtheory.spiking_solve import simulate_spiking_model

#: The shipped Brunel model, small: 400 + 100 neurons, in-degrees 40 and 10.
BRUNEL = ("lif_brunel", {"N_E": 400.0})


@pytest.fixture
def nest():
    """The nest module (the test is skipped without it)."""
    return pytest.importorskip("nest")


def small_network() -> NetworkValues:
    """Brunel's model A with 400 E and 100 I neurons (fixed in-degrees 40 and 10)."""
    lif = NeuronValues("lif", tau_m=20.0, V_th=20.0, V_reset=10.0, t_ref=2.0,
                       V_init=(5.0, 5.0))
    J, g, K_E, K_I = 0.5, 5.0, 40, 10
    nu_ext = 2.0 * 20.0 / (J * K_E * 20.0 / 1000.0)
    blocks = tuple(ConnectionValues(target, source, "fixed_indegree", K, w, delay=1.5)
                   for target in (0, 1)
                   for source, K, w in ((0, K_E, J), (1, K_I, -g * J)))
    drives = tuple(DriveValues(target, nu_ext, K_E, J, delay=1.5) for target in (0, 1))
    return NetworkValues(("E", "I"), (400, 100), (lif, lif), blocks, drives)


def assert_same(a, b, path="") -> None:
    """Equal JSON-like results, numbers to floating-point tolerance."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for key in a:
            assert_same(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


def assert_file_holds(path, record, network: NetworkValues, engine: str) -> dict:
    """The spike file holds exactly the record's spikes; its sidecar the populations."""
    times, senders, meta = read_spikes(path)
    assert times.dtype == np.float64 and senders.dtype == np.int64
    assert len(times) == len(record.times) > 100
    np.testing.assert_array_equal(times, record.times)
    np.testing.assert_array_equal(senders, record.senders)
    assert path.stat().st_size == len(times) * SPIKE_DTYPE.itemsize
    offsets = network.offsets()
    assert meta["populations"] == [
        {"name": name, "first": int(offsets[p]), "size": int(size)}
        for p, (name, size) in enumerate(zip(network.populations, network.sizes,
                                             strict=True))]
    assert meta["engine"] == engine and meta["complete"] is True
    assert meta["n_spikes"] == len(times) and meta["N"] == network.N
    assert (meta["t_start"], meta["t_stop"]) == (record.t_start, record.t_stop)
    return meta


# ----- NEST in chunks ------------------------------------------------------------------------


def test_streamed_nest_statistics_equal_the_full_record(nest, monkeypatch):
    """The old path (one ``nest.Simulate``, every spike in memory, then
    ``spike_statistics``) and the streamed one (chunks of 7 ms, recorder cleared after
    each, statistics fed per chunk) give the same spikes and the same statistics; so does
    a chunk length cut down by the event budget."""
    from fieldtheory.simulate import spiking_nest
    from fieldtheory.simulate.spiking_nest import simulate_nest, simulate_nest_statistics

    network = small_network()
    times = dict(t_max=300.0, t_burn=50.0, dt=0.1, seed=3)
    whole = simulate_nest(network, **times, chunk=1e9)   # a single nest.Simulate
    assert len(whole.times) > 1000
    expected = spike_statistics(whole, tau_max=20.0, seed=3)
    record, observables, stderr = simulate_nest_statistics(network, **times, chunk=7.0,
                                                           tau_max=20.0, keep_spikes=True)
    np.testing.assert_array_equal(record.times, whole.times)
    np.testing.assert_array_equal(record.senders, whole.senders)
    assert_same(observables, expected[0])
    assert_same(stderr, expected[1])
    none, streamed, _ = simulate_nest_statistics(network, **times, tau_max=20.0)
    assert none is None
    assert_same(streamed, expected[0])
    monkeypatch.setattr(spiking_nest, "EVENT_BUDGET", 300)   # ~40 spikes per ms
    budget = simulate_nest(network, **times)
    np.testing.assert_array_equal(budget.times, whole.times)
    np.testing.assert_array_equal(budget.senders, whole.senders)


def test_nest_progress_bar_per_chunk(nest, capsys):
    from fieldtheory.simulate.spiking_nest import simulate_nest

    simulate_nest(small_network(), t_max=100.0, t_burn=0.0, seed=1, progress=True)
    err = capsys.readouterr().err
    assert "NEST" in err and "1000/1000" in err


# ----- spike files -----------------------------------------------------------------------


def test_numpy_spike_file_holds_the_record(tmp_path):
    path = tmp_path / "numpy.spikes"
    result = simulate_spiking_model(*BRUNEL, t_max=200.0, t_burn=50.0, seed=2,
                                    keep_spikes=True, spikes_to=path, tau_max=20.0)
    network = result.record.network
    meta = assert_file_holds(path, result.record, network, "numpy")
    assert (meta["dt"], meta["t_burn"], meta["t_max"], meta["seed"]) == (0.1, 50.0, 200.0, 2)
    assert json.loads((tmp_path / "numpy.spikes.json").read_text()) == meta
    # the engine alone: the same spikes, written whether or not they are kept
    again = tmp_path / "again.spikes"
    _, observables, _ = simulate_spiking(network, t_max=200.0, t_burn=50.0, seed=2,
                                         keep_spikes=False, spikes_to=str(again),
                                         tau_max=20.0)
    assert_file_holds(again, result.record, network, "numpy")
    assert_same(observables, result.observables)


def test_nest_spike_file_holds_the_record(nest, tmp_path):
    """Through ``simulate_spiking_model(engine="nest")``: the file holds the kept record,
    and the streamed statistics are those of the record."""
    path = tmp_path / "nest.spikes"
    result = simulate_spiking_model(*BRUNEL, t_max=200.0, t_burn=50.0, seed=4,
                                    engine="nest", keep_spikes=True, spikes_to=path,
                                    tau_max=20.0)
    meta = assert_file_holds(path, result.record, result.record.network, "nest")
    assert meta["seed"] == 4
    observables, stderr = spike_statistics(result.record, tau_max=20.0, seed=4)
    assert_same(result.observables, observables)
    assert_same(result.stderr, stderr)


def test_writer_marks_an_interrupted_run_and_reader_checks_the_file(tmp_path):
    network = small_network()
    path = tmp_path / "cut.spikes"
    with pytest.raises(RuntimeError), SpikeWriter(path, network, t_burn=0.0, t_max=10.0,
                                                  dt=0.1, engine="numpy", seed=0) as writer:
        writer.write([0.1, 0.2], [3, 450])
        raise RuntimeError("interrupted")
    times, senders, meta = read_spikes(path)
    assert meta["complete"] is False and meta["n_spikes"] == 2
    np.testing.assert_array_equal(times, [0.1, 0.2])
    np.testing.assert_array_equal(senders, [3, 450])
    with path.open("ab") as f:   # half a record
        f.write(b"\0" * 8)
    with pytest.raises(DataFileError, match="whole number of 16-byte records"):
        read_spikes(path)
    (tmp_path / "cut.spikes.json").unlink()
    with pytest.raises(DataFileError, match="sidecar"):
        read_spikes(path)


# ----- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["numpy", "nest"])
def test_spike_file_with_trials_is_refused(tmp_path, engine):
    path = tmp_path / "trials.spikes"
    with pytest.raises(ParameterError, match=r"spikes_to .* trials = 2"):
        simulate_spiking_model(*BRUNEL, t_max=10.0, t_burn=0.0, engine=engine, trials=2,
                               spikes_to=path)
    assert not path.exists()


@pytest.mark.parametrize("engine", ["numpy", "nest"])
def test_unwritable_spike_file_is_refused_before_simulating(tmp_path, engine):
    from fieldtheory.simulate.spiking_nest import simulate_nest

    missing = tmp_path / "no" / "such" / "folder.spikes"
    for bad, match in ((missing, "no such folder"), (tmp_path, "is a directory"),
                       ("", "non-empty path")):
        with pytest.raises(OutputPathError, match=match):
            simulate_spiking_model(*BRUNEL, t_max=10.0, t_burn=0.0, engine=engine,
                                   spikes_to=bad)
    # the engines refuse too, before building anything (NEST before it is imported)
    run = simulate_spiking if engine == "numpy" else simulate_nest
    with pytest.raises(OutputPathError, match="no such folder"):
        run(small_network(), t_max=10.0, t_burn=0.0, spikes_to=missing)
    assert not missing.parent.exists()


def test_cli_spikes_to_holds_every_counted_spike(run, tmp_path):
    path = tmp_path / "spikes.bin"
    status, out, _ = run("simulate", "lif_brunel", "-p", "N_E=200", "--t-max", "100",
                         "--t-burn", "20", "--spikes-to", str(path), "--json")
    data = json.loads(out)
    assert status == 0 and data["spikes_file"] == str(path)
    times, senders, meta = read_spikes(path)
    counted = sum(p["rate"] * data["sizes"][name]
                  for name, p in data["observables"]["populations"].items()) * 0.1
    assert len(times) == round(counted) and meta["complete"]
    assert times.min() > 20.0 and times.max() <= 120.0 and senders.max() < 250
    status, _, err = run("simulate", "scs", "--spikes-to", str(path))
    assert status == 2 and "--spikes-to" in err
