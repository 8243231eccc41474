"""Kubernetes manifests (raw, ``helm template`` output, chart templates that are valid YAML) and Helm values files.

A ``.yaml``/``.yml``/``.json`` file is a manifest only if its content says so: every YAML document (JSON is
YAML) that is a mapping with ``apiVersion`` and ``kind`` is an object; ``kind: List`` (and ``*List``) items are
objects too. A file without any object is not a manifest: it is re-kinded :attr:`DocKind.TEXT`, silently (no
diagnostic, not even for a syntax error, unless the text looks like a manifest). Files under a Helm chart's
``templates/`` directory that hold ``{{ ... }}`` are parsed when they happen to be valid YAML, and dropped
silently when they are not.

Sites (all :attr:`Phase.RUNTIME`; ``environment`` is the path's, else the one the namespace names):

- container ``env[]`` entries of every workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
  ReplicationController, Job, CronJob, PodTemplate, and any custom resource with ``spec.template.spec``) and of
  every container list (``initContainers``, ``containers``, ``ephemeralContainers``): :attr:`SiteKind.ENV`,
  route ``Deployment/api.spec.template.spec.containers[api].env.OPENAI_API_KEY``, context
  ``{"kind", "name", "namespace", "container"}``. ``value`` is classified; ``valueFrom.secretKeyRef`` is the
  reference ``Value(kind=REFERENCE, ref=STORE, ref_name="<secret>/<key>")`` located at the ``secretKeyRef`` key.
- Secret ``data`` (base64-decoded in memory) and ``stringData`` keys: :attr:`SiteKind.SECRET_DATA`, route
  ``Secret/app.stringData.OPENAI_API_KEY``, context ``{"kind", "name", "namespace", "field", "type",
  "encoding"}`` plus ``"sops": "true"`` in a SOPS-encrypted document.
- ConfigMap ``data`` keys and ``binaryData`` keys: :attr:`SiteKind.CONFIG_KEY` (context as for Secrets, without
  ``type``); ``KEY=value`` / ``key: value`` lines embedded in a ConfigMap value (an env file, a properties file)
  are CONFIG_KEY sites of their own, on their own line, with ``"embedded_in": <outer key>``.

Helm values files (:attr:`DocKind.HELM_VALUES`): secret-named scalar keys become :attr:`SiteKind.CONFIG_KEY`
sites (route ``auth.password``); env-shaped structures (a ``[{name, value}]`` list or a map under a key naming
``env``) become :attr:`SiteKind.ENV` sites. Keys that *name* a secret rather than hold one
(``existingSecret``, ``passwordKey``, ``secretName``...) are recorded in :class:`HelmValues`, not as sites.

``doc.data`` is a :class:`KubeData` (manifests) or a :class:`HelmValues` (values files).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import yaml

from auditor.detect.names import analyze_name
from auditor.detect.values import classify
from auditor.environment import infer_environment
from auditor.model import Diagnostic, DocKind, Document, Location, Phase, RefKind, Site, SiteKind, Value, ValueKind
from auditor.parsers.yamlnodes import View, load_documents

__all__ = [
    "CONTAINER_LISTS",
    "STORE_KINDS",
    "WORKLOAD_KINDS",
    "Container",
    "ExternalSecretInfo",
    "HelmValues",
    "K8sObject",
    "KubeData",
    "ProviderClassInfo",
    "RbacBinding",
    "RbacRole",
    "RbacRule",
    "RemoteRef",
    "SealedSecretInfo",
    "SecretEnvRef",
    "SecretStoreInfo",
    "SecretVolume",
    "SopsInfo",
    "Subject",
    "VaultInjection",
    "Workload",
    "k8s_value",
    "parse",
]

WORKLOAD_KINDS = frozenset({
    "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob",
    "PodTemplate",
})
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
STORE_KINDS = frozenset({
    "ExternalSecret", "ClusterExternalSecret", "SecretStore", "ClusterSecretStore", "PushSecret",
    "SealedSecret", "SecretProviderClass",
    "VaultStaticSecret", "VaultDynamicSecret", "VaultPKISecret", "VaultAuth", "VaultConnection",
})
SA_TOKEN_TYPE = "kubernetes.io/service-account-token"
CSI_DRIVER = "secrets-store.csi.k8s.io"
VAULT_PREFIX = "vault.hashicorp.com/"

_MAX_LIST_DEPTH = 4  # nested kind: List
_MAX_VALUES_DEPTH = 48  # Helm values nesting followed
_MAX_LABELS = 200  # labels/annotations kept per object

_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.S)
_K8S_VAR = re.compile(r"^\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)$")
_SOPS_VALUE = re.compile(r"^ENC\[[A-Z0-9_]+,data:")
_MANIFEST_HINT = re.compile(r"""(?m)^[ \t]*["']?kind["']?[ \t]*:""")
_APIVERSION_HINT = re.compile(r"""(?m)^[ \t-]*["']?apiVersion["']?[ \t]*:""")
# KEY=value / key: value / "key": "value" lines inside a ConfigMap value (env files, properties, YAML, JSON)
_EMBEDDED = re.compile(r"""^\s*(?:export\s+)?["']?([A-Za-z_][\w.\-]*)["']?\s*(?:=|:(?=\s|$))\s*(.*?)\s*,?\s*$""")
_JSON_PAIR = re.compile(r'"([A-Za-z_][\w.\-]*)"\s*:\s*"((?:[^"\\]|\\.)*)"')
# Helm values keys that name a secret (or a key inside one) instead of holding it
_REF_NAME_FIRST = frozenset({"existing", "external", "use"})
_REF_NAME_LAST = frozenset({"name", "names", "ref", "refs", "selector", "file", "path", "mount", "mountpath", "dir",
                            "secretname", "keyref", "secretref", "annotations", "labels", "enabled", "create",
                            "length", "size", "type", "class", "policy"})
_REF_KEY_OWNERS = frozenset({"password", "passwd", "token", "user", "username", "admin", "root", "replication",
                             "cert", "certificate", "ca", "tls", "secret"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[_\-.\s/]+")
_ENV_KEY = re.compile(r"(?i)env")


# ------------------------------------------------------------------------------------------------ model


@dataclass(frozen=True, slots=True)
class K8sObject:
    """One object of a manifest (a document, or an item of a ``List``)."""

    api_version: str
    kind: str
    name: str | None
    namespace: str | None
    line: int  # first line of the object's mapping
    end_line: int
    kind_line: int
    document: int  # 0-based index of the YAML document in the file
    environment: str | None  # the path's environment, else the namespace's
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    secret_type: str | None = None  # Secret / SealedSecret template `type` (None when absent: Opaque)
    type_line: int | None = None
    sops: bool = False  # the document carries a SOPS `sops:` block

    @property
    def ref(self) -> str:
        """``Deployment/api`` (``Deployment/?`` when unnamed)."""
        return f"{self.kind}/{self.name or '?'}"


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    list: str  # "containers" | "initContainers" | "ephemeralContainers"
    line: int
    image: str | None = None


@dataclass(frozen=True, slots=True)
class Workload:
    obj: K8sObject
    pod_route: str  # "spec.template.spec"
    line: int  # line of the pod spec
    containers: tuple[Container, ...]
    service_account: str | None = None  # serviceAccountName (None: the namespace's `default`)
    automount_token: bool | None = None
    pod_annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SecretEnvRef:
    """A Secret read into a container's environment (K8S-01)."""

    obj: K8sObject
    container: str
    container_list: str
    via: str  # "secretKeyRef" | "secretRef" (envFrom)
    secret: str | None
    key: str | None  # None for envFrom
    env_name: str | None  # None for envFrom
    line: int
    column: int
    route: str
    prefix: str | None = None  # envFrom prefix
    optional: bool = False


@dataclass(frozen=True, slots=True)
class SecretVolume:
    """A Secret (or a CSI SecretProviderClass) mounted as files: the recommended consumption."""

    obj: K8sObject
    volume: str
    source: str  # "secret" | "projected" | "csi"
    secret: str | None  # the Secret name, or the SecretProviderClass for "csi"
    line: int


@dataclass(frozen=True, slots=True)
class RemoteRef:
    """One key an ExternalSecret reads from its store."""

    key: str
    line: int
    secret_key: str | None = None  # the key in the target Secret (None for dataFrom)
    property: str | None = None
    kind: str = "data"  # "data" | "extract" | "find"


@dataclass(frozen=True, slots=True)
class ExternalSecretInfo:
    obj: K8sObject
    store: str | None
    store_kind: str | None  # "SecretStore" | "ClusterSecretStore"
    target: str | None  # the Secret it writes (defaults to the ExternalSecret's name)
    refresh_interval: str | None
    refresh_policy: str | None
    refs: tuple[RemoteRef, ...]


@dataclass(frozen=True, slots=True)
class SecretStoreInfo:
    obj: K8sObject
    provider: str | None  # "aws", "vault", "gcpsm", "azurekv"...
    cluster: bool
    line: int


@dataclass(frozen=True, slots=True)
class ProviderClassInfo:
    obj: K8sObject
    provider: str | None
    objects: tuple[str, ...]  # objectName / secretPath / resourceName entries of `parameters`
    secret_objects: tuple[str, ...]  # `secretObjects[].secretName` (Secrets the driver syncs)
    line: int


@dataclass(frozen=True, slots=True)
class SealedSecretInfo:
    obj: K8sObject
    keys: tuple[str, ...]  # encryptedData keys
    line: int


@dataclass(frozen=True, slots=True)
class VaultInjection:
    """Vault Agent Injector annotations of a workload's pod template."""

    obj: K8sObject
    enabled: bool  # agent-inject: "true"
    role: str | None
    secrets: tuple[tuple[str, str, int], ...]  # (file name, secret path, line) of agent-inject-secret-<file>
    line: int


@dataclass(frozen=True, slots=True)
class SopsInfo:
    document: int
    line: int
    has_mac: bool
    encrypted_regex: str | None = None


@dataclass(frozen=True, slots=True)
class RbacRule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...]
    line: int  # the rule item
    secrets_line: int | None  # the `secrets` (or `*`) entry of `resources`


@dataclass(frozen=True, slots=True)
class RbacRole:
    obj: K8sObject  # Role or ClusterRole
    rules: tuple[RbacRule, ...]
    aggregated: bool = False  # ClusterRole with an aggregationRule (its rules are filled in by the cluster)


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str  # ServiceAccount | User | Group
    name: str
    namespace: str | None
    line: int


@dataclass(frozen=True, slots=True)
class RbacBinding:
    obj: K8sObject  # RoleBinding or ClusterRoleBinding
    role_kind: str  # Role | ClusterRole
    role_name: str
    role_line: int
    subjects: tuple[Subject, ...]


@dataclass(slots=True)
class KubeData:
    """Everything a manifest file holds beyond its sites."""

    objects: list[K8sObject] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    env_secret_refs: list[SecretEnvRef] = field(default_factory=list)
    secret_volumes: list[SecretVolume] = field(default_factory=list)
    external_secrets: list[ExternalSecretInfo] = field(default_factory=list)
    secret_stores: list[SecretStoreInfo] = field(default_factory=list)
    provider_classes: list[ProviderClassInfo] = field(default_factory=list)
    sealed_secrets: list[SealedSecretInfo] = field(default_factory=list)
    vault_injections: list[VaultInjection] = field(default_factory=list)
    sops: list[SopsInfo] = field(default_factory=list)
    roles: list[RbacRole] = field(default_factory=list)
    bindings: list[RbacBinding] = field(default_factory=list)
    crds: list[str] = field(default_factory=list)  # CRD names (externalsecrets.external-secrets.io)
    webhooks: list[str] = field(default_factory=list)  # MutatingWebhookConfiguration names
    flux_sops: list[K8sObject] = field(default_factory=list)  # Flux Kustomizations decrypting with SOPS

    def secrets(self) -> Iterator[K8sObject]:
        return (o for o in self.objects if o.kind == "Secret")


@dataclass(slots=True)
class HelmValues:
    """A Helm values file: its secret-holding keys are sites; keys naming an existing Secret are listed here."""

    secret_refs: list[tuple[str, str, int]] = field(default_factory=list)  # (route, secret or key name, line)


# ---------------------------------------------------------------------------------------------- values


def k8s_value(text: str) -> Value:
    """:func:`classify`, plus what only Kubernetes/Helm files hold: ``{{ ... }}`` templates, ``$(VAR)``
    dependent variables and SOPS ``ENC[...]`` values are references, never literals."""
    value = classify(text)
    if value.kind not in (ValueKind.LITERAL, ValueKind.INTERPOLATED):
        return value
    stripped = text.strip()
    if "{{" in stripped and _TEMPLATE.search(stripped):
        inner = _TEMPLATE.search(stripped)
        name = inner.group(0)[2:-2].strip(" -") if inner else None
        return Value(text, ValueKind.REFERENCE, RefKind.TEMPLATE, name or None)
    if m := _K8S_VAR.match(stripped):
        return Value(text, ValueKind.REFERENCE, RefKind.ENV_VAR, m.group(1))
    if _SOPS_VALUE.match(stripped):
        return Value(text, ValueKind.REFERENCE, RefKind.ENCRYPTED)
    return value


# ---------------------------------------------------------------------------------------------- parsing


def parse(doc: Document, text: str) -> None:
    if doc.kind is DocKind.HELM_VALUES:
        _parse_values(doc, text)
        return
    chart_template = _in_chart_templates(doc.path) and "{{" in text
    looks_manifest = "apiVersion" in text and "kind" in text
    if not looks_manifest:
        doc.kind = DocKind.TEXT
        return
    # Problems are reported only for what looks like a manifest: other YAML/JSON is not ours to judge.
    reportable = not chart_template and bool(_APIVERSION_HINT.search(text) and _MANIFEST_HINT.search(text))
    sink: list[Diagnostic] = []
    roots, diagnostics = load_documents(doc.path, text)
    if not chart_template:  # `{{ ... }}` breaks YAML in most chart templates: expected, never reported
        sink.extend(diagnostics)
    data = KubeData()
    parser = _ManifestParser(doc, data, sink)
    for index, root in enumerate(roots):
        parser.document(View.root(root, doc.path, sink), index)
    if data.objects:
        doc.data = data
    else:
        doc.kind = DocKind.TEXT
    if data.objects or reportable:
        doc.diagnostics.extend(sink)


def _in_chart_templates(path: str) -> bool:
    parts = path.split("/")
    return "templates" in parts[:-1]


def _split_name(name: str) -> list[str]:
    return [t.lower() for t in _CAMEL.split(name) if t]


@dataclass(slots=True)
class _ManifestParser:
    doc: Document
    data: KubeData
    sink: list[Diagnostic]

    # -- documents and objects
    def document(self, root: View, index: int) -> None:
        if not root.is_mapping:
            return
        sops = self._sops(root, index)
        self.objects(root, index, sops, 0)

    def objects(self, view: View, index: int, sops: bool, depth: int) -> None:
        entries = _entries(view)
        api = _text(entries.get("apiVersion"))
        kind_entry = entries.get("kind")
        kind = _text(kind_entry)
        if api is None or kind is None or kind_entry is None:
            return
        if kind == "Config" and ("users" in entries or "clusters" in entries):
            return  # a kubeconfig: a credential file (IGN-05), not an object of the cluster
        if kind == "List" or (kind.endswith("List") and "items" in entries):
            if depth < _MAX_LIST_DEPTH:
                for item in entries["items"][1] if "items" in entries else ():
                    self.objects(item, index, sops, depth + 1)
            return
        meta = _entries(entries["metadata"][1]) if "metadata" in entries else {}
        name = _text(meta.get("name"))
        namespace = _text(meta.get("namespace"))
        type_entry = entries.get("type") if kind == "Secret" else None
        obj = K8sObject(
            api_version=api, kind=kind, name=name, namespace=namespace, line=view.line, end_line=view.end_line,
            kind_line=kind_entry[0].line, document=index,
            environment=self.doc.environment or (infer_environment(namespace) if namespace else None),
            labels=_string_map(meta.get("labels")), annotations=_string_map(meta.get("annotations")),
            secret_type=_text(type_entry), type_line=type_entry[1].line if type_entry else None, sops=sops,
        )
        self.data.objects.append(obj)
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, obj, entries)
        elif kind not in STORE_KINDS:
            self.generic_workload(obj, entries)

    def _sops(self, root: View, index: int) -> bool:
        found = root.entry("sops")
        if found is None or not found[1].is_mapping:
            return False
        block = _entries(found[1])
        self.data.sops.append(SopsInfo(index, found[0].line, "mac" in block, _text(block.get("encrypted_regex"))))
        return True

    # -- sites
    def site(self, kind: SiteKind, name: str, value: Value, at: View, obj: K8sObject, *, route: str,
             **context: str) -> None:
        ctx = {"kind": obj.kind, "name": obj.name or "", "namespace": obj.namespace or "", **context}
        if obj.sops:
            ctx["sops"] = "true"
        self.doc.sites.append(Site(
            kind, name, value, Location(self.doc.path, at.line, at.column, at.end_line), Phase.RUNTIME,
            obj.environment, route, ctx,
        ))

    # -- Secret / ConfigMap
    def secret(self, obj: K8sObject, entries: _Entries) -> None:
        secret_type = obj.secret_type or "Opaque"
        for field_name, key, raw, value_view, route in _data_entries(obj, entries, ("data", "stringData")):
            if field_name == "data":
                value, encoding = self.decode(obj, key, raw, value_view)
            else:
                value, encoding = k8s_value(raw), "plain"
            self.site(SiteKind.SECRET_DATA, key, value, value_view, obj, route=route,
                      field=field_name, type=secret_type, encoding=encoding)

    def decode(self, obj: K8sObject, key: str, raw: str, at: View) -> tuple[Value, str]:
        first = k8s_value(raw)
        if first.kind is not ValueKind.LITERAL:  # empty, template, ENC[...]: nothing to decode
            return first, "plain"
        compact = "".join(raw.split())
        try:
            decoded = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            self.sink.append(Diagnostic(
                self.doc.path, at.line,
                f"{obj.ref}: data key {key} is not valid base64 (Kubernetes rejects it); read as plain text",
                "warning",
            ))
            return first, "invalid-base64"
        try:
            return k8s_value(decoded.decode("utf-8")), "base64"
        except UnicodeDecodeError:
            return Value(compact, ValueKind.LITERAL), "binary"

    def configmap(self, obj: K8sObject, entries: _Entries) -> None:
        for field_name, key, raw, value_view, route in _data_entries(obj, entries, ("data", "binaryData")):
            if field_name == "binaryData":
                value, encoding = self.decode(obj, key, raw, value_view)
                self.site(SiteKind.CONFIG_KEY, key, value, value_view, obj, route=route, field=field_name,
                          encoding=encoding)
                continue
            self.site(SiteKind.CONFIG_KEY, key, k8s_value(raw), value_view, obj, route=route, field=field_name,
                      encoding="plain")
            self.embedded(obj, key, raw, value_view, route)

    def embedded(self, obj: K8sObject, outer: str, raw: str, at: View, route: str) -> None:
        """``KEY=value`` / ``key: value`` lines inside a ConfigMap value, each a site on its own line."""
        if "=" not in raw and ":" not in raw:
            return
        lines = raw.split("\n")
        exact = at.style == "|" or len(lines) == 1
        first_line = at.line + (1 if at.style == "|" else 0)
        ctx = {"kind": obj.kind, "name": obj.name or "", "namespace": obj.namespace or "", "field": "data",
               "encoding": "plain", "embedded_in": outer}
        for offset, line in enumerate(lines):
            if line.lstrip().startswith(("{", "[")):  # one-line JSON: every "key": "value" pair
                pairs = [(m.group(1), m.group(2)) for m in _JSON_PAIR.finditer(line)]
            elif m := _EMBEDDED.match(line):
                pairs = [(m.group(1), _unquote(m.group(2)))]
            else:
                continue
            lineno = first_line + offset if exact and len(lines) > 1 else at.line
            for inner, value_text in pairs:
                if not value_text or value_text in {"|", ">", "{", "["}:
                    continue
                self.doc.sites.append(Site(
                    SiteKind.CONFIG_KEY, inner, k8s_value(value_text), Location(self.doc.path, lineno, None),
                    Phase.RUNTIME, obj.environment, f"{route}:{inner}", ctx,
                ))

    # -- workloads
    def workload(self, obj: K8sObject, entries: _Entries) -> None:
        kind = obj.kind
        if kind == "Pod":
            path: tuple[str, ...] = ("spec",)
        elif kind == "PodTemplate":
            path = ("template", "spec")
        elif kind == "CronJob":
            path = ("spec", "jobTemplate", "spec", "template", "spec")
        else:
            path = ("spec", "template", "spec")
        self.pod(obj, entries, path)

    def generic_workload(self, obj: K8sObject, entries: _Entries) -> None:
        """A custom resource carrying a pod template (Argo Rollout, Knative Service, operators' CRDs)."""
        for path in (("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec")):
            spec = _walk(entries, path)
            if spec is not None and spec.is_mapping and any(spec.get(n) is not None for n in CONTAINER_LISTS):
                self.pod(obj, entries, path)
                return

    def pod(self, obj: K8sObject, entries: _Entries, path: tuple[str, ...]) -> None:
        spec = _walk(entries, path)
        if spec is None or not spec.is_mapping:
            return
        meta = _walk(entries, (*path[:-1], "metadata"))  # the pod's own metadata for a Pod
        annotations = _string_map(meta.entry("annotations") if meta is not None else None)
        pod_route = ".".join(path)
        spec_entries = _entries(spec)
        containers: list[Container] = []
        for list_name in CONTAINER_LISTS:
            if list_name not in spec_entries:
                continue
            for index, item in enumerate(spec_entries[list_name][1]):
                if not item.is_mapping:
                    continue
                c_entries = _entries(item)
                cname = _text(c_entries.get("name")) or str(index)
                containers.append(Container(cname, list_name, item.line, _text(c_entries.get("image"))))
                self.container(obj, c_entries, f"{obj.ref}.{pod_route}.{list_name}[{cname}]", cname, list_name)
        self.volumes(obj, spec_entries)
        sa = _text(spec_entries.get("serviceAccountName")) or _text(spec_entries.get("serviceAccount"))
        automount = _text(spec_entries.get("automountServiceAccountToken"))
        self.data.workloads.append(Workload(
            obj, pod_route, spec.line, tuple(containers), sa,
            None if automount is None else automount.lower() == "true", annotations,
        ))
        self.vault(obj, annotations, meta)

    def container(self, obj: K8sObject, c: _Entries, route: str, cname: str, list_name: str) -> None:
        if "env" in c:
            for item in c["env"][1]:
                self.env_entry(obj, _entries(item), route, cname, list_name)
        if "envFrom" in c:
            for item in c["envFrom"][1]:
                entry = _entries(item)
                ref = entry.get("secretRef")
                if ref is None:
                    continue
                ref_entries = _entries(ref[1])
                self.data.env_secret_refs.append(SecretEnvRef(
                    obj, cname, list_name, "secretRef", _text(ref_entries.get("name")), None, None,
                    ref[0].line, ref[0].column, f"{route}.envFrom.secretRef", _text(entry.get("prefix")),
                    (_text(ref_entries.get("optional")) or "").lower() == "true",
                ))

    def env_entry(self, obj: K8sObject, entry: _Entries, route: str, cname: str, list_name: str) -> None:
        name = _text(entry.get("name"))
        if name is None:
            return
        env_route = f"{route}.env.{name}"
        if "value" in entry:
            value_view = entry["value"][1]
            self.site(SiteKind.ENV, name, k8s_value(value_view.raw_text or ""), value_view, obj, route=env_route,
                      container=cname)
            return
        value_from = entry.get("valueFrom")
        if value_from is None:
            self.site(SiteKind.ENV, name, Value("", ValueKind.EMPTY), entry["name"][1], obj, route=env_route,
                      container=cname)
            return
        ref = _entries(value_from[1]).get("secretKeyRef")
        if ref is None:
            return  # configMapKeyRef, fieldRef, resourceFieldRef: not secrets
        ref_entries = _entries(ref[1])
        secret, key = _text(ref_entries.get("name")), _text(ref_entries.get("key"))
        ref_name = f"{secret or '?'}/{key or '?'}"
        self.site(SiteKind.ENV, name, Value(ref_name, ValueKind.REFERENCE, RefKind.STORE, ref_name), ref[0], obj,
                  route=env_route, container=cname)
        self.data.env_secret_refs.append(SecretEnvRef(
            obj, cname, list_name, "secretKeyRef", secret, key, name, ref[0].line, ref[0].column,
            f"{env_route}.valueFrom.secretKeyRef", None,
            (_text(ref_entries.get("optional")) or "").lower() == "true",
        ))

    def volumes(self, obj: K8sObject, spec: _Entries) -> None:
        for item in spec["volumes"][1] if "volumes" in spec else ():
            vol = _entries(item)
            vname = _text(vol.get("name")) or "?"
            if "secret" in vol:
                secret_name = _entries(vol["secret"][1]).get("secretName")
                self.data.secret_volumes.append(SecretVolume(obj, vname, "secret", _text(secret_name),
                                                             vol["secret"][0].line))
            if "projected" in vol:
                sources = _entries(vol["projected"][1]).get("sources")
                for source in sources[1] if sources else ():
                    src = _entries(source).get("secret")
                    if src is not None:
                        self.data.secret_volumes.append(SecretVolume(
                            obj, vname, "projected", _text(_entries(src[1]).get("name")), src[0].line))
            if "csi" in vol:
                csi = _entries(vol["csi"][1])
                if _text(csi.get("driver")) == CSI_DRIVER:
                    attrs = _entries(csi["volumeAttributes"][1]) if "volumeAttributes" in csi else {}
                    self.data.secret_volumes.append(SecretVolume(
                        obj, vname, "csi", _text(attrs.get("secretProviderClass")), vol["csi"][0].line))

    def vault(self, obj: K8sObject, annotations: Mapping[str, str], meta: View | None) -> None:
        if not any(k.startswith(VAULT_PREFIX) for k in annotations):
            return
        lines: dict[str, int] = {}
        source = meta.get("annotations") if meta is not None else None
        if source is not None:
            for key_view, _ in source.items():
                if key_view.text is not None:
                    lines[key_view.text] = key_view.line
        secrets = tuple(
            (k[len(VAULT_PREFIX) + len("agent-inject-secret-"):], v, lines.get(k, obj.line))
            for k, v in annotations.items() if k.startswith(VAULT_PREFIX + "agent-inject-secret-")
        )
        self.data.vault_injections.append(VaultInjection(
            obj, annotations.get(VAULT_PREFIX + "agent-inject", "").lower() == "true",
            annotations.get(VAULT_PREFIX + "role"), secrets,
            lines.get(VAULT_PREFIX + "agent-inject", obj.line),
        ))

    # -- secret stores
    def external_secret(self, obj: K8sObject, entries: _Entries) -> None:
        spec = _walk(entries, ("spec",))
        if spec is not None and obj.kind == "ClusterExternalSecret":
            spec = spec.get("externalSecretSpec")
        if spec is None or not spec.is_mapping:
            self.data.external_secrets.append(ExternalSecretInfo(obj, None, None, None, None, None, ()))
            return
        s = _entries(spec)
        store = _entries(s["secretStoreRef"][1]) if "secretStoreRef" in s else {}
        target = _entries(s["target"][1]) if "target" in s else {}
        refs: list[RemoteRef] = []
        for item in s["data"][1] if "data" in s else ():
            d = _entries(item)
            remote = _entries(d["remoteRef"][1]) if "remoteRef" in d else {}
            key = remote.get("key")
            if key is not None and (text := _text(key)) is not None:
                refs.append(RemoteRef(text, key[1].line, _text(d.get("secretKey")), _text(remote.get("property"))))
        for item in s["dataFrom"][1] if "dataFrom" in s else ():
            d = _entries(item)
            for how in ("extract", "find"):
                if how not in d:
                    continue
                inner = _entries(d[how][1])
                key = inner.get("key") or inner.get("path")
                if key is not None and (text := _text(key)) is not None:
                    refs.append(RemoteRef(text, key[1].line, None, _text(inner.get("property")), how))
        self.data.external_secrets.append(ExternalSecretInfo(
            obj, _text(store.get("name")), _text(store.get("kind")), _text(target.get("name")) or obj.name,
            _text(s.get("refreshInterval")), _text(s.get("refreshPolicy")), tuple(refs),
        ))

    def secret_store(self, obj: K8sObject, entries: _Entries) -> None:
        provider = _walk(entries, ("spec", "provider"))
        name = next(provider.keys(), None) if provider is not None else None
        self.data.secret_stores.append(SecretStoreInfo(obj, name, obj.kind == "ClusterSecretStore",
                                                       provider.line if provider is not None else obj.line))

    def provider_class(self, obj: K8sObject, entries: _Entries) -> None:
        spec = _entries(entries["spec"][1]) if "spec" in entries else {}
        params = _entries(spec["parameters"][1]) if "parameters" in spec else {}
        objects: list[str] = []
        for param in ("objects", "secrets"):
            if param in params:
                objects.extend(_provider_objects(params[param][1]))
        synced = tuple(
            name for item in (spec["secretObjects"][1] if "secretObjects" in spec else ())
            if (name := _text(_entries(item).get("secretName"))) is not None
        )
        line = params["objects"][0].line if "objects" in params else obj.line
        self.data.provider_classes.append(ProviderClassInfo(obj, _text(spec.get("provider")), tuple(objects),
                                                            synced, line))

    def sealed_secret(self, obj: K8sObject, entries: _Entries) -> None:
        encrypted = _walk(entries, ("spec", "encryptedData"))
        keys = tuple(encrypted.keys()) if encrypted is not None else ()
        self.data.sealed_secrets.append(SealedSecretInfo(obj, keys, encrypted.line if encrypted else obj.line))

    # -- RBAC
    def role(self, obj: K8sObject, entries: _Entries) -> None:
        rules: list[RbacRule] = []
        for item in entries["rules"][1] if "rules" in entries else ():
            r = _entries(item)
            resources = r["resources"][1] if "resources" in r else None
            secrets_line = None
            for res in resources if resources is not None else ():
                if res.text in {"secrets", "*"}:
                    secrets_line = res.line
                    break
            rules.append(RbacRule(
                _texts(r.get("apiGroups")), _texts(r.get("resources")), _texts(r.get("verbs")),
                _texts(r.get("resourceNames")), item.line, secrets_line,
            ))
        self.data.roles.append(RbacRole(obj, tuple(rules), "aggregationRule" in entries))

    def binding(self, obj: K8sObject, entries: _Entries) -> None:
        role_ref = entries.get("roleRef")
        if role_ref is None:
            return
        ref = _entries(role_ref[1])
        subjects: list[Subject] = []
        for item in entries["subjects"][1] if "subjects" in entries else ():
            s = _entries(item)
            kind, name = _text(s.get("kind")), _text(s.get("name"))
            if kind and name:
                subjects.append(Subject(kind, name, _text(s.get("namespace")) or obj.namespace, item.line))
        name_entry = ref.get("name")
        self.data.bindings.append(RbacBinding(
            obj, _text(ref.get("kind")) or "ClusterRole", _text(name_entry) or "",
            name_entry[1].line if name_entry else role_ref[0].line, tuple(subjects),
        ))

    # -- cluster-level signals
    def crd(self, obj: K8sObject, entries: _Entries) -> None:
        if obj.name:
            self.data.crds.append(obj.name)

    def webhook(self, obj: K8sObject, entries: _Entries) -> None:
        if obj.name:
            self.data.webhooks.append(obj.name)

    def flux_kustomization(self, obj: K8sObject, entries: _Entries) -> None:
        if not obj.api_version.startswith("kustomize.toolkit.fluxcd.io"):
            return
        provider = _walk(entries, ("spec", "decryption", "provider"))
        if provider is not None and provider.text == "sops":
            self.data.flux_sops.append(obj)


_Entries = dict[str, tuple[View, View]]


def _data_entries(obj: K8sObject, entries: _Entries,
                  fields: tuple[str, ...]) -> Iterator[tuple[str, str, str, View, str]]:
    """(field, key, raw text, value view, route) of every key of a Secret's/ConfigMap's data fields."""
    for field_name in fields:
        if field_name not in entries:
            continue
        for key_view, value_view in entries[field_name][1].items():
            if key_view.text is not None:
                yield (field_name, key_view.text, value_view.raw_text or "", value_view,
                       f"{obj.ref}.{field_name}.{key_view.text}")

_HANDLERS = {
    "Secret": _ManifestParser.secret,
    "ConfigMap": _ManifestParser.configmap,
    **dict.fromkeys(WORKLOAD_KINDS, _ManifestParser.workload),
    "ExternalSecret": _ManifestParser.external_secret,
    "ClusterExternalSecret": _ManifestParser.external_secret,
    "SecretStore": _ManifestParser.secret_store,
    "ClusterSecretStore": _ManifestParser.secret_store,
    "SecretProviderClass": _ManifestParser.provider_class,
    "SealedSecret": _ManifestParser.sealed_secret,
    "Role": _ManifestParser.role,
    "ClusterRole": _ManifestParser.role,
    "RoleBinding": _ManifestParser.binding,
    "ClusterRoleBinding": _ManifestParser.binding,
    "CustomResourceDefinition": _ManifestParser.crd,
    "MutatingWebhookConfiguration": _ManifestParser.webhook,
    "Kustomization": _ManifestParser.flux_kustomization,
}


# ------------------------------------------------------------------------------------------ YAML helpers


def _entries(view: View | tuple[View, View] | None) -> _Entries:
    """A mapping's entries by scalar key (last wins), read in one pass."""
    if isinstance(view, tuple):
        view = view[1]
    out: _Entries = {}
    if view is None:
        return out
    for key_view, value_view in view.items():
        key = key_view.text
        if key is not None:
            out[key] = (key_view, value_view)
    return out


def _text(entry: tuple[View, View] | View | None) -> str | None:
    if entry is None:
        return None
    view = entry[1] if isinstance(entry, tuple) else entry
    return view.text


def _texts(entry: tuple[View, View] | None) -> tuple[str, ...]:
    if entry is None:
        return ()
    view = entry[1]
    if view.is_scalar:
        return (view.text,) if view.text is not None else ()
    return tuple(t for item in view if (t := item.text) is not None)


def _walk(entries: _Entries, path: tuple[str, ...]) -> View | None:
    current: View | None = None
    for index, key in enumerate(path):
        if index == 0:
            found = entries.get(key)
            current = found[1] if found else None
        else:
            current = current.get(key) if current is not None else None
        if current is None:
            return None
    return current


def _string_map(entry: tuple[View, View] | View | None) -> dict[str, str]:
    view = entry[1] if isinstance(entry, tuple) else entry
    out: dict[str, str] = {}
    if view is None:
        return out
    for key_view, value_view in view.items():
        if len(out) >= _MAX_LABELS:
            break
        if key_view.text is not None:
            out[key_view.text] = value_view.raw_text or ""
    return out


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _provider_objects(view: View) -> list[str]:
    """objectName / secretPath / resourceName entries of a SecretProviderClass parameter (a YAML string)."""
    text = view.text
    if text is None:
        return []
    try:
        loaded = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loader
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        return []
    items: list[object] = []
    if isinstance(loaded, dict) and isinstance(loaded.get("array"), list):  # Azure: array of YAML strings
        for raw in loaded["array"]:
            if isinstance(raw, str):
                try:
                    items.append(yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))  # noqa: S506
                except (yaml.YAMLError, ValueError, TypeError, RecursionError):
                    continue
            else:
                items.append(raw)
    elif isinstance(loaded, list):
        items = list(loaded)
    names: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        for key in ("secretPath", "resourceName", "objectName"):
            value = item.get(key)
            if isinstance(value, str) and value:
                names.append(value)
                break
    return names


# ------------------------------------------------------------------------------------------- Helm values


def _parse_values(doc: Document, text: str) -> None:
    roots, diagnostics = load_documents(doc.path, text)
    doc.diagnostics.extend(diagnostics)
    data = HelmValues()
    doc.data = data
    walker = _ValuesWalker(doc, data)
    for root in roots:
        walker.walk(View.root(root, doc.path, doc.diagnostics), "", None, 0)


def is_secret_reference_name(name: str) -> bool:
    """A values key that names a Secret (or a key inside one) rather than holding a secret value.

    ``existingSecret``, ``existingSecretPasswordKey``, ``passwordSecretName``, ``secretRef``, ``passwordKey``,
    ``tokenKeyRef``; but not ``secretKey`` / ``accessKey`` / ``apiKey`` / ``privateKey``, which hold secrets.
    """
    tokens = _split_name(name)
    if not tokens:
        return False
    if tokens[0] in _REF_NAME_FIRST and len(tokens) > 1:
        return True
    if tokens[-1] in _REF_NAME_LAST:
        return True
    joined = "".join(tokens)
    if joined.endswith(("secretname", "secretref", "keyref", "secretkeyref")):
        return True
    return len(tokens) >= 2 and tokens[-1] == "key" and tokens[-2] in _REF_KEY_OWNERS and tokens[-2] != "secret"


@dataclass(slots=True)
class _ValuesWalker:
    doc: Document
    data: HelmValues

    def walk(self, view: View, route: str, key: str | None, depth: int) -> None:
        if depth > _MAX_VALUES_DEPTH:
            return
        if view.is_mapping:
            env_map = key is not None and bool(_ENV_KEY.search(key))
            for key_view, value_view in view.items():
                child_key = key_view.text
                if child_key is None:
                    continue
                child_route = f"{route}.{child_key}" if route else child_key
                if value_view.is_scalar:
                    self.leaf(child_key, value_view, child_route, env_map)
                else:
                    self.walk(value_view, child_route, child_key, depth + 1)
        elif view.is_sequence:
            env_list = key is not None and bool(_ENV_KEY.search(key))
            for index, item in enumerate(view):
                if item.is_mapping and self.env_item(item, route, env_list):
                    continue
                self.walk(item, f"{route}[{index}]", key, depth + 1)

    def leaf(self, key: str, value: View, route: str, env_map: bool) -> None:
        raw = value.raw_text or ""
        if env_map:
            self.add(SiteKind.ENV, key, k8s_value(raw), value, route)
            return
        if not analyze_name(key).secret:
            return
        if is_secret_reference_name(key):
            if raw:
                self.data.secret_refs.append((route, raw, value.line))
            return
        if value.is_null or not raw:
            return
        self.add(SiteKind.CONFIG_KEY, key, k8s_value(raw), value, route)

    def env_item(self, item: View, route: str, env_list: bool) -> bool:
        """``{name: X, value: Y}`` (or ``valueFrom``): an env entry; a CONFIG_KEY outside env-named lists."""
        entries = _entries(item)
        name = _text(entries.get("name"))
        if name is None or ("value" not in entries and "valueFrom" not in entries) or len(entries) > 3:
            return False
        item_route = f"{route}.{name}"
        if "value" in entries:
            value_view = entries["value"][1]
            if not value_view.is_scalar:
                return False
            value = k8s_value(value_view.raw_text or "")
            if env_list:
                self.add(SiteKind.ENV, name, value, value_view, item_route)
            elif analyze_name(name).secret and value.kind is not ValueKind.EMPTY:
                self.add(SiteKind.CONFIG_KEY, name, value, value_view, item_route)
            return True
        ref = _entries(entries["valueFrom"][1]).get("secretKeyRef")
        if ref is not None and env_list:
            ref_entries = _entries(ref[1])
            ref_name = f"{_text(ref_entries.get('name')) or '?'}/{_text(ref_entries.get('key')) or '?'}"
            self.add(SiteKind.ENV, name, Value(ref_name, ValueKind.REFERENCE, RefKind.STORE, ref_name), ref[0],
                     item_route)
        return True

    def add(self, kind: SiteKind, name: str, value: Value, at: View, route: str) -> None:
        self.doc.sites.append(Site(kind, name, value, Location(self.doc.path, at.line, at.column, at.end_line),
                                   Phase.RUNTIME, self.doc.environment, route))
