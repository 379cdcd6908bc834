"""The spiking branches of ``solve``, ``simulate`` and ``verify`` (issue 18).

Spiking networks take the common options where they mean the same (``-p``, ``--json``,
``--tau-max``, ``--dtau``, ``--t-max``, ``--t-burn``, ``--dt``, ``--seed``, ``-N``) with
their own units (ms) and defaults, plus ``--engine numpy|nest`` and ``--threads K``; an
option of the rate models that does not apply is refused by name.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fieldtheory.cli.base import (
    UsageError,
    positive_integer,
    positive_number,
    require_matplotlib,
)
from fieldtheory.jsonout import dumps
from fieldtheory.spiking_solve import ENGINES

__all__ = ["add_engine_arguments", "add_figures_argument", "format_spiking", "refuse_engine",
           "simulate_spiking_cli", "solve_spiking_cli", "verify_spiking_cli"]



def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=ENGINES, default=None,
                        help="spiking networks: the simulator (numpy, the default, or NEST: "
                             "pip install 'fieldtheory[nest]')")
    parser.add_argument("--threads", type=positive_integer, default=None,
                        help="spiking networks with --engine nest: NEST's threads (default 1)")
    parser.add_argument("--n-scale", type=positive_number, default=None,
                        help="area-graph models: population sizes × this (≤ 1), with the "
                             "input-preserving compensation of the multi-area model")
    parser.add_argument("--k-scale", type=positive_number, default=None,
                        help="area-graph models: in-degrees × this (≤ 1); weights × √(K/K′), "
                             "the lost mean input as an E_L shift (the rates of the theory "
                             "are kept)")


def add_figures_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--figures", metavar="DIR", default=None,
                        help="spiking networks: write rates (theory against simulation) and "
                             "the connectivity matrix to DIR, and keep the result there by "
                             "content hash (a second run of the same network, parameters "
                             "and settings reads it back); needs matplotlib")


def refuse_engine(args: argparse.Namespace, model) -> None:
    """--engine, --threads, --n-scale, --k-scale and --figures belong to spiking
    networks."""
    given = [f for f, v in (("--engine", args.engine), ("--threads", args.threads),
                            ("--n-scale", args.n_scale), ("--k-scale", args.k_scale),
                            ("--figures", getattr(args, "figures", None)),
                            ("--spikes-to", getattr(args, "spikes_to", None)))
             if v is not None]
    if given:
        raise UsageError(f"{model.name} is not a spiking network: {', '.join(given)} apply "
                         "to spiking networks only")


def _refuse(args: argparse.Namespace, model, flags) -> None:
    given = [flag for flag, value in flags if value]
    if given:
        raise UsageError(f"{model.name} is a spiking network: {', '.join(given)} do not "
                         "apply to it")


def _engine(args) -> tuple[str, int]:
    engine = args.engine or "numpy"
    if args.threads is not None and engine != "nest":
        raise UsageError("--threads sets NEST's threads: it needs --engine nest")
    return engine, args.threads or 1


def _scaled(args, model, params):
    """The model down-scaled by --n-scale/--k-scale (area-graph models only)."""
    if args.n_scale is None and args.k_scale is None:
        return model
    from fieldtheory.multi_area import scaled_model

    for flag, value in (("--n-scale", args.n_scale), ("--k-scale", args.k_scale)):
        if value is not None and value > 1:
            raise UsageError(f"{flag} {value:g}: down-scaling takes a factor in (0, 1]")
    return scaled_model(model, params, n_scale=args.n_scale or 1.0,
                        k_scale=args.k_scale or 1.0)


def _rate_only(args, names) -> list[tuple[str, Any]]:
    return [(f"--{n.replace('_', '-')}", getattr(args, n, None) not in (None, False, (), []))
            for n in names]


def simulate_spiking_cli(args: argparse.Namespace, model, params) -> int:
    from fieldtheory.spiking_solve import simulate_spiking_model

    _refuse(args, model, _rate_only(args, ("observe", "lyapunov", "response",
                                           "save", "output", "segment", "burn")))
    if args.dtype != "float64" or args.method != "auto":
        raise UsageError(f"{model.name} is a spiking network: --dtype and --method do not "
                         "apply to it")
    engine, threads = _engine(args)
    model = _scaled(args, model, params)
    progress = not args.no_progress and (not args.json or sys.stderr.isatty())
    result = simulate_spiking_model(
        model, params, N=args.N, t_max=1000.0 if args.t_max is None else args.t_max,
        t_burn=200.0 if args.t_burn is None else args.t_burn,
        dt=0.1 if args.dt is None else args.dt, seed=args.seed, engine=engine,
        threads=threads, tau_max=100.0 if args.tau_max is None else args.tau_max,
        dtau=1.0 if args.dtau is None else args.dtau, progress=progress,
        trials=args.trials or 1, spikes_to=args.spikes_to)
    data = result.to_json()
    print(dumps(data) if args.json else format_spiking(data))
    return 0


def solve_spiking_cli(args: argparse.Namespace, model, params) -> int:
    from fieldtheory.spiking_solve import solve_spiking

    _refuse(args, model, (("--order", args.order is not None), ("--loops",
                          args.loops is not None), ("-N", args.N is not None),
                          ("--output", args.output is not None)))
    from fieldtheory.progress import heartbeat

    # a running-time line on a terminal (lif_shot samples for a minute on larger graphs)
    with heartbeat(f"solve {model.name}", enabled=sys.stderr.isatty() and not args.no_progress):
        result = solve_spiking(model, params, method=args.method,
                               tau_max=100.0 if args.tau_max is None else args.tau_max,
                               dtau=1.0 if args.dtau is None else args.dtau)
    data = result.to_json()
    print(dumps(data) if args.json else format_spiking(data))
    return 0


def verify_spiking_cli(args: argparse.Namespace, model, params, theory_params) -> int:
    from fieldtheory.cli.base import EXIT_FAILED, EXIT_OK
    from fieldtheory.multi_area import plot_connectivity, plot_rates, verify_cached
    from fieldtheory.spiking_verify import verify_spiking

    _refuse(args, model, (("--order", args.order is not None),
                          ("--plot", args.plot is not None)))
    engine, threads = _engine(args)
    if args.figures is not None:
        require_matplotlib("--figures")
    if (args.n_scale is not None or args.k_scale is not None) and theory_params != params:
        raise UsageError("--theory with --n-scale/--k-scale: the down-scaled network holds "
                         "the simulation's parameter values as numbers, so a theory at "
                         "other values cannot be compared with it")
    model = _scaled(args, model, params)
    settings = {"N": args.N, "t_max": 2000.0 if args.t_max is None else args.t_max,
                "t_burn": 200.0 if args.t_burn is None else args.t_burn,
                "dt": 0.1 if args.dt is None else args.dt, "seed": args.seed,
                "engine": engine, "threads": threads,
                "tau_max": 50.0 if args.tau_max is None else args.tau_max,
                "dtau": 1.0 if args.dtau is None else args.dtau,
                "threshold": args.threshold, "trials": args.trials or 1}
    if args.method != "auto":  # a chosen spiking runtime (lif_shot: sampled, with errors)
        settings["method"] = args.method
    progress = sys.stderr.isatty() and not args.json
    if args.figures is None:
        report, theory, simulation = verify_spiking(model, params,
                                                    theory_params=theory_params,
                                                    progress=progress, **settings)
        theory, simulation = theory.to_json(), simulation.to_json()
        stored = cached = None
    else:
        report, theory, simulation, stored, cached = verify_cached(
            model, params, args.figures, settings=settings, theory_params=theory_params,
            progress=progress)
        figures = Path(args.figures)
        plot_rates(theory, simulation, figures / "rates.png")
        plot_connectivity(model, params, figures / "connectivity.png", title=model.name)
    regimes = {name: pop.get("regime", "fluctuation_driven")
               for name, pop in theory["observables"]["populations"].items()}
    if args.json:
        extra = {} if stored is None else {"result_file": str(stored), "cached": cached}
        print(dumps({"model": model.name, "params": simulation["params"],
                     "N": simulation["N"], "engine": engine, "regimes": regimes,
                     **extra, **report.to_json()}))
    else:
        print(f"model {model.name}, N = {simulation['N']}, engine {engine}, theory "
              f"{theory['method']}")
        for name, regime in regimes.items():
            if regime != "fluctuation_driven":
                print(f"{name}: {regime} — the theory states its spike-train statistics "
                      "fail here; rates compared only")
        print(report.table())
        if stored is not None:
            print(f"{'read back from' if cached else 'kept in'} {stored}; figures "
                  f"rates.png, connectivity.png in {args.figures}")
    return EXIT_OK if report.passed else EXIT_FAILED


def format_spiking(data: Mapping[str, Any]) -> str:
    """Per population: rate, its spread, CV and timescale (± stderr for simulations)."""
    params = ", ".join(f"{k} = {v:g}" for k, v in data["params"].items())
    size = "∞ (mean-field theory)" if data["N"] is None else str(data["N"])
    obs, err = data["observables"], data.get("stderr") or {}
    lines = [f"model {data['model']}, N = {size} ({data['method']})", f"  {params}",
             f"rate (all neurons): {_fmt(obs.get('rate'), err.get('rate'))} Hz"]
    header = f"{'population':<12}{'rate (Hz)':>22}{'CV':>20}{'timescale (ms)':>22}"
    lines.append(header)
    for name, pop in obs["populations"].items():
        e = (err.get("populations") or {}).get(name, {})
        lines.append(f"{name:<12}{_fmt(pop.get('rate'), e.get('rate')):>22}"
                     f"{_fmt(pop.get('cv'), e.get('cv')):>20}"
                     f"{_fmt(pop.get('timescale'), e.get('timescale')):>22}")
    return "\n".join(lines)


def _fmt(value, error=None) -> str:
    if value is None:
        return "—"
    text = f"{value:.4g}"
    if isinstance(error, int | float):
        text += f" ± {error:.2g}"
    return text
