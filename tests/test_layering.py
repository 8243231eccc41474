"""The layering rule: the model, detection, parsers, rules and engine never import the CLI, reporters or the
cluster client; reporters never import parsers or rules. Checked on the source (imports inside functions too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "auditor"
CORE = ["model.py", "engine.py", "scan.py", "loader.py", "inventory.py", "config.py", "environment.py", "redact.py",
        "findings.py", "baseline.py", "policies.py", "ignore.py", "detect", "parsers", "rules"]
FORBIDDEN_FOR_CORE = ("auditor.cli", "auditor.reporters", "auditor.cluster", "kubernetes", "click")


def _modules(entries: list[str]) -> list[Path]:
    out: list[Path] = []
    for entry in entries:
        path = PACKAGE / entry
        out.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return out


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", _modules(CORE), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_core_does_not_import_outer_layers(path: Path) -> None:
    bad = sorted(n for n in _imports(path) if n.startswith(FORBIDDEN_FOR_CORE))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("path", _modules(["reporters"]), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_reporters_only_format(path: Path) -> None:
    bad = sorted(n for n in _imports(path) if n.startswith(("auditor.parsers", "auditor.rules", "auditor.engine",
                                                               "auditor.scan", "auditor.cluster")))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
