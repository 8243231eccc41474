"""Live objects to the repository model.

One KUBERNETES :class:`~auditor.model.Document` per audited object, at ``<context>/<namespace>/<Kind>/<name>``.
Its sites and :class:`~auditor.parsers.kubernetes.KubeData` come from the manifest parser itself
(:func:`auditor.parsers.kubernetes.parse` on the object serialized as YAML), so every rule written for
manifests reads live objects the same way; the engine's findings are then moved to line 1 (an object in a
cluster has no lines: the route says where in the object).

Before serializing, an object loses ``status``, ``managedFields`` and the
``kubectl.kubernetes.io/last-applied-configuration`` annotation (which holds a whole copy of an applied Secret,
values included); a Secret also loses ``data``/``stringData``: its keys become
:class:`~auditor.rules.cluster.SecretKeyFacts` (what the value is, and a keyed fingerprint under a per-run key),
and the values are dropped as soon as they are classified.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from auditor.detect.values import looks_secret
from auditor.environment import canonical, infer_environment
from auditor.model import DocKind, Document, ValueKind
from auditor.redact import fingerprint
from auditor.rules.cluster import ExternalSecretFacts, OwnerRef, SecretFacts, SecretKeyFacts
from auditor.rules.envfiles import provider_match

Obj = dict[str, Any]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
DEFAULT_ENVIRONMENT_LABELS = ("keyaudit.io/environment", "environment", "env", "app.kubernetes.io/environment")
DEFAULT_SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
_PUBLIC_CONTENT = re.compile(r"^\s*(?:-----BEGIN (?:CERTIFICATE|PUBLIC KEY|X509 CRL|TRUSTED CERTIFICATE)|"
                             r"ssh-(?:rsa|ed25519|dss) |ecdsa-sha2-)")
_PRIVATE_KEY = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY")
_MAX_LABELS = 200


def meta(obj: Obj) -> Obj:
    return mapping(obj.get("metadata"))


def mapping(value: Any) -> Obj:
    """``value`` when it is a mapping, else an empty one (objects from a cluster are not trusted to be well-formed)."""
    return value if isinstance(value, dict) else {}


def object_path(context: str, obj: Obj, kind: str | None = None) -> str:
    m = meta(obj)
    kind = kind or str(obj.get("kind") or "?")
    name = str(m.get("name") or "?")
    namespace = m.get("namespace")
    return f"{context}/{namespace}/{kind}/{name}" if namespace else f"{context}/{kind}/{name}"


def owner_path(context: str, namespace: str | None, owner: Mapping[str, Any]) -> str:
    kind, name = str(owner.get("kind") or "?"), str(owner.get("name") or "?")
    return f"{context}/{namespace}/{kind}/{name}" if namespace else f"{context}/{kind}/{name}"


def controller_of(obj: Obj) -> Mapping[str, Any] | None:
    """The ownerReference marked ``controller: true`` (else the only one)."""
    refs = [r for r in meta(obj).get("ownerReferences") or () if isinstance(r, dict)]
    return next((r for r in refs if r.get("controller")), refs[0] if len(refs) == 1 else None)


def string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in list(value.items())[:_MAX_LABELS] if k != LAST_APPLIED}


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------- documents


def clean(obj: Obj) -> Obj:
    """A shallow copy without what the parser must not see: status, managedFields, last-applied, Secret data."""
    out = {k: v for k, v in obj.items() if k not in ("status",)}
    m = dict(meta(obj))
    m.pop("managedFields", None)
    annotations = m.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        m["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    out["metadata"] = m
    if obj.get("kind") == "Secret":
        out.pop("data", None)
        out.pop("stringData", None)
    return out


def to_document(path: str, obj: Obj, environment: str | None) -> Document:
    """The object as the manifest parser reads it (sites, KubeData), under ``path``."""
    import yaml

    from auditor.parsers.kubernetes import parse

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(clean(obj), Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=4096)
    doc = Document(path, DocKind.KUBERNETES, environment=environment)
    parse(doc, text)
    return doc


# ------------------------------------------------------------------------------------------ environments


def namespace_environment(name: str, labels: Mapping[str, str], context: str,
                          patterns: Mapping[str, str], label_keys: Iterable[str]) -> str | None:
    """A namespace's environment: its label, a configured glob (on ``ns`` or ``context/ns``), then its name,
    then the context's name (``prod-eu`` -> prod)."""
    for key in label_keys:
        value = labels.get(key)
        if value:
            return canonical(value) or value.strip().lower()
    for pattern, env in patterns.items():
        if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(f"{context}/{name}", pattern):
            return env
    # as a directory name, so that `shop-test` counts (file names ending in "test" do not)
    return infer_environment(f"{name}/_") or infer_environment(f"{context}/_")


# ----------------------------------------------------------------------------------------------- secrets


def data_changed(managed_fields: Any) -> datetime | None:
    """The newest managedFields time whose fieldsV1 touches ``f:data`` or ``f:stringData``."""
    newest: datetime | None = None
    for entry in managed_fields or ():
        if not isinstance(entry, dict):
            continue
        fields = entry.get("fieldsV1")
        if not isinstance(fields, dict) or not ("f:data" in fields or "f:stringData" in fields):
            continue
        when = parse_time(entry.get("time"))
        if when is not None and (newest is None or when > newest):
            newest = when
    return newest


def managed_keys(managed_fields: Any) -> list[str]:
    """Secret keys named in managedFields (``f:data: {f:api-key: {}}``): keys without reading values."""
    keys: dict[str, None] = {}
    for entry in managed_fields or ():
        fields = entry.get("fieldsV1") if isinstance(entry, dict) else None
        if not isinstance(fields, dict):
            continue
        for section in ("f:data", "f:stringData"):
            inner = fields.get(section)
            if isinstance(inner, dict):
                keys.update((k[2:], None) for k in inner if k.startswith("f:"))
    return list(keys)


def key_facts(key: str, text: str, fingerprint_key: bytes) -> SecretKeyFacts:
    """What a value is, computed in memory; the value itself is not kept."""
    from auditor.parsers.kubernetes import k8s_value

    value = k8s_value(text)
    if value.kind is not ValueKind.LITERAL:
        return SecretKeyFacts(key, value.kind)
    detector = provider_match(text, key)
    public = bool(_PUBLIC_CONTENT.match(text)) and not _PRIVATE_KEY.search(text)
    return SecretKeyFacts(
        key, ValueKind.LITERAL, detector.label if detector is not None else None,
        secret_value=detector is not None or (not public and looks_secret(text)) or bool(_PRIVATE_KEY.search(text)),
        public=public, fingerprint=fingerprint(text, fingerprint_key),
    )


def _decode(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    try:
        data = base64.b64decode("".join(raw.split()), validate=True)
    except (binascii.Error, ValueError):
        return raw
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # binary (a keystore): fingerprinted as bytes


def secret_facts(context: str, obj: Obj, *, environment: str | None, system: bool, fingerprint_key: bytes | None,
                 secret_type: str | None = None) -> SecretFacts:
    """Facts of a Secret (a full object when ``fingerprint_key`` is given, else its metadata only)."""
    m = meta(obj)
    managed = m.get("managedFields")
    keys: list[SecretKeyFacts] = []
    values_read = fingerprint_key is not None and obj.get("kind") == "Secret"
    if values_read and fingerprint_key is not None:
        for section, encoded in (("data", True), ("stringData", False)):
            entries = obj.get(section)
            if not isinstance(entries, dict):
                continue
            for key, raw in entries.items():
                text = _decode(raw) if encoded else (raw if isinstance(raw, str) else None)
                keys.append(key_facts(str(key), text or "", fingerprint_key))
        secret_type = obj.get("type") if isinstance(obj.get("type"), str) else "Opaque"
    else:
        keys = [SecretKeyFacts(k) for k in managed_keys(managed)]
    owners = tuple(
        OwnerRef(str(r.get("kind") or "?"), str(r.get("name") or "?"), bool(r.get("controller")))
        for r in m.get("ownerReferences") or () if isinstance(r, dict)
    )
    return SecretFacts(
        path=object_path(context, obj, "Secret"), context=context, namespace=str(m.get("namespace") or ""),
        name=str(m.get("name") or "?"), type=secret_type, environment=environment,
        labels=string_map(m.get("labels")), annotations=string_map(m.get("annotations")), owners=owners,
        keys=tuple(keys), created=parse_time(m.get("creationTimestamp")), data_changed=data_changed(managed),
        values_read=values_read, system=system,
    )


# ------------------------------------------------------------------------------------------ secret stores


def external_secret_facts(context: str, obj: Obj, environment: str | None) -> ExternalSecretFacts:
    m = meta(obj)
    spec, status = mapping(obj.get("spec")), mapping(obj.get("status"))
    ready = next((c for c in status.get("conditions") or ()
                  if isinstance(c, dict) and c.get("type") == "Ready"), None)
    target = mapping(spec.get("target"))
    interval = spec.get("refreshInterval")
    return ExternalSecretFacts(
        path=object_path(context, obj), context=context, namespace=str(m.get("namespace") or ""),
        name=str(m.get("name") or "?"), environment=environment,
        target=str(target.get("name")) if target.get("name") else None,
        refresh_interval=str(interval) if interval is not None else None,
        refresh_policy=str(spec["refreshPolicy"]) if spec.get("refreshPolicy") else None,
        ready=str(ready.get("status")) if ready is not None and ready.get("status") is not None else None,
        ready_reason=str(ready["reason"])[:80] if ready is not None and ready.get("reason") else None,
        refresh_time=parse_time(status.get("refreshTime")),
    )


def vault_injection_requested(annotations: Any) -> bool:
    return isinstance(annotations, dict) and \
        str(annotations.get("vault.hashicorp.com/agent-inject", "")).lower() == "true"


def is_vault_injector(webhook_config: Obj) -> bool:
    """The Vault Agent Injector's MutatingWebhookConfiguration (``vault-agent-injector-cfg``, webhook
    ``vault.hashicorp.com``)."""
    name = str(meta(webhook_config).get("name") or "")
    if "vault-agent-injector" in name:
        return True
    for hook in webhook_config.get("webhooks") or ():
        if not isinstance(hook, dict):
            continue
        service = mapping(mapping(hook.get("clientConfig")).get("service")).get("name", "")
        if hook.get("name") == "vault.hashicorp.com" or "vault-agent-injector" in str(service):
            return True
    return False


def flux_decrypts_sops(kustomization: Obj) -> bool:
    return mapping(mapping(kustomization.get("spec")).get("decryption")).get("provider") == "sops"
