"""GitHub-flavoured Markdown for a pull-request comment or ``$GITHUB_STEP_SUMMARY``."""

from __future__ import annotations

import re

from auditor.findings import Finding, ScanResult
from auditor.reporters import RenderOptions
from auditor.reporters._common import (
    SEVERITIES_DESC,
    TOOL_NAME,
    files_line,
    group_by_path,
    ordered,
    place,
    plural,
    position,
    printable,
)

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~&$])")
_BACKTICKS = re.compile(r"`+")


def text(value: str) -> str:
    """Plain text safe in a table cell: one line, Markdown punctuation backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", printable(" ".join(value.splitlines())))


def code(value: str) -> str:
    """A code span that survives any backtick run inside, and ``|`` inside a table."""
    value = printable(" ".join(value.splitlines())).replace("|", "\\|")
    fence = "`" * (max((len(m) for m in _BACKTICKS.findall(value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _link(label: str, uri: str) -> str:
    return f"[{text(label)}](<{uri.replace('<', '%3C').replace('>', '%3E')}>)" if uri else text(label)


def _findings_table(findings: list[Finding]) -> list[str]:
    rows = ["| Line | Severity | Rule | Message | Evidence |", "|---:|---|---|---|---|"]
    for f in findings:
        rule = f"{_link(f.rule_id, f.help_uri)} {text(f.rule_name)}"
        evidence = code(f.evidence) if f.evidence else ""
        rows.append(f"| {position(f.location)} | {f.severity.value} | {rule} | {text(f.message)} | {evidence} |")
    return rows


def render(result: ScanResult, options: RenderOptions) -> str:
    out = [f"## {TOOL_NAME} report", ""]
    active, suppressed = result.active, result.suppressed
    if active:
        counts = result.counts()
        out += ["| Severity | Findings |", "|---|---:|"]
        out += [f"| {s.value} | {counts[s]} |" for s in SEVERITIES_DESC]
        out += [f"| **total** | **{len(active)}** |", ""]
        out += [f"{plural(len(active), 'finding')}, {len(suppressed)} suppressed; {files_line(result)}.", ""]
        for path, findings in group_by_path(active).items():
            out += [f"### {code(path)}", "", *_findings_table(findings), ""]
    else:
        extra = f" ({len(suppressed)} suppressed)" if suppressed else ""
        out += [f"No findings{extra}; {files_line(result)}.", ""]
    if suppressed and options.show_suppressed:
        out += [f"<details><summary>{plural(len(suppressed), 'suppressed finding')}</summary>", ""]
        out += ["| Location | Rule | Reason |", "|---|---|---|"]
        for f in ordered(suppressed):
            out.append(f"| {code(str(f.location))} | {_link(f.rule_id, f.help_uri)} | {text(f.suppressed or '')} |")
        out += ["", "</details>", ""]
    if result.diagnostics:
        out += ["### Diagnostics", ""]
        for d in sorted(result.diagnostics, key=lambda d: (d.path, d.line or 0, d.message)):
            out.append(f"- {code(place(d.path, d.line))} {d.level}: {text(d.message)}")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
