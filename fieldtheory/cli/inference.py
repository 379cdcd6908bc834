"""``fieldtheory infer``, ``predict-series`` and ``rate-function``: parameters and
predictions from recorded activity, and the fluctuations of q (issue 17)."""

from __future__ import annotations

import argparse

from fieldtheory.cli.base import (
    EXIT_OK,
    add_model_argument,
    command,
    model_with_options,
    nonnegative_integer,
    positive_integer,
    positive_number,
)
from fieldtheory.jsonout import dumps
from fieldtheory.parsing import parse_assignments


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("data", metavar="DATA.npz",
                        help="recorded activity: x (units × samples), dt, optional "
                             "populations (an integer label per unit); `simulate --save` "
                             "writes one")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a known parameter (repeatable; the estimated ones only start "
                             "the fit)")


def _infer_arguments(parser: argparse.ArgumentParser) -> None:
    _data_arguments(parser)
    parser.add_argument("--segment", type=positive_integer, default=None, metavar="SAMPLES",
                        help="Welch segment length in samples (default: up to 512, at "
                             "least 8 segments)")
    parser.add_argument("--omega-max", type=positive_number, default=None,
                        help="highest angular frequency used (default 1/dt)")
    parser.add_argument("--bootstrap", type=nonnegative_integer, default=200,
                        help="bootstrap replicates for the standard errors (default 200)")
    parser.add_argument("--resample", choices=("units", "time"), default="units",
                        help="bootstrap over units (within populations) or time segments")
    parser.add_argument("--seed", type=nonnegative_integer, default=0,
                        help="seed of the bootstrap")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


@command("infer", "infer coupling variances and noise from recorded activity",
         _infer_arguments)
def infer_command(args: argparse.Namespace) -> int:
    """Estimates (Whittle likelihood), the non-negative regression, their bootstrap
    errors, and −N·H at the estimate."""
    from fieldtheory.inference import infer

    model = model_with_options(args)
    result = infer(model, args.data, parse_assignments(args.param), segment=args.segment,
                   omega_max=args.omega_max, bootstrap=args.bootstrap,
                   resample=args.resample, seed=args.seed)
    data = result.to_json()
    if args.json:
        print(dumps(data))
        return EXIT_OK
    print(f"model: {result.model}  data: {result.info['units']} units × "
          f"{result.info['samples']} samples, dt = {result.info['dt']:g}")
    for key, value in data["estimates"].items():
        print(f"{key} = {value} ± {data['estimates_stderr'][key]}   (regression "
              f"{data['regression'][key]} ± {data['regression_stderr'][key]})")
    print(f"-N·H at the estimate: {result.minus_N_H:.6g}")
    return EXIT_OK


def _predict_series_arguments(parser: argparse.ArgumentParser) -> None:
    _data_arguments(parser)
    parser.add_argument("--unit", type=nonnegative_integer, required=True, metavar="i",
                        help="the unit to predict (0-based row of x)")
    parser.add_argument("--horizon", type=positive_number, required=True, metavar="T",
                        help="how far ahead (model time units)")
    parser.add_argument("--at", type=positive_number, default=None, metavar="T0",
                        help="record time the prediction starts from (default: the last "
                             "sample; earlier, the rest of the record is held out and "
                             "returned as `observed`)")
    parser.add_argument("--history", type=positive_number, default=None,
                        help="length of the past used (default: until C decays to 1e-3)")
    parser.add_argument("--no-estimate", action="store_true",
                        help="use the -p parameters (and defaults) instead of inferring "
                             "them from the data first")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


@command("predict-series", "predict a unit's future as a Gaussian process with the "
         "DMFT autocorrelation", _predict_series_arguments)
def predict_series_command(args: argparse.Namespace) -> int:
    """t, mean and variance of the prediction (and the held-out record where there is
    one)."""
    from fieldtheory.inference import predict_series

    model = model_with_options(args)
    result = predict_series(model, args.data, args.unit, args.horizon,
                            parse_assignments(args.param), at=args.at,
                            history=args.history, estimate=not args.no_estimate)
    data = result.to_json()
    if args.json:
        print(dumps(data))
        return EXIT_OK
    print(f"model: {result.model}  unit {result.unit} from t = {result.at:g}  params: "
          f"{result.params}")
    step = max(1, len(result.t) // 10)
    for t, m, v in zip(result.t[::step], result.mean[::step], result.variance[::step],
                       strict=True):
        print(f"t = {t:10.4g}  mean = {m: .6g}  variance = {v:.6g}")
    return EXIT_OK


def _rate_function_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="set a parameter (repeatable)")
    parser.add_argument("--window", type=positive_number, default=100.0, metavar="T",
                        help="averaging window of q = (1/NT)Σ∫φ(x_i)² (default 100)")
    parser.add_argument("-N", type=positive_integer, default=None,
                        help="span the rate function's q grid over ±4 standard deviations "
                             "at this N (default 1000)")
    parser.add_argument("--samples", type=positive_integer, default=4000,
                        help="Monte-Carlo paths of the single-site variance (default 4000)")
    parser.add_argument("--step", type=positive_number, default=0.1,
                        help="step of the two-time grid (default 0.1)")
    parser.add_argument("--memory", type=positive_number, default=20.0,
                        help="how far before the window the grid reaches (default 20)")
    parser.add_argument("--seed", type=nonnegative_integer, default=0)
    parser.add_argument("--branches", action="store_true",
                        help="also search the stable DMFT solutions (automatic for a "
                             "non-Gaussian site): observables branches (their q) and, "
                             "where two coexist, barrier")
    parser.add_argument("--paths", type=positive_integer, default=64,
                        help="Monte-Carlo paths per replica of the branch search (default "
                             "64, at least 32)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


@command("rate-function", "the fluctuations of the window-averaged q and the rate "
         "function's Gaussian part", _rate_function_arguments)
def rate_function_command(args: argparse.Namespace) -> int:
    """q_mean, q_variance_N (N·Var q = 1/H''), rate_function {q, values} (quadratic)."""
    from fieldtheory.rate_function import rate_function

    model = model_with_options(args)
    result = rate_function(model, parse_assignments(args.param), window=args.window,
                           N=args.N, step=args.step, memory=args.memory,
                           samples=args.samples, seed=args.seed,
                           branches=True if args.branches else None,
                           branch_paths=args.paths)
    data = result.to_json()
    if args.json:
        print(dumps(data))
        return EXIT_OK
    o, e = data["observables"], data["stderr"]
    print(f"model: {result.model}  window T = {o['window']:g}  params: {result.params}")
    if o["q_mean"] is not None:
        print(f"q_mean = {o['q_mean']}")
    if o["q_variance_N"] is not None:
        print(f"q_variance_N = {o['q_variance_N']} ± {e['q_variance_N']}  (single site, "
              f"no feedback: {o['q_variance_N_site']})")
    for branch in data.get("info", {}).get("branches", []):
        print(f"branch ({branch['kind']}): q = {branch['q']:.6g} ± "
              f"{branch['stderr']['q']:.2g}, static part {branch['static']:.4g}")
    for pointer, why in data.get("undefined", {}).items():
        print(f"{pointer}: {why}")
    return EXIT_OK
