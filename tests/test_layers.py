"""The package's layers, checked from its imports (docs/architecture.md draws them).

Every module of ``control`` is parsed (``ast``; imports inside functions and under
``TYPE_CHECKING`` count too) and each import of another ``control`` module must go to the same
layer or a lower one, and no modules may import each other in a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "control"

#: Each folder's rank: a module may import from its own rank or a lower one. Folders of one rank
#: (ingest and fold; views and whatif) may not import each other.
LAYERS = {
    "data": 0,
    "model": 0,
    "ingest": 1,
    "fold": 1,
    "store": 2,
    "service": 3,
    "views": 4,
    "whatif": 4,
    "cli": 5,
}
#: Top-level modules: the package itself and ``python -m control`` sit over the CLI.
TOP = {"control": 6, "control.__main__": 6}
#: Imports that break the layering today, each with the issue item that removes it. The test
#: also fails when one of them is gone, so the list only shrinks.
KNOWN: set[tuple[str, str]] = {
    # issue 27 item 2: the gazetteer's file loading moves to ingest
    ("control.model.gazetteer", "control.ingest.record"),
    ("control.model.gazetteer", "control.ingest.textio"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The ``control`` modules ``name`` imports (a ``from package import module`` names the
    module; any other ``from`` import, the module it is from)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in known else base)
    return {m for m in found if m in known and m != name}


def rank(name: str) -> int:
    if name in TOP:
        return TOP[name]
    folder = name.split(".")[1]
    assert folder in LAYERS, f"{name}: its folder has no layer (add it to LAYERS and docs/architecture.md)"
    return LAYERS[folder]


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def test_every_folder_has_a_layer() -> None:
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(LAYERS)


def test_no_import_from_a_higher_layer() -> None:
    upward = set()
    for name, targets in graph().items():
        for target in targets:
            same_rank_other = (
                rank(target) == rank(name)
                and name not in TOP
                and target not in TOP
                and name.split(".")[1] != target.split(".")[1]
            )
            if rank(target) > rank(name) or same_rank_other:
                upward.add((name, target))
    assert upward - KNOWN == set(), "imports from a higher layer (or a sibling folder)"
    assert KNOWN - upward == set(), "gone: remove them from KNOWN"


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_no_import_circle() -> None:
    edges = graph()
    for source, target in KNOWN:  # a known upward import is no circle of this making
        edges[source].discard(target)
    assert circles(edges) == []


def test_circles_are_found() -> None:
    """The circle finder itself: a circle of three and a self-contained chain."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("source", ["from . import states", "from control.store import states"])
def test_imports_are_read(tmp_path: Path, source: str) -> None:
    path = tmp_path / "ledger.py"
    path.write_text(f"def f():\n    {source}\n", encoding="utf-8")
    known = {"control.store", "control.store.states", "control.store.ledger"}
    assert imports("control.store.ledger", path, known) == {"control.store.states"}


def test_modules_are_short_or_say_why() -> None:
    """No module over ~500 lines without a reason in its docstring (a paragraph beginning
    "Long:")."""
    long = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 520 and "Long:" not in (ast.get_docstring(ast.parse(text)) or ""):
            long.append(name)
    assert long == []
