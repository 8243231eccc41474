from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def copy_tree(tmp_path: Path):
    """Copy a fixture tree out of the keyaudit checkout, so that its git state does not leak in."""

    def _copy(src: Path, name: str = "repo") -> Path:
        dest = tmp_path / name
        shutil.copytree(src, dest, symlinks=True)
        return dest

    return _copy
