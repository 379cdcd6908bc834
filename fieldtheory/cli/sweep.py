"""``fieldtheory sweep``: phase diagrams over a parameter grid."""

from __future__ import annotations

import argparse
import sys

from fieldtheory.cli.base import (
    add_model_argument,
    command,
    plot_file,
    positive_integer,
    positive_number,
)
from fieldtheory.ir.model import load_model
from fieldtheory.jsonout import dumps


def _sweep_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=RANGE",
                        help="a ranged parameter NAME=start:stop:count (inclusive; one or "
                             "two make a 1-D or 2-D grid) or a fixed one NAME=VALUE")
    parser.add_argument("--tau-max", type=positive_number, default=20.0)
    parser.add_argument("--dtau", type=positive_number, default=0.25)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object {grid, observables, phase, …}")
    parser.add_argument("--curves", action="store_true",
                        help="keep each point's autocorrelations and response in the JSON")
    parser.add_argument("--plot", metavar="FILE", type=plot_file,
                        help="save the phase diagram (matplotlib; checked before the work)")
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
    print(dumps(result.to_json()) if args.json else result.table())
    if args.plot:
        result.plot(args.plot)
    return 0
