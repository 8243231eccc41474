"""Reads one cluster through a :class:`~auditor.cluster.source.ClusterSource` into documents and facts.

Order matters: controllers are listed before what they own (CronJob before Job, Deployment before ReplicaSet,
all before Pods), so a child whose controller was audited is skipped and a workload's literal env is reported
once per owning controller, not once per pod. Pods whose controller could not be listed are audited once per
owner, under the owner's path (stable across restarts).

Everything is processed page by page: a page's raw objects are dropped once turned into documents and facts,
and a Secret's values once classified. The Sealed Secrets controller's key Secrets are left out of the listing
that reads values (label selector) and listed on their own as metadata only: their private keys are never
requested. The DaemonSets of the Secrets Store CSI driver and the Deployments of the Sealed Secrets controller
leave their flags in the facts (K8S-07, K8S-08). A 403 on one resource is a warning naming the permission to grant; a
timeout or API error is an error that marks the result partial; both let the rest of the audit go on.
"""

from __future__ import annotations

import secrets as _secrets
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from auditor.cluster import resources as R
from auditor.cluster.model import (
    DEFAULT_ENVIRONMENT_LABELS,
    DEFAULT_SYSTEM_NAMESPACES,
    controller_of,
    csi_driver_facts,
    external_secret_facts,
    flux_decrypts_sops,
    is_vault_injector,
    meta,
    namespace_environment,
    object_path,
    owner_path,
    provider_class_facts,
    sealed_controller_facts,
    secret_facts,
    string_map,
    to_document,
    vault_injection_requested,
)
from auditor.cluster.resources import Resource
from auditor.cluster.source import ClusterSource, Forbidden, NotFound, SourceError, Unavailable
from auditor.model import Diagnostic, Document
from auditor.rules.cluster import STORE_GROUPS, ClusterFacts

Obj = dict[str, Any]


class ClusterUnreachable(Exception):
    """The cluster could not be reached at all (nothing was audited)."""


@dataclass(frozen=True, slots=True)
class CollectOptions:
    namespaces: tuple[str, ...] = ()  # empty: every namespace
    secret_values: bool = True  # read Secret values to classify and fingerprint them (never kept)
    system_namespaces: frozenset[str] = DEFAULT_SYSTEM_NAMESPACES
    namespace_environments: Mapping[str, str] = field(default_factory=dict)
    environment_labels: tuple[str, ...] = DEFAULT_ENVIRONMENT_LABELS
    fingerprint_key: bytes = field(default_factory=lambda: _secrets.token_bytes(32), repr=False)
    now: datetime | None = None


@dataclass(slots=True)
class Snapshot:
    facts: ClusterFacts
    documents: list[Document]
    diagnostics: list[Diagnostic]
    counts: Counter[str]  # "listed", "audited", "covered" (children of audited controllers), per-kind "kind:<K>"
    partial: bool
    server_version: str | None
    cluster_uid: str | None  # uid of kube-system: a stable identity of the cluster


def collect(source: ClusterSource, options: CollectOptions) -> Snapshot:
    return _Collector(source, options).run()


@dataclass(slots=True)
class _Collector:
    source: ClusterSource
    options: CollectOptions
    facts: ClusterFacts = field(init=False)
    documents: list[Document] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    partial: bool = False
    groups: dict[str, tuple[str, ...]] | None = None
    versions: dict[str, str | None] = field(default_factory=dict)
    resource_lists: dict[tuple[str, str], frozenset[str] | None] = field(default_factory=dict)
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> labels
    environments: dict[str, str | None] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # uids audited or covered
    pod_owners: set[str] = field(default_factory=set)
    cluster_uid: str | None = None
    failures: int = 0  # lists that failed (403, timeout, API error), diagnosed or quiet

    def __post_init__(self) -> None:
        self.facts = ClusterFacts(self.source.context, self.options.now or datetime.now(UTC),
                                  values_read=self.options.secret_values, namespaces=self.options.namespaces)

    @property
    def context(self) -> str:
        return self.source.context

    def run(self) -> Snapshot:
        try:
            version: str | None = self.source.server_version()
        except Forbidden:
            version = None
        except SourceError as exc:
            raise ClusterUnreachable(f"{self.context}: {exc}") from None
        self.discover()
        self.list_namespaces()
        for resource in R.WORKLOADS:
            failures = self.failures
            for obj in self.each(resource):
                self.workload(obj, resource.kind)
            if resource is R.DAEMONSETS:
                self.facts.daemonsets_seen = self.failures == failures
            elif resource is R.DEPLOYMENTS:
                self.facts.deployments_seen = self.failures == failures
        for pod in self.each(R.PODS):
            self.pod(pod)
        self.secrets()
        for resource in R.RBAC:
            for obj in self.each(resource):
                self.document(obj)
        self.webhooks()
        self.stores()
        return Snapshot(self.facts, self.documents, self.diagnostics, self.counts, self.partial, version,
                        self.cluster_uid)

    # -- diagnostics
    def forbidden(self, resource: Resource, exc: Forbidden, namespaces: list[str] | None = None) -> None:
        self.partial = True
        self.failures += 1
        group = f'apiGroups: ["{resource.group}"]'
        where = (f"in namespace{'s' if len(namespaces) > 1 else ''} {_shorten(namespaces)}" if namespaces
                 else "at cluster scope" if exc.namespace is None else f"in namespace {exc.namespace}")
        affected = f"; {', '.join(resource.rules)} did not see these objects" if resource.rules else ""
        self.diagnostics.append(Diagnostic(
            self.context, None,
            f"forbidden: cannot {exc.verb} {resource.display} {where}; grant verbs: [\"{exc.verb}\"] on "
            f"resources: [\"{resource.plural}\"] ({group}){affected}", "warning"))

    def error(self, what: str, exc: SourceError, rules: tuple[str, ...] = ()) -> None:
        self.partial = True
        self.failures += 1
        affected = f"; {', '.join(rules)} may have missed objects" if rules else ""
        self.diagnostics.append(Diagnostic(self.context, None, f"{what}: {exc}{affected} (result partial)", "error"))

    # -- discovery
    def discover(self) -> None:
        try:
            self.groups = self.source.api_groups()
        except SourceError as exc:
            self.groups = None
            self.facts.store_groups = None
            if isinstance(exc, Forbidden):
                self.partial = True
                self.diagnostics.append(Diagnostic(
                    self.context, None, "forbidden: cannot read API discovery (/apis); secret-store APIs are "
                    "unknown, K8S-04 and K8S-06 were skipped (grant the system:discovery ClusterRole)", "warning"))
            else:
                self.error("API discovery (/apis) failed; secret-store APIs are unknown", exc, ("K8S-04", "K8S-06"))
            return
        self.facts.store_groups = frozenset(g for g in STORE_GROUPS if g in self.groups)

    def version_of(self, resource: Resource) -> str | None:
        """The first candidate version that serves the resource; None when the API is absent."""
        key = resource.display
        if key in self.versions:
            return self.versions[key]
        chosen: str | None = None
        if not resource.group:
            chosen = resource.versions[0]
        elif self.groups is None:
            chosen = resource.versions[0] if resource.group not in STORE_GROUPS else None
        else:
            served = self.groups.get(resource.group, ())
            for version in resource.versions:
                if version not in served:
                    continue
                plurals = self.plurals(resource.group, version)
                if plurals is None or resource.plural in plurals:
                    chosen = version
                    break
        self.versions[key] = chosen
        return chosen

    def plurals(self, group: str, version: str) -> frozenset[str] | None:
        key = (group, version)
        if key not in self.resource_lists:
            try:
                self.resource_lists[key] = self.source.api_resources(group, version)
            except NotFound:
                self.resource_lists[key] = frozenset()
            except SourceError:
                self.resource_lists[key] = None  # unknown: try the list and see
        return self.resource_lists[key]

    # -- listing
    def each(self, resource: Resource, *, metadata_only: bool = False, field_selector: str | None = None,
             label_selector: str | None = None, quiet: bool = False) -> Iterator[Obj]:
        """Every object of ``resource`` in scope; failures become diagnostics (``quiet``: no diagnostic, but
        :attr:`failures` still counts them)."""
        version = self.version_of(resource)
        if version is None:
            return
        selected = self.options.namespaces
        scopes: list[str | None] = list(selected) if resource.namespaced and selected else [None]
        denied: list[str] = []
        for namespace in scopes:
            try:
                for obj in self.source.list(resource, version, namespace, metadata_only=metadata_only,
                                            field_selector=field_selector, label_selector=label_selector):
                    self.counts["listed"] += 1
                    yield obj
            except Forbidden as exc:
                if namespace is None and resource.namespaced and self.namespaces:
                    yield from self.each_namespace(resource, version, metadata_only, field_selector, label_selector,
                                                   quiet)
                elif namespace is not None:
                    denied.append(namespace)
                elif not quiet:
                    self.forbidden(resource, exc)
                else:
                    self.quiet_failure()
            except NotFound:
                continue  # the API went away between discovery and listing
            except Unavailable as exc:
                if not quiet:
                    self.error(f"listing {resource.display}", exc, resource.rules)
                else:
                    self.quiet_failure()
        if denied and not quiet:
            self.forbidden(resource, Forbidden("list", resource.display, denied[0], resource.group), denied)
        elif denied:
            self.quiet_failure()

    def each_namespace(self, resource: Resource, version: str, metadata_only: bool, field_selector: str | None,
                       label_selector: str | None, quiet: bool) -> Iterator[Obj]:
        """A cluster-wide list was forbidden: namespace-scoped grants may still allow it per namespace."""
        denied: list[str] = []
        for namespace in sorted(self.namespaces):
            try:
                for obj in self.source.list(resource, version, namespace, metadata_only=metadata_only,
                                            field_selector=field_selector, label_selector=label_selector):
                    self.counts["listed"] += 1
                    yield obj
            except Forbidden:
                denied.append(namespace)
            except NotFound:
                return
            except Unavailable as exc:
                if not quiet:
                    self.error(f"listing {resource.display} in namespace {namespace}", exc, resource.rules)
                else:
                    self.quiet_failure()
        if denied and not quiet:
            if len(denied) == len(self.namespaces):
                self.forbidden(resource, Forbidden("list", resource.display, None, resource.group))
            else:
                self.forbidden(resource, Forbidden("list", resource.display, denied[0], resource.group), denied)
        elif denied:
            self.quiet_failure()

    def quiet_failure(self) -> None:
        self.partial = True
        self.failures += 1

    # -- namespaces and environments
    def list_namespaces(self) -> None:
        version = self.version_of(R.NAMESPACES) or "v1"
        try:
            for ns in self.source.list(R.NAMESPACES, version):
                self.counts["listed"] += 1
                m = meta(ns)
                name = str(m.get("name") or "")
                if name == "kube-system":
                    self.cluster_uid = str(m.get("uid") or "") or None
                if not self.options.namespaces or name in self.options.namespaces:
                    self.namespaces[name] = string_map(m.get("labels"))
        except Forbidden as exc:
            self.forbidden(R.NAMESPACES, exc)
            self.diagnostics.append(Diagnostic(
                self.context, None, "namespace labels unknown: environments come from namespace names and "
                "namespace_environments patterns only", "warning"))
        except SourceError as exc:
            self.error("listing namespaces", exc, R.NAMESPACES.rules)
        missing = [n for n in self.options.namespaces if n not in self.namespaces]
        if self.namespaces and missing:
            self.diagnostics.append(Diagnostic(self.context, None,
                                               f"namespace not found: {_shorten(missing)}", "warning"))
        for name in self.options.namespaces:
            self.namespaces.setdefault(name, {})

    def environment(self, namespace: str | None) -> str | None:
        if not namespace:
            return None
        if namespace not in self.environments:
            self.environments[namespace] = namespace_environment(
                namespace, self.namespaces.get(namespace, {}), self.context, self.options.namespace_environments,
                self.options.environment_labels)
        return self.environments[namespace]

    # -- objects
    def document(self, obj: Obj, path: str | None = None) -> Document:
        m = meta(obj)
        namespace = m.get("namespace")
        doc = to_document(path or object_path(self.context, obj), obj,
                          self.environment(namespace if isinstance(namespace, str) else None))
        self.documents.append(doc)
        self.counts["audited"] += 1
        self.counts[f"kind:{obj.get('kind')}"] += 1
        return doc

    def workload(self, obj: Obj, kind: str) -> None:
        m = meta(obj)
        uid = str(m.get("uid") or id(obj))
        if kind == "DaemonSet":
            driver = csi_driver_facts(self.context, obj)
            if driver is not None:
                self.facts.csi_drivers.append(driver)
        elif kind == "Deployment":
            controller = sealed_controller_facts(self.context, obj)
            if controller is not None:
                self.facts.sealed_controllers.append(controller)
        owner = controller_of(obj)
        template = _pod_template(obj, kind)
        if template is not None and vault_injection_requested(meta(template).get("annotations")):
            self.facts.vault_injected = True
        if owner is not None and str(owner.get("uid")) in self.seen:
            self.seen.add(uid)
            self.counts["covered"] += 1
            return
        self.seen.add(uid)
        self.document(obj)

    def pod(self, pod: Obj) -> None:
        m = meta(pod)
        if vault_injection_requested(m.get("annotations")):
            self.facts.vault_injected = True
        owner = controller_of(pod)
        path = None
        if owner is not None:
            owner_uid = str(owner.get("uid"))
            if owner_uid in self.seen or owner_uid in self.pod_owners:
                self.counts["covered"] += 1
                return
            self.pod_owners.add(owner_uid)
            namespace = m.get("namespace")
            path = owner_path(self.context, namespace if isinstance(namespace, str) else None, owner)
        self.document(pod, path)

    def secrets(self) -> None:
        values = self.options.secret_values
        types: dict[str, str] = {}
        if not values:  # metadata has no `type`: learn the platform types by field selector
            for secret_type in R.METADATA_TYPES:
                for item in self.each(R.SECRETS, metadata_only=True, field_selector=f"type={secret_type}",
                                      quiet=True):
                    uid = meta(item).get("uid")
                    if uid:
                        types[str(uid)] = secret_type
        before = len(self.diagnostics)
        # the Sealed Secrets controller's private keys are left out on the server, whatever the mode ...
        for obj in self.each(R.SECRETS, metadata_only=not values, label_selector=R.NOT_SEALING_KEYS_SELECTOR):
            self.secret(obj, None if values else types.get(str(meta(obj).get("uid")), "Opaque"), values)
        self.facts.secrets_seen = len(self.diagnostics) == before
        # ... and listed as metadata only (K8S-08 needs their age); a failure here repeats the one above, so it is
        # counted, not diagnosed again
        failures = self.failures
        for obj in self.each(R.SECRETS, metadata_only=True, label_selector=R.SEALING_KEYS_SELECTOR, quiet=True):
            self.secret(obj, types.get(str(meta(obj).get("uid")), "Opaque") if types else None, False)
        self.facts.sealing_keys_seen = self.failures == failures

    def secret(self, obj: Obj, secret_type: str | None, values: bool) -> None:
        m = meta(obj)
        namespace = str(m.get("namespace") or "")
        system = namespace in self.options.system_namespaces
        facts = secret_facts(
            self.context, obj, environment=self.environment(namespace), system=system,
            fingerprint_key=self.options.fingerprint_key if values else None, secret_type=secret_type,
        )
        self.facts.secrets.append(facts)
        if system:
            self.counts["covered"] += 1
            return
        shell: Obj = {"apiVersion": "v1", "kind": "Secret", "metadata": m}
        if facts.type:
            shell["type"] = facts.type
        self.document(shell)

    def webhooks(self) -> None:
        before = len(self.diagnostics)
        for hook in self.each(R.MUTATING_WEBHOOKS):
            if is_vault_injector(hook):
                self.facts.vault_injector = True
        self.facts.webhooks_seen = len(self.diagnostics) == before

    def stores(self) -> None:
        known = self.facts.store_groups
        # an API that is not served has no objects; one that discovery could not tell about is unknown
        self.facts.provider_classes_seen = known is not None and R.SECRET_PROVIDER_CLASSES.group not in known
        for resource in R.STORES:
            if known is None or resource.group not in known:
                continue
            failures = self.failures
            for obj in self.each(resource):
                self.document(obj)
                if resource is R.SECRET_PROVIDER_CLASSES:
                    self.facts.provider_classes.append(provider_class_facts(self.context, obj))
                elif resource is R.EXTERNAL_SECRETS:
                    namespace = str(meta(obj).get("namespace") or "")
                    self.facts.external_secrets.append(
                        external_secret_facts(self.context, obj, self.environment(namespace)))
            if resource is R.SECRET_PROVIDER_CLASSES:
                self.facts.provider_classes_seen = self.failures == failures
        flux = R.FLUX_KUSTOMIZATIONS
        if self.groups is not None and flux.group in self.groups:
            before = len(self.diagnostics)
            found: set[tuple[str, str]] = set()
            for obj in self.each(flux):
                if flux_decrypts_sops(obj):
                    m = meta(obj)
                    found.add((str(m.get("namespace") or ""), str(m.get("name") or "")))
                    self.document(obj)
            self.facts.flux_sops = frozenset(found)
            self.facts.flux_seen = len(self.diagnostics) == before


def _pod_template(obj: Obj, kind: str) -> Obj | None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return None
    if kind == "CronJob":
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        template = job.get("template")
    else:
        template = spec.get("template")
    return template if isinstance(template, dict) else None


def _shorten(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
