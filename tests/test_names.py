"""Names in the package say what they are: no two settings classes share a name, and no module imports
another's private name."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "reconciler"


def _trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_settings_class_has_its_own_name() -> None:
    names = Counter(node.name for tree in _trees().values() for node in ast.walk(tree)
                    if isinstance(node, ast.ClassDef) and node.name.lstrip("_").endswith("Settings"))
    assert [name for name, count in names.items() if count > 1] == []


def test_no_module_imports_a_private_name_of_another() -> None:
    private = [f"{path.relative_to(PACKAGE)}: {alias.name}" for path, tree in _trees().items()
               for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               for alias in node.names if alias.name.startswith("_") and alias.name != "__version__"]
    assert private == []
