"""What a scan produces: findings (secret-free by construction) and the result reporters render."""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.model import Confidence, Diagnostic, Location, Severity


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    rule_name: str
    title: str
    category: str
    severity: Severity
    confidence: Confidence
    message: str
    location: Location
    help_uri: str
    evidence: str | None = None  # redacted form of the value, e.g. "sk-proj-...(164 chars)"
    fingerprint: str | None = None  # keyed HMAC of the value; never the value
    name: str | None = None  # the key/variable name involved
    route: str | None = None  # symbolic location within the document
    identity: str = ""  # line-independent identity used by baselines and SARIF partialFingerprints
    suppressed: str | None = None  # why: "inline: <reason>", "baseline", "config: <reason>"

    @property
    def is_suppressed(self) -> bool:
        return self.suppressed is not None


@dataclass(slots=True)
class ScanStats:
    files_seen: int = 0
    files_scanned: int = 0
    documents_parsed: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0
    skipped_ignored: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class ScanResult:
    root: str
    findings: list[Finding]  # suppressed ones included, flagged
    diagnostics: list[Diagnostic]
    stats: ScanStats = field(default_factory=ScanStats)
    tool_version: str = ""
    rules: tuple[str, ...] = ()  # ids of the rules that ran
    # Some input could not be read (API errors, missing permissions): findings may be missing. The diagnostics
    # say what was not read; reporters say the result is partial (JSON `partial`, SARIF executionSuccessful).
    partial: bool = False
    # How locations are addressed outside the scanned tree: None for paths relative to the scan root (SARIF
    # `%SRCROOT%`); "kube" for `keyaudit cluster`'s `<context>/<namespace>/<Kind>/<name>` (SARIF `kube://...`).
    uri_scheme: str | None = None

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_suppressed]

    @property
    def suppressed(self) -> list[Finding]:
        return [f for f in self.findings if f.is_suppressed]

    def counts(self) -> dict[Severity, int]:
        out = dict.fromkeys(Severity, 0)
        for f in self.active:
            out[f.severity] += 1
        return out
