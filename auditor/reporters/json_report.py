"""The JSON report: every finding field, stable keys, described by ``auditor/schemas/report.schema.json``."""

from __future__ import annotations

import json
from typing import Any

from auditor.findings import Finding, ScanResult
from auditor.model import Diagnostic
from auditor.reporters import RenderOptions
from auditor.reporters._common import SEVERITIES_DESC, TOOL_NAME, ordered, rules, tool_version

REPORT_VERSION = 1


def finding_dict(f: Finding) -> dict[str, Any]:
    loc = f.location
    return {
        "rule_id": f.rule_id,
        "rule_name": f.rule_name,
        "title": f.title,
        "category": f.category,
        "severity": f.severity.value,
        "confidence": f.confidence.value,
        "message": f.message,
        "location": {"path": loc.path, "line": loc.line, "column": loc.column, "end_line": loc.end_line},
        "help_uri": f.help_uri,
        "evidence": f.evidence,
        "fingerprint": f.fingerprint,
        "name": f.name,
        "route": f.route,
        "identity": f.identity,
        "suppressed": f.suppressed,
    }


def diagnostic_dict(d: Diagnostic) -> dict[str, Any]:
    return {"path": d.path, "line": d.line, "message": d.message, "level": d.level}


def report(result: ScanResult, options: RenderOptions) -> dict[str, Any]:
    counts = result.counts()
    st = result.stats
    summary: dict[str, Any] = {s.value: counts[s] for s in SEVERITIES_DESC}
    summary.update(
        total=len(result.active),
        suppressed=len(result.suppressed),
        diagnostics=len(result.diagnostics),
        files_seen=st.files_seen,
        files_scanned=st.files_scanned,
        documents_parsed=st.documents_parsed,
        skipped_binary=st.skipped_binary,
        skipped_large=st.skipped_large,
        skipped_ignored=st.skipped_ignored,
        seconds=round(st.seconds, 3),
    )
    return {
        "version": REPORT_VERSION,
        "tool": {"name": TOOL_NAME, "version": tool_version(result)},
        "root": result.root,
        "partial": result.partial,
        "rules": [r.id for r in rules(result, options)],
        "summary": summary,
        "findings": [finding_dict(f) for f in ordered(result.active)],
        "suppressed": [finding_dict(f) for f in ordered(result.suppressed)],
        "diagnostics": [
            diagnostic_dict(d) for d in sorted(result.diagnostics, key=lambda d: (d.path, d.line or 0, d.message))
        ],
    }


def render(result: ScanResult, options: RenderOptions) -> str:
    return json.dumps(report(result, options), indent=2, ensure_ascii=False) + "\n"
