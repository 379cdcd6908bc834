"""``fieldtheory solve``, ``codegen`` and ``verify``: the generated mean-field solver."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from fieldtheory.cli.base import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_model_argument,
    command,
    model_with_options,
    nonnegative_integer,
    nonnegative_number,
    offload_arrays,
    output_file,
    plot_file,
    positive_integer,
    positive_number,
    refuse_overwriting_model,
    test_inputs,
)
from fieldtheory.cli.format import format_posterior, format_result
from fieldtheory.cli.spiking import (
    add_engine_arguments,
    add_figures_argument,
    refuse_engine,
    solve_spiking_cli,
    verify_spiking_cli,
)
from fieldtheory.errors import FieldTheoryError
from fieldtheory.ir.model import load_model
from fieldtheory.ir.posterior import is_posterior
from fieldtheory.ir.spiking import is_spiking
from fieldtheory.jsonout import dumps
from fieldtheory.parsing import parse_assignments
from fieldtheory.progress import heartbeat
from fieldtheory.solvers import registry


def _solve_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser, spectrum=True)
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="set a parameter (repeatable)")
    parser.add_argument("--tau-max", type=positive_number, default=None,
                        help="largest lag (default 20; verify 10; spiking networks: 100 ms, "
                             "verify 50 ms)")
    parser.add_argument("--dtau", type=positive_number, default=None,
                        help="lag spacing (default 0.25; verify 0.5; spiking networks: 1 ms)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _solve_command_arguments(parser: argparse.ArgumentParser) -> None:
    _solve_arguments(parser)
    parser.add_argument("--loops", type=nonnegative_integer, default=None, metavar="K",
                        help="loop expansion to K loops (a unit without disorder)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no running-time line on stderr (shown on a terminal after 2 s)")
    parser.add_argument("--order", choices=["1/N"], default=None,
                        help="add the O(1/N) observables of the Gaussian fluctuations around "
                             "the saddle point (dimension, psi, population_variance, "
                             "population_spectrum[_phi], cross_covariance; layered networks: "
                             "kernel_correction {bias, variance})")
    parser.add_argument("-N", type=positive_integer, default=None,
                        help="with --order 1/N: the renormalized theory at this network size "
                             "(finite-N variance, autocorrelation and population keys; the "
                             "leading order under leading_order); for a map the one-loop "
                             "finite-N statistics of a unit (mean_shift); for a layered "
                             "network the finite-width kernel K + bias/N and kernel_variance")
    # read when the parser is built (every main); the posterior runtimes for bayes_* models
    methods = ("auto", *registry.methods(), *sorted(registry.runtimes("posterior")),
               *sorted(registry.runtimes("spiking")))
    parser.add_argument("--method", default="auto", choices=methods,
                        help="force a registered mean-field runtime (default: chosen from "
                             "the site; see docs/solvers.md)")
    parser.add_argument("--output", metavar="FILE.npz", type=output_file, default=None,
                        help="write array observables (the kernels of a layered network) to "
                             "this .npz; the JSON keeps a summary of each")
    parser.add_argument("--paths", type=positive_integer, default=None, metavar="K",
                        help="Monte-Carlo paths per replica where the theory samples its "
                             "site (--method monte_carlo, or --order 1/N on a non-Gaussian "
                             "site: ρ ≠ 0 with a nonlinear φ, a nonlinear drift); default 64 "
                             "— its O(1/paths) bias: docs/fluctuations.md")
    parser.add_argument("--mc-window", type=positive_number, default=None, metavar="T",
                        help="estimation window of the Monte-Carlo site (default "
                             "max(tau_max, 30/leak)): beyond it the correlation is taken as "
                             "its plateau, so it must exceed the correlation time "
                             "severalfold — slow sites (bistable units) need more: "
                             "docs/models/large-deviations.md")


@command("solve", "solve the mean-field theory (generated numpy solver)",
         _solve_command_arguments)
def solve_command(args: argparse.Namespace) -> int:
    """Print the theory's observables: the schema of ``simulate`` with ``N`` = null."""
    from fieldtheory.solve import solve

    model = model_with_options(args)
    if is_spiking(model):  # a spiking network (issue 18)
        return solve_spiking_cli(args, model, parse_assignments(args.param))
    args.tau_max = 20.0 if args.tau_max is None else args.tau_max
    args.dtau = 0.25 if args.dtau is None else args.dtau
    if is_posterior(model):  # a Bayesian model: its own keys (issue 15)
        from fieldtheory.posterior_solve import solve_posterior

        if args.order is not None or args.loops is not None or args.N is not None:
            raise UsageError(f"{model.name} is a Bayesian posterior model: --order, --loops "
                             "and -N do not apply (its saddle point is N → ∞)")
        result = solve_posterior(model, parse_assignments(args.param),
                                 test=test_inputs(args), method=args.method)
        data = offload_arrays(result.to_json(), args.output)
        print(dumps(data) if args.json else format_posterior(data))
        return 0
    with heartbeat(f"solve {model.name}", enabled=sys.stderr.isatty() and not args.no_progress):
        sampled = {k: v for k, v in (("paths", args.paths), ("window", args.mc_window))
                   if v is not None}
        options = (None if not sampled else {"monte_carlo": sampled} if args.order
                   else sampled)
        result = solve(model, parse_assignments(args.param), tau_max=args.tau_max,
                       dtau=args.dtau, loops=args.loops, method=args.method,
                       order=args.order, N=args.N, options=options)
    data = offload_arrays(result.to_json(), args.output)
    if args.json:
        print(dumps(data))
    else:
        print(f"branch: {result.branch}")
        size = ("— (one unit, loop expansion)" if result.method == "loops"
                else f"{result.N} (finite-N theory)" if result.N is not None
                else "∞ (mean-field theory)")
        print(format_result({**data, "N": size}))
    return 0


def _codegen_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("-o", "--output", metavar="FILE", type=output_file,
                        help="write the module here (default: print it); checked first")


@command("codegen", "write the generated solver module of a model", _codegen_arguments)
def codegen_command(args: argparse.Namespace) -> int:
    """The generated module runs where fieldtheory is not installed."""
    from fieldtheory.codegen.generate import generate

    refuse_overwriting_model(args.model, args.output)
    module = generate(load_model(args.model))
    if args.output:
        module.save(args.output)
        print(f"wrote {args.output} (content hash {module.digest[:12]})", file=sys.stderr)
    else:
        print(module.source)
    return 0


def _verify_arguments(parser: argparse.ArgumentParser) -> None:
    _solve_arguments(parser)
    parser.add_argument("-N", type=positive_integer, default=None,
                        help="units (default 1000 without noise, 200 with noise; spiking: "
                             "the model's own size)")
    parser.add_argument("--trials", type=positive_integer, default=None,
                        help="independent networks; errors are taken across them (default "
                             "16; spiking networks: 1, errors across neurons and time "
                             "batches of that network)")
    parser.add_argument("--t-max", type=positive_number, default=None,
                        help="recorded window (default 60; spiking: 2000 ms)")
    parser.add_argument("--t-burn", type=nonnegative_number, default=None,
                        help="discarded transient (default 30; spiking: 200 ms)")
    parser.add_argument("--dt", type=positive_number, default=None,
                        help="default: 0.1 (RK4) without noise, 0.002 (Euler) with noise")
    parser.add_argument("--seed", type=nonnegative_integer, default=0)
    parser.add_argument("--threshold", type=positive_number, default=4.0,
                        help="largest |z| that passes (default 4)")
    parser.add_argument("--theory", action="append", default=[], metavar="NAME=VALUE",
                        help="solve the theory at other parameter values than the simulation "
                             "(a negative control)")
    parser.add_argument("--plot", metavar="FILE", type=plot_file,
                        help="save a figure (needs matplotlib; checked before the work)")
    parser.add_argument("--order", choices=["1/N"], default=None,
                        help="compare with the renormalized finite-N theory at the simulated "
                             "N (and the population variances, simulated with "
                             "--observe population_variance)")
    parser.add_argument("--method", default="auto",
                        choices=("auto", *sorted(registry.runtimes("spiking"))),
                        help="spiking networks: the mean-field runtime (lif_colored: the "
                             "colored-noise site, sampled; lif_shot: the finite-K "
                             "compound-Poisson site, sampled; their errors are added to the "
                             "simulation's)")
    add_engine_arguments(parser)
    add_figures_argument(parser)


@command("verify", "solve, simulate, and compare with z-scores", _verify_arguments)
def verify_command(args: argparse.Namespace) -> int:
    """Exit 0 when every |z| ≤ threshold, 1 when a comparison fails (2 on input errors)."""
    from fieldtheory.verify import verify

    model = model_with_options(args)
    params = parse_assignments(args.param)
    model.parameters.resolve(params)
    theory_params = {**params, **parse_assignments(args.theory)}
    if is_spiking(model):  # a spiking network (issue 18)
        return verify_spiking_cli(args, model, params, theory_params)
    refuse_engine(args, model)
    if args.method != "auto":
        raise UsageError(f"verify {model.name}: --method chooses a spiking runtime; rate "
                         "models are verified with the runtime their site selects")
    defaults = {"tau_max": 10.0, "dtau": 0.5, "t_max": 60.0, "t_burn": 30.0, "trials": 16}
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    report, theory, simulation = verify(
        model, params, theory_params=theory_params, N=args.N, trials=args.trials,
        t_max=args.t_max, t_burn=args.t_burn, dt=args.dt, seed=args.seed,
        tau_max=args.tau_max, dtau=args.dtau, threshold=args.threshold,
        progress=sys.stderr.isatty() and not args.json, order=args.order,
    )
    if not report.comparisons:  # nothing compared is not a failed comparison
        raise FieldTheoryError(f"verify {model.name}: the theory and the simulation share no "
                               "observable to compare")
    if args.json:
        print(dumps({"model": model.name, "params": simulation.params,
                          "N": simulation.N, **report.to_json()}))
    else:
        print(f"model {model.name}, N = {simulation.N}, trials = {simulation.trials}, "
              f"theory branch: {theory.branch}")
        print(report.table())
    if args.plot:
        from fieldtheory.verify import plot_report

        plot_report(theory, simulation, args.plot)
    return EXIT_OK if report.passed else EXIT_FAILED


def _predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", metavar="MODEL",
        help="a layered network (deep, recurrent, deep_relu, recurrent_relu, or a model file)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="set a parameter (repeatable)")
    parser.add_argument("--inputs", metavar="FILE", required=True,
                        help="training inputs, one pattern per row (.npy, .csv or text)")
    parser.add_argument("--targets", metavar="FILE", required=True,
                        help="training targets, one row per pattern (P × m; one-hot for "
                             "classification)")
    parser.add_argument("--test", metavar="FILE", required=True,
                        help="test inputs, one pattern per row")
    parser.add_argument("--test-targets", metavar="FILE", default=None,
                        help="test targets: adds the classification error")
    parser.add_argument("--noise", type=nonnegative_number, default=0.0, metavar="VARIANCE",
                        help="observation-noise variance σ² added to the training kernel")
    parser.add_argument("--output", metavar="FILE.npz", type=output_file, default=None,
                        help="write the posterior mean and variance to this .npz; the JSON "
                             "keeps a summary of each")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


@command("predict", "GP regression/classification with a layered network's kernel",
         _predict_arguments)
def predict_command(args: argparse.Namespace) -> int:
    """Posterior mean and variance of the N → ∞ network (the readout kernel K^(depth))."""
    from fieldtheory.gp import load_targets, predict
    from fieldtheory.ir.layered import load_inputs

    X, Xs = load_inputs(args.inputs), load_inputs(args.test)
    Y = load_targets(args.targets)
    T = load_targets(args.test_targets, "test targets") if args.test_targets else None
    result = predict(load_model(args.model), X, Y, Xs, params=parse_assignments(args.param),
                     test_targets=T, noise=args.noise)
    data = offload_arrays(result.to_json(), args.output)
    if args.json:
        print(dumps(data))
    else:
        print(f"model: {result.model}  params: {result.params}  noise: {result.noise:g}")
        if result.error is not None:
            print(f"test error: {result.error:g}")
        print(f"mean ({len(result.mean)} × {result.mean.shape[1]}):")
        print(np.array2string(result.mean, precision=6))
        print("variance:", np.array2string(result.variance, precision=6))
    return 0


def _fixed_points_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="set a parameter (repeatable); D = 0 throughout")
    parser.add_argument("-N", type=positive_integer, default=None,
                        help="with --search: the number of units of the sampled networks")
    parser.add_argument("--search", action="store_true",
                        help="also search sampled networks of N units for their fixed points "
                             "(adds search and search_stderr)")
    parser.add_argument("--trials", type=positive_integer, default=1, metavar="K",
                        help="with --search: the number of sampled networks (default 1)")
    parser.add_argument("--starts", type=positive_integer, default=2000, metavar="S",
                        help="with --search: at most S starts per network (default 2000)")
    parser.add_argument("--homotopy", type=nonnegative_integer, default=None, metavar="STEPS",
                        help="with --search: retry the starts that Newton's method leaves at "
                             "slow points by a homotopy of at most STEPS arclength steps "
                             "(0: off; default 4000 from N = 100 on, off below)")
    parser.add_argument("--seed", type=nonnegative_integer, default=0)
    parser.add_argument("--output", metavar="FILE.npz", type=output_file, default=None,
                        help="with --search: write the fixed points found (points_K, one "
                             "row per point, and eigenvalues_K of their Jacobians, for "
                             "network K) to this .npz; the JSON names it under `output`")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


@command("fixed-points", "Kac–Rice theory of the fixed points (and a numerical search)",
         _fixed_points_arguments)
def fixed_points_command(args: argparse.Namespace) -> int:
    """Σ(q), Σ*, the typical shell, the Jacobian at typical fixed points, the attractor's
    shell and speed; with ``-N N --search`` the fixed points of sampled networks."""
    from fieldtheory.fixed_points import solve_and_search
    from fieldtheory.simulate.fixed_points import FixedPointSearch

    if args.search and args.N is None:
        raise UsageError("fixed-points --search needs -N (the network size)")
    if args.N is not None and not args.search:
        raise UsageError("fixed-points -N is the size of the searched networks: add --search")
    if args.output is not None and not args.search:
        raise UsageError("fixed-points --output writes the fixed points found: add --search")
    model = model_with_options(args)
    found: list = []
    budget = FixedPointSearch(max_starts=args.starts, homotopy_steps=args.homotopy)
    result = solve_and_search(model, parse_assignments(args.param),
                              N=args.N if args.search else None, trials=args.trials,
                              seed=args.seed, budget=budget,
                              progress=sys.stderr.isatty() and not args.no_progress,
                              points=found)
    data = result.to_json()
    if args.output is not None:
        arrays = {}
        for k, (points, eigenvalues) in enumerate(found):
            arrays[f"points_{k}"] = points
            arrays[f"eigenvalues_{k}"] = eigenvalues
        np.savez(args.output, **arrays)
        data["output"] = {"file": str(args.output), "networks": len(found)}
    if args.json:
        print(dumps(data))
        return EXIT_OK
    o = data["observables"]
    print(f"model: {result.model}  params: {result.params}")
    for key in ("total_complexity", "typical_q", "jacobian_radius", "unstable_fraction",
                "attractor_q", "speed"):
        print(f"{key}: {o[key]}")
    if result.search is not None:
        s, e = data["search"], data["search_stderr"]
        print(f"search (N = {result.N}, {s['trials']} network(s), {s['complete']} complete, "
              f"{s['failed_starts']} of {s['starts']} starts failed):")
        for key in ("count", "jacobian_radius", "unstable_fraction", "speed"):
            print(f"  {key}: {s[key]} ± {e[key]}")
    return EXIT_OK
