"""The GitHub Action and keyaudit's own workflows: schema-valid, and the action's command line works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from .conftest import FIXTURES, ROOT, SHARED


def _schema(name: str) -> dict[str, object]:
    path = SHARED / "schemas" / name
    if not path.is_file():
        pytest.skip(f"../shared/schemas/{name} not present")
    schema: dict[str, object] = json.loads(path.read_text())
    return schema


def test_action_yml_is_valid() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    jsonschema.validate(action, _schema("github-action.json"))


@pytest.mark.parametrize("workflow", sorted((ROOT / ".github" / "workflows").glob("*.yml")), ids=lambda p: p.name)
def test_own_workflows_are_valid(workflow: Path) -> None:
    data = yaml.safe_load(workflow.read_text())
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as a boolean
    jsonschema.validate(data, _schema("github-workflow.json"))


def test_action_scan_step_runs(tmp_path: Path) -> None:
    """Run the action's shell step as GitHub would, against the demo repository."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "scan")
    bindir = Path(sys.executable).parent
    env = {
        "PATH": f"{bindir}:/usr/bin:/bin", "KA_PATHS": str(FIXTURES / "demo"), "KA_FAIL_ON": "critical",
        "KA_SARIF": str(tmp_path / "out.sarif"), "KA_BASELINE": "", "KA_CONFIG": "", "KA_ARGS": "--ignore IGN-02",
        "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "::error file=" in proc.stdout
    assert json.loads((tmp_path / "out.sarif").read_text())["runs"][0]["results"]
    outputs = dict(line.split("=", 1) for line in (tmp_path / "output").read_text().splitlines())
    assert outputs["exit-code"] == "1"
    assert "IGN-02" not in (tmp_path / "summary").read_text()


def test_pre_commit_hook_definition_is_valid() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    jsonschema.validate(hooks, _schema("pre-commit-hooks.json"))
    assert hooks[0]["entry"].startswith("keyaudit scan")
