"""``fieldtheory models`` and ``fieldtheory show``."""

from __future__ import annotations

import argparse

from fieldtheory.cli.base import add_model_argument, command
from fieldtheory.ir.model import load_model, shipped_models
from fieldtheory.printing import action_latex


@command("models", "list the shipped models")
def models_command(args: argparse.Namespace) -> int:
    """Print each shipped model's name and one-line description."""
    names = shipped_models()
    width = max(map(len, names), default=0)
    for name in names:
        print(f"{name:<{width}}  {load_model(name).description}")
    return 0


def _show_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("--latex", action="store_true", help="print the action as LaTeX")


@command("show", "print a model: action, ensembles, parameters", _show_arguments)
def show_command(args: argparse.Namespace) -> int:
    """Print ``str(model)``, or with ``--latex`` the LaTeX of its action."""
    model = load_model(args.model)
    print(action_latex(model.action) if args.latex else str(model))
    return 0
