"""Time the Bayesian-network saddle points and the reference sampler (issue 15).

Prints one JSON object:

* the linear closed form (``bayes_linear``, T = 0) at P = 30, 300, 3000 patterns in
  d = P dimensions (``--quick``: 30, 300), each as seconds and as a ratio to one Cholesky
  factorisation of the P × P input kernel in the same process (its floor), and with the
  N·Var of one test prediction for P ≤ 300;
* the nonlinear single-neuron saddle point (``bayes_erf``, ``bayes_relu``) at P = 30 and 90
  (three classes of unequal sizes, orthogonal inputs) by each of its runtimes, the readout
  quadrature and the tempered SMC (and, for ReLU, the quadrature's condensate limit asked
  for directly, ``readout="condensate"``), as seconds and as a ratio to the linear closed
  form at the same P; a failure is reported with its message;
* the collapsed-HMC sampler at N = 512 (P = d = 30, three outputs, ``bayes_linear`` and
  ``bayes_erf``, 4 chains × 400 samples, 16 leapfrog steps): effective samples of the
  kernel trace per second, the split R̂ and the acceptance.

    python benchmarks/bayes.py [--quick]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy import linalg
from timing import timed

import fieldtheory as ft
from fieldtheory.ir.posterior import with_data
from fieldtheory.posterior_solve import posterior_spec, solve_posterior


def data(P: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """P orthogonal patterns (d = P, |x|²/d = 1) in three classes of sizes ≈ 1/2, 1/3, 1/6."""
    sizes = [P // 2, P // 3, P - P // 2 - P // 3]
    x = np.sqrt(P) * np.eye(P)
    y = np.eye(3)[np.repeat(np.arange(3), sizes)]
    return x, y


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    out: dict = {"linear": {}, "nonlinear": {}, "sampler": {}}
    for P in (30, 300) if args.quick else (30, 300, 3000):
        x, y = data(P)
        model = with_data(ft.load_model("bayes_linear"), x, y)
        K = posterior_spec(model)[0].kernel
        floor, _ = timed(lambda K=K: linalg.cho_factor(K), repeat=3)
        seconds, _ = timed(lambda m=model: solve_posterior(m), repeat=2)
        out["linear"][str(P)] = {"solve_s": seconds, "cholesky_s": floor,
                                 "solve_over_cholesky": seconds / floor}
        if P <= 300:  # N·Var of one prediction: (P m)² fluctuation matrices
            predict, _ = timed(lambda m=model, t=x[:1]: solve_posterior(m, test=t))
            out["linear"][str(P)]["solve_with_prediction_s"] = predict
    for name in ("bayes_erf", "bayes_relu"):
        for P in (30,) if args.quick else (30, 90):
            x, y = data(P)
            model = with_data(ft.load_model(name), x, y)
            linear, _ = timed(lambda x=x, y=y: solve_posterior(
                with_data(ft.load_model("bayes_linear"), x, y)), repeat=2)
            runs = [("posterior_quadrature", {}), ("posterior_sampled", {})]
            if name == "bayes_relu":   # the condensate limit asked for directly
                runs.append(("posterior_quadrature", {"readout": "condensate"}))
            for method, options in runs:
                try:
                    seconds, result = timed(lambda m=model, k=method, o=options:
                                            solve_posterior(m, method=k, options=o))
                    entry = {"solve_s": seconds, "over_linear": seconds / linear,
                             "scheme": result.observables["scheme"],
                             "iterations": result.info["iterations"],
                             "integration": (result.info.get("grid") or {}).get(
                                 "integration")}
                except ft.errors.FieldTheoryError as error:
                    entry = {"error": str(error)}
                key = f"{name}_P{P}_{method}" + ("_condensate" if options else "")
                out["nonlinear"][key] = entry
    from fieldtheory.simulate.posterior_sampler import sample_posterior

    x, y = data(30)
    for name in ("bayes_linear", "bayes_erf"):
        spec, _ = posterior_spec(with_data(ft.load_model(name), x, y))
        result = sample_posterior(x, y, spec.alpha, spec.dalpha, sigma_w=1.0, sigma_a=1.0,
                                  N=512, samples=100 if args.quick else 400, chains=4,
                                  rhat_max=np.inf, seed=1)
        d = result.diagnostics
        out["sampler"][name] = {"effective_samples_per_second": d["effective_samples_per_second"],
                                "effective_samples": d["effective_samples"],
                                "seconds": d["seconds"], "rhat": d["rhat"],
                                "acceptance": d["acceptance"]}
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
