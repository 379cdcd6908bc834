"""The observables schema and the streaming estimator against brute-force oracles.

The estimator sees samples one at a time and keeps O(τ_max/dτ · N) numbers; the oracles
below hold the whole record and compute every quantity directly from its definition
(fieldtheory/observables.py), or call scipy's Welch estimator.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.signal
from support.strict_json import strict_loads

from fieldtheory.errors import ParseError
from fieldtheory.observables import KEYS, Curve, Observables, StreamingEstimator

SIZES, NAMES = (30, 10), ("E", "I")
LAGS, DTAU = 6, 0.5


def _record(rng, trials: int, prefill: int, samples: int) -> np.ndarray:
    """Correlated test data (T, time, N): an AR(1) per site plus static site offsets."""
    N = sum(SIZES)
    x = np.empty((trials, prefill + samples, N))
    x[:, 0] = rng.standard_normal((trials, N))
    offsets = rng.standard_normal((trials, N))
    for k in range(1, prefill + samples):
        x[:, k] = 0.8 * x[:, k - 1] + 0.6 * rng.standard_normal((trials, N))
    return x + offsets[:, None, :] + 0.3


def _stream(x: np.ndarray, prefill: int, blocks: int) -> StreamingEstimator:
    trials, total, _ = x.shape
    est = StreamingEstimator(SIZES, NAMES, trials=trials, lags=LAGS, dtau=DTAU,
                             samples=total - prefill, blocks=blocks)
    for k in range(total):
        est.push(x[:, k], np.tanh(x[:, k]), 1 - np.tanh(x[:, k]) ** 2, record=k >= prefill)
    return est


def _brute(x: np.ndarray, prefill: int) -> dict[str, np.ndarray]:
    """Mean and autocorrelation of one trial's record (time, units), from the definition."""
    recorded = x[prefill:]
    m = recorded.mean()
    lags = []
    for lag in range(LAGS + 1):
        now, before = x[prefill:], x[prefill - lag : x.shape[0] - lag]
        lags.append(np.mean(now * before) - m * np.mean(before))
    return {"mean": m, "autocorrelation": np.array(lags)}


def test_estimator_matches_brute_force_per_population():
    rng = np.random.default_rng(1)
    x = _record(rng, trials=3, prefill=LAGS, samples=200)
    obs, err = _stream(x, LAGS, blocks=4).observables()
    edges = np.cumsum((0, *SIZES))
    per_trial = {name: [] for name in ("all", *NAMES)}
    for trial in x:
        per_trial["all"].append(_brute(trial, LAGS))
        for name, lo, hi in zip(NAMES, edges[:-1], edges[1:], strict=True):
            per_trial[name].append(_brute(trial[:, lo:hi], LAGS))
    for name, runs in per_trial.items():
        target = obs if name == "all" else obs["populations"][name]
        target_err = err if name == "all" else err["populations"][name]
        curves = np.array([r["autocorrelation"] for r in runs])
        means = np.array([r["mean"] for r in runs])
        np.testing.assert_allclose(target["autocorrelation"]["values"], curves.mean(0),
                                   rtol=1e-10)
        np.testing.assert_allclose(target["mean"], means.mean(), rtol=1e-10)
        # three trials: the standard error is the spread across them
        np.testing.assert_allclose(target_err["autocorrelation"]["values"],
                                   curves.std(0, ddof=1) / np.sqrt(3), rtol=1e-8)
        assert target["autocorrelation"]["values"][0] == target["variance"]
    phi = np.tanh(x)
    np.testing.assert_allclose(obs["mean_phi"], phi[:, LAGS:].mean(), rtol=1e-10)
    np.testing.assert_allclose(obs["mean_gain"], (1 - phi[:, LAGS:] ** 2).mean(), rtol=1e-10)


def test_single_trial_errors_come_from_blocks():
    rng = np.random.default_rng(2)
    x = _record(rng, trials=1, prefill=LAGS, samples=160)
    est = _stream(x, LAGS, blocks=4)
    obs, err = est.observables()
    blocks = []
    for b in range(4):
        # block b holds recorded samples [40b, 40b + 40); its lags reach back before it
        window = x[0, 40 * b : LAGS + 40 * (b + 1)]
        blocks.append(_brute(window, LAGS)["autocorrelation"])
    blocks = np.array(blocks)
    np.testing.assert_allclose(err["autocorrelation"]["values"],
                               blocks.std(0, ddof=1) / 2, rtol=1e-8)
    np.testing.assert_allclose(obs["autocorrelation"]["values"],
                               _brute(x[0], LAGS)["autocorrelation"], rtol=1e-10)


def test_spectrum_is_welch_in_angular_convention():
    """N·S_a(ω) = N · (scipy one-sided density)/2 at interior frequencies (the full density
    at ω = 0), Welch's estimate about the run's mean: segments are not detrended one by
    one, so the zero frequency is kept."""
    rng = np.random.default_rng(3)
    x = _record(rng, trials=1, prefill=LAGS, samples=400)
    obs, _ = _stream(x, LAGS, blocks=2).observables()
    spectrum = obs["population_spectrum"]
    segment = 2 * LAGS
    average = x[0, LAGS:].mean(axis=1)
    f, density = scipy.signal.welch(average - average.mean(), fs=1 / DTAU, window="hann",
                                    nperseg=segment, noverlap=segment // 2, detrend=False)
    N = sum(SIZES)
    np.testing.assert_allclose(spectrum["omega"], 2 * np.pi * f, rtol=1e-12)
    np.testing.assert_allclose(spectrum["values"][1:-1], N * density[1:-1] / 2, rtol=1e-10)
    np.testing.assert_allclose(spectrum["values"][0], N * density[0], rtol=1e-10)
    pop = obs["populations"]["I"]["population_spectrum"]["values"]
    average_i = x[0, LAGS:, SIZES[0]:].mean(axis=1)
    _, density_i = scipy.signal.welch(average_i - average_i.mean(), fs=1 / DTAU,
                                      window="hann", nperseg=segment,
                                      noverlap=segment // 2, detrend=False)
    np.testing.assert_allclose(pop[1:-1], SIZES[1] * density_i[1:-1] / 2, rtol=1e-10)


def test_estimator_memory_does_not_grow_with_samples():
    def size(samples):
        return StreamingEstimator((500,), ("all",), trials=2, lags=40, dtau=0.25,
                                  samples=samples, blocks=8).nbytes

    assert size(1_000) == size(100_000) == size(10_000_000)


def test_observables_round_trip_through_json():
    tau = np.arange(4) * 0.5
    inner = Observables(mean=0.1, variance=2.0,
                        autocorrelation=Curve("tau", tau, [2.0, 1.0, 0.5, 0.2]))
    obs = Observables(
        mean=0.0, variance=1.5, autocorrelation=Curve("tau", tau, [1.5, 1.0, 0.4, 0.1]),
        mean_phi=0.0, autocorrelation_phi=Curve("tau", tau, [0.5, 0.3, 0.1, 0.0]),
        mean_gain=0.6, population_spectrum=Curve("omega", [0.0, 1.0], [3.0, 1.0]),
        populations={"E": inner, "I": inner},
    )
    data = strict_loads(json.dumps(obs.to_dict()))
    assert list(data) == list(KEYS)
    assert data["autocorrelation"] == {"tau": [0.0, 0.5, 1.0, 1.5], "values": [1.5, 1.0, 0.4, 0.1]}
    back = Observables.from_dict(data)
    assert back == obs and back.to_dict() == obs.to_dict()
    assert back["populations"]["E"]["autocorrelation"]["values"][1] == 1.0
    assert list(inner) == ["mean", "variance", "autocorrelation"]
    assert "populations" not in inner and "mean_gain" not in inner
    with pytest.raises(KeyError):
        inner["mean_gain"]


def test_observables_refuse_unknown_keys_and_bad_curves():
    with pytest.raises(ParseError, match="lyapunov"):
        Observables.from_dict({"mean": 0.0, "lyapunov": 0.1})
    with pytest.raises(ParseError, match="equal length"):
        Curve("tau", [0.0, 1.0], [1.0])
    curve = Curve("tau", [0.0], [1.0])
    with pytest.raises(ValueError):
        curve["values"][0] = 2.0  # stored read-only
