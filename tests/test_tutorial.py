"""docs/tutorial_derivation.md runs as written."""

from __future__ import annotations

import doctest
from pathlib import Path

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial_derivation.md"


def test_tutorial_examples_run():
    result = doctest.testfile(
        str(TUTORIAL), module_relative=False, encoding="utf-8",
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 10
    assert result.failed == 0
