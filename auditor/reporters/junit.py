"""JUnit XML: one ``<testsuite>`` per rule that ran, one failing ``<testcase>`` per finding.

A rule without findings gets one passing test case, so CI dashboards show what was checked.
Suppressed findings appear as skipped test cases when ``show_suppressed`` is set. Read errors
(diagnostics) go to a ``diagnostics`` suite: errors as ``<error>``, warnings as passing cases.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from auditor.findings import Finding, ScanResult
from auditor.model import Diagnostic
from auditor.reporters import RenderOptions
from auditor.reporters._common import TOOL_NAME, RuleInfo, describe, escape_char, ordered, place, rules

# Characters XML 1.0 cannot carry at all, even escaped.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: str) -> str:
    return _XML_ILLEGAL.sub(escape_char, text)


def _case(parent: ET.Element, classname: str, name: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, "testcase", {"classname": _x(classname), "name": _x(name), **attrs, "time": "0"})


def _details(f: Finding) -> str:
    lines = [
        f"{f.rule_id} {f.rule_name} ({f.severity.value}, confidence {f.confidence.value})",
        str(f.location),
        f.message,
    ]
    if f.evidence:
        lines.append(f"Evidence: {f.evidence}")
    if f.help_uri:
        lines.append(f"Help: {f.help_uri}")
    return _x("\n".join(lines))


def _finding_case(suite: ET.Element, f: Finding) -> None:
    name = f"{f.location} {f.name}" if f.name else str(f.location)
    case = _case(suite, f.rule_id, name, file=_x(f.location.path), line=str(f.location.line))
    if f.suppressed is not None:
        ET.SubElement(case, "skipped", message=_x(f"suppressed: {f.suppressed}"))
    else:
        failure = ET.SubElement(case, "failure", message=_x(describe(f)), type=f.severity.value)
        failure.text = _details(f)


def _rule_suite(root: ET.Element, rule: RuleInfo, findings: list[Finding]) -> None:
    failures = sum(1 for f in findings if f.suppressed is None)
    skipped = len(findings) - failures
    suite = ET.SubElement(root, "testsuite", {
        "name": _x(f"{rule.id} {rule.name}"),
        "tests": str(max(len(findings), 1)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
        "time": "0",
    })
    for f in findings:
        _finding_case(suite, f)
    if not findings:
        _case(suite, rule.id, f"{rule.id} {rule.title}")


def _diagnostic_suite(root: ET.Element, diagnostics: list[Diagnostic]) -> int:
    errors = sum(1 for d in diagnostics if d.level == "error")
    suite = ET.SubElement(root, "testsuite", {
        "name": "diagnostics",
        "tests": str(len(diagnostics)),
        "failures": "0",
        "errors": str(errors),
        "skipped": "0",
        "time": "0",
    })
    for d in diagnostics:
        case = _case(suite, f"{TOOL_NAME}.diagnostics", place(d.path, d.line), file=_x(d.path))
        if d.level == "error":
            ET.SubElement(case, "error", message=_x(d.message), type="error")
        else:
            ET.SubElement(case, "system-out").text = _x(f"warning: {d.message}")
    return errors


def render(result: ScanResult, options: RenderOptions) -> str:
    shown = result.findings if options.show_suppressed else result.active
    by_rule: dict[str, list[Finding]] = {}
    for f in ordered(shown):
        by_rule.setdefault(f.rule_id, []).append(f)
    root = ET.Element("testsuites", name=TOOL_NAME)
    for rule in rules(result, options):
        _rule_suite(root, rule, by_rule.get(rule.id, []))
    diagnostics = sorted(result.diagnostics, key=lambda d: (d.path, d.line or 0, d.message))
    errors = _diagnostic_suite(root, diagnostics) if diagnostics else 0
    suites = root.findall("testsuite")
    for attr in ("tests", "failures", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
    root.set("errors", str(errors))
    root.set("time", f"{result.stats.seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
