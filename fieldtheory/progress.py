"""A progress bar on stderr: tqdm when it is installed, else a small built-in one.

tqdm is optional (``pip install 'fieldtheory[progress]'``); the fallback prints a
carriage-return line at most every ``interval`` seconds, so it costs nothing measurable in a
simulation loop that updates it once per sample.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Protocol

__all__ = ["Heartbeat", "NullBar", "Progress", "TextBar", "heartbeat", "progress_bar"]


class Progress(Protocol):
    def update(self, n: int = 1) -> None: ...

    def close(self) -> None: ...


class NullBar:
    """A bar that shows nothing (progress disabled)."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> NullBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class TextBar:
    """``description: 42% |████      | 420/1000 [3.1 s]`` on one rewritten line."""

    def __init__(self, total: int, description: str = "", stream: IO[str] | None = None,
                 interval: float = 0.2, width: int = 20) -> None:
        self.total, self.description = max(int(total), 1), description
        self.stream = stream if stream is not None else sys.stderr
        self.interval, self.width = interval, width
        self.count, self.start = 0, time.monotonic()
        self._shown = -float("inf")
        self._closed = False

    def update(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if now - self._shown >= self.interval or self.count >= self.total:
            self._shown = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        fraction = min(self.count / self.total, 1.0)
        filled = round(fraction * self.width)
        bar = "█" * filled + " " * (self.width - filled)
        prefix = f"{self.description}: " if self.description else ""
        self.stream.write(f"\r{prefix}{fraction:4.0%} |{bar}| {self.count}/{self.total} "
                          f"[{now - self.start:.1f} s]")
        self.stream.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()

    def __enter__(self) -> TextBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(total: int, *, enabled: bool = True, description: str = "",
                 unit: str = "step"):
    """A context-managed bar with ``update(n)``; tqdm if importable, else :class:`TextBar`."""
    if not enabled:
        return NullBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return TextBar(total, description)
    return tqdm(total=total, desc=description or None, unit=unit, file=sys.stderr,
                dynamic_ncols=True, leave=True)


class Heartbeat:
    """Feedback for work of unknown length: after ``after`` seconds, ``description:
    running 12 s`` rewritten on one stderr line every ``interval`` seconds by a daemon
    thread, and the total when it ends. Prints nothing for work shorter than ``after``.
    """

    def __init__(self, description: str, stream: IO[str] | None = None,
                 after: float = 2.0, interval: float = 1.0) -> None:
        import threading

        self.description, self.after, self.interval = description, after, interval
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.monotonic()
        self.shown = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        if self._stop.wait(self.after):
            return
        while True:
            self.shown = True
            self.stream.write(f"\r{self.description}: running "
                              f"{time.monotonic() - self.start:.0f} s")
            self.stream.flush()
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        if self.shown:
            self.stream.write(f"\r{self.description}: done in "
                              f"{time.monotonic() - self.start:.1f} s\n")
            self.stream.flush()


def heartbeat(description: str, enabled: bool = True, **options) -> Heartbeat | NullBar:
    """A :class:`Heartbeat` (or nothing when not ``enabled``) for a ``with`` block."""
    return Heartbeat(description, **options) if enabled else NullBar()
