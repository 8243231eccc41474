"""The library entry point of the live-cluster audit: sources in, a :class:`~auditor.findings.ScanResult` out.

The result goes through the same engine (severity overrides, fingerprints, config allow-entries, baseline) and
the same reporters as ``keyaudit scan``. The rules that run are the policies whose ``targets`` include
``cluster``; manifest rules listed there (K8S-01, K8S-09, K8S-10) read the live objects' documents unchanged.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from auditor import __version__
from auditor.cluster.collect import ClusterUnreachable, CollectOptions, Snapshot, collect
from auditor.cluster.model import DEFAULT_ENVIRONMENT_LABELS, DEFAULT_SYSTEM_NAMESPACES
from auditor.cluster.source import ClusterSource
from auditor.config import Config
from auditor.findings import Finding, ScanResult, ScanStats
from auditor.model import Diagnostic, Location
from auditor.policies import Policy
from auditor.rules import RuleContext
from auditor.rules.cluster import ClusterRepository, undecided

TARGET = "cluster"
PARTIAL = "the audit of this cluster is partial"
URI_SCHEME = "kube"  # SARIF locations: kube://<context>/<namespace>/<Kind>/<name>

__all__ = ["AuditOptions", "ClusterUnreachable", "audit", "cluster_policies", "is_partial"]


@dataclass(frozen=True, slots=True)
class AuditOptions:
    config: Config = field(default_factory=Config)
    namespaces: tuple[str, ...] = ()
    secret_values: bool = True
    now: datetime | None = None  # the audit's clock (ages, staleness); default: the current time
    baseline: frozenset[str] = frozenset()
    fingerprint_key: bytes | None = None  # default: KEYAUDIT_FINGERPRINT_KEY, else derived from the cluster
    system_namespaces: frozenset[str] = DEFAULT_SYSTEM_NAMESPACES
    environment_labels: tuple[str, ...] = DEFAULT_ENVIRONMENT_LABELS
    policies: Sequence[Policy] | None = None  # default: the shipped policies


def cluster_policies(policies: Sequence[Policy], select: Sequence[str] = (),
                     ignore: Sequence[str] = ()) -> list[Policy]:
    from auditor import engine

    return [p for p in engine.selected(policies, select, ignore) if TARGET in p.targets]


def audit(sources: Sequence[ClusterSource], options: AuditOptions | None = None) -> ScanResult:
    """Audit one or more clusters (one source each) together: ENV-04 compares values across all of them.

    Raises :class:`ClusterUnreachable` when no cluster could be reached at all; a cluster that fails while
    others answer becomes an error diagnostic.
    """
    from auditor import engine
    from auditor.policies import load_policies

    options = options or AuditOptions()
    cfg = options.config
    started = time.perf_counter()
    value_key = secrets.token_bytes(32)  # compares Secret values within this run only; never leaves memory
    collect_options = CollectOptions(
        namespaces=options.namespaces, secret_values=options.secret_values,
        system_namespaces=options.system_namespaces, namespace_environments=cfg.namespace_environments,
        environment_labels=options.environment_labels, fingerprint_key=value_key, now=options.now,
    )
    snapshots: list[Snapshot] = []
    diagnostics: list[Diagnostic] = []
    failures: list[str] = []
    for source in sources:
        try:
            snapshots.append(collect(source, collect_options))
        except ClusterUnreachable as exc:  # others answered (else raised below): the result is partial
            failures.append(str(exc))
            diagnostics.append(Diagnostic(source.context, None, f"cluster unreachable: {exc}", "error"))
        finally:
            source.close()
    if not snapshots:
        raise ClusterUnreachable("; ".join(failures) or "no cluster to audit")

    documents = [doc for snap in snapshots for doc in snap.documents]
    paths = frozenset(doc.path for doc in documents)
    for snap in snapshots:
        diagnostics.extend(snap.diagnostics)
        if snap.partial:
            diagnostics.append(Diagnostic(snap.facts.context, None, f"{PARTIAL}: some resources could not be read "
                                          "(see the other diagnostics)", "warning"))
        if not options.secret_values:
            diagnostics.append(Diagnostic(snap.facts.context, None, "metadata-only audit (--no-secret-values): "
                                          "Secret keys judged by name only; ENV-04 needs values and was skipped",
                                          "warning"))
    repo = ClusterRepository(
        root=", ".join(s.facts.context for s in snapshots), documents=documents, files=paths, tracked=paths,
        diagnostics=[], clusters=[s.facts for s in snapshots],
    )
    all_policies = options.policies if options.policies is not None else load_policies()
    policies = cluster_policies(all_policies, cfg.select, cfg.ignore)
    ctx = RuleContext(
        client_prefixes=cfg.client_prefixes, extra_secret_names=cfg.secret_names, allowed_names=cfg.allowed_names,
        rotation_warn_days=cfg.rotation_warn_days, rotation_fail_days=cfg.rotation_fail_days,
    )
    key = options.fingerprint_key or cluster_key(snapshots)
    findings, rule_diags = engine.run(repo, policies, ctx, engine.EngineOptions(
        fingerprint_key=key, allow=cfg.allow, baseline=options.baseline))
    for doc in documents:
        diagnostics.extend(doc.diagnostics)
    diagnostics.extend(rule_diags)
    ran = {p.id for p in policies}
    for snap in snapshots:
        diagnostics.extend(Diagnostic(snap.facts.context, None, f"{rule_id}: {message}", "warning")
                           for rule_id, message in undecided(snap.facts) if rule_id in ran)
    findings = sorted((_line_one(f) for f in findings),
                      key=lambda f: (f.location.path, f.rule_id, f.route or "", f.name or ""))
    counts: Counter[str] = Counter()
    for snap in snapshots:
        counts.update(snap.counts)
    stats = ScanStats(files_seen=counts["listed"], files_scanned=len(documents), documents_parsed=len(documents),
                      skipped_ignored=counts["covered"], seconds=time.perf_counter() - started)
    partial = bool(failures) or any(snap.partial for snap in snapshots)
    return ScanResult(root=repo.root, findings=findings, diagnostics=diagnostics, stats=stats,
                      tool_version=__version__, rules=tuple(p.id for p in policies), partial=partial,
                      uri_scheme=URI_SCHEME)


def is_partial(result: ScanResult) -> bool:
    """Some resources of some cluster could not be read (403, timeout, API error), or a cluster could not be
    reached while others were: :attr:`ScanResult.partial`."""
    return result.partial


def _line_one(finding: Finding) -> Finding:
    """Objects in a cluster have no lines: the route says where in the object."""
    if finding.location.line == 1 and finding.location.column is None:
        return finding
    return replace(finding, location=Location(finding.location.path, 1))


def cluster_key(snapshots: Sequence[Snapshot]) -> bytes:
    """The findings' fingerprint key: KEYAUDIT_FINGERPRINT_KEY, else one derived from the first cluster's
    kube-system uid (stable for the cluster, not guessable from outside it), else from its context name."""
    env_key = os.environ.get("KEYAUDIT_FINGERPRINT_KEY")
    if env_key:
        return env_key.encode()
    first = snapshots[0]
    seed = first.cluster_uid or first.facts.context
    return hashlib.sha256(f"keyaudit-fingerprint:cluster:{seed}".encode()).digest()
