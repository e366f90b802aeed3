"""The package is laid out as the pipeline, and every file knows its room.

Read from the source (ast), imports inside functions included:

- no import cycle between citysafety modules, nor across the package, the dashboard, the DAGs,
  the demo and the benchmark;
- nothing imports upward: the top-level modules (the registry, config and the one-concern
  helpers) import no subpackage; `land` and `raw` never import `mart`, `share` or `orchestrate`;
  `mart` and `share` never import `orchestrate`; `citysafety` never imports `dags`,
  `dashboards`, `demo`, `bench`, `tests` or `expectations`;
- one helper each for quoting SQL (citysafety.sql), hashing a file, syncing to disk and
  writing atomically (citysafety.files): no second definition anywhere in the repository's
  Python, and no hand-made SQL quoting (`.replace("'", "''")`) outside citysafety.sql.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "citysafety"
OUTSIDE = ("dags", "dashboards", "demo", "bench", "tests", "expectations")

# A module may import modules of its own rank or below.
RANK = {None: 0, "land": 1, "raw": 1, "mart": 2, "share": 2, "act": 2, "orchestrate": 3}

HELPERS = {  # what is defined once, and where
    "citysafety/sql.py": re.compile(r"^_?(ident|literal|quote\w*|quoted|escape\w*|sql_(string|name|ident)\w*)$"),
    "citysafety/files.py": re.compile(r"^_?(sha256\w*|\w*_sha256|hash_file|fsync\w*|atomic\w*|write_atomic\w*)$"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


# Where the repository's importable code lives: the package and what runs it.
CODE = ("citysafety", "dashboards", "dags", "demo", "bench")


def code_modules() -> dict[str, Path]:
    return {module_name(p): p for folder in CODE for p in sorted((ROOT / folder).rglob("*.py"))}


def imports(path: Path, known: set[str]) -> set[str]:
    """Modules `path` imports (anywhere in it), resolved to the known modules where possible."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in known else base)
    return found


def rank(module: str) -> int:
    parts = module.split(".")
    return RANK[parts[1] if len(parts) > 2 else None]


def graph(modules: dict[str, Path] | None = None) -> dict[str, set[str]]:
    modules = package_modules() if modules is None else modules
    known = set(modules)
    return {m: {i for i in imports(p, known) if i in known and i != m} for m, p in modules.items()}


def cycles_of(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of a module graph (each found once, from where the walk entered it)."""
    cycles, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return cycles


def test_the_rooms_exist_and_the_demo_is_outside_the_package():
    modules = package_modules()
    for room in ("land", "raw", "mart", "share", "orchestrate"):
        assert f"citysafety.{room}" in modules, room
    for top in ("sources", "config", "files", "sql"):
        assert f"citysafety.{top}" in modules, top
    assert not any(m.startswith("citysafety.demo") for m in modules)
    assert (ROOT / "demo" / "generate.py").is_file()
    assert "citysafety.share.privacy" in modules


def test_no_import_cycles():
    cycles = cycles_of(graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_import_cycles_across_the_repository():
    """No module of the package, the dashboard, the DAGs, the demo or the benchmark imports a
    module that imports it back (directly or round a longer loop)."""
    modules = code_modules()
    assert {"dashboards.data", "dashboards.views.overview", "dags.build_mart", "demo.generate"} <= set(modules)
    edges = graph(modules)
    assert edges["dashboards.views.monitoring"] >= {"dashboards.data", "dashboards.frame"}  # resolved
    cycles = cycles_of(edges)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
    # and the package never reaches up into what runs it
    upward = sorted(f"{m} imports {t}" for m, targets in edges.items() if m.startswith("citysafety.")
                    for t in targets if t.split(".")[0] in ("dashboards", "dags", "demo", "bench"))
    assert not upward, "\n".join(upward)


def test_nothing_imports_upward():
    known = set(package_modules())
    upward = []
    for module, path in package_modules().items():
        for target in sorted(imports(path, known)):
            top = target.split(".")[0]
            if top in OUTSIDE:
                upward.append(f"{module} imports {target}")
            elif target in known and rank(target) > rank(module):
                upward.append(f"{module} imports {target}")
    assert not upward, "\n".join(upward)


def _python_files():
    for folder in ("citysafety", *OUTSIDE):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_one_helper_each_for_quoting_hashing_and_atomic_writes():
    seconds = []
    for path in _python_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel == "tests/test_layout.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for home, pattern in HELPERS.items():
                    if pattern.match(node.name) and rel != home:
                        seconds.append(f"{rel}:{node.lineno} defines {node.name} (the one is in {home})")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "replace" and len(node.args) == 2
                    and all(isinstance(a, ast.Constant) for a in node.args)
                    and (node.args[0].value, node.args[1].value) in (("'", "''"), ('"', '""'))
                    and rel != "citysafety/sql.py"):
                seconds.append(f"{rel}:{node.lineno} quotes SQL by hand (use citysafety.sql)")
    assert not seconds, "\n".join(seconds)
