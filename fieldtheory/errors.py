"""One exception hierarchy for everything fieldtheory refuses.

Every error names what is wrong — the offending term, parameter or value — so that a
user can find it in their declaration. The command line prints ``str(error)`` on one line
and exits with status 2.
"""

from __future__ import annotations

__all__ = [
    "FieldTheoryError",
    "DeclarationError",
    "UndeclaredSymbolError",
    "ActionStructureError",
    "NotMSRDJError",
    "CausalityError",
    "NonlinearCouplingError",
    "ExpansionError",
    "EnsembleError",
    "DeclarationTypeError",
    "ArgumentTypeError",
    "ParameterError",
    "UnknownParameterError",
    "UnknownModelError",
    "ModelFileError",
    "DataFileError",
    "ParseError",
    "SimulationError",
    "UnstableStepError",
    "DivergenceError",
    "CodegenError",
    "ConvergenceError",
    "ResourceError",
    "OutputPathError",
    "MissingDependencyError",
]


class FieldTheoryError(Exception):
    """Base class of every error fieldtheory raises on purpose."""


class DeclarationError(FieldTheoryError):
    """A model, field, ensemble or population is declared inconsistently."""


class UndeclaredSymbolError(DeclarationError):
    """An action contains a symbol or function that the model does not declare."""


class ActionStructureError(DeclarationError):
    """An action is not of the form the requested transformation needs."""


class NotMSRDJError(ActionStructureError):
    """A term cannot be read as drift (linear in x̃) or Gaussian noise (quadratic in x̃)."""


class CausalityError(ActionStructureError):
    """A response field x̃(t) multiplies a field at a time later than t."""


class NonlinearCouplingError(ActionStructureError):
    """A coupling matrix enters the action other than linearly, as Σ_j J_ij f(x_j)."""


class ExpansionError(ActionStructureError):
    """An action cannot be expanded in Feynman diagrams around its Gaussian part."""


class EnsembleError(DeclarationError):
    """An ensemble is declared inconsistently or lacks a rule a stage needs."""


class DeclarationTypeError(DeclarationError, TypeError):
    """A declaration got a value of the wrong type (a string where a Field goes, a number
    where an Ensemble goes); a :class:`TypeError` too. The message says what was expected."""


class ArgumentTypeError(FieldTheoryError, TypeError):
    """An entry point got an argument of the wrong type (a number for a model, a list where
    a mapping goes); a :class:`TypeError` too. The message says what was expected."""


class ParameterError(FieldTheoryError):
    """A parameter value is outside its domain, or a numerical option is invalid."""


class UnknownParameterError(ParameterError):
    """A parameter name that the model does not declare."""


class UnknownModelError(FieldTheoryError):
    """A model name that is neither shipped nor a readable model file."""


class ModelFileError(UnknownModelError):
    """A model file that cannot be loaded: missing, unreadable, failing at import (a syntax
    error, an exception, ``sys.exit``), or not defining ``model`` as a Model.

    ``path`` is the file; ``line`` the line of the file where it failed (None when the
    failure has no line in it).
    """

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        super().__init__(message)
        self.path = str(path)
        self.line = line


class DataFileError(FieldTheoryError):
    """A data file (recorded activity for ``infer``/``predict-series``) that cannot be used:
    missing, unreadable, without a required key, with a NaN, of the wrong shape, too short
    for what is asked. ``path`` is the file, ``key`` the offending entry (None: the file)."""

    def __init__(self, message: str, *, path: str, key: str | None = None) -> None:
        super().__init__(message)
        self.path = str(path)
        self.key = key


class ParseError(FieldTheoryError):
    """A user string could not be parsed in the restricted namespace."""


class SimulationError(FieldTheoryError):
    """A simulation could not run or did not produce finite numbers."""


class UnstableStepError(SimulationError):
    """The time step exceeds the explicit integrator's stability bound."""


class DivergenceError(SimulationError):
    """Overflow or NaN during a simulation; reports the step and the time."""

    def __init__(self, message: str, *, step: int, time: float) -> None:
        super().__init__(message)
        self.step = step
        self.time = time


class CodegenError(FieldTheoryError):
    """An expression cannot be printed as numpy code; names the offending node."""


class ConvergenceError(FieldTheoryError):
    """A solver did not converge; carries its residual history."""

    def __init__(self, message: str, *, history: tuple[float, ...] = ()) -> None:
        super().__init__(message)
        self.history = tuple(history)


class ResourceError(FieldTheoryError):
    """Work refused before it starts: its estimated memory (or size) exceeds the limit.

    ``estimate`` and ``limit`` are in bytes (``what`` says of what); raised before any
    allocation, so nothing is half done.
    """

    def __init__(self, message: str, *, estimate: float, limit: float) -> None:
        super().__init__(message)
        self.estimate = float(estimate)
        self.limit = float(limit)


class OutputPathError(FieldTheoryError):
    """A file a command would write cannot be written there: a missing folder, a directory,
    a place without write permission. Raised before any work."""


class MissingDependencyError(FieldTheoryError):
    """An optional extra (e.g. matplotlib for ``--plot``) is not installed; names the extra."""
