"""fgan.divergences imports without a cycle, and without imports inside functions to dodge one."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SOURCE / "fgan" / "divergences"


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_fgan_modules(tree: ast.Module, known: set[str]) -> set[str]:
    """The fgan modules a module imports, at its top level or inside a function (``from fgan.x import y`` counts
    fgan.x.y when that is a module, else fgan.x)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fgan"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("fgan"))
    return found


def test_the_fgan_import_graph_has_no_cycle() -> None:
    paths = {module_name(path): path for path in (SOURCE / "fgan").rglob("*.py")}
    known = set(paths)
    graph = {name: imported_fgan_modules(ast.parse(path.read_text()), known) & known for name, path in paths.items()}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            # a package's __init__ imported by its own submodule is how Python loads it, not a cycle of the code
            if name.startswith(target + "."):
                continue
            assert state.get(target) != "open", f"import cycle: {' -> '.join([*trail, name, target])}"
            if target not in state:
                visit(target, [*trail, name])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert {"fgan.divergences.registry", "fgan.divergences.custom"} <= graph["fgan.divergences"]


def test_no_import_inside_a_function_of_the_package() -> None:
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = [child for child in ast.walk(node) if isinstance(child, ast.Import | ast.ImportFrom)]
                assert not inner, f"{path.name}: {node.name} imports inside its body"
