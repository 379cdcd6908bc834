"""No import cycles among fieldtheory's modules (issue 10).

The graph has an edge a → b for every ``import b`` / ``from b import …`` in module a,
including imports deferred into functions: a deferred import that closes a cycle is a
cycle all the same, only hidden from the interpreter (``solve ↔ diagrams.loops`` and
``ir.action ↔ ir.langevin ↔ printing`` were such). Imports under ``if TYPE_CHECKING:``
never run and are left out. ``from package import name`` counts as an import of the
submodule ``package.name`` when there is one, else of ``package``; a submodule's implicit
import of its parent packages is not an edge (every module would otherwise close a cycle
with the ``__init__`` that re-exports it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

import fieldtheory

ROOT = Path(fieldtheory.__file__).parent


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except those under ``if TYPE_CHECKING:``."""
    found, stack = [], [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph(modules: dict[str, Path]) -> nx.DiGraph:
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for statement in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(statement, ast.Import):
                targets = [alias.name for alias in statement.names]
            else:
                base = statement.module or ""
                if statement.level:  # relative: from .x import y
                    anchor = package.split(".")[: len(package.split(".")) - statement.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in statement.names]
            graph.add_edges_from((name, target) for target in targets
                                 if target in modules and target != name)
    return graph


def test_the_graph_sees_fieldtheorys_imports():
    # guards the parser: a graph without edges would make the cycle test vacuous
    graph = import_graph(_modules())
    assert graph.has_edge("fieldtheory.solve", "fieldtheory.results")
    assert graph.has_edge("fieldtheory.ir.action", "fieldtheory.ir.langevin_system")
    # a deferred import (inside a function) is an edge too
    assert graph.has_edge("fieldtheory.solve", "fieldtheory.codegen.generate")
    assert len(graph) > 50 and graph.number_of_edges() > 150


def test_a_cycle_is_detected(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg.b import g\n")
    (package / "b.py").write_text("from typing import TYPE_CHECKING\nfrom pkg import a\n"
                                  "if TYPE_CHECKING:\n    from pkg import c\n")
    (package / "c.py").write_text("import pkg.a\n")
    modules = {f"pkg.{p.stem}" if p.stem != "__init__" else "pkg": p
               for p in package.glob("*.py")}
    cycles = list(nx.simple_cycles(import_graph(modules)))
    assert sorted(map(sorted, cycles)) == [["pkg.a", "pkg.b"]]


def test_no_import_cycles():
    cycles = sorted(nx.simple_cycles(import_graph(_modules())), key=len)
    if cycles:
        pytest.fail("import cycles: " + "; ".join(" → ".join([*c, c[0]]) for c in cycles[:10]))
