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
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from auditor.detect.values import looks_secret
from auditor.environment import canonical, infer_environment
from auditor.model import DocKind, Document, ValueKind
from auditor.redact import fingerprint
from auditor.rules.cluster import (
    CsiDriverFacts,
    ExternalSecretFacts,
    OwnerRef,
    ProviderClassFacts,
    SealedControllerFacts,
    SecretFacts,
    SecretKeyFacts,
    parse_duration,
)
from auditor.rules.envfiles import provider_match

Obj = dict[str, Any]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
DEFAULT_ENVIRONMENT_LABELS = ("keyaudit.io/environment", "environment", "env", "app.kubernetes.io/environment")
DEFAULT_SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
_PUBLIC_CONTENT = re.compile(r"^\s*(?:-----BEGIN (?:CERTIFICATE|PUBLIC KEY|X509 CRL|TRUSTED CERTIFICATE)|"
                             r"ssh-(?:rsa|ed25519|dss) |ecdsa-sha2-)")
_PRIVATE_KEY = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY")
_MAX_LABELS = 200
_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
# image repositories of the Secrets Store CSI driver: registry.k8s.io/csi-secrets-store/driver, the AKS add-on's
# mcr.microsoft.com/oss/kubernetes-csi/secrets-store/driver, mirrors named after the chart; not the providers
# (secrets-store-csi-driver-provider-aws, provider-azure, vault-csi-provider)
_CSI_DRIVER_PARENTS = frozenset({"csi-secrets-store", "secrets-store"})
_CSI_DRIVER_REPO = "secrets-store-csi-driver"
_CSI_DRIVER_CONTAINER = "secrets-store"
_SEALED_CONTROLLER_IMAGE = "sealed-secrets-controller"
_SEALED_ENV = ("SEALED_SECRETS_KEY_RENEW_PERIOD", "SEALED_SECRETS_ROTATE_PERIOD")
_SEALED_DEFAULT = timedelta(days=30)
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


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


def provider_class_facts(context: str, obj: Obj) -> ProviderClassFacts:
    m = meta(obj)
    synced = [str(item["secretName"]) for item in mapping(obj.get("spec")).get("secretObjects") or ()
              if isinstance(item, dict) and item.get("secretName")]
    return ProviderClassFacts(object_path(context, obj), str(m.get("namespace") or ""), str(m.get("name") or "?"),
                              tuple(synced))


# ------------------------------------------------------------------------------ controllers and their flags


def containers_of(obj: Obj) -> list[Obj]:
    """The containers of a workload's pod template (``spec.template.spec.containers``)."""
    template = mapping(mapping(obj.get("spec")).get("template"))
    return [c for c in mapping(template.get("spec")).get("containers") or () if isinstance(c, dict)]


def image_repository(image: str) -> list[str]:
    """``registry/path/name:tag@digest`` -> the path segments without tag and digest."""
    repo = image.split("@", 1)[0]
    head, _, last = repo.rpartition("/")
    last = last.split(":", 1)[0]
    return [*(head.split("/") if head else []), last]


def literal_env(container: Obj) -> dict[str, str]:
    return {str(e["name"]): str(e["value"]) for e in container.get("env") or ()
            if isinstance(e, dict) and isinstance(e.get("name"), str) and isinstance(e.get("value"), str)}


def container_tokens(container: Obj) -> list[str]:
    """``command`` then ``args``, with ``$(VAR)`` expanded from the container's literal env as the kubelet does
    (an unresolved reference stays as written, and ``$$`` is a literal ``$``)."""
    env = literal_env(container)

    def expand(text: str) -> str:
        return _VAR_REF.sub(lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)

    return [expand(str(t)) for key in ("command", "args") for t in container.get(key) or ()
            if isinstance(t, (str, int, float))]


def flag_values(tokens: list[str], names: Collection[str], *, boolean: bool = False) -> list[str | None]:
    """Values given to the flags ``names`` (``-x``/``--x``, ``=value`` or the next token), in order; a bare boolean
    flag gives None (true). The last one wins, as with Go's flag and pflag packages."""
    out: list[str | None] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "--":
            break
        if token.startswith("-") and token != "-":
            name, eq, value = token.lstrip("-").partition("=")
            if name in names:
                if eq:
                    out.append(value)
                elif boolean:
                    out.append(None)
                else:
                    out.append(tokens[index + 1] if index + 1 < len(tokens) else "")
                    index += 1
        index += 1
    return out


def go_bool(text: str) -> bool | None:
    """``strconv.ParseBool``: None when Go would reject the value (the program then refuses to start)."""
    return True if text in _GO_TRUE else False if text in _GO_FALSE else None


def is_csi_driver(container: Obj) -> bool:
    segments = image_repository(str(container.get("image") or ""))
    if _CSI_DRIVER_REPO in segments:
        return True
    if len(segments) >= 2 and segments[-1] == "driver" and segments[-2] in _CSI_DRIVER_PARENTS:
        return True
    return container.get("name") == _CSI_DRIVER_CONTAINER


def csi_driver_facts(context: str, obj: Obj) -> CsiDriverFacts | None:
    """The Secrets Store CSI driver's rotation flags, when this DaemonSet runs the driver."""
    container = next((c for c in containers_of(obj) if is_csi_driver(c)), None)
    if container is None:
        return None
    m = meta(obj)
    tokens = container_tokens(container)
    given = flag_values(tokens, ("enable-secret-rotation",), boolean=True)
    rotation: bool | None = False
    text: str | None = None
    if given:
        last = given[-1]
        rotation = True if last is None else go_bool(last)
        text = "--enable-secret-rotation" if last is None else f"--enable-secret-rotation={last[:40]}"
    poll = flag_values(tokens, ("rotation-poll-interval",))
    return CsiDriverFacts(object_path(context, obj, "DaemonSet"), str(m.get("namespace") or ""),
                          str(m.get("name") or "?"), str(container.get("name") or "?"), rotation, text,
                          str(poll[-1])[:40] if poll and poll[-1] is not None else None)


def is_sealed_controller(container: Obj) -> bool:
    return any(_SEALED_CONTROLLER_IMAGE in segment for segment in image_repository(str(container.get("image") or "")))


def sealed_controller_facts(context: str, obj: Obj) -> SealedControllerFacts | None:
    """The Sealed Secrets controller's key renewal period (flag, else env, else the 30-day default)."""
    container = next((c for c in containers_of(obj) if is_sealed_controller(c)), None)
    if container is None:
        return None
    m = meta(obj)
    given = flag_values(container_tokens(container), ("key-renew-period", "rotate-period"))
    period: timedelta | None = _SEALED_DEFAULT
    text: str | None = None
    source = "default"
    if given:
        text, source = given[-1] or "", "args"
    else:
        for entry in container.get("env") or ():
            if not isinstance(entry, dict) or entry.get("name") not in _SEALED_ENV:
                continue
            value = entry.get("value")
            text, source = (str(value) if isinstance(value, (str, int)) else "(valueFrom)"), "env"
    if text is not None:
        period = parse_duration(text) if "$(" not in text else None
    return SealedControllerFacts(object_path(context, obj, "Deployment"), str(m.get("namespace") or ""),
                                 str(m.get("name") or "?"), str(container.get("name") or "?"), period,
                                 text[:40] if text is not None else None, source)
