"""Resource guards: estimate what a job will need from its inputs and refuse it before the
work starts (issue 11; ``../shared/CLI.md``).

The limit is, in order: the innermost :func:`memory_limit` context (the command line's
``--memory-limit``), the environment variable ``FIELDTHEORY_MEMORY_LIMIT``, and the
default :data:`DEFAULT_LIMIT_TEXT` (half the physical memory, at most 8 GiB). Sizes are
written as bytes or with a K, M, G or T suffix (powers of 1024): ``512M``, ``2.5G``.

:func:`require` compares an estimate with the limit and raises
:class:`~fieldtheory.errors.ResourceError` (carrying both) when it is over. Estimates are
of the dominant arrays only (dense coupling matrices, lattices, grids); they are meant to
catch requests that are off by orders of magnitude, at no measurable cost.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
from collections.abc import Iterator
from pathlib import Path

from fieldtheory.errors import OutputPathError, ParameterError, ResourceError

__all__ = ["DEFAULT_LIMIT_TEXT", "DEFAULT_TIME_LIMIT", "ENVIRONMENT", "TIME_ENVIRONMENT",
           "check_output_path",
           "format_size", "limit", "memory_limit", "parse_size", "require", "require_time",
           "time_limit"]

#: The environment variable read when no ``--memory-limit`` is given.
ENVIRONMENT = "FIELDTHEORY_MEMORY_LIMIT"

#: How the default is stated in ``--help``.
DEFAULT_LIMIT_TEXT = "half the physical memory, at most 8G"

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_LIMIT: contextvars.ContextVar[int | None] = contextvars.ContextVar("memory_limit", default=None)


def parse_size(text: str | int | float) -> int:
    """Bytes from ``"512M"``, ``"2.5G"``, ``"1048576"`` or a number; ParameterError
    naming the text otherwise (or when not positive)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMGT]?)i?B?\s*",
                             str(text), flags=re.IGNORECASE)
        if match is None:
            raise ParameterError(f"memory size {text!r} is not a number of bytes with an "
                                 "optional K, M, G or T suffix (e.g. 512M, 2G)")
        value = float(match.group(1)) * _UNITS[match.group(2).upper()]
    if not value > 0 or value != value or value == float("inf"):
        raise ParameterError(f"memory size {text!r} must be a positive, finite size")
    return int(value)


def format_size(size: float) -> str:
    """``1.5 GiB``-style text for a byte count."""
    for unit, name in ((1024**4, "TiB"), (1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
        if size >= unit:
            return f"{size / unit:.3g} {name}"
    return f"{size:.0f} B"


def _default() -> int:
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a POSIX system: the cap alone
        physical = 16 * 1024**3
    return int(min(physical // 2, 8 * 1024**3))


def limit() -> int:
    """The memory limit in force, in bytes."""
    inner = _LIMIT.get()
    if inner is not None:
        return inner
    text = os.environ.get(ENVIRONMENT)
    if text:
        try:
            return parse_size(text)
        except ParameterError as error:
            raise ParameterError(f"{ENVIRONMENT}: {error}") from None
    return _default()


@contextlib.contextmanager
def memory_limit(size: str | int | float | None) -> Iterator[int]:
    """Use ``size`` as the limit inside a ``with`` block (None: leave it as it is)."""
    if size is None:
        yield limit()
        return
    token = _LIMIT.set(parse_size(size))
    try:
        yield _LIMIT.get()
    finally:
        _LIMIT.reset(token)


def require(estimate: float, what: str) -> None:
    """Raise :class:`ResourceError` when ``estimate`` bytes exceed the limit; ``what``
    names the job and the input that drives the size (e.g. "simulate scs: N = 50000")."""
    bound = limit()
    if estimate > bound:
        raise ResourceError(
            f"{what} needs about {format_size(estimate)} of memory, over the limit of "
            f"{format_size(bound)} (set --memory-limit or {ENVIRONMENT} to allow it)",
            estimate=estimate, limit=bound)


#: The environment variable of the time guard (seconds), and its default (one hour).
TIME_ENVIRONMENT = "FIELDTHEORY_TIME_LIMIT"
DEFAULT_TIME_LIMIT = 3600.0


def time_limit() -> float:
    """Seconds a job estimated in advance may take: ``FIELDTHEORY_TIME_LIMIT`` or one hour."""
    text = os.environ.get(TIME_ENVIRONMENT)
    if not text:
        return DEFAULT_TIME_LIMIT
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ParameterError(f"{TIME_ENVIRONMENT} = {text!r} is not a positive number of "
                             "seconds")
    return value


def require_time(seconds: float, what: str) -> None:
    """Raise :class:`ResourceError` when work estimated at ``seconds`` exceeds the time
    limit (``estimate`` and ``limit`` in seconds), before it starts."""
    bound = time_limit()
    if seconds > bound:
        raise ResourceError(
            f"{what} would take about {seconds:.3g} s (estimated), over the limit of "
            f"{bound:.3g} s (set {TIME_ENVIRONMENT} to allow it)",
            estimate=seconds, limit=bound)


def check_output_path(path: str | os.PathLike) -> Path:
    """Refuse, before any work, a file that cannot be written where asked.

    A missing folder, a path that is a directory (or inside a file), a place without write
    permission or on a read-only file system: :class:`~fieldtheory.errors.OutputPathError`
    naming the path. Nothing is created.
    """
    text = os.fspath(path)
    if not text.strip():
        raise OutputPathError("an output path must not be empty")
    target = Path(text)
    folder = target.parent
    if target.is_dir():
        raise OutputPathError(f"cannot write {text}: it is a directory")
    if not folder.exists():
        raise OutputPathError(f"cannot write {text}: no such folder {folder}")
    if not folder.is_dir():
        raise OutputPathError(f"cannot write {text}: {folder} is not a folder")
    if target.exists():
        if not os.access(target, os.W_OK):
            raise OutputPathError(f"cannot write {text}: permission denied (the file is not "
                                  "writable)")
    elif not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {text}: permission denied (cannot create files "
                              f"in {folder})")
    return target
