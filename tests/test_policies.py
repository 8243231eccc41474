from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from auditor import docs
from auditor.policies import PolicyError, load_policies, policies_dir
from auditor.rules import resolve

from .conftest import ROOT


def test_policies_load_and_validate() -> None:
    policies = load_policies()
    assert len({p.id for p in policies}) == len(policies)
    assert len({p.name for p in policies}) == len(policies)


@pytest.mark.parametrize("policy", load_policies(), ids=lambda p: p.id)
def test_check_resolves_and_supersedes_exist(policy) -> None:
    assert callable(resolve(policy.check))
    ids = {p.id for p in load_policies()}
    assert set(policy.supersedes) <= ids


def test_invalid_policy_is_rejected(tmp_path: Path) -> None:
    good = yaml.safe_load((policies_dir() / "HCK-01.yaml").read_text())
    good["severity"] = "catastrophic"
    (tmp_path / "HCK-01.yaml").write_text(yaml.safe_dump(good))
    with pytest.raises(PolicyError, match="severity"):
        load_policies.__wrapped__(tmp_path)


def test_misnamed_policy_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "XYZ-99.yaml").write_text((policies_dir() / "HCK-01.yaml").read_text())
    with pytest.raises(PolicyError, match="must be named"):
        load_policies.__wrapped__(tmp_path)


def test_rule_docs_do_not_drift() -> None:
    wanted = docs.expected_files(load_policies())
    directory = ROOT / "docs" / "rules"
    present = {p.name: p.read_text(encoding="utf-8") for p in directory.glob("*.md")}
    assert present == wanted, "docs/rules is out of date: run `python -m auditor.docs`"
