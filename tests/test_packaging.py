"""The wheel ships every policy and schema: an installed keyaudit needs no source checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from .conftest import ROOT


def test_wheel_ships_policies_and_schemas(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("keyaudit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    policies = {f"auditor/_policies/{p.name}" for p in (ROOT / "policies").glob("*.yaml")}
    assert policies and policies <= names
    assert {f"auditor/schemas/{n}.schema.json" for n in ("policy", "config", "report")} <= names
    assert "auditor/cli.py" in names
