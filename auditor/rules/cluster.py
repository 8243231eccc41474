"""Live-cluster rules: literal keys in running workloads (K8S-02), unmanaged application Secrets (K8S-03), no
secret store at all (K8S-04), key age against the rotation policy (K8S-05), External Secrets that will not
propagate a rotation (K8S-06), a Secrets Store CSI driver that does not rotate (K8S-07), Sealed Secrets key
renewal switched off or stalled (K8S-08) and one value shared by namespaces of different environments (ENV-04).

``keyaudit cluster`` (:mod:`auditor.cluster`) builds a :class:`ClusterRepository`: one KUBERNETES document per
live object, made by the manifest parser (so K8S-01, K8S-09 and K8S-10 run unchanged on it), plus the facts
only a live cluster has, defined here because rules never import :mod:`auditor.cluster`: Secret metadata and
ages, per-key value facts (provider match, keyed fingerprint: never the value), External Secrets status, the
secret-store APIs discovery found, the flags of the CSI driver and Sealed Secrets controller. Every rule here
yields nothing for a repository scan. What a rule could not judge (the CSI driver's DaemonSet could not be
listed...) is described by :func:`undecided`, which the audit turns into diagnostics.

Findings are located at ``<context>/<namespace>/<Kind>/<name>`` (``<context>/<Kind>/<name>`` for
cluster-scoped objects, ``<context>`` for the cluster itself), line 1.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from auditor.model import Confidence, DocKind, Location, Repository, Severity, SiteKind, ValueKind
from auditor.parsers.kubernetes import KubeData
from auditor.rules import Hit, RuleContext
from auditor.rules.envfiles import (
    describe,
    key_severity,
    literal_in,
    path_valued,
    provider_match,
    publishable_name,
    secret_looking,
    secret_name,
)

__all__ = [
    "APP_SECRET_SKIP_TYPES",
    "ClusterFacts",
    "ClusterRepository",
    "CsiDriverFacts",
    "ExternalSecretFacts",
    "OwnerRef",
    "ProviderClassFacts",
    "SealedControllerFacts",
    "SecretFacts",
    "SecretKeyFacts",
    "app_secret_keys",
    "parse_duration",
    "provenance",
    "undecided",
]

SA_TOKEN = "kubernetes.io/service-account-token"
APP_SECRET_SKIP_TYPES = frozenset({SA_TOKEN, "helm.sh/release.v1", "bootstrap.kubernetes.io/token",
                                   "kubernetes.io/tls"})
# Owners whose Secrets come from a store (ExternalSecret, SealedSecret, Vault Secrets Operator objects).
STORE_OWNER_KINDS = frozenset({
    "ExternalSecret", "ClusterExternalSecret", "PushSecret", "SealedSecret",
    "VaultStaticSecret", "VaultDynamicSecret", "VaultPKISecret", "HCPVaultSecretsApp",
})
STORE_GROUPS: Mapping[str, str] = {
    "external-secrets.io": "External Secrets Operator",
    "secrets-store.csi.x-k8s.io": "Secrets Store CSI driver",
    "bitnami.com": "Sealed Secrets",
    "secrets.hashicorp.com": "Vault Secrets Operator",
}
_ESO_LABELS = ("reconcile.external-secrets.io/created-by", "reconcile.external-secrets.io/managed")
_ESO_ANNOTATIONS = ("reconcile.external-secrets.io/data-hash",)
_CSI_LABEL = "secrets-store.csi.k8s.io/managed"
_VSO_LABELS = ("secrets.hashicorp.com/vso-ownerRefUID",)
_FLUX_NAME = "kustomize.toolkit.fluxcd.io/name"
_FLUX_NAMESPACE = "kustomize.toolkit.fluxcd.io/namespace"
_SEALED_PREFIX = "sealedsecrets.bitnami.com/"
_PUBLIC_KEYS = (".crt", ".cert", ".cer", ".pub", ".pem.pub")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
ESO_DEFAULT_REFRESH = timedelta(hours=1)
SEALING_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
SEALED_DEFAULT_RENEW = timedelta(days=30)  # the controller's default --key-renew-period
SEALED_RENEW_GRACE = timedelta(days=1)  # slack for a controller restart before a stalled renewal is reported
CSI_DEFAULT_POLL = "2m"  # the driver's default --rotation-poll-interval
# Stakater Reloader restarts a workload when a Secret it reads changes: env vars then follow a rotation
_RELOADER_ALL = ("reloader.stakater.com/auto", "secret.reloader.stakater.com/auto")
_RELOADER_LIST = "secret.reloader.stakater.com/reload"
_RELOADER_SEARCH = "reloader.stakater.com/search"
_RELOADER_MATCH = "reloader.stakater.com/match"


# ------------------------------------------------------------------------------------------------ facts


@dataclass(frozen=True, slots=True)
class OwnerRef:
    kind: str
    name: str
    controller: bool = False


@dataclass(frozen=True, slots=True)
class SecretKeyFacts:
    """One key of a Secret. The value itself is never kept: only what it is.

    ``kind`` is None when values were not read (``--no-secret-values``, or a metadata-only listing).
    """

    key: str
    kind: ValueKind | None = None
    detector: str | None = None  # label of the provider format the value matches ("OpenAI API key")
    secret_value: bool = False  # SECRET_VALUE: provider key or random enough to be one
    public: bool = False  # a certificate or public key, not a credential
    fingerprint: str | None = None  # keyed HMAC under a per-run key, only to compare values (ENV-04)


@dataclass(frozen=True, slots=True)
class SecretFacts:
    path: str  # context/namespace/Secret/name
    context: str
    namespace: str
    name: str
    type: str | None  # None when unknown (metadata-only and not one of the types listed by field selector)
    environment: str | None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    owners: tuple[OwnerRef, ...] = ()
    keys: tuple[SecretKeyFacts, ...] = ()
    created: datetime | None = None
    data_changed: datetime | None = None  # newest managedFields entry touching data/stringData
    values_read: bool = False
    system: bool = False  # in a system namespace (kube-system...): platform-managed


@dataclass(frozen=True, slots=True)
class ExternalSecretFacts:
    path: str
    context: str
    namespace: str
    name: str
    environment: str | None
    target: str | None
    refresh_interval: str | None
    refresh_policy: str | None
    ready: str | None  # status of the Ready condition: "True", "False", "Unknown"; None without status
    ready_reason: str | None  # the condition's reason (never its message, which may quote provider errors)
    refresh_time: datetime | None


@dataclass(frozen=True, slots=True)
class ProviderClassFacts:
    """A SecretProviderClass of the Secrets Store CSI driver."""

    path: str
    namespace: str
    name: str
    synced: tuple[str, ...] = ()  # spec.secretObjects[].secretName: the Secrets the driver writes


@dataclass(frozen=True, slots=True)
class CsiDriverFacts:
    """A DaemonSet running the Secrets Store CSI driver, and its rotation flags as written in its spec."""

    path: str
    namespace: str
    name: str
    container: str
    rotation: bool | None  # --enable-secret-rotation (default false); None when its value cannot be read
    rotation_text: str | None = None  # the flag as given ("--enable-secret-rotation=false"), None when absent
    poll_interval: str | None = None  # --rotation-poll-interval as given


@dataclass(frozen=True, slots=True)
class SealedControllerFacts:
    """A Deployment running the Sealed Secrets controller, and its key renewal period."""

    path: str
    namespace: str
    name: str
    container: str
    renew_period: timedelta | None  # None when it cannot be read (not a Go duration, a $(VAR) reference)
    renew_text: str | None = None  # the value as given; None when the default (30 days) applies
    source: str = "default"  # "args", "env" (SEALED_SECRETS_KEY_RENEW_PERIOD) or "default"


@dataclass(slots=True)
class ClusterFacts:
    """What one cluster (kubeconfig context) showed the audit."""

    context: str
    now: datetime
    store_groups: frozenset[str] | None = None  # secret-store API groups served; None when discovery failed
    webhooks_seen: bool = False  # MutatingWebhookConfigurations could be listed
    vault_injector: bool = False  # a Vault Agent Injector webhook is registered
    vault_injected: bool = False  # some pod or pod template asks for Vault Agent injection
    flux_sops: frozenset[tuple[str, str]] = frozenset()  # (namespace, name) of Flux Kustomizations decrypting SOPS
    flux_seen: bool = False
    secrets: list[SecretFacts] = field(default_factory=list)
    secrets_seen: bool = False  # at least one Secret listing succeeded
    external_secrets: list[ExternalSecretFacts] = field(default_factory=list)
    values_read: bool = False
    namespaces: tuple[str, ...] = ()  # the namespaces the audit was limited to; empty: every namespace
    provider_classes: list[ProviderClassFacts] = field(default_factory=list)
    provider_classes_seen: bool = False  # SecretProviderClasses could be listed (or their API is not served)
    csi_drivers: list[CsiDriverFacts] = field(default_factory=list)
    daemonsets_seen: bool = False  # DaemonSets could be listed everywhere in scope
    sealed_controllers: list[SealedControllerFacts] = field(default_factory=list)
    deployments_seen: bool = False  # Deployments could be listed everywhere in scope
    sealing_keys_seen: bool = False  # the Sealed Secrets key Secrets (metadata) could be listed


@dataclass(slots=True)
class ClusterRepository(Repository):
    """A repository whose documents are live objects of one or more clusters."""

    clusters: list[ClusterFacts] = field(default_factory=list)


def _clusters(repo: Repository) -> list[ClusterFacts]:
    return repo.clusters if isinstance(repo, ClusterRepository) else []


# ---------------------------------------------------------------------------------------------- helpers


def parse_duration(text: str | None) -> timedelta | None:
    """A Go duration (``1h30m``, ``0``, ``15m``, ``500ms``); None when absent or malformed."""
    if text is None:
        return None
    text = text.strip()
    if text in {"0", "+0", "-0"}:
        return timedelta(0)
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        return None
    return timedelta(seconds=total)


def provenance(secret: SecretFacts, facts: ClusterFacts) -> str | None:
    """Why the Secret is managed (a store, an operator or SOPS), or None for an unmanaged Secret."""
    for owner in secret.owners:
        if owner.kind in STORE_OWNER_KINDS:
            return f"owned by {owner.kind} {owner.name}"
    if secret.owners:
        owner = next((o for o in secret.owners if o.controller), secret.owners[0])
        return f"created by the controller of {owner.kind} {owner.name}"
    labels, annotations = secret.labels, secret.annotations
    if any(k in labels for k in _ESO_LABELS) or any(k in annotations for k in _ESO_ANNOTATIONS):
        return "synced by External Secrets"
    if labels.get(_CSI_LABEL, "").lower() == "true":
        return "synced by the Secrets Store CSI driver"
    if labels.get("app.kubernetes.io/managed-by") == "hashicorp-vso" or any(k in labels for k in _VSO_LABELS):
        return "synced by the Vault Secrets Operator"
    if any(k.startswith(_SEALED_PREFIX) for k in annotations):
        return "unsealed by Sealed Secrets"
    if SEALING_KEY_LABEL in labels:
        return "a key of the Sealed Secrets controller"
    flux = labels.get(_FLUX_NAME)
    if flux is not None:
        flux_ns = labels.get(_FLUX_NAMESPACE, secret.namespace)
        if (flux_ns, flux) in facts.flux_sops:
            return f"decrypted from SOPS by Flux Kustomization {flux_ns}/{flux}"
    if secret.keys and all(k.kind is ValueKind.REFERENCE for k in secret.keys if k.kind is not ValueKind.EMPTY) \
            and any(k.kind is ValueKind.REFERENCE for k in secret.keys):
        return "SOPS-encrypted values"
    return None


def app_secret_keys(secret: SecretFacts, ctx: RuleContext) -> list[SecretKeyFacts]:
    """The keys that make a Secret an application secret: a secret name, or a value that is a key.

    Certificates and public keys, empty values and placeholders do not count; nor do Secrets of the types
    the platform manages (service-account tokens, Helm releases, bootstrap tokens, TLS).
    """
    if secret.type in APP_SECRET_SKIP_TYPES:
        return []
    found = []
    for key in secret.keys:
        if key.public or key.key.lower().endswith(_PUBLIC_KEYS) or publishable_name(key.key):
            continue
        if key.kind is not None and key.kind is not ValueKind.LITERAL:
            continue  # empty, placeholder, reference, encrypted
        value_says_so = key.secret_value and key.key.lower() not in {"ca.crt", "namespace"}
        if key.detector is not None or secret_name(key.key, ctx) or value_says_so:
            found.append(key)
    return found


def _unmanaged(facts: ClusterFacts, ctx: RuleContext) -> Iterator[tuple[SecretFacts, list[SecretKeyFacts]]]:
    for secret in facts.secrets:
        if secret.system or provenance(secret, facts) is not None:
            continue
        keys = app_secret_keys(secret, ctx)
        if keys:
            yield secret, keys


def _names(keys: Iterable[SecretKeyFacts], limit: int = 4) -> str:
    names = [k.key for k in keys]
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _at(path: str) -> Location:
    return Location(path, 1)


def _days(delta: timedelta) -> int:
    return int(delta.total_seconds() // 86400)


# -------------------------------------------------------------------------------------------- K8S-02


def literal_secret_env(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """K8S-02: a running workload's container env gives a secret name a literal secret (once per controller)."""
    if not isinstance(repo, ClusterRepository):
        return
    for doc in repo.of_kind(DocKind.KUBERNETES):
        for site in doc.sites_of(SiteKind.ENV):
            literal = literal_in(site.value)
            if literal is None or path_valued(site, literal):
                continue
            detector = provider_match(literal.text, site.name)
            if detector is None and (not secret_name(site.name, ctx) or publishable_name(site.name)
                                     or not secret_looking(literal)):
                continue
            severity, confidence = key_severity(detector)
            kind, name = site.context.get("kind", "?"), site.context.get("name", "?")
            namespace = site.context.get("namespace")
            where = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
            message = (
                f"{site.name} in container {site.context.get('container', '?')} of {where} is set to "
                f"{describe(detector, 'literal')} in the running spec: anyone who can read the workload "
                "(`kubectl get -o yaml`, `describe`, audit logs, backups of etcd) can read it; put it in a Secret "
                "synced from a store, mount it as a file, and rotate the key"
            )
            yield Hit(site.location, message, value=literal, severity=severity, confidence=confidence,
                      name=site.name, route=site.route or None)


# -------------------------------------------------------------------------------------------- K8S-03


def unmanaged_app_secret(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """K8S-03: an application Secret holding keys, with no store provenance."""
    for facts in _clusters(repo):
        for secret, keys in _unmanaged(facts, ctx):
            detected = next((k.detector for k in keys if k.detector), None)
            what = f"key{'s' if len(keys) > 1 else ''} {_names(keys)}" + (
                f", {describe_label(detected)}," if detected else "")
            message = (
                f"Secret {secret.namespace}/{secret.name} holds {what} but nothing manages it: no ExternalSecret "
                "or SealedSecret owns it and it carries no External Secrets, CSI driver, Vault Secrets Operator "
                "or SOPS marker, so the value was pasted in by hand or by a pipeline, has no source of truth and "
                "is not rotated; sync it from a store (External Secrets, Secrets Store CSI driver, Vault) or "
                "commit it sealed (Sealed Secrets, SOPS)"
            )
            yield Hit(_at(secret.path), message, name=secret.name, route=f"Secret/{secret.name}",
                      severity=Severity.HIGH if detected else None)


def describe_label(label: str) -> str:
    return f"{'an' if label[:1].upper() in 'AEIOU' else 'a'} {label}"


# -------------------------------------------------------------------------------------------- K8S-04


def no_secret_store(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """K8S-04: no secret-store integration in a cluster whose application Secrets are unmanaged."""
    for facts in _clusters(repo):
        if facts.store_groups is None:
            continue  # discovery failed: a diagnostic says so; no claim either way
        if facts.store_groups or facts.vault_injector or facts.vault_injected or facts.flux_sops:
            continue
        unmanaged = list(_unmanaged(facts, ctx))
        if not unmanaged:
            continue
        names = ", ".join(f"{s.namespace}/{s.name}" for s, _ in unmanaged[:3])
        more = f" and {len(unmanaged) - 3} more" if len(unmanaged) > 3 else ""
        seen = "" if facts.webhooks_seen else " (MutatingWebhookConfigurations could not be listed: judged from " \
                                               "pod annotations only)"
        message = (
            f"cluster {facts.context} has no secret-store integration: no External Secrets, Secrets Store CSI "
            "driver, Sealed Secrets or Vault Secrets Operator API is served, no Vault Agent Injector is "
            f"registered or used and no Flux Kustomization decrypts SOPS{seen}, while {len(unmanaged)} "
            f"application Secret{'s' if len(unmanaged) > 1 else ''} ({names}{more}) hold keys with no source of "
            "truth; adopt a store so keys are synced, audited and rotated outside the cluster"
        )
        yield Hit(_at(facts.context), message, name=facts.context,
                  confidence=Confidence.HIGH if facts.webhooks_seen else Confidence.MEDIUM)


# -------------------------------------------------------------------------------------------- K8S-05


def secret_age(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """K8S-05: an API-key-like Secret whose data has not changed for longer than the rotation policy."""
    warn, fail = timedelta(days=ctx.rotation_warn_days), timedelta(days=ctx.rotation_fail_days)
    for facts in _clusters(repo):
        for secret in facts.secrets:
            if secret.system or provenance(secret, facts) is not None:
                continue  # store-synced: rotation happens upstream; K8S-06 checks the sync settings
            keys = app_secret_keys(secret, ctx)
            if not keys:
                continue
            changed = secret.data_changed or secret.created
            if changed is None:
                continue
            age = facts.now - changed
            if age <= warn:
                continue
            severity = Severity.HIGH if age > fail else Severity.MEDIUM
            limit = ctx.rotation_fail_days if age > fail else ctx.rotation_warn_days
            source = "last write to its data (managedFields)" if secret.data_changed else "its creation"
            message = (
                f"Secret {secret.namespace}/{secret.name} ({_names(keys)}) is {_days(age)} days old, counted from "
                f"{'the ' if secret.data_changed else ''}{source} on {changed.date().isoformat()}, beyond the "
                f"{limit}-day rotation policy: rotate "
                "the key at its provider, update the Secret (better: let a store sync it and rotate it on a "
                "schedule), and revoke the old key"
            )
            yield Hit(_at(secret.path), message, name=secret.name, route=f"Secret/{secret.name}.data",
                      severity=severity)


# -------------------------------------------------------------------------------------------- K8S-06


def external_secret_refresh(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """K8S-06: an ExternalSecret that will not propagate a rotation (never refreshed, not Ready, stale)."""
    for facts in _clusters(repo):
        for es in facts.external_secrets:
            yield from _eso_problems(es, facts.now)


def _eso_problems(es: ExternalSecretFacts, now: datetime) -> Iterator[Hit]:
    ref = f"ExternalSecret {es.namespace}/{es.name}"
    route = f"ExternalSecret/{es.name}"
    policy = (es.refresh_policy or "Periodic").strip()
    interval = parse_duration(es.refresh_interval)
    if es.refresh_interval is not None and interval is None:
        interval = None  # malformed: ESO rejects it; Ready will say so
    effective = ESO_DEFAULT_REFRESH if es.refresh_interval is None else interval
    if policy == "CreatedOnce":
        yield Hit(_at(es.path), f"{ref} has refreshPolicy CreatedOnce: the Secret is written once and a key rotated "
                  "in the store never reaches the cluster; use refreshPolicy Periodic with a refreshInterval of 1h "
                  "or less", route=f"{route}.spec.refreshPolicy")
    elif policy == "OnChange":
        yield Hit(_at(es.path), f"{ref} has refreshPolicy OnChange: it only re-syncs when the ExternalSecret itself "
                  "changes, so a key rotated in the store reaches the cluster only with the next GitOps change; "
                  "use Periodic unless rotations are always followed by a commit", route=f"{route}.spec.refreshPolicy",
                  severity=Severity.LOW)
    elif effective is not None and effective == timedelta(0):
        yield Hit(_at(es.path), f"{ref} has refreshInterval {es.refresh_interval}: it is synced once and never "
                  "refreshed, so a key rotated in the store never reaches the cluster; set refreshInterval to 1h "
                  "or less", route=f"{route}.spec.refreshInterval")
    if es.ready is not None and es.ready != "True":
        reason = f" (reason: {es.ready_reason})" if es.ready_reason else ""
        yield Hit(_at(es.path), f"{ref} is not Ready{reason}: the operator cannot read the store, so the Secret "
                  "keeps its last value and rotations stop propagating; fix the SecretStore's authentication or "
                  "the remote key", route=f"{route}.status.conditions.Ready")
    elif policy == "Periodic" and effective and es.refresh_time is not None:
        age = now - es.refresh_time
        if age > 2 * effective:
            yield Hit(_at(es.path), f"{ref} last refreshed {_human(age)} ago although its refreshInterval is "
                      f"{es.refresh_interval or '1h (default)'}: the operator has stopped syncing it, so rotations "
                      "are not propagated; check the External Secrets controller and the store",
                      route=f"{route}.status.refreshTime")


def _human(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return f"{int(hours)} hours"
    return f"{int(hours // 24)} days"


# -------------------------------------------------------------------------------------------- K8S-07


def csi_rotation_disabled(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """K8S-07: the Secrets Store CSI driver runs without rotation while SecretProviderClasses use it; a Secret it
    syncs is read into env vars (fixed until the pod restarts)."""
    if not isinstance(repo, ClusterRepository):
        return
    for facts in repo.clusters:
        yield from _csi_driver_hits(facts)
        yield from _csi_env_hits(repo, facts)


def _csi_driver_hits(facts: ClusterFacts) -> Iterator[Hit]:
    classes = facts.provider_classes
    if not classes:
        return
    shown = ", ".join(f"{c.namespace}/{c.name}" for c in classes[:3])
    more = f" and {len(classes) - 3} more" if len(classes) > 3 else ""
    used = f"{len(classes)} SecretProviderClass{'es' if len(classes) > 1 else ''} ({shown}{more})"
    for driver in facts.csi_drivers:
        if driver.rotation is not False:
            continue  # enabled, or unreadable (undecided() says so)
        how = f"with {driver.rotation_text}" if driver.rotation_text else "without --enable-secret-rotation=true"
        message = (
            f"DaemonSet {driver.namespace}/{driver.name} runs the Secrets Store CSI driver {how} (rotation is off "
            f"by default) while {used} use it: the driver fetches a secret only when a pod mounts it, so a key "
            "rotated or revoked in the store stays in mounted files and synced Secrets until every pod using it is "
            "recreated; set --enable-secret-rotation=true on the driver container (Helm: enableSecretRotation: "
            f"true) and a --rotation-poll-interval that fits the rotation schedule (default {CSI_DEFAULT_POLL})"
        )
        yield Hit(_at(driver.path), message, name=driver.name,
                  route=f"DaemonSet/{driver.name}.spec.template.spec.containers[{driver.container}].args")


def _csi_env_hits(repo: ClusterRepository, facts: ClusterFacts) -> Iterator[Hit]:
    """Workloads reading a CSI-synced Secret into env vars, unless Reloader restarts them on a change."""
    synced: dict[tuple[str, str], str] = {}  # (namespace, Secret) -> how it is known to be synced
    for spc in facts.provider_classes:
        for name in spc.synced:
            synced.setdefault((spc.namespace, name), f"SecretProviderClass {spc.name} syncs it")
    matched: set[tuple[str, str]] = set()  # Secrets annotated for Reloader's search mode
    for secret in facts.secrets:
        if secret.labels.get(_CSI_LABEL, "").lower() == "true":
            synced.setdefault((secret.namespace, secret.name), f"label {_CSI_LABEL}=true")
        if secret.annotations.get(_RELOADER_MATCH, "").lower() == "true":
            matched.add((secret.namespace, secret.name))
    if not synced:
        return
    prefix = f"{facts.context}/"
    for doc in repo.of_kind(DocKind.KUBERNETES):
        if not doc.path.startswith(prefix) or not isinstance(doc.data, KubeData):
            continue
        pod_annotations = {(w.obj.kind, w.obj.name): w.pod_annotations for w in doc.data.workloads}
        for ref in doc.data.env_secret_refs:
            namespace = ref.obj.namespace or ""
            how = synced.get((namespace, ref.secret or ""))
            if how is None:
                continue
            annotations = {**pod_annotations.get((ref.obj.kind, ref.obj.name), {}), **ref.obj.annotations}
            if _reloaded(annotations, ref.secret or "", (namespace, ref.secret or "") in matched):
                continue
            into = f"env var {ref.env_name}" if ref.env_name else "env vars (envFrom)"
            message = (
                f"{ref.obj.kind} {namespace}/{ref.obj.name or '?'} reads Secret {ref.secret} into {into} of "
                f"container {ref.container}; the Secrets Store CSI driver syncs that Secret ({how}), but environment "
                "variables are fixed when a container starts, so the pods keep the old key after a rotation until "
                "they are restarted; read the mounted file instead, or restart on change (Stakater Reloader: "
                "annotate the workload with reloader.stakater.com/auto: \"true\")"
            )
            yield Hit(_at(doc.path), message, name=ref.env_name or ref.secret, route=ref.route)


def _reloaded(annotations: Mapping[str, str], secret: str, matched: bool) -> bool:
    if any(annotations.get(k, "").lower() == "true" for k in _RELOADER_ALL):
        return True
    if secret in {s.strip() for s in annotations.get(_RELOADER_LIST, "").split(",")}:
        return True
    return matched and annotations.get(_RELOADER_SEARCH, "").lower() == "true"


# -------------------------------------------------------------------------------------------- K8S-08

_NOT_ROTATION = (
    "key renewal is not credential rotation: a new sealing key only protects what is sealed from now on, old "
    "SealedSecrets stay decryptable with the old keys (kept for that), and the API keys and passwords inside them "
    "are unchanged; rotate those at their providers and re-seal them"
)


def sealed_secrets_key_renewal(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """K8S-08: the Sealed Secrets controller's key renewal is off, or its newest key is older than the period."""
    for facts in _clusters(repo):
        keys = _active_keys(facts)
        for controller in facts.sealed_controllers:
            period = controller.renew_period
            if period is None:
                continue  # unreadable: undecided() says so
            newest = keys.get(controller.namespace)
            if period == timedelta(0):
                where = "--key-renew-period" if controller.source == "args" else \
                    "SEALED_SECRETS_KEY_RENEW_PERIOD"
                age = f"; its newest key is {_days(facts.now - newest.created)} days old" \
                    if newest is not None and newest.created is not None else ""
                message = (
                    f"Deployment {controller.namespace}/{controller.name} runs the Sealed Secrets controller with "
                    f"{where}={controller.renew_text or '0'}: it never generates a new sealing key{age}, so one "
                    "private key protects every SealedSecret ever committed, and whoever obtains it (a backup of "
                    "etcd or of the key Secret) can decrypt the whole Git history; remove the flag (default: renew "
                    f"every 30 days) or set a period such as 720h. Note: {_NOT_ROTATION}"
                )
                yield Hit(_at(controller.path), message, name=controller.name,
                          route=f"Deployment/{controller.name}.spec.template.spec.containers[{controller.container}]"
                                f".{'env' if controller.source == 'env' else 'args'}")
            elif newest is not None:
                yield from _stale_key(facts, newest, period, f"Deployment {controller.namespace}/{controller.name} "
                                      f"renews every {_period(controller)}", Confidence.HIGH)
        seen = {c.namespace for c in facts.sealed_controllers}
        for namespace, newest in keys.items():
            if namespace not in seen:  # no controller seen here: judged against the default period
                yield from _stale_key(facts, newest, SEALED_DEFAULT_RENEW, "the controller's default period is 30 "
                                      "days (its Deployment was not seen, so a custom period is unknown)",
                                      Confidence.MEDIUM)


def _active_keys(facts: ClusterFacts) -> dict[str, SecretFacts]:
    """Per namespace, the newest key Secret labelled active (metadata only: values are never listed)."""
    newest: dict[str, SecretFacts] = {}
    for secret in facts.secrets:
        if secret.labels.get(SEALING_KEY_LABEL) != "active" or secret.created is None:
            continue
        current = newest.get(secret.namespace)
        if current is None or (current.created is not None and secret.created > current.created):
            newest[secret.namespace] = secret
    return newest


def _stale_key(facts: ClusterFacts, key: SecretFacts, period: timedelta, renews: str,
               confidence: Confidence) -> Iterator[Hit]:
    if key.created is None:
        return
    age = facts.now - key.created
    if age <= period + SEALED_RENEW_GRACE:
        return
    message = (
        f"Secret {key.namespace}/{key.name}, the newest active Sealed Secrets key, is {_days(age)} days old "
        f"(created {key.created.date().isoformat()}) although {renews}: renewal has stalled (the controller is not "
        "running, cannot write Secrets, or a setting keyaudit could not read disables it), so new SealedSecrets "
        f"are still sealed with an old key; check the controller and its logs. Note: {_NOT_ROTATION}"
    )
    yield Hit(_at(key.path), message, name=key.name, route=f"Secret/{key.name}.metadata.creationTimestamp",
              confidence=confidence)


def _period(controller: SealedControllerFacts) -> str:
    if controller.renew_text is None:
        return "30 days (the default)"
    return controller.renew_text


# ------------------------------------------------------------------------------------------ undecided


def undecided(facts: ClusterFacts) -> Iterator[tuple[str, str]]:
    """``(rule id, message)`` for what K8S-07 and K8S-08 could not judge on this cluster, instead of a guess."""
    classes = facts.provider_classes
    if classes and not facts.csi_drivers:
        count = f"{len(classes)} SecretProviderClass{'es' if len(classes) > 1 else ''} exist"
        if not facts.daemonsets_seen:
            yield "K8S-07", (f"{count} but DaemonSets could not be listed, so whether the Secrets Store CSI driver "
                             "rotates secrets (--enable-secret-rotation) is unknown; grant list on daemonsets (apps)")
        elif facts.namespaces:
            yield "K8S-07", (f"{count} but no Secrets Store CSI driver DaemonSet is in the audited namespaces "
                             f"({', '.join(facts.namespaces)}); audit the driver's namespace (usually kube-system) "
                             "too to judge its rotation setting")
        else:
            yield "K8S-07", (f"{count} but no DaemonSet runs a Secrets Store CSI driver image keyaudit recognises "
                             "(a managed add-on?); its rotation setting was not judged")
    for driver in facts.csi_drivers:
        if driver.rotation is None:
            yield "K8S-07", (f"DaemonSet {driver.namespace}/{driver.name}: the value of --enable-secret-rotation "
                             "cannot be read (a $(VAR) reference, or not a Go boolean); rotation not judged")
        elif driver.rotation is False and not classes and not facts.provider_classes_seen:
            yield "K8S-07", (f"DaemonSet {driver.namespace}/{driver.name} runs the Secrets Store CSI driver without "
                             "rotation, but SecretProviderClasses could not be listed, so whether anything uses it is "
                             "unknown; not judged")
    for controller in facts.sealed_controllers:
        if controller.renew_period is None:
            flag = "SEALED_SECRETS_KEY_RENEW_PERIOD" if controller.source == "env" else "--key-renew-period"
            yield "K8S-08", (f"Deployment {controller.namespace}/{controller.name}: the key renewal period ({flag}) "
                             "is not a Go duration keyaudit can read (720h, 30m; days are not Go syntax); not judged")
    keys = _active_keys(facts)
    controllers = {c.namespace for c in facts.sealed_controllers}
    for namespace in sorted(set(keys) - controllers):
        why = "Deployments could not be listed" if not facts.deployments_seen else \
            "no Sealed Secrets controller Deployment was found there"
        yield "K8S-08", (f"Sealed Secrets keys exist in namespace {namespace} but {why}: the key age is judged "
                         "against the default 30-day renewal period")
    if not facts.sealing_keys_seen and any(c.renew_period for c in facts.sealed_controllers):
        yield "K8S-08", ("the Sealed Secrets key Secrets could not be listed (metadata of Secrets labelled "
                         f"{SEALING_KEY_LABEL}); whether key renewal keeps up was not judged")


# -------------------------------------------------------------------------------------------- ENV-04


def shared_value_across_environments(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """ENV-04: the same secret value in namespaces (or clusters) of different environments."""
    clusters = _clusters(repo)
    by_value: dict[str, list[tuple[SecretFacts, SecretKeyFacts]]] = defaultdict(list)
    for facts in clusters:
        for secret in facts.secrets:
            if secret.system or secret.environment is None:
                continue
            for key in app_secret_keys(secret, ctx):
                if key.fingerprint is not None:
                    by_value[key.fingerprint].append((secret, key))
    for holders in by_value.values():
        environments = {s.environment for s, _ in holders}
        if len(environments) < 2:
            continue
        for secret, key in holders:
            others = [(s, k) for s, k in holders if s.environment != secret.environment]
            shown = ", ".join(f"{_where(s, secret)} key {k.key} ({s.environment})" for s, k in others[:3])
            more = f" and {len(others) - 3} more" if len(others) > 3 else ""
            message = (
                f"Secret {secret.namespace}/{secret.name} key {key.key} ({secret.environment}) holds the same value "
                f"as {shown}{more}: one leak or one compromised non-production workload exposes "
                f"{'production' if 'prod' in environments else 'every environment'}, and the key cannot be rotated "
                "for one environment alone; issue a separate key per environment and service"
            )
            yield Hit(_at(secret.path), message, name=key.key, route=f"Secret/{secret.name}.data.{key.key}",
                      severity=Severity.CRITICAL if key.detector and "prod" in environments else None)


def _where(other: SecretFacts, this: SecretFacts) -> str:
    ref = f"{other.namespace}/{other.name}"
    return ref if other.context == this.context else f"{other.context}:{ref}"


def now_utc() -> datetime:
    return datetime.now(UTC)
