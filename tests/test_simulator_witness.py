"""The simulator is a witness of the API contract: it imports nothing of the client.

import-linter checks the rule for the modules that exist today (``make lint``); this test also
catches a module added later, by reading every import statement of the simulator's sources.
"""

from __future__ import annotations

import ast
from pathlib import Path

import vidu_nb.simulator

SIMULATOR = Path(vidu_nb.simulator.__file__).parent


def _imports(path: Path) -> list[tuple[str, int]]:
    """Absolute names of what a module imports (relative imports resolved)."""
    package = "vidu_nb.simulator"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            if node.module is None:  # ``from . import x``: x is a module of the package
                found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
            else:
                found.append((f"{base}.{node.module}" if base else node.module, node.lineno))
    return found


def test_the_simulator_imports_nothing_of_the_client():
    sources = sorted(SIMULATOR.glob("*.py"))
    assert len(sources) > 5
    outside = [
        f"{path.name}:{line} imports {name}"
        for path in sources
        for name, line in _imports(path)
        if (name == "vidu_nb" or name.startswith("vidu_nb."))
        and not name.startswith("vidu_nb.simulator")
    ]
    assert outside == []


def test_the_check_sees_relative_imports_of_the_client(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "from ..request.models import MODELS\nfrom . import contract\nimport vidu_nb.request.spec\n"
    )
    assert [n for n, _ in _imports(module)] == [
        "vidu_nb.request.models",
        "vidu_nb.simulator.contract",
        "vidu_nb.request.spec",
    ]
