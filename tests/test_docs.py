"""The README and docs/ stay true: their examples run, their links resolve.

pytest's ``--doctest-glob='*.md'`` only collects Markdown under ``testpaths`` (tests/), so
the documents outside it are doctested here, one test per file.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import fieldtheory as ft

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_run(path):
    result = doctest.testfile(str(path), module_relative=False, encoding="utf-8",
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        assert (path.parent / target).exists(), f"{path.name} links to missing {target}"


def test_every_shipped_model_has_a_page():
    pages = "\n".join(p.read_text(encoding="utf-8")
                      for p in (ROOT / "docs" / "models").glob("*.md"))
    for name in ft.shipped_models():
        assert f"`{name}`" in pages, f"no page in docs/models/ describes {name}"


def test_index_lists_every_page():
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    for page in DOCUMENTS:
        if page.parent.is_relative_to(ROOT / "docs") and page.name != "index.md":
            assert str(page.relative_to(ROOT / "docs")) in index, page
