"""``fieldtheory simulate``: the reference simulator."""

from __future__ import annotations

import argparse
import sys

from fieldtheory.cli.base import (
    UsageError,
    add_model_argument,
    command,
    model_with_options,
    nonnegative_integer,
    nonnegative_number,
    offload_arrays,
    output_file,
    positive_integer,
    positive_number,
    test_inputs,
)
from fieldtheory.cli.format import format_posterior, format_result
from fieldtheory.cli.spiking import add_engine_arguments, refuse_engine, simulate_spiking_cli
from fieldtheory.ir.posterior import is_posterior
from fieldtheory.ir.spiking import is_spiking
from fieldtheory.jsonout import dumps
from fieldtheory.parsing import parse_assignments
from fieldtheory.simulate import simulate
from fieldtheory.simulate.collective import COLLECTIVE
from fieldtheory.simulate.integrators import METHODS
from fieldtheory.simulate.run import DTYPES


def _simulate_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser, spectrum=True)
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="set a parameter, e.g. -p g=1.5 -p D=1e-2 (repeatable; values "
                             "may use pi, sqrt, exp, …)")
    parser.add_argument("-N", type=positive_integer, default=None,
                        help="number of units (default 1000; a spiking network: its own "
                             "size, else the populations rescaled to N, in-degrees kept)")
    parser.add_argument("--t-max", type=positive_number, default=None,
                        help="length of the recorded window (default 100; spiking: 1000 ms)")
    parser.add_argument("--t-burn", type=nonnegative_number, default=None,
                        help="discarded transient before the window (default 50; spiking: "
                             "200 ms)")
    parser.add_argument("--dt", type=positive_number, default=None,
                        help="time step (default: the simulator's choice)")
    parser.add_argument("--trials", type=positive_integer, default=None,
                        help="independent realisations (couplings, initial state, noise); "
                             "default 1, 100 sampled networks for a layered one")
    parser.add_argument("--seed", type=nonnegative_integer, default=0, help="random seed")
    parser.add_argument("--tau-max", type=positive_number, default=None,
                        help="largest lag of the autocorrelations (default 20, shortened to "
                             "what the run can estimate)")
    parser.add_argument("--dtau", type=positive_number, default=None,
                        help="lag spacing of the autocorrelations (default 0.25; spiking: "
                             "1 ms)")
    parser.add_argument("--dtype", choices=DTYPES, default="float64")
    parser.add_argument("--method", choices=METHODS, default="auto",
                        help="integrator (auto: RK4 without noise, Euler–Maruyama with, "
                             "iteration for maps)")
    parser.add_argument("--lyapunov", action="store_true",
                        help="also estimate the maximal Lyapunov exponent (lyapunov_max)")
    parser.add_argument("--response", action="store_true",
                        help="also estimate the linear response R(τ) to random-sign and "
                             "common kicks (response, response_common)")
    parser.add_argument("--observe", type=observable_list, default=(), metavar="NAMES",
                        help="comma-separated extra observables, named as in the JSON: "
                             f"{', '.join(OBSERVABLE_NAMES)} (response also gives "
                             "response_common; dimension also gives psi)")
    parser.add_argument("--blocks", type=positive_integer, default=8,
                        help="time blocks for standard errors of one trial (dimension: "
                             "non-neighbouring blocks taken in pairs, at least 5)")
    parser.add_argument("--segment", type=positive_number, default=None,
                        help="segment length of the collective spectra (model time; "
                             "default 2·tau-max)")
    parser.add_argument("--output", metavar="FILE.npz", type=output_file, default=None,
                        help="write array observables (the kernels of a layered network) to "
                             "this .npz; the JSON keeps a summary of each")
    parser.add_argument("--save", metavar="DATA.npz", type=output_file, default=None,
                        help="write the recorded activity as a data file for infer and "
                             "predict-series: x (units × samples, every dtau after the "
                             "burn-in, trials stacked along units), dt = dtau, populations")
    parser.add_argument("--samples", type=positive_integer, default=200,
                        help="Bayesian models: posterior samples kept per chain (default 200)")
    parser.add_argument("--chains", type=positive_integer, default=4,
                        help="Bayesian models: independent HMC chains (default 4)")
    parser.add_argument("--burn", type=nonnegative_integer, default=None,
                        help="Bayesian models: burn-in steps per chain (default = samples)")
    add_engine_arguments(parser)
    parser.add_argument("--spikes-to", metavar="FILE", type=output_file, default=None,
                        help="spiking networks: append the spikes after the burn-in to FILE "
                             "as they come (records of float64 time in ms, int64 neuron "
                             "index; populations in FILE.json), bounded memory")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object {model, params, N, observables, stderr}")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


#: What ``--observe`` takes (the JSON keys of the extra observables).
OBSERVABLE_NAMES = ("lyapunov_max", "response", *COLLECTIVE)


def observable_list(text: str) -> tuple[str, ...]:
    """``a,b,c`` → ("a", "b", "c"); an unknown name is refused, listing the known ones."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in OBSERVABLE_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown observable(s) {', '.join(unknown) or '(none given)'}; choose from "
            f"{', '.join(OBSERVABLE_NAMES)}")
    return names


def _observables(args: argparse.Namespace) -> tuple[str, ...]:
    """--lyapunov, --response and --observe as one ``observe`` tuple (no repeats)."""
    names = list(args.observe)
    if args.lyapunov:
        names.append("lyapunov_max")
    if args.response or "response" in names:
        names += ["response", "response_common"]
    return tuple(dict.fromkeys(names))


@command("simulate", "simulate a model with the reference simulator", _simulate_arguments)
def simulate_command(args: argparse.Namespace) -> int:
    """Run :func:`fieldtheory.simulate.simulate` and print its observables."""
    model = model_with_options(args)
    params = parse_assignments(args.param)
    model.parameters.resolve(params)  # unknown names and bad values fail before any work
    if is_spiking(model):  # a spiking network (issue 18)
        return simulate_spiking_cli(args, model, params)
    refuse_engine(args, model)
    args.N = 1000 if args.N is None else args.N
    if is_posterior(model):  # a Bayesian model: posterior samples of finite networks
        from fieldtheory.posterior_solve import simulate_posterior

        dynamical = [flag for flag, given in (
            ("--trials", args.trials is not None), ("--dt", args.dt is not None),
            ("--tau-max", args.tau_max is not None), ("--observe", bool(args.observe)),
            ("--t-max", args.t_max is not None), ("--t-burn", args.t_burn is not None),
            ("--dtau", args.dtau is not None),
            ("--lyapunov", args.lyapunov), ("--response", args.response),
            ("--save", args.save is not None)) if given]
        if dynamical:
            raise UsageError(f"{model.name} is a Bayesian posterior model (no dynamics): "
                             f"{', '.join(dynamical)} do not apply; it takes -N, --samples, "
                             "--chains, --burn, --seed, --test")

        progress = not args.no_progress and (not args.json or sys.stderr.isatty())
        result = simulate_posterior(model, params, N=args.N, samples=args.samples,
                                    chains=args.chains, burn=args.burn,
                                    test=test_inputs(args), seed=args.seed,
                                    progress=progress)
        data = offload_arrays(result.to_json(), args.output)
        print(dumps(data) if args.json else format_posterior(data))
        return 0
    # the bar goes to stderr; it is left out only when a program reads our JSON unattended
    progress = not args.no_progress and (not args.json or sys.stderr.isatty())
    result = simulate(
        model, params, N=args.N, t_max=100.0 if args.t_max is None else args.t_max,
        t_burn=50.0 if args.t_burn is None else args.t_burn, dt=args.dt,
        trials=args.trials, seed=args.seed, dtype=args.dtype, tau_max=args.tau_max,
        dtau=0.25 if args.dtau is None else args.dtau, method=args.method, progress=progress,
        observe=_observables(args), blocks=args.blocks, segment_time=args.segment,
        record=args.save is not None,
    )
    data = offload_arrays(result.to_json(), args.output)
    if args.save is not None:
        from fieldtheory.activity import save_activity

        path = save_activity(args.save, result.samples, result.dtau, result.labels)
        data["saved"] = {"file": str(path), "units": int(result.samples.shape[0]),
                         "samples": int(result.samples.shape[1]), "dt": result.dtau}
    if args.json:
        print(dumps(data))
    else:
        print(format_result(data))
    return 0
