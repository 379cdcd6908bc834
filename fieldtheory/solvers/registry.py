"""The solver registry: which runtimes exist, which a model's generated module inlines.

Each runtime module under :mod:`fieldtheory.solvers.runtime` registers its solver with
:func:`~fieldtheory.solvers.runtime.common.register_runtime` when it is imported — name,
applicability test on the lowered site (a ``SiteSpec``), priority, structural test on the
symbolic lowered problem, and ``solve(site, grid, options)``. The registry itself lives in
``runtime/common.py`` (``RUNTIMES``) because generated modules inline that file: the same
decorators fill the generated module's own registry, so method choice works identically
inside and outside fieldtheory.

This module is the library's view of it: the registered runtimes, the methods
``solve --method`` accepts, the modules a lowered problem needs, the registry's signature
for content hashes, and :func:`scoped` registration (a test's runtime is removed after it).
A new family adds one runtime module and lists it in :data:`BUILTIN` — nothing else.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from types import ModuleType

from fieldtheory.errors import CodegenError
from fieldtheory.solvers.runtime import common
from fieldtheory.solvers.runtime.common import RUNTIMES, Runtime

__all__ = ["BUILTIN", "methods", "modules_for", "runtime_module", "runtimes", "scoped",
           "signature"]

#: The runtime modules shipped with fieldtheory, imported (hence registered) on first use.
BUILTIN = ("stationary", "two_time", "maps", "maps_multi", "multi", "kernel", "monte_carlo",
           "fluctuations",
           "fluctuations_sampled",
           "layered", "kac_rice", "window_variance", "posterior",
           "posterior_sampled", "posterior_quadrature", "spiking", "spiking_shot",
           "spiking_colored")

_PACKAGE = common.__package__


def _load_builtin() -> None:
    for name in BUILTIN:
        importlib.import_module(f"{_PACKAGE}.{name}")


def runtimes(kind: str | None = None) -> dict[str, Runtime]:
    """The registered runtimes by name (of one ``kind`` when given)."""
    _load_builtin()
    return {n: r for n, r in RUNTIMES.items() if kind is None or r.kind == kind}


def methods() -> tuple[str, ...]:
    """The names ``solve(method=...)`` accepts: the stationary runtimes, sorted."""
    return tuple(sorted(runtimes("stationary")))


def runtime_module(runtime: Runtime | str) -> ModuleType:
    """The module that registered ``runtime`` (a Runtime or a registered name)."""
    if isinstance(runtime, str):
        known = runtimes()
        if runtime not in known:
            raise CodegenError(f"no solver runtime named {runtime!r}; registered: "
                               f"{sorted(known)}")
        runtime = known[runtime]
    return sys.modules[runtime.solve.__module__]


def modules_for(problem) -> tuple[ModuleType, ...]:
    """The runtime modules a generated module for the lowered ``problem`` inlines: every
    registered runtime whose ``needs(problem)`` holds (all without a ``needs``), each
    module once, sorted by module name (the generated source must not depend on the order
    in which a process happened to import the runtimes)."""
    out: dict[str, ModuleType] = {}
    for runtime in runtimes().values():
        if runtime.needs is None or runtime.needs(problem):
            module = runtime_module(runtime)
            out.setdefault(module.__name__, module)
    return tuple(out[name] for name in sorted(out))


def signature() -> tuple[tuple[str, str, str, int], ...]:
    """(name, kind, module, priority) of every registered runtime: part of the content
    hash of generated modules, so registering a runtime regenerates them."""
    return tuple(sorted((r.name, r.kind, r.solve.__module__, r.priority)
                        for r in runtimes().values()))


@contextlib.contextmanager
def scoped(*modules: str) -> Iterator[dict[str, Runtime]]:
    """Register the runtimes of the named modules for the duration of a ``with`` block.

    Each module is imported (re-executed if it was imported before, so its registrations
    run again); on exit the registry is restored to what it was. Yields the registry.
    """
    _load_builtin()
    saved = dict(RUNTIMES)
    try:
        for name in modules:
            if name in sys.modules:
                importlib.reload(sys.modules[name])
            else:
                importlib.import_module(name)
        yield RUNTIMES
    finally:
        RUNTIMES.clear()
        RUNTIMES.update(saved)
