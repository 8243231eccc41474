"""Baselines: accepted findings recorded by line-independent identity, holding no secret."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from auditor.findings import Finding

BASELINE_VERSION = 1


class BaselineError(Exception):
    """The baseline file is unreadable or not a keyaudit baseline."""


def write_baseline(path: Path, findings: Iterable[Finding], tool_version: str) -> int:
    entries = sorted(
        {(f.identity, f.rule_id, f.location.path, f.name or "") for f in findings if not f.is_suppressed}
    )
    data = {
        "version": BASELINE_VERSION,
        "tool": {"name": "keyaudit", "version": tool_version},
        "findings": [{"identity": i, "rule_id": r, "path": p, "name": n} for i, r, p, n in entries],
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return len(entries)


def read_baseline(path: Path) -> frozenset[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read baseline ({exc.__class__.__name__})") from None
    if not (isinstance(data, dict) and data.get("version") == BASELINE_VERSION
            and isinstance(data.get("findings"), list)):
        raise BaselineError(f"{path}: not a keyaudit baseline (version {BASELINE_VERSION})")
    return frozenset(str(e["identity"]) for e in data["findings"] if isinstance(e, dict) and "identity" in e)
