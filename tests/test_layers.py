"""The core's modules import only downward: the shared data, the API interface and the client sit below
the kinds, the kinds below the engine that compares and applies, the engine below the pipeline and the
CLI. Read from the source, so a new upward import fails here. Imports under `if TYPE_CHECKING:` are left
out: a type may name a higher layer's class (DesiredState's settings model), running code may not."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reconciler"
# Lowest first. A module may import modules of its own layer or a lower one.
LAYERS: list[set[str]] = [
    {"errors", "text", "retry", "references", "yamlcheck", "yamlio", "plan", "planfile", "states", "api", "compare",
     "fingerprint", "state", "lock", "render", "portouts", "client"},
    {"kinds"},
    {"policies"},
    {"config", "order", "diff", "export", "apply", "schema"},
    {"pipeline"},
    {"cli", "serve", "github", "sandbox", "__main__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _top(module: str) -> str:
    """The package-level name a module belongs to (`reconciler.kinds.base` -> `kinds`)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under `if TYPE_CHECKING:`."""
    kept: list[ast.AST] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            continue
        kept.append(node)
        kept.extend(_runtime_nodes(node))
    return kept


def _imports(path: Path) -> set[str]:
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reconciler."):
            found.add(_top(node.module))
        elif isinstance(node, ast.ImportFrom) and node.module == "reconciler":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(_top(alias.name) for alias in node.names if alias.name.startswith("reconciler."))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    unplaced = {_top(f"reconciler.{p.relative_to(PACKAGE).with_suffix('').as_posix().replace('/', '.')}") for p in _modules()}
    unplaced -= set(RANK) | {"__init__"}
    assert not unplaced, f"add these to a layer in LAYERS: {sorted(unplaced)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    name = path.relative_to(PACKAGE).with_suffix("").as_posix().replace("/", ".")
    own = _top(f"reconciler.{name}")
    if own == "__init__":
        return
    upward = sorted(m for m in _imports(path) if m in RANK and RANK[m] > RANK[own])
    assert not upward, f"reconciler/{path.relative_to(PACKAGE)} ({own}) imports upward: {upward}"


# Libraries that stay at the edges. In the tool, one module each talks HTTP to an API and one reads YAML;
# the sandbox is a program of its own (its in-process transport and webhook delivery use httpx, its seed
# file is read by ruamel) and the CLI is the only place that prints (click).
EDGES = {
    "httpx": {"client.py", "github/client.py", "sandbox/app.py", "sandbox/webhooks.py"},
    "ruamel": {"yamlio.py", "sandbox/seed.py"},
    "yaml_rs": {"yamlio.py"},
    "click": {"cli/__init__.py", "cli/app.py", "cli/commands.py", "cli/github.py", "cli/addresses.py", "cli/sandbox.py",
              "cli/portouts.py", "cli/serve.py", "cli/redact.py", "__main__.py"},
}


def _libraries(path: Path) -> set[str]:
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found


@pytest.mark.parametrize("library", sorted(EDGES))
def test_a_library_at_the_edge_is_imported_only_there(library: str) -> None:
    users = {str(p.relative_to(PACKAGE)) for p in _modules() if library in _libraries(p)}
    assert users, f"nothing imports {library}: drop it from EDGES"
    assert users <= EDGES[library], f"{library} imported beyond its edge: {sorted(users - EDGES[library])}"
