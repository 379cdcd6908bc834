"""Coding schemes of wide Bayesian networks learning classification (issue 15).

van Meegen & Sompolinsky, *Coding schemes in neural networks learning classification
tasks*, Nat. Commun. 16, 3354 (2025), arXiv:2406.16689: in mean-field scaling (γ = 1) a
linear network learns an analog code, a sigmoidal (erf) one a redundant code and a ReLU
one a sparse code. The paper's glossary (its Table 1): sparse — only a small subset of
neurons exhibit codes; redundant — every code is shared by a large subset of neurons;
analog — all neurons respond to all classes with different strengths. The stated rule
(``fieldtheory.solvers.runtime.posterior_sampled``): sparse where the coding
participation ρ = (E s)²/E s² of the response energy s = Σ_c r_c² is below ⅓·m/(m + 2),
else analog where no class response is bimodal, else redundant.

Data: three classes of unequal sizes (15, 10, 5 patterns; P = d = 30) with orthogonal
inputs. For each network the theory (the derived single-neuron saddle point: closed form
for the linear network's A and kernel, the exact readout quadrature for every network's
codes and ρ — polar integration for ReLU, whose saddle point lies near the single-neuron
measure's normalisability boundary) and the reference sampler (collapsed HMC, N = 512,
4 chains × 1200 samples) give the readout second moment A, the codes with their fractions,
ρ and the scheme; the linear network's mean predictor equals the lazy (γ = ½) GP
predictor. ``--quick``: two classes of 18 and 6 patterns, the sampler on the ReLU network
only (N = 256, 4 chains × 300), no figure. About 8 minutes in full, 20 s quick.

Prints one JSON object (``reproduced``: every scheme the paper's); ``--figures DIR``
writes the per-neuron class responses of the sampled networks (matplotlib). Run alone:
``python examples/bayesian_coding_schemes.py [--quick] [--figures DIR]``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import fieldtheory as ft
from fieldtheory.ir.posterior import with_data
from fieldtheory.jsonout import dumps, strict
from fieldtheory.posterior_solve import simulate_posterior, solve_posterior
from fieldtheory.solvers.runtime.posterior_sampled import codes_of, participation

MODELS = ("bayes_linear", "bayes_erf", "bayes_relu")

#: the paper's scheme per network
EXPECTED = {"bayes_linear": "analog", "bayes_erf": "redundant", "bayes_relu": "sparse"}


def data(sizes) -> tuple[np.ndarray, np.ndarray]:
    """Orthogonal inputs (d = P, |x|²/d = 1), one-hot targets, classes of the given sizes."""
    P = sum(sizes)
    return np.sqrt(P) * np.eye(P), np.eye(len(sizes))[np.repeat(np.arange(len(sizes)), sizes)]


def responses(model, last, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Class responses (mean α(h) over each class) of every neuron of the final networks."""
    from fieldtheory.posterior_solve import posterior_spec

    spec, _ = posterior_spec(model)
    classes = np.argmax(y, axis=1)
    h = np.concatenate([chain["W"] for chain in last]) @ x.T / np.sqrt(x.shape[1])
    al = spec.alpha(h)
    return np.stack([al[:, classes == c].mean(axis=1) for c in range(y.shape[1])], axis=1)


def _codes(result) -> dict:
    out = {"codes": result.observables["codes"]["patterns"][:4],
           "fractions": result.observables["codes"]["fractions"][:4],
           "coding_participation": result.observables["coding_participation"],
           "scheme": result.observables["scheme"]}
    if "coding_participation" in result.stderr:
        out["coding_participation_stderr"] = result.stderr["coding_participation"]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="two classes (18, 6), the ReLU network sampled, N = 256")
    parser.add_argument("--figures", metavar="DIR", default=None)
    args = parser.parse_args(argv)
    sizes = (18, 6) if args.quick else (15, 10, 5)
    N, chains, samples = (256, 4, 300) if args.quick else (512, 4, 1200)
    x, y = data(sizes)
    test = np.vstack([x[0] + x[-1], x.mean(axis=0)])  # a mixture and the data mean
    report = {"classes": list(sizes), "N": N, "chains": chains, "samples": samples,
              "networks": {}}
    sampled_last = {}
    for name in MODELS:
        model = with_data(ft.load_model(name), x, y)
        # predictions on test inputs for the linear network only (its mean predictor is
        # the lazy one); the nonlinear samplers' prediction variances mix slowly at P = 30
        tests = test if name == "bayes_linear" else None
        theory = solve_posterior(model, test=tests)
        # the codes of every network by the readout quadrature (the linear network's A
        # and kernel come from its closed form above; the quadrature meets it exactly)
        coded = (theory if "codes" in theory.observables else
                 solve_posterior(model, method="posterior_quadrature"))
        entry = {"theory": {"A_diagonal": np.diag(theory.observables["readout_second_moment"]),
                            "method": theory.method, **_codes(coded)}}
        if name == "bayes_linear":
            entry["theory"]["prediction_mean"] = theory.observables["prediction"]["mean"]
            lazy = solve_posterior(model, {"gamma": 0.5}, test=test)
            entry["lazy_prediction_mean"] = lazy.observables["prediction"]["mean"]
        if not args.quick or name == "bayes_relu":
            sampler = simulate_posterior(model, N=N, samples=samples, chains=chains,
                                         test=tests, seed=11)
            entry["sampler"] = {
                "A_diagonal": np.diag(sampler.observables["readout_second_moment"]),
                "A_stderr": np.diag(sampler.stderr["readout_second_moment"]),
                "rhat": sampler.info["rhat"]}
            if tests is not None:
                entry["sampler"]["prediction_mean"] = sampler.observables["prediction"]["mean"]
            if "codes" in sampler.observables:
                entry["sampler"] |= _codes(sampler)
            else:  # the linear network: its neurons by the same rule
                r = responses(model, sampler.networks, x, y)
                patterns, fractions, scheme = codes_of(r, odd=True)
                entry["sampler"] |= {"codes": patterns[:4], "fractions": fractions[:4],
                                     "coding_participation": participation(r),
                                     "scheme": scheme}
            sampled_last[name] = (model, sampler)
        report["networks"][name] = entry
    report["reproduced"] = all(
        side["scheme"] == EXPECTED[name] for name, entry in report["networks"].items()
        for key, side in entry.items() if key in ("theory", "sampler"))
    print(dumps(strict(_plain(report))))
    if args.figures and len(sampled_last) == len(MODELS):
        _figures(args.figures, sampled_last, x, y)
    return 0


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _figures(directory: str, results, x, y) -> None:
    """Per-neuron class responses of the sampled networks (one panel per network)."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 4, figsize=(14.5, 3.4), sharey=False)
    share = axes[3]
    for ax, name in zip(axes[:3], MODELS, strict=True):
        model, result = results[name]  # the chains' final networks
        r = responses(model, result.networks, x, y)
        scheme = codes_of(r, odd=name != "bayes_relu")[2]
        rn = r / np.maximum(np.max(np.abs(r), axis=1, keepdims=True), 1e-300)  # own scale
        order = np.lexsort((rn[:, 0], np.argmax(np.abs(rn), axis=1)))
        order = order[np.linspace(0, len(order) - 1, min(150, len(order))).astype(int)]
        ax.imshow(rn[order].T, aspect="auto", cmap="RdBu_r", interpolation="nearest",
                  vmin=-1, vmax=1)
        ax.set_title(f"{name}: {scheme}")
        ax.set_yticks(range(r.shape[1]))
        ax.set_xlabel("neuron (sorted by preferred class)")
        ax.set_ylabel("class response / max")
        # how many neurons carry the responses: the share of the response energy
        # s = Σ_c r_c² held by the most active fraction of the neurons
        energy = np.sort(np.sum(r**2, axis=1))[::-1]
        held = np.cumsum(energy) / energy.sum()
        share.plot(np.arange(1, held.size + 1) / held.size, held, label=f"{name}: {scheme}")
    share.plot([0, 1], [0, 1], color="0.7", lw=0.8)
    share.set_xscale("log")
    share.set_xlabel("fraction of neurons (most active first)")
    share.set_ylabel("share of the response energy")
    share.legend(fontsize=8)
    Path(directory).mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(Path(directory) / "coding_schemes.png", dpi=120)


if __name__ == "__main__":
    sys.exit(main())
