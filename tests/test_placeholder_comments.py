"""A comment saying a value is to be replaced makes it a placeholder, except for provider-format keys."""

from __future__ import annotations

from pathlib import Path

from auditor.config import Config
from auditor.scan import ScanOptions, scan

KEY = "sk-proj-" + "Tq4Lm8Zx2Wc7Vb1Nd5Kh9Gf3Sa6Pe0Oi2Uy8Rt4Ew1Qa7Sz3Dx" + "T3BlbkFJ" + "Mn6Bv9Cx2Za5Sd8Fg1Hj4Kl7Qw0Er3Ty6Ui9Op2As5Df8Gh"


def _rules(tmp_path: Path, *rules: str) -> list[tuple[str, str, int]]:
    result = scan(tmp_path, ScanOptions(config=Config(select=rules), jobs=1))
    return [(f.rule_id, f.location.path, f.location.line) for f in result.findings]


def test_manifest_value_under_a_replace_me_comment_is_a_placeholder(tmp_path: Path) -> None:
    (tmp_path / "agent.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: agent}\nspec:\n  containers:\n  - name: agent\n    image: a\n"
        "    env:\n    - name: ACCESS_KEY   # REQUIRED - replace with your Sysdig Cloud access key\n"
        "      value: 8312341g-5678-abcd-4a2b2c-33bcsd655\n"
        "    - name: API_TOKEN\n      value: Zq8Lm2Xw7Rt4Vb9Nc3Hd6Jf1\n")
    assert _rules(tmp_path, "HCK-02") == [("HCK-02", "agent.yaml", 12)]


def test_provider_key_beside_such_a_comment_is_still_reported(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={KEY}  # replace with your key\nDB_PASSWORD=Xq7#pL2m9vR4  # example value\n")
    assert _rules(tmp_path, "IGN-01") == [("IGN-01", ".env", 1)]
