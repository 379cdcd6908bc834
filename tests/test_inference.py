"""Issue 17: inference of (g, D) from recorded activity, prediction as a Gaussian process,
data files, and their command line.

Oracles: simulations of the declared networks at known parameters (the estimates must
recover them within three bootstrap standard errors, which must be small); the exact
Ornstein–Uhlenbeck conditional law (a Markov process: mean x₀e^{−at}, variance
D(1 − e^{−2at})/2a) for the Gaussian-process prediction; the nominal 2σ coverage of
held-out data. The full-size runs of the issue (N = 1000, T = 1000) are in
``examples/large_deviations_inference.py`` and quoted in docs/models/large-deviations.md.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import fieldtheory as ft
from fieldtheory.activity import activity, load_activity, save_activity
from fieldtheory.cli import main
from fieldtheory.errors import DataFileError, ParameterError
from fieldtheory.inference import infer, predict_series

Z = 3.0  # the issue's criterion: within three standard errors
# short runs: N = 400 units over T = 300, sampled every 0.05
RUN = {"N": 400, "t_max": 300.0, "t_burn": 50.0, "dtau": 0.05, "record": True}


def _data(model, params, seed=1, **run):
    result = ft.simulate(model, params, seed=seed, **{**RUN, **run})
    return activity(result.samples, result.dtau, result.labels)


def _check(result, truth):
    for name, value in truth.items():
        estimate, se = result.estimates[name], result.estimates_stderr[name]
        assert abs(estimate - value) <= Z * se + 1e-12, (name, estimate, value, se)


@pytest.mark.parametrize("model, g, D", [("scs_erf", 1.5, 0.0), ("scs_erf", 1.5, 0.5),
                                         ("bistable", 0.6, 0.1)])
def test_inference_recovers_g_and_D(model, g, D):
    """φ = erf(√π x/2), chaotic (D = 0), noisy, and with the bistable potential s = 1.5
    (a nonlinear U' in the residual ẋ + U'(x))."""
    result = infer(model, _data(model, {"g": g, "D": D}), bootstrap=50)
    _check(result, {"g": g, "D": D, "g^2": g**2})
    assert result.estimates_stderr["g"] < 0.03 * g  # the issue's bound (at N = 1000 there)
    # both estimators agree within their errors
    assert abs(result.regression["g"] - g) <= Z * result.regression_stderr["g"]
    assert np.isfinite(result.minus_N_H)


def test_two_populations_recover_the_variance_blocks():
    """``ei`` with the g² blocks (EE, EI, IE, II) = (4, 0, 0, 6) — two uncoupled
    populations — and (0.5, 1.5, 2.5, 3.5); zero mean couplings, D = 0.1."""
    zero = {f"J0_{a}{b}": 0.0 for a in "EI" for b in "EI"}
    for blocks in ((4.0, 0.0, 0.0, 6.0), (0.5, 1.5, 2.5, 3.5)):
        names = ("EE", "EI", "IE", "II")
        gains = {f"g_{k}": math.sqrt(v) for k, v in zip(names, blocks, strict=True)}
        data = _data("ei", {**zero, **gains, "D": 0.1})
        result = infer("ei", data, zero, bootstrap=50)
        _check(result, {**{f"{k}^2": v**2 for k, v in gains.items()}, "D": 0.1})
        assert result.params["f_E"] == pytest.approx(0.8)  # the labels' counts


def test_zero_coupling_gives_g_compatible_with_zero():
    result = infer("bistable", _data("bistable", {"g": 0.0, "D": 0.1}), bootstrap=50)
    assert result.estimates["g"] <= Z * result.estimates_stderr["g"]
    _check(result, {"D": 0.1})


def test_regression_on_time_segments_and_the_model_comparison():
    """Bootstrap over time segments gives errors too; the likelihood prefers the true
    potential: −N·H is larger for ``bistable`` than for a model with U = x²/2 (s = 0)."""
    data = _data("bistable", {"g": 0.6, "D": 0.1}, seed=2)
    true = infer("bistable", data, bootstrap=20, resample="time")
    assert true.estimates_stderr["g"] > 0
    _check(true, {"g": 0.6, "D": 0.1})
    wrong = infer("bistable", data, {"s": 0.0}, bootstrap=0)
    assert wrong.estimates_stderr["g"] is None and wrong.undefined
    assert true.minus_N_H > wrong.minus_N_H


def ou_model(a=2.0, D=0.5):
    p = ft.parameters(a=(a, "positive"), D=(D, "positive"))
    x = ft.Field("x")
    action = ft.langevin(drift={x: -p.a * x(ft.t)}, noise={x: p.D}, parameters=p)
    return ft.Model("ou", action, "independent OU units")


def test_prediction_of_an_ou_unit_is_its_exact_conditional_law():
    """For a Markov (OU) unit the Gaussian-process prediction from any history must be
    the exact conditional law given the last value."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 400))
    data = activity(x, 0.05)
    a, D = 2.0, 0.5
    p = predict_series(ou_model(a, D), data, unit=1, horizon=1.0, at=10.0, estimate=False)
    t = p.t - 10.0
    x0 = x[1, 200]
    # the DMFT's C(τ) here comes from the multi runtime's lattice: its own error against
    # D e^{−a|τ|}/2a sets the tolerance (about 1.4e-4 of C(0))
    theory = ft.solve(ou_model(a, D), {}, tau_max=1.0, dtau=0.05).observables
    exact = D / (2 * a) * np.exp(-a * np.asarray(theory["autocorrelation"]["tau"]))
    error = np.max(np.abs(theory["autocorrelation"]["values"] - exact)) / exact[0]
    assert error < 1e-3
    np.testing.assert_allclose(p.mean, x0 * np.exp(-a * t), rtol=0,
                               atol=3 * error * abs(x0) + 1e-9)
    np.testing.assert_allclose(p.variance, D / (2 * a) * -np.expm1(-2 * a * t), rtol=0,
                               atol=3 * error * D / (2 * a) + 1e-9)
    assert p.observed[0] == x0 and p.observed[-1] == x[1, 220]


def test_prediction_variance_and_held_out_coverage():
    """The variance vanishes at the observed time and grows with the horizon towards C(0);
    held-out data fall inside the 2σ band at the nominal rate 95.4 %, within three
    binomial standard errors (30 units × 4 horizons, spaced beyond the correlation
    time)."""
    data = _data("scs_erf", {"g": 1.5, "D": 0.1}, N=300)
    z = []
    for unit in range(0, 300, 10):
        p = predict_series("scs_erf", data, unit, 10.0, at=250.0)
        assert p.variance[0] < 1e-6 * p.info["variance_limit"]
        assert np.all(np.diff(p.variance[:40]) > 0)  # grows over the correlation time
        assert p.variance[-1] == pytest.approx(p.info["variance_limit"], rel=0.1)
        picks = [round(h / 0.05) for h in (0.5, 2.0, 5.0, 10.0)]
        z += [(p.observed[k] - p.mean[k]) / math.sqrt(p.variance[k]) for k in picks]
    inside = np.mean(np.abs(z) < 2)
    nominal = math.erf(2 / math.sqrt(2))
    assert abs(inside - nominal) <= 3 * math.sqrt(nominal * (1 - nominal) / len(z))


def test_bad_data_files(tmp_path):
    good = np.random.default_rng(0).standard_normal((4, 300))
    cases = {
        "missing": ({"x": good}, "missing key 'dt'"),
        "nan": ({"x": np.where(np.arange(300) == 7, np.nan, good), "dt": 0.1},
                r"x\[0, 7\] is nan"),
        "labels": ({"x": good, "dt": 0.1, "populations": np.zeros(3, int)},
                   "one label per unit"),
        "dt": ({"x": good, "dt": -1.0}, "positive"),
    }
    for name, (arrays, message) in cases.items():
        path = tmp_path / f"{name}.npz"
        np.savez(path, **arrays)
        with pytest.raises(DataFileError, match=message):
            load_activity(path)
    with pytest.raises(DataFileError, match="no such file"):
        load_activity(tmp_path / "absent.npz")
    short = save_activity(tmp_path / "short.npz", good[:, :100], 0.1)
    with pytest.raises(DataFileError, match="at least 4 segments"):
        infer("scs_erf", short)
    two = save_activity(tmp_path / "two.npz", good, 0.1, [0, 0, 1, 2])
    with pytest.raises(DataFileError, match="label 2"):
        infer("ei", two)
    with pytest.raises(ParameterError, match="unit = 9"):
        predict_series("scs_erf", two, 9, 1.0)
    with pytest.raises(ParameterError, match="rho"):
        infer("scs_erf", save_activity(tmp_path / "ok.npz", good, 0.1), {"rho": 0.5})


def test_command_line_save_infer_predict(tmp_path, capsys):
    data = tmp_path / "data.npz"
    assert main(["simulate", "scs_erf", "-p", "g=1.5", "-p", "D=0.5", "-N", "200",
                 "--t-max", "150", "--dtau", "0.05", "--save", str(data), "--json",
                 "--no-progress"]) == 0
    saved = json.loads(capsys.readouterr().out)["saved"]
    assert saved["units"] == 200 and saved["samples"] == 3000 and saved["dt"] == 0.05
    recorded = load_activity(data)
    assert recorded.x.shape == (200, 3000) and recorded.dt == 0.05
    assert main(["infer", "scs_erf", str(data), "--bootstrap", "10", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"model", "params", "N", "observables", "stderr", "estimates",
                        "estimates_stderr", "model_comparison"}
    assert set(out["estimates"]) == {"g", "g^2", "D"} == set(out["estimates_stderr"])
    assert isinstance(out["model_comparison"]["minus_N_H"], float)
    assert main(["predict-series", "scs_erf", str(data), "--unit", "0", "--horizon", "2",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["t"]) == len(out["mean"]) == len(out["variance"]) == 41
    assert out["observed"][1] is None  # the record ends at the prediction's start
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((3, 10)))
    assert main(["infer", "scs_erf", str(bad)]) == 2
    assert "missing key 'dt'" in capsys.readouterr().err


def variant():
    """A network declared here, with parameters in every kind of term: a nonlinear drift
    (b tanh x), the leak (a), the noise (σ²), the coupling variance ((g/2)²) and an input."""
    p = ft.parameters(a=(1.5, "positive"), b=(0.5, "real"), g=(3.0, "nonnegative"),
                      sigma=(0.4, "nonnegative"), I=(0.2, "real"))
    x, J, t = ft.Field("x"), ft.Coupling("J"), ft.t
    action = ft.langevin(
        drift={x: -p.a * x(t) + p.b * ft.tanh(x(t)) + J @ ft.erf_sqrtpi(x(t)) + p.I},
        noise={x: p.sigma**2}, couplings={J: ft.Gaussian(mean=0, variance=(p.g / 2) ** 2)},
        parameters=p)
    return ft.Model("variant", action, "a declared variant")


def test_inference_on_a_declared_variant():
    """The spectral relation is read off the derived site: U' = a x − b tanh x, noise σ²,
    input covariance (g/2)² C_φ; the data determine g and σ (a, b, I known)."""
    model = variant()
    truth = {"g": 3.0, "sigma": 0.4}
    # the simulator holds the nonlinear drift over a step (weak order 1): at the default
    # dt = 0.01 the data's σ² is ≈ 0.5 % low, two of its standard errors; dt = 0.0025
    data = _data(model, truth, dt=0.0025)
    result = infer(model, data, bootstrap=50)
    assert set(result.estimates) == {"g", "g^2", "sigma", "sigma^2"}
    _check(result, {**truth, "g^2": 9.0, "sigma^2": 0.16})
    # a wrong known parameter (b) is seen by the likelihood
    wrong = infer(model, data, {"b": 0.0}, bootstrap=0)
    assert result.minus_N_H > wrong.minus_N_H
