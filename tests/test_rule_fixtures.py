"""Every rule runs over its own bad/ and good/ fixture repositories.

In bad/ fixtures, each line that must fire carries ``keyaudit-expect: <ID>`` (trailing, or alone on the line
above). The rule must fire on exactly those lines; in good/ it must not fire at all.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.config import Config
from auditor.policies import load_policies
from auditor.scan import ScanOptions, scan

from .conftest import FIXTURES

MARK = re.compile(r"keyaudit-expect:\s*([A-Z][A-Z0-9]{2}-\d{2}(?:\s*,\s*[A-Z][A-Z0-9]{2}-\d{2})*)")
COMMENT_ONLY = re.compile(r"^\s*(?:#|//|--(?:\s|$)|;|/\*|<!--)")
POLICY_IDS = [p.id for p in load_policies()]
# rules that only read live clusters: their fixtures are objects as the API returns them, audited through the
# same code path as `keyaudit cluster` (auditor.cluster.fixtures)
CLUSTER_ONLY = {p.id for p in load_policies() if set(p.targets) == {"cluster"}}


def expected_lines(tree: Path, rule_id: str) -> set[tuple[str, int]]:
    out = set()
    for path in sorted(tree.rglob("*")):
        if not path.is_file():
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(lines, 1):
            m = MARK.search(line)
            if m and rule_id in {i.strip() for i in m.group(1).split(",")}:
                target = number + 1 if COMMENT_ONLY.match(line) else number
                out.add((path.relative_to(tree).as_posix(), target))
    return out


def fired(tree: Path, rule_id: str) -> set[tuple[str, int]]:
    if rule_id in CLUSTER_ONLY:
        from auditor.cluster.fixtures import fired_lines

        return fired_lines(tree, rule_id)
    result = scan(tree, ScanOptions(config=Config(select=(rule_id,)), jobs=1))  # never a cluster-only rule
    assert not [d for d in result.diagnostics if d.level == "error"], result.diagnostics
    return {(f.location.path, f.location.line) for f in result.findings if f.rule_id == rule_id}


@pytest.mark.parametrize("rule_id", POLICY_IDS)
def test_every_rule_has_fixtures(rule_id: str) -> None:
    bad, good = FIXTURES / "rules" / rule_id / "bad", FIXTURES / "rules" / rule_id / "good"
    assert bad.is_dir() and any(bad.rglob("*")), f"{rule_id}: missing fixtures/rules/{rule_id}/bad/"
    assert good.is_dir() and any(good.rglob("*")), f"{rule_id}: missing fixtures/rules/{rule_id}/good/"
    assert expected_lines(bad, rule_id), f"{rule_id}: no line marked keyaudit-expect in bad/"


@pytest.mark.parametrize("rule_id", POLICY_IDS)
def test_bad_fixture_fires_on_marked_lines(rule_id: str, copy_tree) -> None:
    src = FIXTURES / "rules" / rule_id / "bad"
    if not src.is_dir():
        pytest.fail(f"{rule_id}: no bad fixture")
    tree = copy_tree(src)
    assert fired(tree, rule_id) == expected_lines(tree, rule_id)


@pytest.mark.parametrize("rule_id", POLICY_IDS)
def test_good_fixture_is_clean(rule_id: str, copy_tree) -> None:
    src = FIXTURES / "rules" / rule_id / "good"
    if not src.is_dir():
        pytest.fail(f"{rule_id}: no good fixture")
    assert fired(copy_tree(src), rule_id) == set()
