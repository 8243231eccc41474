"""SARIF 2.1.0, as GitHub code scanning and other SARIF viewers read it.

Results carry ``partialFingerprints["keyaudit/v1"]`` = ``Finding.identity``, which leaves out line numbers,
so code scanning keeps tracking an alert when lines move. Suppressed findings are kept, with ``suppressions``.

Locations of ``keyaudit scan`` are relative to ``%SRCROOT%``; a result with a ``uri_scheme`` (``keyaudit
cluster``: ``kube``) gets absolute URIs instead, ``kube://<context>/<namespace>/<Kind>/<name>``, stable across
runs and machines. A partial result (input that could not be read) has ``executionSuccessful: false`` and an
error notification saying so.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from auditor.findings import Finding, ScanResult
from auditor.model import Diagnostic, Severity
from auditor.reporters import RenderOptions
from auditor.reporters._common import (
    INFORMATION_URI,
    TOOL_NAME,
    RuleInfo,
    describe,
    ordered,
    partial_line,
    rules,
    tool_version,
)

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "keyaudit/v1"

LEVELS: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning maps security-severity to critical (>= 9.0), high (>= 7.0), medium (>= 4.0), low.
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
CWE: dict[str, str] = {
    "hardcoded-secret": "798",  # Use of Hard-coded Credentials
    "build-time-injection": "538",  # Insertion of Sensitive Information into Externally-Accessible File
    "env-file-exposure": "538",
    "log-exposure": "532",  # Insertion of Sensitive Information into Log File
    "client-exposure": "200",  # Exposure of Sensitive Information to an Unauthorized Actor
    "secret-store": "522",  # Insufficiently Protected Credentials
}


def _fence(text: str) -> str:
    if "```" in text:
        return text
    return f"```\n{text}\n```"


def _help(rule: RuleInfo) -> dict[str, str]:
    what, why, example, instead = (rule.doc(k) for k in ("what", "why", "example", "use_instead"))
    refs = rule.references()
    text: list[str] = []
    markdown: list[str] = []
    for heading, body, code in (
        ("What it does", what, False),
        ("Why is this bad?", why, False),
        ("Example", example, True),
        ("Use instead", instead, "\n" in instead),
    ):
        if body:
            text.append(f"{heading}\n{body}")
            markdown.append(f"## {heading}\n{_fence(body) if code else body}")
    if refs:
        text.append("References\n" + "\n".join(refs))
        markdown.append("## References\n" + "\n".join(f"- <{r}>" for r in refs))
    if rule.help_uri:
        text.append(f"Documentation: {rule.help_uri}")
        markdown.append(f"[{rule.id} documentation]({rule.help_uri})")
    if not text:
        text.append(rule.title)
        markdown.append(rule.title)
    return {"text": "\n\n".join(text), "markdown": "\n\n".join(markdown)}


def _rule(rule: RuleInfo) -> dict[str, Any]:
    tags = ["security", "secrets"]
    if rule.category:
        tags.append(rule.category)
    if rule.category in CWE:
        tags.append(f"external/cwe/cwe-{CWE[rule.category]}")
    out: dict[str, Any] = {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.doc("what") or rule.title},
        "help": _help(rule),
    }
    if rule.help_uri:
        out["helpUri"] = rule.help_uri
    out["defaultConfiguration"] = {"level": LEVELS[rule.severity]}
    out["properties"] = {
        "category": rule.category,
        "tags": tags,
        "security-severity": SECURITY_SEVERITY[rule.severity],
        "precision": rule.confidence.value,
    }
    return out


def _artifact(path: str, scheme: str | None) -> dict[str, str]:
    """``{"uri": "src/app.env", "uriBaseId": "%SRCROOT%"}``, or an absolute ``{"uri": "kube://ctx/ns/Kind/name"}``."""
    if scheme:
        return {"uri": f"{scheme}://{quote(path, safe='/')}"}
    return {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT}


def _physical(path: str, line: int | None, column: int | None = None, end_line: int | None = None,
              scheme: str | None = None) -> dict[str, Any]:
    loc: dict[str, Any] = {"artifactLocation": _artifact(path, scheme)}
    if line and line > 0:
        region: dict[str, int] = {"startLine": line}
        if column and column > 0:
            region["startColumn"] = column
        if end_line and end_line >= line:
            region["endLine"] = end_line
        loc["region"] = region
    return {"physicalLocation": loc}


def _suppression(reason: str) -> dict[str, str]:
    source, _, justification = reason.partition(":")
    kind = "inSource" if source.strip() == "inline" else "external"
    return {"kind": kind, "status": "accepted", "justification": justification.strip() or reason.strip()}


def _result(f: Finding, index: int, scheme: str | None) -> dict[str, Any]:
    loc = f.location
    out: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "level": LEVELS[f.severity],
        "message": {"text": describe(f)},
        "locations": [_physical(loc.path, loc.line, loc.column, loc.end_line, scheme)],
    }
    if f.route:
        out["locations"][0]["logicalLocations"] = [{"fullyQualifiedName": f.route}]
    if f.identity:
        out["partialFingerprints"] = {FINGERPRINT_KEY: f.identity}
    if f.suppressed is not None:
        out["suppressions"] = [_suppression(f.suppressed)]
    props = {"severity": f.severity.value, "confidence": f.confidence.value}
    props.update({k: v for k, v in (("evidence", f.evidence), ("name", f.name), ("fingerprint", f.fingerprint)) if v})
    out["properties"] = props
    return out


def _notification(d: Diagnostic, scheme: str | None) -> dict[str, Any]:
    return {
        "level": "error" if d.level == "error" else "warning",
        "message": {"text": d.message},
        "locations": [_physical(d.path, d.line, scheme=scheme)],
    }


def _partial(result: ScanResult) -> dict[str, Any]:
    return {
        "descriptor": {"id": "partial"},
        "level": "error",
        "message": {"text": partial_line(result).replace("(see Diagnostics)", "(see the other notifications)")
                    + " Findings may be missing."},
    }


def report(result: ScanResult, options: RenderOptions) -> dict[str, Any]:
    infos = rules(result, options)
    index = {r.id: i for i, r in enumerate(infos)}
    diagnostics = sorted(result.diagnostics, key=lambda d: (d.path, d.line or 0, d.message))
    scheme = result.uri_scheme
    notifications = [_notification(d, scheme) for d in diagnostics]
    if result.partial:
        notifications.insert(0, _partial(result))
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": tool_version(result),
                "informationUri": INFORMATION_URI,
                "rules": [_rule(r) for r in infos],
            }
        },
        "invocations": [
            {
                "executionSuccessful": not result.partial,
                "toolExecutionNotifications": notifications,
            }
        ],
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index[f.rule_id], scheme) for f in ordered(result.findings)],
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(result: ScanResult, options: RenderOptions) -> str:
    return json.dumps(report(result, options), indent=2, ensure_ascii=False) + "\n"
