"""Helpers shared by the leaf reporters: ordering, rule metadata, wording, sanitising."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from auditor import __version__
from auditor.findings import Finding, ScanResult
from auditor.model import Confidence, Location, Severity
from auditor.reporters import RenderOptions

TOOL_NAME = "keyaudit"
INFORMATION_URI = "https://github.com/keyaudit/keyaudit"

SEVERITIES_DESC: tuple[Severity, ...] = (
    Severity.CRITICAL,
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
    Severity.INFO,
)


def tool_version(result: ScanResult) -> str:
    return result.tool_version or __version__


def location_key(loc: Location) -> tuple[str, int, int]:
    return (loc.path, loc.line, loc.column or 0)


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """By file, line, column, rule: the reading order."""
    return sorted(findings, key=lambda f: (location_key(f.location), f.rule_id, f.identity))


def by_severity(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then reading order."""
    return sorted(findings, key=lambda f: (-f.severity.rank, location_key(f.location), f.rule_id, f.identity))


def group_by_path(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = {}
    for f in ordered(findings):
        groups.setdefault(f.location.path, []).append(f)
    return groups


def position(loc: Location) -> str:
    """``12:5``, ``12`` or ``""`` (no known line)."""
    if loc.line < 1:
        return ""
    return f"{loc.line}:{loc.column}" if loc.column else str(loc.line)


def place(path: str, line: int | None) -> str:
    return f"{path}:{line}" if line and line > 0 else path


def describe(f: Finding) -> str:
    """The message plus the redacted evidence, the one-line text most formats show."""
    return f"{f.message} [evidence {f.evidence}]" if f.evidence else f.message


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def severity_counts(result: ScanResult) -> str:
    counts = result.counts()
    return ", ".join(f"{s.value}: {counts[s]}" for s in SEVERITIES_DESC)


def findings_line(result: ScanResult) -> str:
    """``3 findings (critical: 1, high: 1, ...), 1 suppressed`` or ``No findings.``"""
    active, suppressed = len(result.active), len(result.suppressed)
    if not active:
        return f"No findings ({suppressed} suppressed)." if suppressed else "No findings."
    return f"{plural(active, 'finding')} ({severity_counts(result)}), {suppressed} suppressed"


def files_line(result: ScanResult) -> str:
    """``12 files scanned in 0.42s (skipped: 1 binary, 2 ignored)``."""
    st = result.stats
    skipped = [(st.skipped_binary, "binary"), (st.skipped_large, "too large"), (st.skipped_ignored, "ignored")]
    extra = ", ".join(f"{n} {what}" for n, what in skipped if n)
    text = f"{plural(st.files_scanned, 'file')} scanned in {st.seconds:.2f}s"
    return f"{text} (skipped: {extra})" if extra else text


def partial_line(result: ScanResult) -> str:
    """``Results are partial: 2 API errors/permissions missing (see Diagnostics).``, or ``""`` when complete.

    The count is of the diagnostics that lost input: errors, and the 403s of a cluster audit (``forbidden: ...``).
    """
    if not result.partial:
        return ""
    count = sum(1 for d in result.diagnostics if d.level == "error" or d.message.startswith("forbidden:"))
    if not count:
        return "Results are partial: some input could not be read (see Diagnostics)."
    what = "API error/permission" if count == 1 else "API errors/permissions"
    return f"Results are partial: {count} {what} missing (see Diagnostics)."


# C0/C1 controls and the bidi/zero-width format characters that can hide or reorder text in a terminal
# or a rendered page ("trojan source"). Tab is kept out too: it breaks column layouts.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def printable(text: str) -> str:
    r"""Replace control and bidi characters by visible escapes (``\x1b``, ``\u202e``)."""
    return _UNPRINTABLE.sub(escape_char, text)


def escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a reporter knows about a rule: from its policy, or guessed from one of its findings."""

    id: str
    name: str
    title: str
    severity: Severity
    confidence: Confidence
    category: str
    help_uri: str
    docs: Mapping[str, object] | None = None

    def doc(self, key: str) -> str:
        value = (self.docs or {}).get(key)
        return value.strip() if isinstance(value, str) else ""

    def references(self) -> list[str]:
        refs = (self.docs or {}).get("references")
        return [str(r) for r in refs] if isinstance(refs, list) else []


def rules(result: ScanResult, options: RenderOptions) -> list[RuleInfo]:
    """The rules that ran, sorted by id.

    ``result.rules`` names them when the engine filled it in; otherwise every policy passed counts as run.
    A rule that has findings but no policy is described from its first finding.
    """
    ran = set(result.rules) if result.rules else {p.id for p in options.policies}
    infos: dict[str, RuleInfo] = {}
    for p in options.policies:
        if p.id in ran:
            infos[p.id] = RuleInfo(p.id, p.name, p.title, p.severity, p.confidence, p.category, p.help_uri, p.docs)
    for f in ordered(result.findings):
        if f.rule_id not in infos:
            infos[f.rule_id] = RuleInfo(
                f.rule_id, f.rule_name, f.title, f.severity, f.confidence, f.category, f.help_uri
            )
    for rule_id in result.rules:
        if rule_id not in infos:
            infos[rule_id] = RuleInfo(rule_id, rule_id.lower(), rule_id, Severity.INFO, Confidence.LOW, "", "")
    return [infos[k] for k in sorted(infos)]
