"""Rule fixtures for cluster-only policies: a directory of YAML objects audited through the live audit's path.

``fixtures/rules/<ID>/bad/objects.yaml`` holds objects as the API server returns them; an optional
``cluster.yaml`` sets the context name, the audit clock and extra served API groups (see
:class:`~auditor.cluster.source.FixtureSource`). A finding on an object maps to the line of that object's
``kind:`` key; a finding on the cluster itself (K8S-04) maps to the ``context:`` line of ``cluster.yaml``.
So ``keyaudit-expect`` markers work as for repository fixtures.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from auditor.cluster.audit import AuditOptions, audit
from auditor.cluster.source import FixtureSource
from auditor.config import Config
from auditor.findings import ScanResult


def audit_fixture(tree: Path, rule_id: str | None = None, *, secret_values: bool = True) -> ScanResult:
    source = FixtureSource.from_paths(tree)
    now = datetime.fromisoformat(source.now.replace("Z", "+00:00")) if source.now else None
    select = (rule_id,) if rule_id else ()
    return audit([source], AuditOptions(config=Config(select=select), now=now, secret_values=secret_values))


def fired_lines(tree: Path, rule_id: str) -> set[tuple[str, int]]:
    """``(file relative to tree, line)`` of every finding of ``rule_id`` on the fixture ``tree``.

    Raises AssertionError when the audit reports an error diagnostic or a finding on an object that is not in
    the fixture.
    """
    source = FixtureSource.from_paths(tree)
    where = source.where()
    result = audit_fixture(tree, rule_id)
    errors = [str(d) for d in result.diagnostics if d.level == "error"]
    if errors:
        raise AssertionError(f"{rule_id}: error diagnostics: {errors}")
    out: set[tuple[str, int]] = set()
    for finding in result.findings:
        if finding.rule_id != rule_id:
            continue
        placed = where.get(finding.location.path)
        if placed is None:
            raise AssertionError(f"{rule_id}: finding on {finding.location.path}, which is not an object of {tree}")
        out.add((placed.file, placed.line))
    return out
