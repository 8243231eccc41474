"""End-to-end: the real `keyaudit` command on fixture repositories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURES, ROOT

KEY = "sk-proj-" + "Vb3kQ9zLm2Wx7Rt5Yp8Nc4Hd6Jf1Gs0Ka3Ue9Io2Pl5Mn8" + "T3BlbkFJ" + "Zr4Xt7Cv1Bn6Mq9Lw2Ek5Hy8Uj3Ig0Fo7Dp4Sa1Qz6Wx9"


def keyaudit(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYAUDIT_")}
    return subprocess.run([sys.executable, "-m", "auditor", *args], capture_output=True, text=True, cwd=cwd,
                          input=stdin, env=env, timeout=120, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "llm.py").write_text(f'import os\n\nclient_key = "{KEY}"\n')
    return tmp_path


def test_version_imports_no_parser() -> None:
    code = ("import sys; sys.argv=['keyaudit','--version']\nfrom auditor.cli import main\ntry: main()\n"
            "except SystemExit: pass\n"
            "bad=[m for m in sys.modules if m.startswith(('yaml','jsonschema','kubernetes','checkov','tree_sitter',"
            "'pathspec','auditor.parsers','auditor.detect','auditor.engine','auditor.scan'))]\nprint('LOADED', bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "LOADED []" in out, out


def test_exit_codes_follow_fail_on(repo: Path) -> None:
    assert keyaudit("scan", str(repo), "--fail-on", "critical").returncode == 1
    assert keyaudit("scan", str(repo), "--fail-on", "none").returncode == 0
    (repo / "src" / "llm.py").write_text("import os\nclient_key = os.environ['OPENAI_API_KEY']\n")
    assert keyaudit("scan", str(repo)).returncode == 0


def test_usage_errors_exit_2(repo: Path) -> None:
    assert keyaudit("scan", str(repo), "--select", "NOPE-99").returncode == 2
    assert keyaudit("scan", str(repo / "missing")).returncode == 2
    (repo / ".keyaudit.yaml").write_text("fail_on: sometimes\n")
    proc = keyaudit("scan", str(repo))
    assert proc.returncode == 2 and "fail_on" in proc.stderr


def test_several_formats_to_files(repo: Path, tmp_path: Path) -> None:
    out_json, out_sarif = tmp_path / "r.json", tmp_path / "r.sarif"
    proc = keyaudit("scan", str(repo), "-f", "json", "-o", str(out_json), "-f", "sarif", "-o", str(out_sarif),
                    "--fail-on", "none")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out_json.read_text())
    assert [f["rule_id"] for f in report["findings"]] == ["HCK-01"]
    assert json.loads(out_sarif.read_text())["version"] == "2.1.0"


def test_inline_suppression_is_counted(repo: Path) -> None:
    (repo / "src" / "llm.py").write_text(f'client_key = "{KEY}"  # keyaudit: ignore[HCK-01] revoked test key\n')
    proc = keyaudit("scan", str(repo), "-f", "json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 0
    assert report["findings"] == [] and len(report["suppressed"]) == 1
    assert "revoked test key" in report["suppressed"][0]["suppressed"]


def test_baseline_survives_line_moves_and_holds_no_secret(repo: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    assert keyaudit("scan", str(repo), "--write-baseline", str(baseline)).returncode == 0
    assert KEY[:16] not in baseline.read_text() and KEY[-16:] not in baseline.read_text()
    (repo / "src" / "llm.py").write_text("import os\n\n\n\n# moved down\n" + f'client_key = "{KEY}"\n')
    assert keyaudit("scan", str(repo), "--baseline", str(baseline)).returncode == 0
    other = KEY[:-4] + "Q7v2"
    (repo / "src" / "more.py").write_text(f'k = "{other}"\n')
    assert keyaudit("scan", str(repo), "--baseline", str(baseline)).returncode == 1


def test_select_and_ignore(repo: Path) -> None:
    assert keyaudit("scan", str(repo), "--ignore", "HCK-01").returncode == 0
    assert keyaudit("scan", str(repo), "--select", "provider-key-in-repository").returncode == 1


def test_stdin(repo: Path) -> None:
    proc = keyaudit("scan", "-", "--stdin-name", "config.py", "-f", "json", stdin=f'KEY = "{KEY}"\n')
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["findings"][0]["location"]["path"] == "config.py"


def test_exclude_glob(repo: Path) -> None:
    assert keyaudit("scan", str(repo), "--exclude", "src/").returncode == 0


def test_pyproject_config(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.keyaudit]\nignore = ["HCK-01"]\n')
    assert keyaudit("scan", str(repo)).returncode == 0


def test_rules_and_explain() -> None:
    listing = keyaudit("rules")
    assert listing.returncode == 0 and "HCK-01" in listing.stdout
    explained = keyaudit("explain", "HCK-01")
    assert explained.returncode == 0 and "## Why is this bad?" in explained.stdout
    assert keyaudit("explain", "NOPE-00").returncode == 2


def test_demo_repository_reports_its_mistakes() -> None:
    demo = FIXTURES / "demo"
    if not demo.is_dir():
        pytest.fail("fixtures/demo is missing")
    proc = keyaudit("scan", str(demo), "-f", "json")
    assert proc.returncode == 1, proc.stderr
    rules = {f["rule_id"] for f in json.loads(proc.stdout)["findings"]}
    assert {"HCK-01", "HCK-02", "BLD-01", "BLD-03", "BLD-05", "BLD-06", "IGN-01", "IGN-02", "IGN-03", "CLI-01",
            "ENV-03"} <= rules, rules


def test_own_repository_audits_clean() -> None:
    proc = keyaudit("scan", str(ROOT))  # .keyaudit.yaml excludes the deliberate mistakes under fixtures/
    assert proc.returncode == 0, proc.stdout


def test_rendered_helm_manifests_on_stdin_are_read_as_manifests() -> None:
    rendered = ("---\n# Source: api/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: api\n"
                f"stringData:\n  OPENAI_API_KEY: {KEY}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
                "data:\n  LOG_LEVEL: info\n")
    proc = keyaudit("scan", "-", "-f", "json", stdin=rendered)
    assert proc.returncode == 1, proc.stderr
    assert [(f["rule_id"], f["location"]["line"]) for f in json.loads(proc.stdout)["findings"]] == [("HCK-03", 8)]


def test_dockerfile_on_stdin_is_recognised() -> None:
    proc = keyaudit("scan", "-", "-f", "json", "--select", "BLD-01", stdin="FROM node:20\nARG NPM_TOKEN\n")
    assert [f["rule_id"] for f in json.loads(proc.stdout)["findings"]] == ["BLD-01"]
