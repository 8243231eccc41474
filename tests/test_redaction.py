"""No secret value may appear in any output: plant secrets everywhere, render every format, grep."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SHARED

FORMATS = ("console", "json", "sarif", "junit", "markdown", "github")
PLANTED = {
    "openai": "sk-proj-" + "Hq2Lw8Zt4Xc7Vb1Nm5Kj9Gf3Ds6Ap0Oi2Uy8Tr4Ew1Qa7Sz3Dx" + "T3BlbkFJ" + "Mn6Bv9Cx2Za5Sd8Fg1Hj4Kl7Qw0Er3Ty6Ui9Op2As5Df8Gh",
    "aws_id": "AKIA" + "QX7R2MZB4TLK9W3N",
    "aws_secret": "Wq8+Zk2/Lm7Tp4Rv9Xn3Bc6Hd1Jf5Gs0Ka8Ue2Io",
    "github": "ghp_" + "Rk8Lm2Zq7Xw4Vt9Bn3Hc6Jd1Gf5Sa0Pe8Ui2Y",
    "stripe": "sk_live_" + "Zq8Lm2Xw7Rt4Vb9Nc3Hd6Jf",
    "password": "Pq7#vL2!xZ9@mK4$",
}


def _plant(root: Path) -> None:
    p = PLANTED
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / "k8s").mkdir()
    (root / "infra").mkdir()
    (root / ".env").write_text(f"OPENAI_API_KEY={p['openai']}\nDB_PASSWORD={p['password']}\n")
    (root / "Dockerfile").write_text(f"FROM python:3.12\nENV STRIPE_SECRET_KEY={p['stripe']}\nARG GITHUB_TOKEN={p['github']}\n")
    (root / "docker-compose.yml").write_text(
        f"services:\n  api:\n    environment:\n      AWS_ACCESS_KEY_ID: {p['aws_id']}\n"
        f"      AWS_SECRET_ACCESS_KEY: \"{p['aws_secret']}\"\n      DB_PASSWORD: \"{p['password']}\"\n")
    (root / "k8s" / "secret.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\nstringData:\n  OPENAI_API_KEY: {p['openai']}\n")
    (root / "infra" / "main.tf").write_text(
        f'provider "aws" {{\n  access_key = "{p["aws_id"]}"\n  secret_key = "{p["aws_secret"]}"\n}}\n')
    (root / ".github" / "workflows" / "ci.yml").write_text(
        f"on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    env:\n      OPENAI_API_KEY: {p['openai']}\n"
        "    steps:\n      - run: echo hi\n")
    # malformed files whose broken line holds a secret: the diagnostic must not quote it
    (root / "broken-compose.yml").write_text(f"services:\n  x: [{p['github']}\n  y: {{\n")
    (root / "k8s" / "broken.yaml").write_text(f"apiVersion: v1\nkind: Secret\nstringData:\n  k: \"{p['stripe']}\n  - ]\n")


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items()
            if any(value[i:i + 16] in text for i in range(0, max(len(value) - 15, 1)))]


def _run_all_formats(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYAUDIT_")}
    outputs = {}
    for fmt in FORMATS:
        proc = subprocess.run([sys.executable, "-m", "auditor", "scan", str(root), "-f", fmt, "--show-suppressed"],
                              capture_output=True, text=True, env=env, timeout=120, check=False)
        assert proc.returncode in (0, 1), proc.stderr
        outputs[fmt] = proc.stdout
        outputs[fmt + " (stderr)"] = proc.stderr
    return outputs


def test_planted_secrets_never_printed(tmp_path: Path) -> None:
    _plant(tmp_path)
    outputs = _run_all_formats(tmp_path)
    assert json.loads(outputs["json"])["findings"]
    for fmt, text in outputs.items():
        assert not _leaks(text, PLANTED), f"{fmt} output leaks {_leaks(text, PLANTED)}"
    baseline = tmp_path / "b.json"
    subprocess.run([sys.executable, "-m", "auditor", "scan", str(tmp_path), "--write-baseline", str(baseline)],
                   check=True, capture_output=True)
    assert not _leaks(baseline.read_text(), PLANTED)


def test_canary_every_secret_flagged_none_printed(tmp_path: Path) -> None:
    canary = SHARED / "canary"
    if not (canary / "repo").is_dir():
        pytest.skip("../shared/canary not present")
    secrets: dict[str, str] = json.loads((canary / "secrets.json").read_text())
    shutil.copytree(canary / "repo", tmp_path / "repo")
    outputs = _run_all_formats(tmp_path / "repo")
    for fmt, text in outputs.items():
        assert not _leaks(text, secrets), f"{fmt} output leaks {_leaks(text, secrets)}"
    report = json.loads(outputs["json"])
    from auditor.redact import fingerprint
    from auditor.scan import repository_key

    key = repository_key(tmp_path / "repo")
    found = {f["fingerprint"] for f in report["findings"]}
    missing = [name for name, value in secrets.items() if fingerprint(value, key) not in found]
    assert not missing, f"canary secrets not flagged: {missing}"
