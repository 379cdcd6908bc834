"""Coding schemes of wide Bayesian networks learning classification (issue 15).

van Meegen & Sompolinsky, *Coding schemes in neural networks learning classification
tasks*, Nat. Commun. 16, 3354 (2025), arXiv:2406.16689: in mean-field scaling (γ = 1) a
linear network learns an analog code, a sigmoidal (erf) one a redundant code and a ReLU
one a sparse code — each neuron of the ReLU network responds to one class.

Data: three classes of unequal sizes (3, 2, 1 patterns) with orthogonal inputs (the
shipped data set of ``bayes_*``). For each network the theory (the derived single-neuron
saddle point: closed form for the linear network, tempered SMC for erf and ReLU) and the
reference sampler (collapsed HMC, N = 512, 8 chains; ``--quick``: N = 256, 4 chains) give
the readout second moment A, the codes with their fractions and the scheme; the linear
network's mean predictor equals the lazy (γ = ½) GP predictor. ``--quick`` samples the
ReLU network only (and draws no figure).

Prints one JSON object; ``--figures DIR`` writes the per-neuron class responses of the
sampled networks (matplotlib). Run alone:
``python examples/bayesian_coding_schemes.py [--quick] [--figures DIR]``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import fieldtheory as ft
from fieldtheory.jsonout import dumps, strict
from fieldtheory.posterior_solve import simulate_posterior, solve_posterior
from fieldtheory.solvers.runtime.posterior_sampled import codes_of

MODELS = ("bayes_linear", "bayes_erf", "bayes_relu")


def responses(model: str, last, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Class responses (mean α(h) over each class) of every neuron of the final networks."""
    from fieldtheory.posterior_solve import posterior_spec

    spec, _ = posterior_spec(model)
    classes = np.argmax(y, axis=1)
    h = np.concatenate([chain["W"] for chain in last]) @ x.T / np.sqrt(x.shape[1])
    al = spec.alpha(h)
    return np.stack([al[:, classes == c].mean(axis=1) for c in range(y.shape[1])], axis=1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 256, 4 chains")
    parser.add_argument("--figures", metavar="DIR", default=None)
    args = parser.parse_args(argv)
    N, chains, samples = (256, 4, 150) if args.quick else (512, 8, 400)
    post = ft.load_model("bayes_linear").action
    x, y = post.inputs.array, post.targets.array
    test = np.vstack([x[0] + x[3], x.mean(axis=0)])  # a mixture and the data mean
    report = {"N": N, "chains": chains, "samples": samples, "networks": {}}
    sampled_last = {}
    for model in MODELS:
        theory = solve_posterior(model, test=test)
        if args.quick and model != "bayes_relu":  # --quick samples the ReLU network only
            report["networks"][model] = {"theory": _summary(theory)}
            continue
        sampler = simulate_posterior(model, N=N, samples=samples, chains=chains,
                                     test=test, seed=11)
        entry = {"theory": {"A_diagonal": np.diag(theory.observables["readout_second_moment"]),
                            "prediction_mean": theory.observables["prediction"]["mean"],
                            "method": theory.method},
                 "sampler": {"A_diagonal": np.diag(sampler.observables["readout_second_moment"]),
                             "A_stderr": np.diag(sampler.stderr["readout_second_moment"]),
                             "prediction_mean": sampler.observables["prediction"]["mean"],
                             "rhat": sampler.info["rhat"]}}
        for side, result in (("theory", theory), ("sampler", sampler)):
            if "codes" in result.observables:
                entry[side]["codes"] = result.observables["codes"]["patterns"][:4]
                entry[side]["fractions"] = result.observables["codes"]["fractions"][:4]
                entry[side]["scheme"] = result.observables["scheme"]
        if model == "bayes_linear":
            lazy = solve_posterior(model, {"gamma": 0.5}, test=test)
            entry["lazy_prediction_mean"] = lazy.observables["prediction"]["mean"]
            # the codes of the linear network: its single neuron sampled like the others',
            # and the neurons of the sampled networks by the same rule
            sampled = solve_posterior(model, method="posterior_sampled").observables
            entry["theory"].update(codes=sampled["codes"]["patterns"][:4],
                                   fractions=sampled["codes"]["fractions"][:4],
                                   scheme=sampled["scheme"])
            patterns, fractions, scheme = codes_of(responses(model, sampler.networks, x, y),
                                                   odd=True)
            entry["sampler"].update(codes=patterns[:4], fractions=fractions[:4],
                                    scheme=scheme)
        report["networks"][model] = entry
        sampled_last[model] = sampler
    print(dumps(strict(_plain(report))))
    if args.figures and len(sampled_last) == len(MODELS):
        _figures(args.figures, sampled_last, x, y)
    return 0


def _summary(theory) -> dict:
    out = {"A_diagonal": np.diag(theory.observables["readout_second_moment"]),
           "method": theory.method}
    if "codes" in theory.observables:
        out |= {"codes": theory.observables["codes"]["patterns"][:4],
                "fractions": theory.observables["codes"]["fractions"][:4],
                "scheme": theory.observables["scheme"]}
    return out


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
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), sharey=False)
    for ax, model in zip(axes, MODELS, strict=True):
        result = results[model]  # the chains' final networks
        r = responses(model, result.networks, x, y)
        scheme = codes_of(r, odd=model != "bayes_relu")[2]
        rn = r / np.maximum(np.max(np.abs(r), axis=1, keepdims=True), 1e-300)  # own scale
        order = np.lexsort((rn[:, 0], np.argmax(np.abs(rn), axis=1)))
        order = order[np.linspace(0, len(order) - 1, min(150, len(order))).astype(int)]
        ax.imshow(rn[order].T, aspect="auto", cmap="RdBu_r", interpolation="nearest",
                  vmin=-1, vmax=1)
        ax.set_title(f"{model}: {scheme}")
        ax.set_yticks(range(r.shape[1]))
        ax.set_xlabel("neuron (sorted by preferred class)")
        ax.set_ylabel("class response / max")
    Path(directory).mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(Path(directory) / "coding_schemes.png", dpi=120)


if __name__ == "__main__":
    sys.exit(main())
