"""The ``fieldtheory`` command.

``fieldtheory models`` lists the shipped models, ``fieldtheory show MODEL`` prints one,
``fieldtheory derive MODEL`` prints every stage of its mean-field derivation,
``fieldtheory simulate MODEL`` runs the reference simulator on it. MODEL is a shipped
model's name or the path of a Python file that defines ``model``.

Each subcommand is one function registered with :func:`command` in :data:`COMMANDS`,
together with a function that declares its arguments; a later subcommand is one more such
pair, in one of the modules of this package (``models``: models, show; ``theory``: solve,
codegen, verify; ``derivation``: derive, diagrams; ``simulation``: simulate; ``sweep``:
sweep). They register in the order imported below, which is the order ``--help`` lists.
Every error fieldtheory raises on purpose (:class:`~fieldtheory.errors.FieldTheoryError`)
and every usage error is printed as one line on stderr, without a traceback, with exit
status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from fieldtheory._version import __version__
from fieldtheory.cli.base import COMMANDS, EXIT_ERROR, Command, Parser, UsageError, command
from fieldtheory.cli.format import format_result
from fieldtheory.errors import FieldTheoryError

__all__ = ["COMMANDS", "Command", "build_parser", "command", "format_result", "main"]

#: The subcommand modules. Each registers its commands when imported, so this order is the
#: order ``fieldtheory --help`` lists them in.
SUBCOMMAND_MODULES = ("models", "theory", "derivation", "simulation", "sweep")
for _name in SUBCOMMAND_MODULES:
    importlib.import_module(f"fieldtheory.cli.{_name}")


def build_parser() -> argparse.ArgumentParser:
    """The ``fieldtheory`` parser with one subparser per registered command."""
    parser = Parser(
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
