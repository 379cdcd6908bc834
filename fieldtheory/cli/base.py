"""What every subcommand module uses: the registry of subcommands (:func:`command`,
:data:`COMMANDS`), the parser that raises instead of exiting, and the argument types."""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from fieldtheory.errors import MissingDependencyError, OutputPathError, ParseError
from fieldtheory.parsing import parse_number
from fieldtheory.resources import check_output_path

__all__ = [
    "COMMANDS", "EXIT_BUG", "EXIT_ERROR", "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK",
    "EXIT_STATUSES", "Command", "Parser", "UsageError", "add_model_argument",
    "check_output_path", "command", "nonnegative_integer", "nonnegative_number",
    "output_file", "plot_file", "positive_integer", "positive_number",
    "refuse_overwriting_model", "require_matplotlib",
]

# ------------------------------------------------------------------------------ exit statuses
# One meaning each (../shared/CLI.md); `fieldtheory --help` prints EXIT_STATUSES.

EXIT_OK = 0
#: ``verify`` only: a comparison failed.
EXIT_FAILED = 1
#: Bad input or a named library error (FieldTheoryError): one line on stderr.
EXIT_ERROR = 2
#: An internal error, a bug: its traceback on stderr.
EXIT_BUG = 3
EXIT_INTERRUPTED = 130

EXIT_STATUSES = """\
exit statuses:
  0    success (also when the reader of stdout goes away: `fieldtheory ... | head`)
  1    verify: a comparison failed (nothing else exits 1)
  2    bad input or a named error: one line on stderr, no traceback (--debug shows it)
  3    internal error (a bug): its traceback on stderr
  130  interrupted (Ctrl-C)"""


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


#: Floats hold every integer up to 2**53 and skip some beyond it.
_FLOAT_EXACT_INTEGERS = 2**53
_DIGITS = re.compile(r"\s*\+?[0-9]+(_[0-9]+)*\s*")


def _integer_type(minimum: int) -> Callable[[str], int]:
    """An argparse type for integers ≥ ``minimum``: digits are read exactly, at any size
    (seeds above 2**53 stay distinct); an expression (``1e6``, ``2**10``) through floats,
    where it is exact, i.e. below 2**53."""
    requirement = "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"
    read = _number_type(lambda v: v.is_integer() and v >= minimum, requirement)

    def convert(text: str) -> int:
        if _DIGITS.fullmatch(text):
            try:
                value = int(text)
            except ValueError as error:  # more digits than int() reads (4300)
                raise argparse.ArgumentTypeError(f"cannot read {text[:20]!r}…: {error}"
                                                 ) from None
            if value < minimum:
                raise argparse.ArgumentTypeError(f"must be {requirement}, got {text!r}")
            return value
        value = read(text)
        if value >= _FLOAT_EXACT_INTEGERS:
            raise argparse.ArgumentTypeError(
                f"{text!r} is beyond 2**53, where an expression cannot be read exactly; "
                "write the integer in digits")
        return int(value)

    convert.__name__ = requirement
    return convert


positive_number = _number_type(lambda v: v > 0, "a positive number")
nonnegative_number = _number_type(lambda v: v >= 0, "a nonnegative number")
positive_integer = _integer_type(1)
nonnegative_integer = _integer_type(0)


def add_model_argument(parser: argparse.ArgumentParser, *, spectrum: bool = False) -> None:
    parser.add_argument(
        "model", metavar="MODEL",
        help="a shipped model's name (see `fieldtheory models`) or the path of a .py file "
             "defining `model`",
    )
    if spectrum:
        parser.add_argument(
            "--spectrum", metavar="FILE", default=None,
            help="mode strengths d_a of the model's random-mode coupling (.npy or text, "
                 "one number per entry; a shape normalised so that g stays the effective "
                 "gain)")
        parser.add_argument(
            "--gains", metavar="FILE", default=None,
            help="single-neuron gains G_i, one per unit (.npy or text), replacing the "
                 "distribution of the model's quenched gain (simulations need N = their "
                 "number; the theory takes their moments)")
        parser.add_argument(
            "--inputs", metavar="FILE", default=None,
            help="input patterns of a layered (deep or recurrent) network or a Bayesian "
                 "model (bayes_*), one per row (.npy, .csv or whitespace-separated text), "
                 "replacing its data set")
        parser.add_argument(
            "--targets", metavar="FILE", default=None,
            help="training targets of a Bayesian model (bayes_*), one row per input pattern "
                 "(P × m; one-hot for classification)")
        parser.add_argument(
            "--test", metavar="FILE", default=None,
            help="test inputs of a Bayesian model, one per row: adds prediction {mean, "
                 "variance} (the variance as N·Var for gamma = 1)")


def model_with_options(args: argparse.Namespace):
    """The model named on the command line, with its ``--spectrum``, ``--gains`` and
    ``--inputs`` files applied."""
    from fieldtheory.ir.ensembles.random_mode import load_spectrum, with_spectrum
    from fieldtheory.ir.model import load_model
    from fieldtheory.ir.quenched import load_gains, with_gains

    model = load_model(args.model)
    if getattr(args, "spectrum", None) is not None:
        model = with_spectrum(model, load_spectrum(args.spectrum))
    if getattr(args, "gains", None) is not None:
        model = with_gains(model, load_gains(args.gains))
    from fieldtheory.ir.posterior import is_posterior

    inputs, targets = getattr(args, "inputs", None), getattr(args, "targets", None)
    if is_posterior(model) or targets is not None:  # a Bayesian model's data set
        from fieldtheory.gp import load_targets
        from fieldtheory.ir.layered import load_inputs
        from fieldtheory.ir.posterior import with_data

        return with_data(model, None if inputs is None else load_inputs(inputs),
                         None if targets is None else load_targets(targets))
    if getattr(args, "test", None) is not None:
        raise UsageError(f"--test belongs to the Bayesian models (bayes_*), not {model.name}")
    if inputs is not None:
        from fieldtheory.ir.layered import load_inputs, with_inputs

        model = with_inputs(model, load_inputs(inputs))
    return model


def test_inputs(args: argparse.Namespace):
    """The ``--test`` inputs (P* × d) or None."""
    if getattr(args, "test", None) is None:
        return None
    from fieldtheory.ir.layered import load_inputs

    return load_inputs(args.test)


# ---------------------------------------------------------------------------- output files


def output_file(text: str) -> str:
    """An argparse type: a file the command will write, checked when the line is parsed.

    Raises :class:`~fieldtheory.errors.OutputPathError` (a named error: argparse lets it
    through, so the line reads "fieldtheory: error: cannot write …")."""
    check_output_path(text)
    return text


def require_matplotlib(flag: str = "--plot") -> None:
    """Refuse before any work when matplotlib cannot be imported (the ``plot`` extra)."""
    try:  # an import blocked by sys.modules["matplotlib"] = None raises ImportError too
        importlib.import_module("matplotlib")
        found = True
    except ImportError:
        found = False
    if not found:
        raise MissingDependencyError(
            f"{flag} needs matplotlib, which is not installed: pip install "
            "'fieldtheory[plot]'")


def plot_file(text: str) -> str:
    """An argparse type for ``--plot FILE``: matplotlib importable, the file writable, and
    its suffix a format matplotlib writes (no suffix: PNG) — all before the work."""
    require_matplotlib()
    check_output_path(text)
    suffix = Path(text).suffix.lower().lstrip(".")
    if suffix:
        from matplotlib.backend_bases import FigureCanvasBase

        formats = FigureCanvasBase.get_supported_filetypes()
        if suffix not in formats:
            raise OutputPathError(f"cannot write {text}: matplotlib writes no .{suffix} "
                                  f"figures; use one of {', '.join(sorted(formats))}")
    return text


def refuse_overwriting_model(model: str, output: str | None) -> None:
    """``--plot`` or ``-o`` naming the model file itself would destroy the user's model."""
    if output is None:
        return
    source, target = Path(model), Path(output)
    if source.suffix == ".py" and source.is_file() and target.exists() and \
            source.resolve() == target.resolve():
        raise OutputPathError(f"refusing to overwrite the model file {model} with {output}")


# ---------------------------------------------------------------------------- large arrays

#: Results holding more numbers than this in arrays go to ``--output FILE.npz`` (CLI.md).
ARRAY_LIMIT = 100_000


def _array_entries(data: dict):
    """(JSON pointer, container, key) of every array a result carries: the array
    observables' ``values`` (kernels) and predict's ``mean`` and ``variance``."""
    from fieldtheory.observables import ARRAY_KEYS

    for section in ("observables", "stderr", "leading_order"):
        for key in ARRAY_KEYS:
            entry = (data.get(section) or {}).get(key)
            if isinstance(entry, dict) and "values" in entry:
                yield f"/{section}/{key}/values", entry, "values"
    if "observables" not in data:
        for key in ("mean", "variance"):
            if isinstance(data.get(key), list):
                yield f"/{key}", data, key
    # a Bayesian model's matrices (P × P kernel, m × m moments, P* × m predictions)
    for section in ("observables", "stderr"):
        block = data.get(section) or {}
        for key in ("kernel_posterior", "readout_second_moment"):
            if isinstance(block.get(key), list):
                yield f"/{section}/{key}", block, key
        prediction = block.get("prediction")
        if isinstance(prediction, dict):
            for key in ("mean", "variance"):
                if isinstance(prediction.get(key), list):
                    yield f"/{section}/prediction/{key}", prediction, key


def offload_arrays(data: dict, output: str | None) -> dict:
    """With ``output``, every array of ``data`` is written to that ``.npz`` (under its JSON
    pointer, without the leading slash) and replaced in the JSON by a summary {``file``,
    ``key``, ``shape``, ``min``, ``max``, ``mean``}; without it, a result holding more than
    :data:`ARRAY_LIMIT` numbers in arrays is refused by name before anything is printed."""
    import numpy as np

    from fieldtheory.errors import ParameterError

    entries = list(_array_entries(data))
    if output is None:
        total = sum(np.size(container[key]) for _, container, key in entries)
        if total > ARRAY_LIMIT:
            raise ParameterError(f"the result holds {total} numbers in arrays (more than "
                                 f"{ARRAY_LIMIT}); write them with --output FILE.npz")
        return data
    arrays = {}
    for pointer, container, key in entries:
        array = np.array(container[key], dtype=float)
        name = pointer.lstrip("/").replace("/", ".")
        arrays[name] = array
        finite = array[np.isfinite(array)]
        container[key] = {"file": str(output), "key": name, "shape": list(array.shape),
                          "min": float(finite.min()) if finite.size else None,
                          "max": float(finite.max()) if finite.size else None,
                          "mean": float(finite.mean()) if finite.size else None}
    np.savez(output, **arrays)
    return data
