"""No import cycle inside ``qa``: a module never needs, directly or through others, a module
that needs it. A cycle is what made ``qa.index`` hard to enter (issue 24): the interfaces the
engines import were also the factory that imports the engines.

Every import statement counts, wherever it is: at module level, inside a function (a lazy
import is still a dependency, only a later one) and under ``if TYPE_CHECKING`` (a type an
interface names is part of it). ``import a.b.c`` and ``from a.b import c`` depend on ``a.b.c``
where that is a module of ``qa``, else on the package ``a.b``; importing a submodule does not
count as depending on its parent packages' ``__init__`` (Python runs it, but that is the
package's business, and ``qa.index.milvus`` importing ``qa.index.milvus.schema`` is no loop)."""

from __future__ import annotations

import ast
from pathlib import Path

QA = Path(__file__).resolve().parents[1] / "qa"


def _modules() -> dict[str, Path]:
    out = {}
    for path in QA.rglob("*.py"):
        parts = list(path.relative_to(QA.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The ``qa`` modules ``name`` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str) -> None:
        # the deepest qa module the dotted name reaches: a.b.c, else a.b (c is a name in it)
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                add(f"{module}.{alias.name}")
    return {m for m in found if m == "qa" or m.startswith("qa.")}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_the_graph_sees_imports_of_every_kind():
    graph = import_graph()
    assert "qa.index.segment" in graph["qa.index.store"]             # from x import y
    assert "qa.index.merge" in graph["qa.index.embedded"]            # from package import module
    assert "qa.index.embedded" in graph["qa.index.factory"]          # inside a function
    assert {"qa.index.milvus.schema", "qa.index.milvus.archive"} <= graph["qa.index.milvus"]


def test_a_cycle_is_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_inside_qa():
    assert _cycles(import_graph()) == []
