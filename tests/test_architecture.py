"""The shape of the source tree, read with ``ast``: no import cycle between fgan's modules (and no import inside a
function of fgan.divergences), no function over :data:`MAX_FUNCTION_LINES` lines, and no import-time side effect
(matplotlib's backend, the global random states)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "fgan"
#: The longest a function may be, from its ``def`` line to its last line (decorators not counted).
MAX_FUNCTION_LINES = 60


def module_files(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``root`` by dotted name (a package by its own name, from __init__.py)."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imported_modules(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The modules among ``modules`` that one import statement in ``module`` loads by name: ``import a.b`` loads
    ``a.b``; ``from a import b`` loads ``a.b`` when that is a module, else ``a`` (``b`` is an attribute of it).
    Relative imports are resolved; the parent packages that Python also runs on the way are not counted."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & modules
    source = node.module or ""
    if node.level:
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        source = ".".join([*base, source] if source else base)
    named = {f"{source}.{alias.name}" for alias in node.names}
    return {name if name in modules else source for name in named} & modules


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """For each module of ``package``, the modules of ``package`` it imports, at module level or inside a function
    (any ``import`` statement in its syntax tree, ``if TYPE_CHECKING:`` blocks included)."""
    modules = module_files(root, package)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imported |= _imported_modules(node, module, path.name == "__init__.py", set(modules))
        graph[module] = imported - {module}
    return graph


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components of ``graph`` (iterative, so deep graphs do not recurse)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            successor = next(successors, None)
            if successor is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
            elif successor not in index:
                index[successor] = low[successor] = len(index)
                stack.append(successor)
                on_stack.add(successor)
                work.append((successor, iter(sorted(graph.get(successor, ())))))
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
    return components


def _cycle_through(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """One cycle inside ``component`` (a strongly connected set of two or more modules), as ``[a, b, ..., a]``: the
    shortest path back to its first module, found breadth first."""
    start = min(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(graph[node] & component):
                if successor == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if successor not in parents:
                    parents[successor] = node
                    following.append(successor)
        frontier = following
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle, ``[a, b, ..., a]``, for each set of modules that import one another (directly or through others)."""
    return [_cycle_through(graph, c) for c in _strongly_connected(graph) if len(c) > 1]


def long_functions(root: Path, package: str, limit: int) -> dict[str, int]:
    """Every function or method of ``package`` longer than ``limit`` lines, by dotted name, with its length."""
    found = {}
    for module, path in module_files(root, package).items():
        tree = ast.parse(path.read_text(), filename=str(path))
        scopes: list[tuple[ast.AST, str]] = [(tree, module)]
        while scopes:
            scope, name = scopes.pop()
            for node in ast.iter_child_nodes(scope):
                child = name
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    child = f"{name}.{node.name}"
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > limit:
                        found[child] = length
                scopes.append((node, child))
    return found


def _write_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_the_import_graph_has_module_and_function_level_edges(tmp_path) -> None:
    _write_package(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg import a\n",
            "pkg/a.py": "import os\nfrom pkg.b import thing\n",
            "pkg/b.py": "def late():\n    from . import c\n    import pkg.sub.d\n",
            "pkg/c.py": "from .a import name\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/d.py": "from .. import c\nfrom ..sub import d\n",
        },
    )
    assert import_graph(tmp_path, "pkg") == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.b"},
        "pkg.b": {"pkg.c", "pkg.sub.d"},
        "pkg.c": {"pkg.a"},
        "pkg.sub": set(),
        "pkg.sub.d": {"pkg.c"},
    }


def test_a_cycle_is_found_and_printed_as_a_path() -> None:
    graph = {"a": {"b"}, "b": {"c", "d"}, "c": {"a"}, "d": {"d", "e"}, "e": set(), "x": {"y"}, "y": {"x"}}
    assert sorted(import_cycles(graph)) == [["a", "b", "c", "a"], ["x", "y", "x"]]
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_fgan_has_no_import_cycle() -> None:
    graph = import_graph(SOURCE, PACKAGE)
    # the graph holds a package's own imports, the edges of a cycle through an __init__.py
    assert {"fgan.divergences.registry", "fgan.divergences.custom"} <= graph["fgan.divergences"]
    cycles = import_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_no_import_inside_a_function_of_fgan_divergences() -> None:
    """The divergences import one another at module level only: no import inside a function to dodge a cycle."""
    for module, path in module_files(SOURCE, PACKAGE).items():
        if module != "fgan.divergences" and not module.startswith("fgan.divergences."):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = [child for child in ast.walk(node) if isinstance(child, ast.Import | ast.ImportFrom)]
                assert not inner, f"{module}.{node.name} imports inside its body (line {inner[0].lineno})"


_SIX_LINES_AND_MORE = """
def short():
    return 1


class C:
    @property
    def long(self):
        a = 1
        b = 2
        c = 3
        d = 4
        return a + b + c + d

    def outer(self):
        def inner():
            a = 1
            b = 2
            c = 3
            d = 4
            return a + b + c + d

        return inner
"""


def test_long_functions_are_found_with_their_dotted_names(tmp_path) -> None:
    _write_package(tmp_path, {"pkg/__init__.py": "", "pkg/m.py": _SIX_LINES_AND_MORE})
    found = long_functions(tmp_path, "pkg", 5)
    assert found == {"pkg.m.C.long": 6, "pkg.m.C.outer": 9, "pkg.m.C.outer.inner": 6}


def test_no_function_is_over_the_line_limit() -> None:
    found = long_functions(SOURCE, PACKAGE, MAX_FUNCTION_LINES)
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines (def to last line): {found}"


_IMPORT_EVERY_MODULE = """
import hashlib, importlib, json, pickle, random, sys
import matplotlib, numpy, torch

matplotlib.use("pdf")  # a backend the user chose, which fgan must leave alone

def digest(value):
    return hashlib.sha256(pickle.dumps(value)).hexdigest()

def state():
    return {
        "matplotlib backend": matplotlib.get_backend(),
        "random": digest(random.getstate()),
        "numpy.random": digest(numpy.random.get_state()),
        "torch.random": digest(torch.random.get_rng_state().numpy().tobytes()),
    }

before = state()
for name in sys.argv[1:]:
    importlib.import_module(name)
after = state()
print(json.dumps({key: [before[key], after[key]] for key in before if before[key] != after[key]}))
"""


def test_importing_fgan_leaves_the_backend_and_the_random_states_alone() -> None:
    modules = sorted(name for name in module_files(SOURCE, PACKAGE) if not name.endswith(".__main__"))  # runs fgan
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERY_MODULE, *modules], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    changed = json.loads(result.stdout)
    assert not changed, f"importing fgan changed: {', '.join(changed)} (backend: {changed.get('matplotlib backend')})"
