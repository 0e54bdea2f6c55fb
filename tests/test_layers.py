"""The layers, read from every import of src/deepdance (module level and inside functions).

cli -> pipeline -> stages (synth, ingest, train, generate, evaluate) -> blocks; a stage imports no other
stage, a block imports no stage, and there is no import cycle anywhere.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "deepdance"
STAGES = {"synth", "ingest", "train", "generate", "evaluate"}
TOP = {"pipeline", "cli", "app", "__main__"}


def modules(root: Path = SRC) -> dict[str, Path]:
    out = {}
    for f in sorted(root.rglob("*.py")):
        parts = list(f.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's own modules that `name` imports, wherever in the file the import stands."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module or ""
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
    out = set()
    for m in found:
        while m and m not in known:
            m = m.rpartition(".")[0]
        if m and m != name:
            out.add(m)
    return out


def layer(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "package"
    if parts[0] in TOP:
        return "top"
    return f"stage:{parts[0]}" if parts[0] in STAGES else "block"


def violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, deps in graph.items():
        mine = layer(module)
        for dep in deps:
            theirs = layer(dep)
            if theirs == "package":
                continue
            if mine == "block" and theirs != "block":
                bad.append(f"block {module} imports {dep}")
            elif mine.startswith("stage:") and theirs != "block" and theirs != mine:
                bad.append(f"stage {module} imports {dep}")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: imports(m, f, set(mods)) for m, f in mods.items()}


def test_every_import_points_down(graph):
    assert violations(graph) == []


def test_no_import_cycle(graph):
    assert cycles(graph) == []


def test_the_checks_see_what_they_must_refuse():
    # hand-made graphs: an upward import hidden anywhere and a cycle are both reported
    graph = {"deepdance.store": {"deepdance.train"}, "deepdance.train": {"deepdance.generate"},
             "deepdance.generate": {"deepdance.store"}, "deepdance.cli": {"deepdance.pipeline"},
             "deepdance.pipeline": {"deepdance.train"}}
    assert violations(graph) == ["block deepdance.store imports deepdance.train",
                                 "stage deepdance.train imports deepdance.generate"]
    assert cycles(graph) == [["deepdance.generate", "deepdance.store", "deepdance.train"]]


def test_imports_inside_functions_count(tmp_path):
    pkg = tmp_path / "deepdance"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "store.py").write_text("def f():\n    from .train import x\n    return x\n")
    (pkg / "train.py").write_text("x = 1\n")
    mods = modules(pkg)
    assert imports("deepdance.store", mods["deepdance.store"], set(mods)) == {"deepdance.train"}
