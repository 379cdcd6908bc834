"""What every subcommand module uses: the registry of subcommands (:func:`command`,
:data:`COMMANDS`), the parser that raises instead of exiting, and the argument types."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from fieldtheory.errors import ParseError
from fieldtheory.parsing import parse_number

__all__ = [
    "COMMANDS", "EXIT_ERROR", "Command", "Parser", "UsageError", "add_model_argument", "command",
    "nonnegative_integer",
    "nonnegative_number", "positive_integer", "positive_number",
]

#: Exit status of every refused command line (usage errors and FieldTheoryError).
EXIT_ERROR = 2


class UsageError(Exception):
    """A malformed command line (argparse's complaint, raised instead of exiting)."""


class Parser(argparse.ArgumentParser):
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


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", metavar="MODEL",
        help="a shipped model's name (see `fieldtheory models`) or the path of a .py file "
             "defining `model`",
    )
