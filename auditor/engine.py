"""Runs rules over a repository model and turns their hits into findings.

Findings get the policy's metadata, a redacted evidence string and a keyed fingerprint; then inline
suppressions, config allow-entries and the baseline mark (not drop) what users accepted, and a rule that
``supersedes`` another removes the other's duplicate report of the same value on the same line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from auditor.config import AllowEntry
from auditor.findings import Finding
from auditor.model import Diagnostic, Document, Repository
from auditor.policies import Policy
from auditor.redact import fingerprint, redact
from auditor.rules import Hit, RuleContext, resolve


@dataclass(frozen=True, slots=True)
class EngineOptions:
    fingerprint_key: bytes
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    allow: tuple[AllowEntry, ...] = ()
    baseline: frozenset[str] = frozenset()


def selected(policies: Sequence[Policy], select: Iterable[str], ignore: Iterable[str]) -> list[Policy]:
    sel, ign = set(select), set(ignore)
    return [p for p in policies if (not sel or p.id in sel or p.name in sel) and p.id not in ign and p.name not in ign]


def run(repo: Repository, policies: Sequence[Policy], ctx: RuleContext,
        options: EngineOptions) -> tuple[list[Finding], list[Diagnostic]]:
    hits: list[tuple[Policy, Hit]] = []
    diagnostics: list[Diagnostic] = []
    for policy in policies:
        try:
            hits.extend((policy, hit) for hit in resolve(policy.check)(repo, ctx))
        except Exception as exc:  # one broken rule must not hide the others; never echo its message
            diagnostics.append(Diagnostic(policy.id, None, f"rule {policy.id} failed ({exc.__class__.__name__}); "
                                          "its findings are missing: please report this"))
            continue
    findings = [_finding(policy, hit, options.fingerprint_key) for policy, hit in _drop_superseded(hits)]
    docs = {d.path: d for d in repo.documents}
    findings = [_suppress(f, docs.get(f.location.path), options) for f in _dedupe(findings)]
    findings.sort(key=lambda f: (f.location.path, f.location.line, f.location.column or 0, f.rule_id))
    return findings, diagnostics


def _finding(policy: Policy, hit: Hit, key: bytes) -> Finding:
    fp = fingerprint(hit.value.text, key) if hit.value is not None and hit.value.text else None
    evidence = redact(hit.value.text) if hit.value is not None and hit.value.text else None
    anchor = hit.name or hit.route or ""
    identity = hashlib.sha256(
        "\0".join((policy.id, hit.location.path, anchor, fp or "", "" if (anchor or fp) else hit.message)).encode()
    ).hexdigest()[:32]
    return Finding(
        rule_id=policy.id, rule_name=policy.name, title=policy.title, category=policy.category,
        severity=hit.severity or policy.severity, confidence=hit.confidence or policy.confidence,
        message=hit.message, location=hit.location, help_uri=policy.help_uri, evidence=evidence,
        fingerprint=fp, name=hit.name, route=hit.route, identity=identity,
    )


def _drop_superseded(hits: list[tuple[Policy, Hit]]) -> list[tuple[Policy, Hit]]:
    """A specific rule's report replaces a general rule's report of the same value on the same line.

    "The same value" is decided on the raw values, in memory, before anything is redacted: one value may
    contain the other (IGN-01 reports a whole DATABASE_URL, HCK-10 the password inside it).
    """
    winners: dict[tuple[str, int, str], list[Hit]] = {}
    for policy, hit in hits:
        for loser in policy.supersedes:
            winners.setdefault((hit.location.path, hit.location.line, loser), []).append(hit)
    return [(policy, hit) for policy, hit in hits
            if not any(_same_value(hit, rival) for rival in
                       winners.get((hit.location.path, hit.location.line, policy.id), ()))]


def _same_value(a: Hit, b: Hit) -> bool:
    if a.value is None or b.value is None or not a.value.text or not b.value.text:
        return True
    return a.value.text in b.value.text or b.value.text in a.value.text


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, int, str]] = set()
    out = []
    for f in findings:
        key = (f.rule_id, f.location.path, f.location.line, f.identity)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _suppress(f: Finding, doc: Document | None, options: EngineOptions) -> Finding:
    if doc is not None:
        sup = doc.suppressions.get(f.location.line)
        if sup is not None and (not sup.rule_ids or f.rule_id in sup.rule_ids or f.rule_name.upper() in sup.rule_ids):
            return replace(f, suppressed=f"inline: {sup.reason}")
    for entry in options.allow:
        if entry.matches(f.rule_id, f.rule_name, f.location.path, f.name):
            return replace(f, suppressed=f"config: {entry.reason}")
    if f.identity in options.baseline:
        return replace(f, suppressed="baseline")
    return f
