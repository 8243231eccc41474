"""Human-readable terminal output: findings grouped by file, diagnostics, fix hints, summary."""

from __future__ import annotations

from auditor.findings import Finding, ScanResult
from auditor.model import Severity
from auditor.reporters import RenderOptions
from auditor.reporters._common import (
    describe,
    files_line,
    findings_line,
    group_by_path,
    partial_line,
    place,
    position,
    printable,
    rules,
)

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_COLORS: dict[Severity, str] = {
    Severity.CRITICAL: "\x1b[1;35m",  # bold magenta
    Severity.HIGH: "\x1b[1;31m",  # bold red
    Severity.MEDIUM: "\x1b[33m",  # yellow
    Severity.LOW: "\x1b[36m",  # cyan
    Severity.INFO: "\x1b[2m",  # dim
}


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def _file_block(path: str, findings: list[Finding], color: bool) -> list[str]:
    pos_width = max(len(position(f.location)) for f in findings)
    sev_width = max(len(f.severity.value) for f in findings)
    lines = [_paint(printable(path), _BOLD, color)]
    for f in findings:
        sev = f.severity.value.upper().ljust(sev_width)
        text = f"  {position(f.location).rjust(pos_width)}  {_paint(sev, _COLORS[f.severity], color)}  {f.rule_id}"
        text += f"  {f.rule_name}  {printable(describe(f))}"
        if f.suppressed is not None:
            text += f"  (suppressed: {printable(f.suppressed)})"
        lines.append(text)
    return lines


def render(result: ScanResult, options: RenderOptions) -> str:
    shown = result.findings if options.show_suppressed else result.active
    out: list[str] = []
    for path, findings in group_by_path(shown).items():
        out += [*_file_block(path, findings, options.color), ""]
    if result.diagnostics:
        out.append("Diagnostics:")
        for d in sorted(result.diagnostics, key=lambda d: (d.path, d.line or 0, d.message)):
            out.append(f"  {printable(place(d.path, d.line))}: {d.level}: {printable(d.message)}")
        out.append("")
    hinted = {f.rule_id for f in shown}
    hints = [r for r in rules(result, options) if r.id in hinted]
    if hints:
        out.append("Rules:")
        out += [f"  {r.id}  {printable(r.title)}" + (f": see {r.help_uri}" if r.help_uri else "") for r in hints]
        out.append("")
    out.append(findings_line(result))
    if result.partial:
        out.append(partial_line(result))
    out.append(files_line(result))
    return "\n".join(out) + "\n"
