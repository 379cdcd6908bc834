"""A Model: a named action with its documentation; loading models from files.

A model file is any Python file that defines ``model``, a :class:`Model`. The shipped ones
live in the repository's ``models/`` folder (installed as ``fieldtheory.models``); every
command accepts either a shipped model's name or the path of such a file.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from fieldtheory.errors import DeclarationError, UnknownModelError
from fieldtheory.ir.action import Action
from fieldtheory.ir.parameters import ParameterSet

__all__ = ["Model", "load_model", "shipped_models", "models_directory"]


@dataclass(frozen=True)
class Model:
    """A declared network model.

    Parameters
    ----------
    name : str
    action : Action
        The single source of truth: derivations and the simulator both start from it.
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
        if not isinstance(self.action, Action):
            raise DeclarationError(f"model {self.name!r}: action must be an Action")

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


def load_model(spec: str | Path | Model) -> Model:
    """A shipped model by name, or the ``model`` defined in a Python file."""
    if isinstance(spec, Model):
        return spec
    path = Path(spec)
    if path.suffix != ".py" or not path.is_file():
        candidate = models_directory() / f"{spec}.py"
        if not candidate.is_file():
            raise UnknownModelError(
                f"unknown model {str(spec)!r}: not a model file, and not one of the shipped "
                f"models ({', '.join(shipped_models())})"
            )
        path = candidate
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"_fieldtheory_model_{path.stem}_{digest}"
    if module_name in sys.modules:
        module = sys.modules[module_name]
    else:
        spec_ = importlib.util.spec_from_file_location(module_name, path)
        if spec_ is None or spec_.loader is None:
            raise UnknownModelError(f"cannot load model file {path}")
        module = importlib.util.module_from_spec(spec_)
        sys.modules[module_name] = module
        try:
            spec_.loader.exec_module(module)
        except Exception:
            del sys.modules[module_name]
            raise
    model = getattr(module, "model", None)
    if not isinstance(model, Model):
        raise UnknownModelError(f"model file {path} does not define `model`, a fieldtheory Model")
    return model
