"""The ``fieldtheory`` command.

``fieldtheory models`` lists the shipped models, ``fieldtheory show MODEL`` prints one,
``fieldtheory derive MODEL`` prints every stage of its mean-field derivation,
``fieldtheory simulate MODEL`` runs the reference simulator on it. MODEL is a shipped
model's name or the path of a Python file that defines ``model``.

Each subcommand is one function registered with :func:`command` in :data:`COMMANDS`,
together with a function that declares its arguments; a later subcommand (``derive``,
``solve``, ``verify``, …) is one more such pair. Every error fieldtheory raises on purpose
(:class:`~fieldtheory.errors.FieldTheoryError`) and every usage error is printed as one
line on stderr, without a traceback, with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from fieldtheory import __version__
from fieldtheory.errors import FieldTheoryError, ParseError
from fieldtheory.ir.model import load_model, shipped_models
from fieldtheory.parsing import parse_assignments, parse_number
from fieldtheory.printing import action_latex
from fieldtheory.simulate import simulate
from fieldtheory.simulate.integrators import METHODS
from fieldtheory.simulate.run import DTYPES

__all__ = ["COMMANDS", "Command", "build_parser", "command", "main"]

#: Exit status of every refused command line (usage errors and FieldTheoryError).
EXIT_ERROR = 2


class UsageError(Exception):
    """A malformed command line (argparse's complaint, raised instead of exiting)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises :class:`UsageError` instead of printing usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one line of help, its arguments and what it runs."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


#: The subcommands, by name, in the order ``fieldtheory --help`` lists them.
COMMANDS: dict[str, Command] = {}


def command(
    name: str, help: str, configure: Callable[[argparse.ArgumentParser], None] | None = None
) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    """Register the decorated function as the subcommand ``name``."""

    def register(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        if name in COMMANDS:
            raise ValueError(f"a command named {name!r} is already registered")
        COMMANDS[name] = Command(name, help, configure or (lambda parser: None), run)
        return run

    return register


# ----------------------------------------------------------------------------- argument types


def _number_type(check: Callable[[float], bool], requirement: str) -> Callable[[str], float]:
    """An argparse type: a value read by :func:`parse_number` that must satisfy ``check``."""

    def convert(text: str) -> float:
        try:
            value = parse_number(text)
        except ParseError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text!r}")
        return value

    convert.__name__ = requirement  # argparse names the type in some messages
    return convert


def _integer_type(minimum: int) -> Callable[[str], int]:
    requirement = "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"
    read = _number_type(lambda v: v.is_integer() and v >= minimum, requirement)
    return lambda text: int(read(text))


positive_number = _number_type(lambda v: v > 0, "a positive number")
nonnegative_number = _number_type(lambda v: v >= 0, "a nonnegative number")
positive_integer = _integer_type(1)
nonnegative_integer = _integer_type(0)


def _add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", metavar="MODEL",
        help="a shipped model's name (see `fieldtheory models`) or the path of a .py file "
             "defining `model`",
    )


# ----------------------------------------------------------------------------- models, show


@command("models", "list the shipped models")
def models_command(args: argparse.Namespace) -> int:
    """Print each shipped model's name and one-line description."""
    names = shipped_models()
    width = max(map(len, names), default=0)
    for name in names:
        print(f"{name:<{width}}  {load_model(name).description}")
    return 0


def _show_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_argument(parser)
    parser.add_argument("--latex", action="store_true", help="print the action as LaTeX")


@command("show", "print a model: action, ensembles, parameters", _show_arguments)
def show_command(args: argparse.Namespace) -> int:
    """Print ``str(model)``, or with ``--latex`` the LaTeX of its action."""
    model = load_model(args.model)
    print(action_latex(model.action) if args.latex else str(model))
    return 0


# --------------------------------------------------------------------- solve, codegen, verify


def _solve_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_argument(parser)
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="set a parameter (repeatable)")
    parser.add_argument("--tau-max", type=positive_number, default=20.0)
    parser.add_argument("--dtau", type=positive_number, default=0.25)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _solve_command_arguments(parser: argparse.ArgumentParser) -> None:
    _solve_arguments(parser)
    parser.add_argument("--loops", type=nonnegative_integer, default=None, metavar="K",
                        help="loop expansion to K loops (a unit without disorder)")
    parser.add_argument("--method", default="auto",
                        choices=("auto", "stationary", "multi", "monte_carlo", "kernel", "map"),
                        help="force a mean-field runtime (default: chosen from the site; "
                             "see docs/solvers.md)")


@command("solve", "solve the mean-field theory (generated numpy solver)",
         _solve_command_arguments)
def solve_command(args: argparse.Namespace) -> int:
    """Print the theory's observables: the schema of ``simulate`` with ``N`` = null."""
    from fieldtheory.solve import solve

    result = solve(load_model(args.model), parse_assignments(args.param),
                   tau_max=args.tau_max, dtau=args.dtau, loops=args.loops,
                   method=args.method)
    data = result.to_json()
    if args.json:
        print(json.dumps(data))
    else:
        print(f"branch: {result.branch}")
        size = ("— (one unit, loop expansion)" if result.method == "loops"
                else "∞ (mean-field theory)")
        print(format_result({**data, "N": size}))
    return 0


def _codegen_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_argument(parser)
    parser.add_argument("-o", "--output", metavar="FILE", help="write the module here "
                        "(default: print it)")


@command("codegen", "write the generated solver module of a model", _codegen_arguments)
def codegen_command(args: argparse.Namespace) -> int:
    """The generated module runs where fieldtheory is not installed."""
    from fieldtheory.codegen.generate import generate

    module = generate(load_model(args.model))
    if args.output:
        module.save(args.output)
        print(f"wrote {args.output} (content hash {module.digest[:12]})", file=sys.stderr)
    else:
        print(module.source)
    return 0


def _verify_arguments(parser: argparse.ArgumentParser) -> None:
    _solve_arguments(parser)
    parser.set_defaults(tau_max=10.0, dtau=0.5)
    parser.add_argument("-N", type=positive_integer, default=None,
                        help="units (default 1000 without noise, 200 with noise)")
    parser.add_argument("--trials", type=positive_integer, default=16,
                        help="independent networks; errors are taken across them (default 16)")
    parser.add_argument("--t-max", type=positive_number, default=60.0)
    parser.add_argument("--t-burn", type=nonnegative_number, default=30.0)
    parser.add_argument("--dt", type=positive_number, default=None,
                        help="default: 0.1 (RK4) without noise, 0.002 (Euler) with noise")
    parser.add_argument("--seed", type=nonnegative_integer, default=0)
    parser.add_argument("--threshold", type=positive_number, default=4.0,
                        help="largest |z| that passes (default 4)")
    parser.add_argument("--theory", action="append", default=[], metavar="NAME=VALUE",
                        help="solve the theory at other parameter values than the simulation "
                             "(a negative control)")
    parser.add_argument("--plot", metavar="FILE", help="save a figure (needs matplotlib)")


@command("verify", "solve, simulate, and compare with z-scores", _verify_arguments)
def verify_command(args: argparse.Namespace) -> int:
    """Exit 0 when every |z| ≤ threshold, 1 otherwise (2 on input errors)."""
    from fieldtheory.verify import verify

    model = load_model(args.model)
    params = parse_assignments(args.param)
    model.parameters.resolve(params)
    theory_params = {**params, **parse_assignments(args.theory)}
    report, theory, simulation = verify(
        model, params, theory_params=theory_params, N=args.N, trials=args.trials,
        t_max=args.t_max, t_burn=args.t_burn, dt=args.dt, seed=args.seed,
        tau_max=args.tau_max, dtau=args.dtau, threshold=args.threshold,
        progress=sys.stderr.isatty() and not args.json,
    )
    if args.json:
        print(json.dumps({"model": model.name, "params": simulation.params,
                          "N": simulation.N, **report.to_json()}))
    else:
        print(f"model {model.name}, N = {simulation.N}, trials = {simulation.trials}, "
              f"theory branch: {theory.branch}")
        print(report.table())
    if args.plot:
        from fieldtheory.verify import plot_report

        plot_report(theory, simulation, args.plot)
    return 0 if report.passed else 1


# ------------------------------------------------------------------------------- derive


def _derive_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_argument(parser)
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--latex", action="store_true", help="print every stage as LaTeX")
    form.add_argument("--json", action="store_true",
                      help="print one JSON object: stages, order parameters, self-consistency")


@command("derive", "derive the mean-field theory: every stage, in order", _derive_arguments)
def derive_command(args: argparse.Namespace) -> int:
    """Print the stages of :func:`fieldtheory.derive.derive` (text, LaTeX or JSON)."""
    from fieldtheory.derive import derive  # the derivation stack loads only when asked for

    derivation = derive(load_model(args.model))
    if args.json:
        print(json.dumps(derivation.to_json(), ensure_ascii=False))
    elif args.latex:
        print("\n\n".join(f"% {s.name}\n{s.latex}" for s in derivation.stages))
    else:
        print(derivation)
    return 0


# ------------------------------------------------------------------------------ diagrams


def _diagrams_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_argument(parser)
    parser.add_argument("--order", type=nonnegative_integer, required=True, metavar="K",
                        help="largest number of vertices")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true",
                      help="print one JSON object {diagrams, series}")
    form.add_argument("--latex", action="store_true", help="print the diagrams as LaTeX")


@command("diagrams", "Feynman diagrams with symmetry factors (polynomial actions)",
         _diagrams_arguments)
def diagrams_command(args: argparse.Namespace) -> int:
    """Print the connected diagrams of ln Z and of the one- and two-point functions."""
    from fieldtheory.diagrams.report import diagrams_json, diagrams_text

    model = load_model(args.model)
    if args.json:
        print(json.dumps(diagrams_json(model, args.order), ensure_ascii=False))
    else:
        print(diagrams_text(model, args.order, as_latex=args.latex))
    return 0


# ----------------------------------------------------------------------------- simulate


def _simulate_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_argument(parser)
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="set a parameter, e.g. -p g=1.5 -p D=1e-2 (repeatable; values "
                             "may use pi, sqrt, exp, …)")
    parser.add_argument("-N", type=positive_integer, default=1000, help="number of units")
    parser.add_argument("--t-max", type=positive_number, default=100.0,
                        help="length of the recorded window")
    parser.add_argument("--t-burn", type=nonnegative_number, default=50.0,
                        help="discarded transient before the window")
    parser.add_argument("--dt", type=positive_number, default=None,
                        help="time step (default: the simulator's choice)")
    parser.add_argument("--trials", type=positive_integer, default=1,
                        help="independent realisations (couplings, initial state, noise)")
    parser.add_argument("--seed", type=nonnegative_integer, default=0, help="random seed")
    parser.add_argument("--tau-max", type=positive_number, default=20.0,
                        help="largest lag of the autocorrelations")
    parser.add_argument("--dtau", type=positive_number, default=0.25,
                        help="lag spacing of the autocorrelations")
    parser.add_argument("--dtype", choices=DTYPES, default="float64")
    parser.add_argument("--method", choices=METHODS, default="auto",
                        help="integrator (auto: RK4 without noise, Euler–Maruyama with, "
                             "iteration for maps)")
    parser.add_argument("--lyapunov", action="store_true",
                        help="also estimate the maximal Lyapunov exponent (lyapunov_max)")
    parser.add_argument("--response", action="store_true",
                        help="also estimate the linear response R(τ) to random-sign and "
                             "common kicks (response, response_common)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object {model, params, N, observables, stderr}")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


@command("simulate", "simulate a model with the reference simulator", _simulate_arguments)
def simulate_command(args: argparse.Namespace) -> int:
    """Run :func:`fieldtheory.simulate.simulate` and print its observables."""
    model = load_model(args.model)
    params = parse_assignments(args.param)
    model.parameters.resolve(params)  # unknown names and bad values fail before any work
    # the bar goes to stderr; it is left out only when a program reads our JSON unattended
    progress = not args.no_progress and (not args.json or sys.stderr.isatty())
    result = simulate(
        model, params, N=args.N, t_max=args.t_max, t_burn=args.t_burn, dt=args.dt,
        trials=args.trials, seed=args.seed, dtype=args.dtype, tau_max=args.tau_max,
        dtau=args.dtau, method=args.method, progress=progress,
        observe=(("lyapunov_max",) * args.lyapunov
                 + ("response", "response_common") * args.response),
    )
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(format_result(result.to_json()))
    return 0


def format_result(data: Mapping[str, Any], rows: int = 6) -> str:
    """A readable table of a result's ``to_json()``: scalars, then a few rows of each curve."""
    params = ", ".join(f"{k} = {v:g}" for k, v in data["params"].items())
    lines = [f"model {data['model']}, N = {data['N']}" + (f", {params}" if params else "")]
    lines += _format_observables(data["observables"], data.get("stderr") or {}, "", rows)
    return "\n".join(lines)


def _format_observables(obs: Mapping[str, Any], err: Mapping[str, Any], prefix: str,
                        rows: int) -> list[str]:
    lines: list[str] = []
    scalars = {k: v for k, v in obs.items() if isinstance(v, int | float)}
    if scalars:
        lines.append(f"{prefix}{'observable':<22}{'value':>12}  {'stderr':>10}")
    for name, value in scalars.items():
        lines.append(f"{prefix}{name:<22}{value:>12.6g}  {_error(err.get(name)):>10}")
    for name, value in obs.items():
        if name == "populations" and isinstance(value, Mapping):
            for population, sub in value.items():
                lines.append(f"{prefix}population {population}:")
                lines += _format_observables(sub, _sub(err, name, population), prefix + "  ",
                                             rows)
        elif isinstance(value, Mapping):
            lines += _format_curve(name, value, err.get(name) or {}, prefix, rows)
    return lines


def _format_curve(name: str, curve: Mapping[str, Any], err: Mapping[str, Any], prefix: str,
                  rows: int) -> list[str]:
    """A few evenly spaced rows of a curve {grid: [...], values: [...]}."""
    keys = [k for k in curve if k != "values"]
    if "values" not in curve or len(keys) != 1:
        return [f"{prefix}{name}: {curve}"]
    grid, values, errors = curve[keys[0]], curve["values"], err.get("values")
    if not values:
        return []
    picks = sorted({round(k * (len(values) - 1) / max(rows - 1, 1)) for k in range(rows)})
    lines = [f"{prefix}{name}:", f"{prefix}  {keys[0]:>10}{'value':>14}  {'stderr':>10}"]
    for k in picks:
        e = errors[k] if isinstance(errors, Sequence) and k < len(errors) else None
        lines.append(f"{prefix}  {grid[k]:>10.4g}{values[k]:>14.6g}  {_error(e):>10}")
    return lines


def _sub(err: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        err = err.get(key) if isinstance(err, Mapping) else None
    return err if isinstance(err, Mapping) else {}


def _error(value: Any) -> str:
    if isinstance(value, int | float) and math.isfinite(value):
        return f"{value:.2g}"
    return "-"


# ------------------------------------------------------------------------------- sweep


def _sweep_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_argument(parser)
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=RANGE",
                        help="a ranged parameter NAME=start:stop:count (inclusive; one or "
                             "two make a 1-D or 2-D grid) or a fixed one NAME=VALUE")
    parser.add_argument("--tau-max", type=positive_number, default=20.0)
    parser.add_argument("--dtau", type=positive_number, default=0.25)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object {grid, observables, phase, …}")
    parser.add_argument("--curves", action="store_true",
                        help="keep each point's autocorrelations and response in the JSON")
    parser.add_argument("--plot", metavar="FILE", help="save the phase diagram (matplotlib)")
    parser.add_argument("--workers", type=positive_integer, default=None,
                        help="local processes (default: one per CPU; 1: serial)")
    parser.add_argument("--dask", metavar="ADDRESS", default=None,
                        help="run on this Dask scheduler ('local': a local cluster)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


@command("sweep", "phase diagram: solve over a 1-D or 2-D parameter grid", _sweep_arguments)
def sweep_command(args: argparse.Namespace) -> int:
    """Solve on the grid, classify each point's phase; failed points are counted, exit 0."""
    from fieldtheory.sweep import parse_sweep_parameters, sweep

    ranges, fixed = parse_sweep_parameters(args.param)
    result = sweep(load_model(args.model), ranges, fixed, workers=args.workers,
                   dask=args.dask, tau_max=args.tau_max, dtau=args.dtau, curves=args.curves,
                   progress=not args.no_progress and (not args.json or sys.stderr.isatty()))
    print(json.dumps(result.to_json()) if args.json else result.table())
    if args.plot:
        result.plot(args.plot)
    return 0


# ----------------------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    """The ``fieldtheory`` parser with one subparser per registered command."""
    parser = _Parser(
        prog="fieldtheory",
        description="Statistical field theory of neural networks: declare a model as an "
                    "MSRDJ action, print it, simulate it.",
    )
    parser.add_argument("--version", action="version", version=f"fieldtheory {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for entry in COMMANDS.values():
        sub = subparsers.add_parser(entry.name, help=entry.help, description=entry.help)
        entry.configure(sub)
    return parser


def _one_line(message: str) -> str:
    return " ".join(message.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command].run(args)
    except UsageError as error:
        print(f"{_one_line(str(error))} (see --help)", file=sys.stderr)
    except FieldTheoryError as error:
        print(f"fieldtheory: error: {_one_line(str(error)) or type(error).__name__}",
              file=sys.stderr)
    except SystemExit as exit_:  # --help and --version end the parse here
        return exit_.code if isinstance(exit_.code, int) else 0
    except KeyboardInterrupt:
        print("fieldtheory: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `fieldtheory ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
