"""The condensate limit of a ReLU network's single-neuron saddle point (issue 15,
:mod:`fieldtheory.solvers.runtime.readout_condensate`): against the exact polar solution
where that converges, the hand-over after a polar stall, the prediction's condensate share,
and the refusals."""

from __future__ import annotations

import numpy as np
import pytest

import fieldtheory as ft
from fieldtheory.ir.posterior import with_data
from fieldtheory.posterior_solve import solve_posterior
from fieldtheory.solvers.runtime import posterior_quadrature as pq


def _classes(sizes):
    P = sum(sizes)
    x = np.sqrt(P) * np.eye(P)
    y = np.eye(len(sizes))[np.repeat(np.arange(len(sizes)), sizes)]
    return x, y


def _solve(model, readout, **kwargs):
    return solve_posterior(model, method="posterior_quadrature",
                           options={"readout": readout, "samples": 4000, "replicas": 2},
                           **kwargs)


def test_condensate_limit_meets_the_exact_polar_saddle_point():
    """Two classes of 16 and 12 orthogonal patterns: the polar integration converges to
    the exact saddle point with the 12-pattern class's needle at a margin ~1e-4; the
    condensate formulation pins that class on its bound (the other stays free: an active
    set) and must meet the exact solution to the limit's stated orders — q for A, √q for
    the kernel — with q its implied margin (measured: A to 2e-4 relative, q = 1.1e-4,
    the kernel to 7e-3 against √q·max K = 1.4e-2). The codes' fractions are
    the core's (draws: within their Monte-Carlo error of the exact run's), the coding
    participation is 0 — the paper's sparse code."""
    model = with_data(ft.load_model("bayes_relu"), *_classes([16, 12]))
    exact = _solve(model, "polar")
    limit = _solve(model, "condensate")
    assert exact.info["grid"]["integration"] == "polar"
    assert limit.info["grid"]["integration"] == "condensate"
    cond = limit.info["condensate"]
    assert cond["pinned"] == [True, False] and cond["weights"][0] > 0
    assert cond["weights"][1] == 0 and cond["implied_margin"][1] is None
    assert limit.info["residual"] < 1e-9
    q = cond["implied_margin"][0]
    root_q = np.sqrt(q)
    # the kernel's entries across classes miss O(√q) terms; A's share of the needle is
    # exact up to its O(1/r²) = O(q) ratio corrections (stated prefactor 10)
    K, K_exact = (np.asarray(r.observables["kernel_posterior"]) for r in (limit, exact))
    np.testing.assert_allclose(K, K_exact, rtol=0, atol=root_q * np.max(np.abs(K_exact)))
    A, A_exact = (np.asarray(r.observables["readout_second_moment"]) for r in (limit, exact))
    np.testing.assert_allclose(A, A_exact, rtol=0, atol=10 * q * np.max(np.abs(A_exact)))
    assert limit.observables["coding_participation"] == 0.0
    assert limit.observables["scheme"] == exact.observables["scheme"] == "sparse"
    codes = {tuple(p): f for p, f in zip(*limit.observables["codes"].values(), strict=True)}
    errors = dict(zip(map(tuple, limit.observables["codes"]["patterns"]),
                      limit.stderr["codes"]["fractions"], strict=True))
    for p, f in zip(*exact.observables["codes"].values(), strict=True):
        if f > 0.05:
            e = np.hypot(errors[tuple(p)], dict(zip(
                map(tuple, exact.observables["codes"]["patterns"]),
                exact.stderr["codes"]["fractions"], strict=True))[tuple(p)])
            assert abs(codes[tuple(p)] - f) < 4 * e + root_q * f, (p, codes[tuple(p)], f)


def test_a_polar_stall_hands_over_to_the_condensate_limit():
    """Two classes of 20 and 14 patterns: the polar Newton stalls (the 14-pattern class's
    needle heads for margins ~1e-5); ``readout="auto"`` then solves the condensate limit
    from where it stopped and keeps the stall in ``info.condensate.after``. On training
    inputs as test inputs the mean prediction is the target (T = 0) — the condensate's
    share of it is the closed form, the core's from draws, so the two together must meet
    y within the draws' error; N·Var is not derived in the limit and is left out, said
    in ``info.prediction`` and by the CLI's summary."""
    from fieldtheory.cli.format import format_posterior

    x, y = _classes([20, 14])
    model = with_data(ft.load_model("bayes_relu"), x, y)
    out = _solve(model, "auto", test=x[[0, 25, 33]])
    cond = out.info["condensate"]
    assert out.info["grid"]["integration"] == "condensate"
    assert "stall" in cond["after"] and out.info["residual"] < 1e-9
    assert min(cond["weights"]) >= 0 and any(cond["pinned"])
    pinned_q = [q for q in cond["implied_margin"] if q is not None]
    assert max(pinned_q) * cond["cap"] ** 2 < 0.5
    mean = np.asarray(out.observables["prediction"]["mean"])
    err = np.asarray(out.stderr["prediction"]["mean"])
    assert np.all(np.abs(mean - y[[0, 25, 33]]) < 4 * err + 1e-12), (mean, err)
    assert "variance" not in out.observables["prediction"]
    assert "N·Var is not derived" in out.info["prediction"]
    text = format_posterior(out.to_json())
    assert "prediction.variance: not derived" in text


def test_condensate_refusals():
    """The limit needs a one-sided homogeneous α (ReLU): the linear readout (both slopes)
    and erf (not homogeneous) are refused by name."""
    from fieldtheory.solvers.runtime.common import SolverInputError

    x, y = _classes([4, 3])
    for name in ("bayes_linear", "bayes_erf"):
        model = with_data(ft.load_model(name), x, y)
        with pytest.raises((SolverInputError, ft.errors.FieldTheoryError),
                           match=r"condensate|homogeneous"):
            _solve(model, "condensate")


def test_declared_network_in_the_condensate_limit():
    """A posterior declared in the test (tests/test_posterior.py's ``declared``: readout
    c·a·ReLU(h), σ_a = s·q, input variance sw², T = 0.002) on two classes of 16 and 12
    orthogonal inputs of different norms (κ differs between the classes): the 12-pattern
    class condenses (the polar Newton stalls on this network — measured, margin 0.06).
    The gain moved into the prior — (c, s) = (1.5, 0.8) and (1, 1.2) are one network —
    must leave c²A, the kernel and c²W unchanged, and the saddle point must hold; so must
    the mirrored readout (the other side of a one-sided α)."""
    from test_posterior import declared

    P = 28
    norms = np.where(np.arange(P) < 16, 1.0, 1.15) * np.sqrt(P)
    y = np.eye(2)[np.repeat([0, 1], [16, 12])]
    model = declared(lambda a, h, c: c * a * ft.relu(h), x=np.eye(P) * norms[:, None], y=y)
    runs = {c: solve_posterior(model, {"c": c, "s": s, "T": 0.002},
                               method="posterior_quadrature",
                               options={"readout": "condensate", "samples": 2000,
                                        "replicas": 2})
            for c, s in ((1.5, 0.8), (1.0, 1.2))}
    for c, run in runs.items():
        assert run.info["grid"]["integration"] == "condensate", c
        assert run.info["residual"] < 1e-9
        assert run.info["condensate"]["pinned"] == [False, True]
    tol = 2 * pq.READOUT_GRID_TOLERANCE     # the cubature's tolerance, twice
    np.testing.assert_allclose(
        1.5**2 * np.asarray(runs[1.5].observables["readout_second_moment"]),
        runs[1.0].observables["readout_second_moment"], rtol=tol, atol=tol)
    np.testing.assert_allclose(runs[1.5].observables["kernel_posterior"],
                               runs[1.0].observables["kernel_posterior"], rtol=tol, atol=tol)
    W = {c: np.asarray(r.info["condensate"]["weights"]) for c, r in runs.items()}
    np.testing.assert_allclose(1.5**2 * W[1.5], W[1.0], rtol=tol, atol=tol)
    # the mirrored readout −c·a·ReLU(−h) (growing side h < 0: the needles along −v̂) is
    # the same network under (a, h) → (−a, −h): the same A, kernel and weights
    mirrored = solve_posterior(
        declared(lambda a, h, c: -c * a * ft.relu(-h), x=np.eye(P) * norms[:, None], y=y),
        {"c": 1.5, "s": 0.8, "T": 0.002}, method="posterior_quadrature",
        options={"readout": "condensate", "samples": 2000, "replicas": 2})
    assert mirrored.info["grid"]["integration"] == "condensate"
    for key in ("readout_second_moment", "kernel_posterior"):
        np.testing.assert_allclose(mirrored.observables[key], runs[1.5].observables[key],
                                   rtol=tol, atol=tol)
    np.testing.assert_allclose(mirrored.info["condensate"]["weights"], W[1.5],
                               rtol=tol, atol=tol)
