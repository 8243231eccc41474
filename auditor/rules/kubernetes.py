"""Kubernetes rules: plaintext Secrets (HCK-03), secrets in ConfigMaps (HCK-04), Secrets read into env vars
(K8S-01), legacy service-account token Secrets (K8S-09) and broad read access to Secrets (K8S-10).

They read the model built by :mod:`auditor.parsers.kubernetes` (manifests and Helm values) and
:mod:`auditor.parsers.kustomize`: sites for values, :class:`~auditor.parsers.kubernetes.KubeData` and
:class:`~auditor.parsers.kustomize.Kustomization` for objects, references and RBAC.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from auditor.detect.credfiles import TEMPLATE_SUFFIXES
from auditor.detect.providers import Detector
from auditor.detect.values import looks_secret
from auditor.model import DocKind, Document, Location, Repository, Severity, Site, SiteKind, ValueKind
from auditor.parsers.kubernetes import SA_TOKEN_TYPE, KubeData, RbacBinding, RbacRole, RbacRule, Subject
from auditor.parsers.kustomize import Kustomization
from auditor.rules import Hit, RuleContext
from auditor.rules.envfiles import provider_match, publishable_name, secret_name

# Secret keys that identify rather than authenticate (a username is not a credential on its own): a key with one
# of these words and none of the credential words.
_IDENTIFIER_WORDS = frozenset({
    "username", "user", "usr", "login", "host", "hostname", "port", "database", "db", "dbname", "endpoint", "region",
    "namespace", "email", "mail", "account", "accountname", "ca", "cacert", "bundle", "url", "uri", "address", "addr",
    "server", "cluster", "name", "id", "org", "organization", "project", "tenant", "bucket",
})
_CREDENTIAL_WORDS = frozenset({
    "password", "passwd", "pass", "pwd", "secret", "key", "token", "credential", "credentials", "apikey", "cred",
    "creds", "passphrase", "cert", "pem", "jwt", "bearer", "signature", "privatekey", "accountkey", "dsn",
})
_PUBLIC_SUFFIXES = (".crt", ".cert", ".cer", ".pub")
_PUBLIC_CONTENT = re.compile(r"^\s*(?:-----BEGIN (?:CERTIFICATE|PUBLIC KEY|X509 CRL)|ssh-(?:rsa|ed25519|dss) |ecdsa-)")
_URL_CREDENTIALS = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
_PRIVATE_KEY = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
_SKIP_SECRET_TYPES = frozenset({SA_TOKEN_TYPE, "helm.sh/release.v1"})
_TLS_TYPE = "kubernetes.io/tls"

# ConfigMap values that configure secrets rather than hold them.
_IDENTIFIER_VALUE = re.compile(r"^(?:[A-Za-z]+\d*|\d{1,4})(?:[-_.:/@+](?:[A-Za-z]+\d*|\d{1,4}))+$")
_SETTING_VALUES = frozenset({"yes", "no", "on", "off", "enabled", "disabled", "enable", "disable", "none",
                             "required", "optional", "auto", "default"})
_SETTING_LAST = frozenset({
    "alg", "algo", "algorithm", "encryption", "method", "mode", "policy", "hash", "hashing", "cipher", "ciphers",
    "type", "format", "length", "size", "min", "max", "ttl", "timeout", "expiry", "expiration", "lifetime",
    "interval", "rotation", "strategy", "provider", "source", "store", "file", "path", "dir", "name", "ref",
    "enabled", "required", "header", "prefix", "suffix", "version", "url", "uri", "endpoint", "host", "port",
    "mount", "namespace", "audience", "issuer", "scope", "scopes",
})
_SETTING_FIRST = frozenset({"enable", "disable", "use", "require", "allow", "skip", "insecure", "verify"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[_\-.\s/]+")

# RBAC
_READ_VERBS = frozenset({"get", "list", "watch", "*"})
_BUILTIN_SECRET_READERS = frozenset({"cluster-admin", "admin", "edit"})  # built-in ClusterRoles that read secrets
_STORE_CONTROLLER = re.compile(
    r"(?i)external-?secrets|sealed-?secrets|secrets-store|csi-secrets-store|vault|hashicorp|onepassword|"
    r"1password|doppler|akeyless|infisical|bitwarden"
)
_CONTROLLER_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/part-of", "app.kubernetes.io/instance", "app")
_BROAD_GROUPS = frozenset({"system:serviceaccounts", "system:authenticated", "system:unauthenticated"})


# -------------------------------------------------------------------------------------------- HCK-03


def plaintext_secret_manifest(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """HCK-03: a committed Secret, Kustomize secretGenerator or Helm values file holding plaintext secrets."""
    for doc in repo.documents:
        if doc.kind is DocKind.KUBERNETES:
            yield from _secret_objects(doc, ctx)
        elif doc.kind is DocKind.KUSTOMIZATION:
            yield from _secret_generators(repo, doc, ctx)
        elif doc.kind is DocKind.HELM_VALUES:
            yield from _helm_values(doc, ctx)


def _secret_objects(doc: Document, ctx: RuleContext) -> Iterator[Hit]:
    for site in doc.sites_of(SiteKind.SECRET_DATA):
        context = site.context
        if context.get("sops") == "true" or context.get("type") in _SKIP_SECRET_TYPES:
            continue
        if not _secret_literal(site, ctx):
            continue
        assert site.value is not None  # checked by _secret_literal
        tls = context.get("type") == _TLS_TYPE
        detector = None if tls else provider_match(site.value.text)
        field = context.get("field", "data")
        ref = f"Secret {context.get('name') or '?'}"
        how = ("only base64-encoded (encoding is not encryption)" if context.get("encoding") in {"base64", "binary"}
               else "in plain text")
        what = _a(detector.label) if detector is not None else ("a TLS private key" if tls else "a secret value")
        message = (
            f"{ref}: {field}.{site.name} holds {what} {how} in a committed manifest, readable by anyone with "
            "access to the repository and its history: commit a SealedSecret or a SOPS-encrypted file instead, "
            "or sync it from a secret store (External Secrets, Secrets Store CSI driver), and rotate the value"
        )
        yield _hit(site, message, detector)


def _secret_literal(site: Site, ctx: RuleContext) -> bool:
    """A real credential in a Secret key: any real value under a secret name; under another name (``config.json``,
    ``tls.key``, ``connection``) a value that is itself recognisably a secret. Usernames, hosts and public
    certificates are not credentials."""
    value = site.value
    if value is None or value.kind is not ValueKind.LITERAL:
        return False
    key = site.name.lower()
    text = value.text
    private = bool(_PRIVATE_KEY.search(text))
    if _identifier_key(site.name) and not (_URL_CREDENTIALS.search(text) or private):
        return False
    if (key.endswith(_PUBLIC_SUFFIXES) or _PUBLIC_CONTENT.match(text)) and not private:
        return False
    if secret_name(site.name, ctx) or private or _URL_CREDENTIALS.search(text):
        return True
    if key in {".dockerconfigjson", ".dockercfg"}:
        return '"auth"' in text or '"password"' in text
    return looks_secret(text)


def _identifier_key(name: str) -> bool:
    """``username``, ``node.session.auth.username_in``, ``apiAddress``: names, not credentials."""
    words = {t.lower() for t in _CAMEL.split(name) if t}
    return bool(words & _IDENTIFIER_WORDS) and not words & _CREDENTIAL_WORDS


def _secret_generators(repo: Repository, doc: Document, ctx: RuleContext) -> Iterator[Hit]:
    for site in doc.sites_of(SiteKind.SECRET_DATA):
        if not _secret_literal(site, ctx):
            continue
        assert site.value is not None
        detector = provider_match(site.value.text)
        generator_name = site.context.get("name", "?")
        what = _a(detector.label) if detector is not None else "a secret value"
        message = (
            f"secretGenerator {generator_name}: literal {site.name} puts {what} in the committed kustomization: "
            "generate the Secret from a file kept out of git (`envs:` with a git-ignored env file), or use "
            "a SOPS-encrypted generator (ksops) or External Secrets, and rotate the value"
        )
        yield _hit(site, message, detector)
    data = doc.data
    if not isinstance(data, Kustomization):
        return
    for generator in data.generators:
        if generator.kind != "secretGenerator":
            continue
        for source in generator.sources:
            path = source.resolved
            if path is None or path not in repo.files or not repo.is_committed(path):
                continue
            if (source.key or posixpath.basename(path)).lower().endswith(_PUBLIC_SUFFIXES):
                continue
            if path.lower().endswith(TEMPLATE_SUFFIXES):
                continue
            if _only_placeholders(repo.document(path)):
                continue
            message = (
                f"secretGenerator {generator.name}: `{source.how}` reads {path}, a file committed to the "
                "repository, so the Secret's content is in git: git-ignore the file and provide it at build "
                "time (CI secret, SOPS/ksops), and rotate what it held"
            )
            yield Hit(Location(doc.path, source.line), message, name=f"{generator.name}:{path}",
                      route=f"secretGenerator[{generator.name}].{source.how}")


def _only_placeholders(doc: Document | None) -> bool:
    """A parsed env file whose every value is empty, a placeholder or a reference (a template)."""
    if doc is None or not doc.sites:
        return False
    return all(s.value is None or s.value.kind is not ValueKind.LITERAL for s in doc.sites)


def _helm_values(doc: Document, ctx: RuleContext) -> Iterator[Hit]:
    for site in doc.sites_of(SiteKind.CONFIG_KEY):
        value = site.value
        if value is None or value.kind is not ValueKind.LITERAL or publishable_name(site.name):
            continue
        detector = provider_match(value.text)
        if detector is None:
            named = secret_name(site.name, ctx)
            if not named or not (looks_secret(value.text, name_is_secret=True) or _PRIVATE_KEY.search(value.text)):
                continue
        what = _a(detector.label) if detector is not None else "a secret value"
        message = (
            f"Helm value {site.route or site.name} holds {what} in a committed values file; the chart renders it "
            "into a plaintext Secret: point the chart at an existing Secret (`existingSecret`), or keep the "
            "value in a SOPS-encrypted values file (helm-secrets) or a store, and rotate it"
        )
        yield _hit(site, message, detector)


def _hit(site: Site, message: str, detector: Detector | None) -> Hit:
    return Hit(site.location, message, value=site.value, severity=Severity.CRITICAL if detector else None,
               name=site.name, route=site.route or None)


# -------------------------------------------------------------------------------------------- HCK-04


def secret_in_configmap(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """HCK-04: a ConfigMap (or configMapGenerator) key holding a secret."""
    for doc in repo.of_kind(DocKind.KUBERNETES, DocKind.KUSTOMIZATION):
        reported: set[int] = set()
        files: list[tuple[int, int, str]] = []  # multi-line values: (first line, last line, key)
        for site in doc.sites_of(SiteKind.CONFIG_KEY):
            value = site.value
            if site.context.get("kind") != "ConfigMap" or value is None or value.kind is not ValueKind.LITERAL:
                continue
            if site.location.line in reported:
                continue
            private = bool(_PRIVATE_KEY.search(value.text))
            if "\n" in value.text.strip() and not private:
                # a whole file: its KEY=value lines are sites of their own; provider keys are found by line below
                files.append((site.location.line, site.location.end_line or site.location.line, site.name))
                continue
            detector = provider_match(value.text)
            if detector is None and not private and not _configmap_secret(site, ctx):
                continue
            reported.add(site.location.line)
            yield _configmap_hit(site, detector, private)
        for key in doc.keys:  # provider keys inside multi-line ConfigMap values, at their own line
            if key.publishable or key.location.line in reported:
                continue
            outer = next((name for start, end, name in files if start <= key.location.line <= end), None)
            if outer is not None:
                reported.add(key.location.line)
                message = (
                    f"ConfigMap value {outer} holds {_a(key.label)}; ConfigMaps are not meant for secrets: move it to "
                    "a Secret fed from a store (External Secrets, CSI driver) or sealed, and rotate the key"
                )
                yield Hit(key.location, message, value=key.value, severity=Severity.CRITICAL, name=outer)


def _configmap_secret(site: Site, ctx: RuleContext) -> bool:
    """A secret name with a value that is a credential, not a setting or the name of a Secret."""
    assert site.value is not None
    if not secret_name(site.name, ctx) or publishable_name(site.name):
        return False
    tokens = [t.lower() for t in _CAMEL.split(site.name) if t]
    if tokens and (tokens[-1] in _SETTING_LAST or tokens[0] in _SETTING_FIRST):
        return False
    text = site.value.text.strip()
    if text.lower() in _SETTING_VALUES or text.startswith("/") or " " in text:
        return False
    if "://" in text:
        return bool(_URL_CREDENTIALS.search(text))
    return not _IDENTIFIER_VALUE.match(text)


def _configmap_hit(site: Site, detector: Detector | None, private: bool) -> Hit:
    what = _a(detector.label) if detector is not None else ("a private key" if private else "a secret value")
    inner = site.context.get("embedded_in")
    where = f"{inner}: {site.name}" if inner else site.name
    kind = "configMapGenerator" if site.context.get("generator") else "ConfigMap"
    message = (
        f"{kind} {site.context.get('name') or '?'}: {where} holds {what}; ConfigMaps are not meant for secrets "
        "(readable by any role that can read config, shown by `kubectl describe`, not encrypted at rest): move it "
        "to a Secret fed from a store (External Secrets, CSI driver) or sealed, referenced with secretKeyRef or a "
        "volume"
    )
    return Hit(site.location, message, value=site.value, severity=Severity.CRITICAL if detector or private else None,
               name=site.name, route=site.route or None)


# -------------------------------------------------------------------------------------------- K8S-01


def secret_consumed_as_env(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """K8S-01: a container reads a Secret through environment variables (secretKeyRef / envFrom.secretRef)."""
    for doc, data in _manifests(repo):
        for ref in data.env_secret_refs:
            owner = f"{ref.container_list[:-1]} {ref.container} of {ref.obj.ref}"
            if ref.via == "secretKeyRef":
                what = f"key {ref.key or '?'} of Secret {ref.secret or '?'} into env var {ref.env_name}"
            else:
                what = f"every key of Secret {ref.secret or '?'} into env vars (envFrom)"
            message = (
                f"{owner} reads {what}: environment variables are inherited by child processes, printed by "
                "crash reporters and debug endpoints, and need a restart to pick up a rotated value; mount the "
                "Secret as a volume (or via the CSI driver) and have the app read the file"
            )
            yield Hit(Location(doc.path, ref.line, ref.column), message, name=ref.env_name or ref.secret,
                      route=ref.route)
    yield from _terraform_env_secret_refs(repo)


# Terraform kubernetes provider resources that run containers (`kubernetes_deployment`, `..._v1`...)
_TF_WORKLOADS = frozenset({
    "kubernetes_pod", "kubernetes_deployment", "kubernetes_stateful_set", "kubernetes_daemon_set",
    "kubernetes_daemonset", "kubernetes_job", "kubernetes_cron_job", "kubernetes_replication_controller",
})


def _terraform_env_secret_refs(repo: Repository) -> Iterator[Hit]:
    """K8S-01 for workloads declared through Terraform's kubernetes provider: ``env { value_from {
    secret_key_ref {...} } }`` and ``env_from { secret_ref {...} }`` in any container block."""
    from auditor.parsers.hcl_model import HclFile

    for doc in repo.of_kind(DocKind.TERRAFORM):
        if not isinstance(doc.data, HclFile):
            continue
        for resource in doc.data.resources():
            if resource.labels[0].removesuffix("_v1") not in _TF_WORKLOADS:
                continue
            for block in resource.walk():
                ref = None
                if block.type == "env" and (value_from := block.block("value_from")) is not None:
                    ref = value_from.block("secret_key_ref")
                elif block.type == "env_from":
                    ref = block.block("secret_ref")
                if ref is None:
                    continue
                secret = ref.attr("name")
                secret_name = secret.text if secret is not None else "?"
                message = (
                    f"{resource.address} reads Secret {secret_name} into environment variables ({block.type}): "
                    "they are inherited by child processes, printed by crash reporters and debug endpoints, and "
                    "need a restart to pick up a rotated value; mount the Secret as a volume and read the file"
                )
                yield Hit(Location(doc.path, ref.line, ref.column), message, name=f"{resource.address}.{block.type}",
                          route=f"{resource.address}.{block.type}@{ref.line}")


# -------------------------------------------------------------------------------------------- K8S-09


def service_account_token_secret(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """K8S-09: a legacy, non-expiring ``kubernetes.io/service-account-token`` Secret."""
    for doc, data in _manifests(repo):
        for obj in data.secrets():
            if obj.secret_type != SA_TOKEN_TYPE:
                continue
            account = obj.annotations.get("kubernetes.io/service-account.name") or "?"
            message = (
                f"Secret {obj.name or '?'} is a legacy token for service account {account}: it never expires "
                "and works until the Secret is deleted; use the TokenRequest API (projected "
                "serviceAccountToken volumes, `kubectl create token`) for short-lived, audience-bound tokens"
            )
            line = obj.type_line or obj.kind_line
            yield Hit(Location(doc.path, line), message, name=obj.name, route=f"{obj.ref}.type")


# -------------------------------------------------------------------------------------------- K8S-10


@dataclass(frozen=True, slots=True)
class _RoleAt:
    path: str
    role: RbacRole


def broad_secret_read_access(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """K8S-10: RBAC letting a cluster-wide binding or a default service account read every Secret."""
    roles: list[_RoleAt] = []
    bindings: list[tuple[str, RbacBinding]] = []
    for doc, data in _manifests(repo):
        roles.extend(_RoleAt(doc.path, role) for role in data.roles)
        bindings.extend((doc.path, b) for b in data.bindings)
    defined = {(r.role.obj.kind, r.role.obj.name) for r in roles}
    for at in roles:
        role = at.role
        if _exempt_role(role.obj.name, role.obj.labels):
            continue
        grants = [rule for rule in role.rules if _reads_secrets(rule)]
        if not grants:
            continue
        for binding_path, binding in bindings:
            why = _broad(role, binding)
            if why is None or _exempt_binding(binding):
                continue
            for rule in grants:
                verbs = ", ".join(v for v in rule.verbs if v in _READ_VERBS)
                message = (
                    f"{role.obj.kind} {role.obj.name or '?'} grants {verbs} on all Secrets"
                    f"{' (resources: *)' if 'secrets' not in rule.resources else ''} and "
                    f"{binding.obj.kind} {binding.obj.name or '?'} ({binding_path}) {why}: every API key in "
                    f"{'the cluster' if 'cluster-wide' in why else 'the namespace'} is readable with that "
                    "identity; list the Secrets it needs in `resourceNames`, or use a store (External Secrets, "
                    "CSI driver) so workloads never read Secrets through the API"
                )
                yield Hit(Location(at.path, rule.secrets_line or rule.line), message, name=role.obj.name,
                          route=f"{role.obj.ref}.rules")
            break  # one report per role rule, whatever the number of bindings
    for binding_path, binding in bindings:  # built-in roles that read secrets, bound broadly
        if binding.role_kind != "ClusterRole" or binding.role_name not in _BUILTIN_SECRET_READERS:
            continue
        if ("ClusterRole", binding.role_name) in defined or _exempt_binding(binding):
            continue
        why = _broad_subjects(binding, cluster_wide=binding.obj.kind == "ClusterRoleBinding")
        if why is None:
            continue
        message = (
            f"{binding.obj.kind} {binding.obj.name or '?'} binds the built-in ClusterRole {binding.role_name}, "
            f"which can read every Secret, and {why}: every API key in scope is readable with that identity; bind "
            "a role that lists only the Secrets needed in `resourceNames`"
        )
        yield Hit(Location(binding_path, binding.role_line), message, name=binding.obj.name,
                  route=f"{binding.obj.ref}.roleRef")


def _reads_secrets(rule: RbacRule) -> bool:
    if rule.resource_names or rule.secrets_line is None:
        return False
    if not any(v in _READ_VERBS for v in rule.verbs):
        return False
    return not rule.api_groups or any(g in {"", "*"} for g in rule.api_groups)


def _broad(role: RbacRole, binding: RbacBinding) -> str | None:
    """Why ``binding`` makes ``role`` broad, or None when it does not bind it broadly."""
    obj = role.obj
    if binding.role_kind != obj.kind or binding.role_name != obj.name:
        return None
    if obj.kind == "Role":
        if binding.obj.kind != "RoleBinding":
            return None
        if obj.namespace and binding.obj.namespace and obj.namespace != binding.obj.namespace:
            return None
    return _broad_subjects(binding, cluster_wide=binding.obj.kind == "ClusterRoleBinding")


def _broad_subjects(binding: RbacBinding, cluster_wide: bool) -> str | None:
    subjects = binding.subjects
    for subject in subjects:
        if subject.kind == "ServiceAccount" and subject.name == "default":
            scope = "cluster-wide " if cluster_wide else ""
            return f"grants it {scope}to the `default` service account{_ns(subject)}, which every pod without its " \
                   "own service account runs as"
        if subject.kind == "Group" and (subject.name in _BROAD_GROUPS or
                                        subject.name.startswith("system:serviceaccounts:")):
            return f"grants it {'cluster-wide ' if cluster_wide else ''}to the group {subject.name}"
    accounts = [s for s in subjects if s.kind == "ServiceAccount"]
    if cluster_wide and accounts:  # workloads; people (User, Group) with cluster-wide read are admins by design
        names = ", ".join(f"{s.namespace}/{s.name}" if s.namespace else s.name for s in accounts[:3])
        return f"grants it cluster-wide to the service account{'s' if len(accounts) > 1 else ''} {names}"
    return None


def _ns(subject: Subject) -> str:
    return f" of namespace {subject.namespace}" if subject.namespace else ""


def _exempt_role(name: str | None, labels: Mapping[str, str]) -> bool:
    if name and (name.startswith("system:") or _STORE_CONTROLLER.search(name)):
        return True
    return any(_STORE_CONTROLLER.search(labels.get(key, "")) for key in _CONTROLLER_LABELS)


def _exempt_binding(binding: RbacBinding) -> bool:
    if (binding.obj.name or "").startswith("system:"):
        return True
    accounts = [s for s in binding.subjects if s.kind == "ServiceAccount"]
    return bool(accounts) and all(_STORE_CONTROLLER.search(s.name) or
                                  _STORE_CONTROLLER.search(s.namespace or "") for s in accounts)


# ------------------------------------------------------------------------------------------- helpers


def _a(label: str) -> str:
    return f"{'an' if label[:1].upper() in 'AEIOU' else 'a'} {label}"


def _manifests(repo: Repository) -> Iterator[tuple[Document, KubeData]]:
    for doc in repo.of_kind(DocKind.KUBERNETES):
        if isinstance(doc.data, KubeData):
            yield doc, doc.data
