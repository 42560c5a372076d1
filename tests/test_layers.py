"""Dependencies run one way: domain <- tools <- agent <- evals <- ui (docs/architecture.md).

The test reads every module's imports with `ast` (also those inside functions, which are
still dependencies) and fails on any import of a higher layer. It reads source text only,
so it needs no package installed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Bottom to top: a package may import its own layer and those listed before it.
LAYERS = ["domain", "tools", "agent", "evals", "ui"]


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def upward_imports(root: Path = ROOT) -> list[str]:
    """Every import, anywhere in the layered packages, of a layer above the importing one."""
    rank = {name: i for i, name in enumerate(LAYERS)}
    problems = []
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            for line, module in _imports(path):
                top = module.split(".")[0]
                if top in rank and rank[top] > rank[layer]:
                    problems.append(f"{path.relative_to(root)}:{line} imports {module} ({top} is above {layer})")
    return problems


def test_no_module_imports_a_higher_layer():
    assert upward_imports() == []


def test_the_check_catches_an_upward_import(tmp_path: Path):
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "tools" / "bad.py").write_text("def f():\n    from agent.runner import investigate\n")
    (tmp_path / "agent" / "fine.py").write_text("from tools.source import TelemetrySource\nimport domain.models\n")
    assert upward_imports(tmp_path) == ["tools/bad.py:2 imports agent.runner (agent is above tools)"]


@pytest.mark.parametrize("layer", LAYERS)
def test_every_layer_exists(layer: str):
    assert (ROOT / layer / "__init__.py").is_file()
