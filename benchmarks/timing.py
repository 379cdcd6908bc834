"""What the benchmark scripts share: the best of a few timed calls.

Imported as ``from timing import timed`` (a script's own folder is on ``sys.path``).
"""

from __future__ import annotations

import time


def timed(function, repeat: int = 1):
    """(best wall time over ``repeat`` calls of ``function()``, its last value)."""
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value
