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
#: The line count past which a module's docstring must say why it is long ("Long: ...").
LONG = 520


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _typing_only(node: ast.AST) -> bool:
    """An ``if TYPE_CHECKING:`` block: imports for annotations only, never run."""
    test = getattr(node, "test", None) if isinstance(node, ast.If) else None
    return isinstance(test, ast.Name | ast.Attribute) and ast.unparse(test).endswith("TYPE_CHECKING")


def _nodes(tree: ast.AST, typing: bool) -> list[ast.AST]:
    """Every node of ``tree`` (imports inside functions too), but for ``typing=False`` those of
    ``if TYPE_CHECKING:`` blocks."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        if not typing and _typing_only(node):
            todo += getattr(node, "orelse", [])
            continue
        todo += ast.iter_child_nodes(node)
    return found


def imports(name: str, path: Path, known: set[str], typing: bool = True) -> set[str]:
    """The ``control`` modules ``name`` imports (a ``from package import module`` names the
    module; any other ``from`` import, the module it is from); ``typing``: with those made for
    annotations only (under ``TYPE_CHECKING``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8")), typing):
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


def graph(typing: bool = True) -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found), typing) for name, path in found.items()}


def test_every_folder_has_a_layer() -> None:
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(LAYERS)


def test_no_import_from_a_higher_layer() -> None:
    """Imports for annotations only count too: a lower layer must not even name a higher one."""
    upward = set()
    for name, targets in graph().items():
        for target in targets:
            sibling = (
                rank(target) == rank(name)
                and name not in TOP
                and target not in TOP
                and name.split(".")[1] != target.split(".")[1]
            )
            if rank(target) > rank(name) or sibling:
                upward.add((name, target))
    assert upward == set(), "imports from a higher layer (or a sibling folder of the same rank)"


def test_the_store_imports_no_ingest() -> None:
    """The store appends events already checked (control.service checks and syncs them): it
    neither parses nor validates, so it imports nothing of ingest, not even for annotations."""
    found = {(n, t) for n, targets in graph().items() for t in targets}
    assert {
        (n, t) for n, t in found if n.startswith("control.store") and t.startswith("control.ingest")
    } == set()


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
    """Imports run (inside functions too) never go round in a circle; ``if TYPE_CHECKING:``
    imports, for annotations only, may name a module that imports this one."""
    found = circles(graph(typing=False))
    assert found == []


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
    long = set()
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG and "Long:" not in (ast.get_docstring(ast.parse(text)) or ""):
            long.add(name)
    assert long == set()


def test_the_architecture_page_draws_these_layers() -> None:
    """docs/architecture.md's drawing puts each folder at the rank :data:`LAYERS` gives it."""
    page = (ROOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawing = page.split("```")[1]
    drawn = {
        folder.rstrip("/"): int(line.split()[0])
        for line in drawing.splitlines()
        if line.strip()[:1].isdigit()
        for folder in line.split()[1:]
        if folder.endswith("/")
    }
    assert drawn == LAYERS
