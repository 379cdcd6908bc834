"""A Model: a named action with its documentation; loading models from files.

A model file is any Python file that defines ``model``, a :class:`Model`. The shipped ones
live in the repository's ``models/`` folder (installed as ``fieldtheory.models``); every
command accepts either a shipped model's name or the path of such a file.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.resources
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from fieldtheory.errors import (
    ArgumentTypeError,
    ModelFileError,
    ParameterError,
    UnknownModelError,
)
from fieldtheory.ir.action import Action
from fieldtheory.ir.checks import describe, require_instance
from fieldtheory.ir.parameters import ParameterSet

__all__ = ["Model", "as_model", "load_model", "models_directory", "require_dynamic",
           "shipped_models"]


@dataclass(frozen=True)
class Model:
    """A declared network model.

    Parameters
    ----------
    name : str
    action : Action or Posterior
        The single source of truth: derivations and the simulator both start from it (a
        :class:`~fieldtheory.ir.posterior.Posterior` for the static Bayesian models).
    description : str
        One paragraph for ``fieldtheory show``.
    reference : str
        The paper the model comes from.
    """

    name: str
    action: Action
    description: str = ""
    reference: str = ""

    def __post_init__(self) -> None:
        require_instance(self.name, str, "Model: name", "a str")
        what = f"model {self.name!r}:"
        from fieldtheory.ir.posterior import Posterior  # a static model (issue 15)
        from fieldtheory.ir.spiking import SpikingNetwork  # spiking networks (issue 18)

        require_instance(self.action, (Action, Posterior, SpikingNetwork), f"{what} action",
                         "an Action (from ft.langevin or ft.Action), a Posterior "
                         "(ft.posterior) or a SpikingNetwork (ft.spiking_network)")
        require_instance(self.description, str, f"{what} description", "a str")
        require_instance(self.reference, str, f"{what} reference", "a str")

    @property
    def parameters(self) -> ParameterSet:
        return self.action.parameters

    def __str__(self) -> str:
        from fieldtheory.printing import model_text

        return model_text(self)

    def _repr_latex_(self) -> str:
        return self.action._repr_latex_()


def models_directory() -> Path:
    """The folder of shipped model files."""
    try:
        return Path(str(importlib.resources.files("fieldtheory.models")))
    except ModuleNotFoundError:  # a source checkout that was not installed
        return Path(__file__).resolve().parents[2] / "models"


def shipped_models() -> list[str]:
    """Names of the shipped models, sorted."""
    return sorted(p.stem for p in models_directory().glob("*.py") if not p.stem.startswith("_"))


def as_model(model: Model | str | os.PathLike, *, actions: bool = False) -> Model:
    """The model an entry point was given: a Model, a shipped model's name or a file's path.

    Every public entry point (``derive``, ``solve``, ``simulate``, ``verify``, ``sweep``,
    ``generate``, the diagrams) calls this first, so that all of them take the same things
    and refuse the same things. With ``actions=True`` an :class:`Action` passes through too.

    Raises
    ------
    ArgumentTypeError
        (a TypeError) for anything else (a number, a list, …), saying what was expected.
    UnknownModelError, ModelFileError
        From :func:`load_model`.
    """
    if isinstance(model, Model) or (actions and isinstance(model, Action)):
        return model
    if isinstance(model, str | os.PathLike):
        return load_model(model)
    expected = "a Model, an Action" if actions else "a Model"
    raise ArgumentTypeError(f"expected {expected}, a shipped model's name or the path of "
                            f"a model file; got {describe(model)}")


def load_model(spec: str | os.PathLike | Model) -> Model:
    """A shipped model by name, or the ``model`` defined in a Python file.

    A ``spec`` that looks like a path (it ends in ``.py``, contains a path separator, or is
    a :class:`~os.PathLike`) is a file; anything else a shipped model's name.

    Raises
    ------
    ArgumentTypeError
        (a TypeError) ``spec`` is not a string, a path or a Model.
    UnknownModelError
        A name that is not a shipped model's (the message lists them).
    ModelFileError
        A file that does not exist ("no such file"), is a directory or not a ``.py`` file,
        cannot be read, fails at import (a syntax error, any exception, ``sys.exit``: the
        message names the file and the line), or does not define ``model`` as a Model.
    """
    if isinstance(spec, Model):
        return spec
    if not isinstance(spec, str | os.PathLike):
        raise ArgumentTypeError(f"expected a Model, a shipped model's name or the path of a "
                                f"model file; got {describe(spec)}")
    return _load_file(_model_path(spec))


def _model_path(spec: str | os.PathLike) -> Path:
    """The file ``spec`` names: a shipped model's, or a path that must exist."""
    text = os.fspath(spec)
    path = Path(text)
    separators = {os.sep, os.altsep} - {None}
    if not (isinstance(spec, os.PathLike) or path.suffix == ".py"
            or any(sep in text for sep in separators)):
        if text in shipped_models():
            return models_directory() / f"{text}.py"
        if path.is_file():
            raise ModelFileError(f"model file {text}: not a Python file (.py)", path=text)
        raise UnknownModelError(
            f"unknown model {text!r}: not a model file, and not one of the shipped models "
            f"({', '.join(shipped_models())})"
        )
    if path.is_dir():
        raise ModelFileError(f"model file {text}: is a directory, not a .py file", path=text)
    if not path.exists():
        raise ModelFileError(f"no such file: {text} (a model file must exist)", path=text)
    if path.suffix != ".py":
        raise ModelFileError(f"model file {text}: not a Python file (.py)", path=text)
    return path


def _load_file(path: Path) -> Model:
    """Import ``path`` once (cached by its resolved path) and return its ``model``."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"_fieldtheory_model_{path.stem}_{digest}"
    if module_name in sys.modules:
        module = sys.modules[module_name]
    else:
        try:
            with path.open("rb"):
                pass
        except OSError as error:
            raise ModelFileError(f"model file {path}: cannot read it: {error.strerror}",
                                 path=str(path)) from None
        spec_ = importlib.util.spec_from_file_location(module_name, path)
        if spec_ is None or spec_.loader is None:
            raise ModelFileError(f"model file {path}: cannot be imported", path=str(path))
        module = importlib.util.module_from_spec(spec_)
        sys.modules[module_name] = module
        try:
            spec_.loader.exec_module(module)
        except KeyboardInterrupt:
            del sys.modules[module_name]
            raise
        except BaseException as error:  # SystemExit and SyntaxError too
            del sys.modules[module_name]
            raise _import_failure(path, error) from error
    model = getattr(module, "model", None)
    if not isinstance(model, Model):
        sys.modules.pop(module_name, None)  # not kept: a corrected file loads afresh
    if not hasattr(module, "model"):
        raise ModelFileError(f"model file {path} does not define `model`, a fieldtheory Model",
                             path=str(path))
    if isinstance(model, Action):
        raise ModelFileError(
            f"model file {path}: `model` is an Action, not a Model; wrap it: "
            f"model = ft.Model(name, action)", path=str(path))
    if not isinstance(model, Model):
        raise ModelFileError(f"model file {path}: `model` is of type {type(model).__name__}, not a "
                             f"fieldtheory Model", path=str(path))
    return model


def _import_failure(path: Path, error: BaseException) -> ModelFileError:
    """One line naming the file, the line of it where the import failed, and why."""
    line = _line_in(path, error)
    where = f"model file {path}" + (f", line {line}" if line is not None else "")
    if isinstance(error, SystemExit):
        why = f"the file calls sys.exit({error.code!r}) when imported"
    elif isinstance(error, SyntaxError):
        why = f"{type(error).__name__}: {error.msg}"
        if error.filename and not _same_file(error.filename, path):
            why += f" (in {error.filename}, line {error.lineno})"
    else:
        why = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        suggestion = _suggestion(error)
        if suggestion:
            why += f"; did you mean {suggestion}?"
    return ModelFileError(f"{where}: {why}", path=str(path), line=line)


def _line_in(path: Path, error: BaseException) -> int | None:
    """The line of ``path`` nearest the failure: the innermost traceback frame in the file,
    or a syntax error's own line when it is in the file."""
    if isinstance(error, SyntaxError) and error.filename and _same_file(error.filename, path):
        return error.lineno
    line, tb = None, error.__traceback__
    while tb is not None:
        if _same_file(tb.tb_frame.f_code.co_filename, path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _same_file(filename: str, path: Path) -> bool:
    try:
        return Path(filename).resolve() == path.resolve()
    except (OSError, ValueError):
        return False


def _suggestion(error: BaseException) -> str | None:
    """For a mistyped attribute of a module (``ft.langevn``): the closest existing name."""
    if not isinstance(error, AttributeError):
        return None
    owner, name = getattr(error, "obj", None), getattr(error, "name", None)
    if owner is None or not isinstance(name, str):
        return None
    close = difflib.get_close_matches(name, [n for n in dir(owner) if not n.startswith("_")],
                                      n=1)
    if not close:
        return None
    prefix = "ft." if getattr(owner, "__name__", None) == "fieldtheory" else ""
    return prefix + close[0]


def require_dynamic(model, what: str) -> None:
    """Refuse a static posterior model, or a spiking network, by name where a rate
    network's action is needed (``what`` names the entry point); anything else passes
    unchanged (loaded only to look)."""
    from fieldtheory.ir.posterior import Posterior
    from fieldtheory.ir.spiking import SpikingNetwork

    if isinstance(model, Posterior | SpikingNetwork):
        name, action = "this model", model
    else:
        try:
            loaded = load_model(model)
        except Exception:  # not a model this check can read: the entry point reports it
            return
        name, action = loaded.name, loaded.action
    if isinstance(action, Posterior):
        raise ParameterError(f"{what}: {name} is a static Bayesian posterior model (no "
                             "dynamics); it takes derive, solve and simulate (posterior "
                             "samples)")
    if isinstance(action, SpikingNetwork):
        raise ParameterError(f"{what}: {name} is a spiking network (no Langevin action); it "
                             "takes derive, solve, simulate and verify")
