"""Gaussian expectations of the stationary runtime against independent quadratures.

One-dimensional expectations are checked against mpmath; the two-dimensional ones against
nested adaptive Gauss–Kronrod (scipy.integrate.quad), because nested mpmath quadrature
takes ~10 s per value. Tanh at large Δ0 is the hard case (poles at ±iπ/2).
"""

from __future__ import annotations

import ast
import importlib
import sys

import mpmath as mp
import numpy as np
import pytest
from scipy import integrate

from fieldtheory.codegen.generate import runtime_source
from fieldtheory.solvers.runtime import stationary as st

mp.mp.dps = 20


def sech2(x):
    return 1.0 / np.cosh(x) ** 2


def mp_normal(f):
    """E[f(z)], z ~ N(0, 1), by mpmath quadrature split at 0."""
    return mp.quad(lambda z: f(z) * mp.exp(-z**2 / 2), [-mp.inf, 0, mp.inf]) / mp.sqrt(2 * mp.pi)


def quad_normal(f):
    """E[f(z)], z ~ N(0, 1), by adaptive Gauss–Kronrod on [−12, 12]."""
    value = integrate.quad(lambda z: f(z) * np.exp(-z * z / 2), -12, 12, points=[0],
                           epsabs=1e-13, epsrel=1e-11, limit=200)[0]
    return value / np.sqrt(2 * np.pi)


def quad_pair(f, mean, delta0, delta):
    """E[f(u)f(v)] for means μ, variances Δ0, covariance Δ ≥ 0 (nested adaptive quadrature)."""
    shared, private = np.sqrt(delta), np.sqrt(delta0 - delta)
    return quad_normal(lambda z: quad_normal(lambda w: f(mean + shared * z + private * w)) ** 2)


@pytest.mark.parametrize("name", ["stationary", "maps", "two_time", "multi", "monte_carlo",
                                  "kernel"])
def test_runtime_imports_only_numpy_scipy_and_stdlib(name):
    module = importlib.import_module(f"fieldtheory.solvers.runtime.{name}")
    # what the code generator inlines: the shared runtime code, then the module
    source = runtime_source(module)
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import in the runtime"
            roots.add(node.module.split(".")[0])
    assert roots <= set(sys.stdlib_module_names) | {"numpy", "scipy"}, roots


@pytest.mark.parametrize(("mean", "delta0", "delta"),
                         [(0.0, 1.9, 1.0), (0.3, 9.0, 4.0), (0.0, 9.0, 8.9), (0.5, 16.0, 2.0)])
def test_pair_mean_tanh_matches_mpmath(mean, delta0, delta):
    value = st.gaussian_pair_mean(np.tanh, np.tanh, mean, delta0, np.array([delta]))[0]
    exact = quad_pair(np.tanh, mean, delta0, delta)
    assert abs(value - exact) <= 1e-9 * abs(exact)


def test_negative_covariance_is_the_mirror_image():
    # E[φ(u)φ(v)] with covariance −Δ equals E[φ(u)φ(−v + 2μ)]; for odd φ and μ = 0, −C(Δ)
    values = st.gaussian_pair_mean(np.tanh, np.tanh, 0.0, 4.0, np.array([-1.5, 1.5]))
    assert values[0] == pytest.approx(-values[1], abs=1e-15)


def test_gain_correlation_and_mean_match_mpmath():
    delta0, delta, mean = 6.0, 3.0, 0.2
    value = st.gaussian_pair_mean(sech2, sech2, mean, delta0, delta)
    exact = quad_pair(sech2, mean, delta0, delta)
    assert abs(float(value) - exact) <= 1e-9 * exact
    gain = st.gaussian_mean(sech2, mean, delta0)
    exact_gain = mp_normal(lambda z: mp.sech(mean + mp.sqrt(delta0) * z) ** 2)
    assert abs(float(gain) - float(exact_gain)) <= 1e-9 * float(exact_gain)


@pytest.mark.parametrize(("mean", "delta0"), [(0.0, 9.0), (0.7, 25.0)])
def test_second_moment_is_the_equal_time_pair_mean(mean, delta0):
    # covariance Δ = Δ0: the private part vanishes; E[tanh(u)²] against mpmath
    value = st.gaussian_pair_mean(np.tanh, np.tanh, mean, delta0, delta0)
    exact = mp_normal(lambda z: mp.tanh(mean + mp.sqrt(delta0) * z) ** 2)
    assert abs(float(value) - float(exact)) <= 1e-9 * float(exact)


def test_antiderivative_of_tanh_is_log_cosh():
    x = np.linspace(-30, 30, 241)
    exact = np.logaddexp(x, -x) - np.log(2.0)
    assert np.abs(st.antiderivative(np.tanh)(x) - exact).max() <= 1e-12


def test_gaussian_mean_is_vectorised_over_variances():
    variances = np.array([0.0, 0.5, 4.0, 9.0])
    together = st.gaussian_mean(np.tanh, 0.4, variances)
    for variance, value in zip(variances, together, strict=True):
        exact = mp_normal(lambda z, v=variance: mp.tanh(0.4 + mp.sqrt(v) * z))
        assert abs(value - float(exact)) <= 1e-9 * abs(float(exact))


def test_runtime_runs_from_its_source_text():
    # the code generator inlines the source text: it must work in a fresh namespace, not
    # registered in sys.modules (dont_inherit: this file's own __future__ flags stay out)
    namespace = {"__name__": "generated_solver"}
    exec(compile(runtime_source(st), "<generated>", "exec", dont_inherit=True), namespace)
    static, _ = namespace["solve_static"](np.tanh, sech2, 2.0)
    assert static.delta0 == pytest.approx(st.solve_static(np.tanh, sech2, 2.0)[0].delta0,
                                          rel=1e-14)
