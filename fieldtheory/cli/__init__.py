"""The ``fieldtheory`` command.

``fieldtheory models`` lists the shipped models, ``fieldtheory show MODEL`` prints one,
``fieldtheory derive MODEL`` prints every stage of its mean-field derivation,
``fieldtheory simulate MODEL`` runs the reference simulator on it. MODEL is a shipped
model's name or the path of a Python file that defines ``model``.

Each subcommand is one function registered with :func:`command` in :data:`COMMANDS`,
together with a function that declares its arguments; a later subcommand is one more such
pair, in one of the modules of this package (``models``: models, show; ``theory``: solve,
codegen, verify; ``derivation``: derive, diagrams; ``simulation``: simulate; ``inference``:
infer, predict-series; ``sweep``: sweep). They register in the order imported below,
which is the order ``--help`` lists.
Every error fieldtheory raises on purpose (:class:`~fieldtheory.errors.FieldTheoryError`)
and every usage error is printed as one line on stderr, without a traceback (``--debug``
adds it), with exit status 2; anything else is a bug: its traceback and status 3. Files a
command will write (``--plot``, ``codegen -o``) are checked when the line is parsed,
before any work. The statuses are listed in ``--help`` (``base.EXIT_STATUSES``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from fieldtheory._version import __version__
from fieldtheory.cli.base import (
    COMMANDS,
    EXIT_BUG,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STATUSES,
    Command,
    Parser,
    UsageError,
    command,
)
from fieldtheory.cli.format import format_result
from fieldtheory.errors import FieldTheoryError
from fieldtheory.resources import DEFAULT_LIMIT_TEXT, ENVIRONMENT, memory_limit, parse_size

__all__ = ["COMMANDS", "Command", "build_parser", "command", "format_result", "main"]

#: The subcommand modules. Each registers its commands when imported, so this order is the
#: order ``fieldtheory --help`` lists them in.
SUBCOMMAND_MODULES = ("models", "theory", "derivation", "simulation", "inference", "sweep")
for _name in SUBCOMMAND_MODULES:
    importlib.import_module(f"fieldtheory.cli.{_name}")

_DEBUG_HELP = "on an error, also print its traceback"
_MEMORY_HELP = (f"refuse work estimated to need more memory than SIZE (bytes or with a K, M, "
                f"G, T suffix; default: ${ENVIRONMENT}, else {DEFAULT_LIMIT_TEXT})")


def _memory_size(text: str) -> int:
    try:
        return parse_size(text)
    except FieldTheoryError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    """The ``fieldtheory`` parser with one subparser per registered command."""
    parser = Parser(
        prog="fieldtheory",
        description="Statistical field theory of neural networks: declare a model as an "
                    "MSRDJ action, print it, simulate it.",
        epilog=EXIT_STATUSES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fieldtheory {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    parser.add_argument("--memory-limit", type=_memory_size, default=None, metavar="SIZE",
                        help=_MEMORY_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for entry in COMMANDS.values():
        sub = subparsers.add_parser(entry.name, help=entry.help, description=entry.help,
                                    epilog=EXIT_STATUSES,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        # accepted after the command too; SUPPRESS keeps the subparser from resetting it
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help=_DEBUG_HELP)
        sub.add_argument("--memory-limit", type=_memory_size, default=argparse.SUPPRESS,
                         metavar="SIZE", help=_MEMORY_HELP)
        entry.configure(sub)
    return parser


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _refuse(message: str, error: BaseException, debug: bool) -> int:
    """A refusal: one line on stderr (after the traceback with ``--debug``); status 2."""
    if debug:
        traceback.print_exception(error)
    print(message, file=sys.stderr)
    return EXIT_ERROR


def _quiet_stdout() -> None:
    """The reader of stdout left: send what is still buffered nowhere, say nothing."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    The statuses mean one thing each (:data:`~fieldtheory.cli.base.EXIT_STATUSES`): 0
    success, 1 a failed ``verify``, 2 a refusal (a usage error or a
    :class:`~fieldtheory.errors.FieldTheoryError`: one line, no traceback unless
    ``--debug``), 3 a bug (anything else: its traceback), 130 Ctrl-C; a closed stdout
    (``| head``) ends quietly with 0.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv[: argv.index("--")] if "--" in argv else "--debug" in argv
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exit_:  # --help and --version end the parse here
            return exit_.code if isinstance(exit_.code, int) else EXIT_OK
        with memory_limit(args.memory_limit):
            status = COMMANDS[args.command].run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except UsageError as error:
        return _refuse(f"{_one_line(str(error))} (see --help)", error, debug)
    except FieldTheoryError as error:
        return _refuse(f"fieldtheory: error: {_one_line(str(error)) or type(error).__name__}",
                       error, debug)
    except KeyboardInterrupt:
        print("fieldtheory: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `fieldtheory ... | head`: the reader left; say nothing more
        _quiet_stdout()
        return EXIT_OK
    except (Exception, SystemExit) as error:  # a bug (SystemExit: something called exit)
        traceback.print_exception(error)
        print(f"fieldtheory: internal error (a bug, please report it with the traceback "
              f"above): {type(error).__name__}: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_BUG
