"""``fieldtheory derive`` (the stages of the mean-field derivation) and ``fieldtheory
diagrams`` (Feynman diagrams of polynomial actions)."""

from __future__ import annotations

import argparse
import sys

from fieldtheory.cli.base import UsageError, add_model_argument, command, nonnegative_integer
from fieldtheory.ir.model import load_model
from fieldtheory.jsonout import dumps
from fieldtheory.progress import heartbeat


def _derive_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("--order", choices=["1/N"], default=None,
                        help="1/N: add the Gaussian fluctuations around the saddle point "
                             "(the Hessian of N·S, stage `fluctuations`)")
    parser.add_argument("--fixed-points", action="store_true",
                        help="add the Kac–Rice theory of the fixed points (stage `kac_rice`)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--latex", action="store_true", help="print every stage as LaTeX")
    form.add_argument("--json", action="store_true",
                      help="print one JSON object: stages, order parameters, self-consistency")


@command("derive", "derive the mean-field theory: every stage, in order", _derive_arguments)
def derive_command(args: argparse.Namespace) -> int:
    """Print the stages of :func:`fieldtheory.derive.derive` (text, LaTeX or JSON)."""
    from fieldtheory.derive import derive, derive_fixed_points  # loaded only when asked for

    if args.fixed_points and args.order is not None:
        raise UsageError("derive: --fixed-points and --order are separate stages; give one")
    if args.fixed_points:
        derivation = derive_fixed_points(load_model(args.model))
    else:
        derivation = derive(load_model(args.model), order=args.order)
    if args.json:
        print(dumps(derivation.to_json(), ensure_ascii=False))
    elif args.latex:
        print("\n\n".join(f"% {s.name}\n{s.latex}" for s in derivation.stages))
    else:
        print(derivation)
    return 0


# ------------------------------------------------------------------------------ diagrams


def _diagrams_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
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
    with heartbeat(f"diagrams {model.name}", enabled=sys.stderr.isatty()):
        text = (dumps(diagrams_json(model, args.order), ensure_ascii=False) if args.json
                else diagrams_text(model, args.order, as_latex=args.latex))
    print(text)
    return 0
