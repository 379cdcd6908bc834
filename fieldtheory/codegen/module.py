"""Generated modules: compiled under a unique file name, visible in tracebacks, savable.

As sympy's ``lambdify`` does, the source is registered in :mod:`linecache` under the file
name the code was compiled with, so a traceback through generated code quotes the
generated line; the source is also the module's ``__doc__`` tail, ``.source`` and
``.save(path)`` (STYLE.md §10). Modules are cached by the content hash of what they were
generated from (STYLE.md §11).
"""

from __future__ import annotations

import hashlib
import linecache
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

from fieldtheory.errors import CodegenError, ConvergenceError, ParameterError

__all__ = ["GeneratedModule", "call_generated", "content_hash", "load_source", "clear_cache"]

_CACHE: dict[str, GeneratedModule] = {}


def content_hash(*parts: str) -> str:
    """sha256 of the canonical text of what a module is generated from."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class GeneratedModule:
    """A compiled generated module: its source, hash and namespace."""

    name: str
    digest: str
    source: str
    module: types.ModuleType = field(repr=False)

    @property
    def filename(self) -> str:
        return f"<fieldtheory-generated {self.name} {self.digest[:12]}>"

    def __getattr__(self, attribute: str):
        # the public functions of the generated code, e.g. solver.solve(...)
        try:
            return getattr(self.__dict__["module"], attribute)
        except (KeyError, AttributeError):
            raise AttributeError(attribute) from None

    def save(self, path: str | Path) -> Path:
        """Write the source to ``path``; the file runs without fieldtheory installed."""
        path = Path(path)
        path.write_text(self.source, encoding="utf-8")
        return path


def load_source(name: str, digest: str, source: str) -> GeneratedModule:
    """Compile ``source`` once per ``digest``; later calls return the cached module."""
    cached = _CACHE.get(digest)
    if cached is not None:
        return cached
    filename = f"<fieldtheory-generated {name} {digest[:12]}>"
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as error:
        raise CodegenError(f"generated code for {name} does not compile: {error}") from error
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(f"fieldtheory_generated_{name}_{digest[:12]}")
    module.__file__ = filename
    # dataclasses (and pickling) look a class's module up in sys.modules
    sys.modules[module.__name__] = module
    exec(code, module.__dict__)  # our own generated source, never a user string
    generated = GeneratedModule(name, digest, source, module)
    _CACHE[digest] = generated
    return generated


def clear_cache() -> None:
    """Forget every compiled module (tests of cold code generation use it)."""
    _CACHE.clear()


def call_generated(module, where: str, function, *args, **kwargs):
    """``function(*args, **kwargs)`` of a generated ``module``, its own failures as named
    errors: the runtimes' ``SolverInputError`` (a refused value, method or site) becomes
    :class:`ParameterError`, their ``ConvergenceError`` :class:`ConvergenceError` with its
    residual history, and an option the runtime does not take a ``ParameterError``. Any
    other exception is a bug and propagates unchanged (the generated module inlines its
    own copies of these classes, so they are read off the module).
    """
    try:
        return function(*args, **kwargs)
    except module.SolverInputError as error:
        raise ParameterError(f"{where}: {error}") from None
    except module.ConvergenceError as error:
        raise ConvergenceError(f"{where}: {error}", history=error.residuals) from None
    except TypeError as error:
        if "unexpected keyword argument" not in str(error):
            raise
        raise ParameterError(f"{where}: solver options refused: {error}") from None
