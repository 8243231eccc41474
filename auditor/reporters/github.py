"""GitHub Actions workflow commands (``::error file=...,line=...::message``): inline PR annotations.

GitHub shows a limited number of annotations per step, so the most severe findings come first.
Escaping follows actions/toolkit ``escapeData`` / ``escapeProperty``.
"""

from __future__ import annotations

from auditor.findings import Finding, ScanResult
from auditor.model import Diagnostic, Severity
from auditor.reporters import RenderOptions
from auditor.reporters._common import by_severity, describe

COMMANDS: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **props: str | int | None) -> str:
    fields = ",".join(f"{key}={escape_property(str(val))}" for key, val in props.items() if val is not None)
    return f"::{name} {fields}::{escape_data(message)}" if fields else f"::{name}::{escape_data(message)}"


def _finding(f: Finding) -> str:
    loc = f.location
    message = describe(f)
    if f.suppressed is not None:
        message += f" (suppressed: {f.suppressed})"
    if f.help_uri:
        message += f"\n{f.help_uri}"
    return command(
        "notice" if f.suppressed is not None else COMMANDS[f.severity],
        message,
        file=loc.path,
        line=loc.line if loc.line > 0 else None,
        endLine=loc.end_line if loc.line > 0 and loc.end_line and loc.end_line >= loc.line else None,
        col=loc.column if loc.line > 0 and loc.column else None,
        title=f"{f.rule_id} {f.title}",
    )


def _diagnostic(d: Diagnostic) -> str:
    return command(
        "warning" if d.level == "error" else "notice",
        d.message,
        file=d.path,
        line=d.line if d.line and d.line > 0 else None,
        title="keyaudit could not fully read this file",
    )


def render(result: ScanResult, options: RenderOptions) -> str:
    shown = by_severity(result.active) + (by_severity(result.suppressed) if options.show_suppressed else [])
    lines = [_finding(f) for f in shown]
    lines += [_diagnostic(d) for d in sorted(result.diagnostics, key=lambda d: (d.path, d.line or 0, d.message))]
    return "".join(f"{line}\n" for line in lines)
