"""Terraform rules: provider credentials (HCK-05), variables (HCK-06, HCK-12), tfvars (HCK-07), resources
(HCK-08), outputs (HCK-09) and rotation / expiry of managed secrets (ROT-01, ROT-02).

All rules work per module (the ``.tf`` files of one directory) so that ``var.x`` and ``local.x`` can be
followed to their literal, if any: ``var.x`` without a literal default is a reference and never a finding.
``random_password``, ``ephemeral`` resources, write-only ``*_wo`` arguments and secret-manager data sources
are what we recommend, so they never fire.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import posixpath
import re
from collections.abc import Iterator

from auditor.detect.names import analyze_name
from auditor.detect.providers import Detector, match_value
from auditor.detect.values import classify, looks_secret
from auditor.model import Confidence, DocKind, Document, Location, Repository, Severity, Value, ValueKind
from auditor.parsers.hcl_model import Block, Expr, ExprKind, HclFile, Item
from auditor.parsers.terraform import (
    FILE_CALLS,
    K8S_SECRET_ATTRS,
    K8S_SECRET_TYPES,
    STORE_PREFIXES,
    Module,
    Resolved,
    map_items,
    module_index,
    resolve,
)
from auditor.rules import Hit, RuleContext

# --- names ---------------------------------------------------------------------------------------------------

# Terraform argument names that carry a secret-looking token but hold settings, identifiers or switches.
_TF_ALLOW_PREFIX = re.compile(
    r"^(?:create|enable|enabled|manage|use|attach|is|has|skip|ignore|allow|disable|require|include|generate|"
    r"store|rotate|recovery|force|auto|should|retain)_", re.I)
_TF_ALLOW_SUFFIX = re.compile(
    r"_(?:arn|arns|id|ids|name|names|prefix|length|version|versions|path|paths|file|files|type|types|enabled|"
    r"count|days|hours|policy|policies|rotation|ttl|algorithm|usage|spec|wo|wo_version|validity|units|"
    r"duration|expiration|window|schedule|mode|location|locations|uri|url|endpoint|header|format|config|"
    r"configuration|settings|options|tags|size|specs|region|regions|kms_key|kms_key_id|description|enabled|"
    r"source|sources|parameter|parameters|ref|refs|reference|placement|store|key_id|key_ids)$", re.I)
_TF_NOT_SECRET = frozenset({
    "creation_token", "client_token", "idempotency_token", "token_type", "csrf_token", "key", "key_pair",
    "auth", "auth_type", "auth_mode", "authentication", "authorization", "authorization_type", "kms_key",
    "key_algorithm", "key_usage", "key_spec", "customer_master_key_spec", "pgp_key", "public_key", "ssh_key",
    "ssh_keys", "ssh_public_key", "ssh_authorized_keys", "key_vault_id", "key_vault_key_id", "secrets",
    "secret", "sensitive", "tokens", "keys", "credentials_source", "master_user_secret",
    "manage_master_user_password", "password_reset_required", "secret_key_ref", "secret_ref",
})
# Credential arguments: stronger tokens than the general SECRET_NAME ("key" alone is a path or an id).
_CREDENTIAL = re.compile(
    r"(?:^|_)(?:password|passwd|passphrase|pwd|pass|secret|secrets|token|api_?key|apikey|access_?key|secret_?key|"
    r"private_?key|client_?key|account_?key|master_?key|auth_?key|shared_?key|raw_?key|signing_?key|"
    r"encryption_?key|credentials?|pat|sas|psk|auth_?token|key_raw)(?:_|$)", re.I)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_KEY_SUFFIX = re.compile(r"(?:^|_)([a-z0-9]+)_key$")
_NON_SECRET_KEY_KINDS = frozenset({
    "s3", "object", "bucket", "kms", "cmk", "ssh", "public", "pub", "partition", "sort", "hash", "range",
    "primary", "foreign", "cache", "dedup", "deduplication", "routing", "idempotency", "tag", "label", "map",
    "lookup", "index", "sse", "state", "config", "dynamodb", "table", "attribute", "group", "message", "source",
    "destination", "target", "prefix", "file", "path", "grant", "alias", "customer", "managed", "image",
    "registry", "cluster", "log", "metric", "name", "id", "data", "ecr", "ebs", "rds", "efs", "sns", "sqs",
})
_REFERENCE_LITERAL = re.compile(r"^(?:var|local|data|module)\.[\w.-]+$")

PROVIDER_CREDENTIALS: dict[str, frozenset[str]] = {
    "aws": frozenset({"access_key", "secret_key", "token"}),
    "azurerm": frozenset({"client_secret", "client_certificate_password", "client_certificate", "oidc_token"}),
    "azuread": frozenset({"client_secret", "client_certificate_password", "client_certificate", "oidc_token"}),
    "google": frozenset({"credentials", "access_token"}),
    "google-beta": frozenset({"credentials", "access_token"}),
    "github": frozenset({"token"}),
    "gitlab": frozenset({"token"}),
    "kubernetes": frozenset({"token", "client_key", "password"}),
    "helm": frozenset({"token", "client_key", "password"}),
    "openai": frozenset({"api_key"}),
}
# Arguments holding a credential whatever their name says, per resource type prefix.
RESOURCE_CREDENTIALS: dict[str, frozenset[str]] = {
    "aws_db_instance": frozenset({"password"}),
    "aws_rds_cluster": frozenset({"master_password"}),
    "aws_docdb_cluster": frozenset({"master_password"}),
    "aws_redshift_cluster": frozenset({"master_password"}),
    "aws_elasticache_replication_group": frozenset({"auth_token"}),
    "openstack_compute_instance_v2": frozenset({"admin_pass"}),
}
GITHUB_SECRET_TYPES = frozenset({
    "github_actions_secret", "github_actions_environment_secret", "github_actions_organization_secret",
    "github_dependabot_secret", "github_dependabot_organization_secret", "github_codespaces_secret",
    "github_codespaces_organization_secret", "github_codespaces_user_secret",
})
USER_DATA_ATTRS = frozenset({"user_data", "user_data_base64", "custom_data", "metadata_startup_script", "user-data"})
GENERATED_SECRETS = ("random_password.", "random_string.", "tls_private_key.", "ephemeral.")
_ASSIGNMENT = re.compile(
    r"""(?:^|[\s;"'\[,])(?:export\s+|set\s+|setx\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:=|:\s)\s*"""
    r"""(\\?["'])?([^\s"'\\;,\]]+)""")


def _name_secret(name: str, ctx: RuleContext) -> bool:
    """SECRET_NAME (§D2) for a Terraform name, with the context's allowed / extra names applied."""
    snake = _snake(name)
    if any(snake == _snake(allowed) for allowed in ctx.allowed_names):
        return False
    if any(snake == _snake(extra) for extra in ctx.extra_secret_names):
        return True
    if snake in _TF_NOT_SECRET or _TF_ALLOW_PREFIX.match(snake) or _TF_ALLOW_SUFFIX.search(snake):
        return False
    info = analyze_name(snake)
    return info.secret and not info.file_like


def _snake(name: str) -> str:
    """``clientSecret`` / ``client-secret`` -> ``client_secret``."""
    return _CAMEL.sub("_", name).replace("-", "_").replace(".", "_").lower()


def _credential_name(name: str, ctx: RuleContext) -> bool:
    """A Terraform name (argument, variable, output, map key) that holds a credential.

    SECRET_NAME, narrowed for Terraform, where ``key`` alone is usually an object key, a KMS key or a path:
    a credential token (``password``, ``secret``, ``token``, ``api_key``, ``private_key``...) or a
    ``<something>_key`` whose prefix is not a known kind of non-secret key (``s3_key``, ``kms_key``...).
    """
    snake = _snake(name)
    if any(snake == _snake(extra) for extra in ctx.extra_secret_names):
        return True
    if not _name_secret(snake, ctx):
        return False
    if _CREDENTIAL.search(snake):
        return True
    m = _KEY_SUFFIX.search(snake)
    return m is not None and m.group(1) not in _NON_SECRET_KEY_KINDS


# --- values --------------------------------------------------------------------------------------------------

def _literal(resolved: Resolved) -> str | None:
    """The committed secret literal a resolved value amounts to, or None (reference, placeholder, empty...)."""
    value = resolved.value
    if value.kind is not ValueKind.LITERAL:
        return None
    text = resolved.expr.string
    if text is None:
        inner = resolved.expr
        while inner.kind is ExprKind.CALL and inner.elements:
            inner = inner.elements[0]
        text = inner.string
    if text is None or not text.strip():
        return None
    stripped = text.strip()
    if _REFERENCE_LITERAL.match(stripped) or stripped.startswith("arn:"):
        return None
    if classify(stripped).kind is not ValueKind.LITERAL:
        return None
    return text


def _confidence(text: str) -> Confidence:
    """High when the literal looks like a real credential, low for a weak or word-like one (``secret-data``)."""
    return Confidence.HIGH if looks_secret(text, name_is_secret=True) else Confidence.LOW


def _provider_key(text: str) -> Detector | None:
    detector = match_value(text)
    return detector if detector is not None and not detector.publishable else None


def _via(resolved: Resolved) -> str:
    return f" (through {' -> '.join(resolved.via)})" if resolved.via else ""


def _secret_ref(ref: str, module: Module | None, ctx: RuleContext) -> bool:
    """A reference that yields a secret: a secret-named or sensitive variable/local, a generated password, a
    secret-named resource attribute, or a secret-manager data source."""
    parts = ref.split(".")
    if ref.startswith(GENERATED_SECRETS) or ref.startswith(STORE_PREFIXES):
        return parts[0] == "ephemeral" or len(parts) < 3 or parts[-1] not in ("id", "arn", "name", "version_id")
    if parts[0] == "var" and len(parts) >= 2:
        if module is not None and parts[1] in module.variables:
            _, block = module.variables[parts[1]]
            if _flag(block, "sensitive"):
                return True
        return _credential_name(parts[-1], ctx) or _credential_name(parts[1], ctx)
    if parts[0] == "local" and len(parts) >= 2:
        return _credential_name(parts[-1], ctx)
    if parts[0] == "module" and len(parts) >= 3:
        return _credential_name(parts[-1], ctx)
    if parts[0] == "data":
        return False
    if len(parts) >= 3:
        return _credential_name(parts[-1], ctx)
    return False


def _flag(block: Block, name: str) -> bool:
    attr = block.attr(name)
    return attr is not None and attr.expr.kind is ExprKind.BOOL and attr.expr.value is True


def _loc(path: str, line: int, column: int | None = None) -> Location:
    return Location(path, line, column)


def _modules(repo: Repository) -> Iterator[Module]:
    yield from module_index(repo).values()


# --- HCK-05 --------------------------------------------------------------------------------------------------

def literal_credential_in_provider(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """HCK-05: a provider block configured with a literal credential (after var/local resolution)."""
    for module in _modules(repo):
        for doc, provider in module.blocks("provider"):
            if not provider.labels:
                continue
            name = provider.labels[0]
            known = PROVIDER_CREDENTIALS.get(name, frozenset())
            for block, route in _provider_blocks(provider, f"provider.{name}"):
                for attr in block.attrs.values():
                    if attr.name not in known and not _credential_name(attr.name, ctx):
                        continue
                    yield from _provider_arg(repo, module, doc, provider=name, arg=attr.name, expr=attr.expr,
                                             route=route)


def _provider_blocks(block: Block, route: str) -> Iterator[tuple[Block, str]]:
    yield block, route
    for nested in block.blocks:
        yield from _provider_blocks(nested, f"{route}.{nested.type}")


def _provider_arg(repo: Repository, module: Module, doc: Document, *, provider: str, arg: str, expr: Expr,
                  route: str) -> Iterator[Hit]:
    where = _loc(doc.path, expr.line, expr.column)
    committed = _committed_file(repo, module, expr)
    if committed is not None:
        yield Hit(where, f"provider {provider}: `{arg}` reads the committed file {committed}: the credential is in "
                  "the repository; remove the file from git, rotate it, and supply the credential through the "
                  "provider's environment variables or workload identity", severity=Severity.HIGH,
                  name=f"provider.{provider}.{arg}", route=f"{route}.{arg}")
        return
    resolved = resolve(expr, doc.path, module)
    text = _literal(resolved)
    if text is None:
        return
    if arg == "credentials" and not text.lstrip().startswith("{"):  # google: a path to the key file
        return
    detector = _provider_key(text)
    what = f"a literal {detector.label}" if detector else "a literal credential"
    yield Hit(where, f"provider {provider}: `{arg}` is set to {what}{_via(resolved)}: remove it and rotate it; "
              "configure the provider from its environment variables (or OIDC / assume-role / workload identity) "
              "instead", value=Value(text, ValueKind.LITERAL), confidence=Confidence.HIGH,
              name=f"provider.{provider}.{arg}", route=f"{route}.{arg}")


def _committed_file(repo: Repository, module: Module, expr: Expr) -> str | None:
    """``file("creds.json")`` / ``file("${path.module}/key.pem")`` naming a committed file of this repository."""
    inner = expr
    while inner.kind is ExprKind.CALL and inner.name not in FILE_CALLS and len(inner.elements) == 1:
        inner = inner.elements[0]
    if inner.kind is not ExprKind.CALL or inner.name not in FILE_CALLS or not inner.elements:
        return None
    arg = inner.elements[0]
    raw = arg.value if isinstance(arg.value, str) and arg.kind in (ExprKind.STRING, ExprKind.TEMPLATE) else None
    if raw is None:
        return None
    for prefix in ("${path.module}/", "${path.root}/", "./"):
        if raw.startswith(prefix):
            raw = raw[len(prefix):]
    if "${" in raw or raw.startswith(("/", "~")):
        return None
    path = posixpath.normpath(posixpath.join(module.directory, raw))
    if path in repo.files and repo.is_committed(path):
        return path
    return None


# --- HCK-06 / HCK-12 -------------------------------------------------------------------------------------------

def secret_variable_with_default(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """HCK-06: a secret-named variable (or a secret-named member of an object default) with a literal default."""
    for module in _modules(repo):
        provider_vars = _provider_credential_vars(module, ctx)
        for doc, var in module.blocks("variable"):
            if not var.labels:
                continue
            name = var.labels[0]
            default = var.attr("default")
            if default is None:
                continue
            expr = default.expr
            if _credential_name(name, ctx) and expr.kind is ExprKind.STRING:
                text = _literal(Resolved(_value(expr), expr, doc.path))
                if text is not None:
                    detector = _provider_key(text)
                    critical = detector is not None or name in provider_vars
                    what = f"a literal {detector.label}" if detector else "a literal value"
                    extra = " and configures a provider" if name in provider_vars else ""
                    yield Hit(_loc(doc.path, expr.line, expr.column),
                              f"variable {name} is secret-named{extra} and has {what} as its default: remove the "
                              "default (declare it `sensitive = true` with no default) and supply the value through "
                              "TF_VAR_" + name + " or a secret-manager data source; rotate the committed value",
                              value=Value(text, ValueKind.LITERAL),
                              severity=Severity.CRITICAL if critical else None, name=f"variable.{name}",
                              route=f"variable.{name}.default")
            elif expr.kind is ExprKind.OBJECT:
                for route, item in _leaves(expr, f"variable.{name}.default"):
                    hit = _secret_item(doc.path, item, route, ctx, what=f"variable {name}: default member")
                    if hit is not None:
                        yield hit


def _value(expr: Expr) -> Value:
    from auditor.parsers.terraform import value_of

    return value_of(expr)


def _leaves(expr: Expr, route: str) -> Iterator[tuple[str, Item]]:
    from auditor.parsers.terraform import object_leaves

    return object_leaves(expr, route)


def _secret_item(path: str, item: Item, route: str, ctx: RuleContext, *, what: str,
                 severity: Severity | None = None) -> Hit | None:
    """A secret-named object member holding a literal."""
    if item.computed or not _credential_name(item.key, ctx) or item.value.kind is not ExprKind.STRING:
        return None
    text = _literal(Resolved(_value(item.value), item.value, path))
    if text is None:
        return None
    detector = _provider_key(text)
    return Hit(_loc(path, item.value.line, item.value.column),
               f"{what} `{item.key}` is a literal {detector.label if detector else 'secret'}: remove it, rotate it "
               "and pass the value from a secret store or a sensitive variable without default",
               value=Value(text, ValueKind.LITERAL), severity=Severity.CRITICAL if detector else severity,
               confidence=_confidence(text), name=route, route=route)


def _provider_credential_vars(module: Module, ctx: RuleContext) -> set[str]:
    """Variables referenced by credential arguments of the module's provider blocks."""
    out: set[str] = set()
    for _doc, provider in module.blocks("provider"):
        known = PROVIDER_CREDENTIALS.get(provider.labels[0] if provider.labels else "", frozenset())
        for block, _route in _provider_blocks(provider, ""):
            for attr in block.attrs.values():
                if attr.name in known or _credential_name(attr.name, ctx):
                    out.update(r.split(".")[1] for r in attr.refs if r.startswith("var."))
    return out


_NON_SECRET_TYPE = re.compile(r"^\s*(?:bool|number)\s*$")


def secret_variable_not_sensitive(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """HCK-12: a secret-named variable without ``sensitive = true`` (and not ``ephemeral = true``)."""
    for module in _modules(repo):
        for doc, var in module.blocks("variable"):
            if not var.labels or _flag(var, "sensitive") or _flag(var, "ephemeral"):
                continue
            name = var.labels[0]
            if not _credential_name(name, ctx):
                continue
            type_attr = var.attr("type")
            if type_attr is not None and (_NON_SECRET_TYPE.match(type_attr.text) or
                                          _object_without_secrets(type_attr.expr, ctx)):
                continue
            default = var.attr("default")
            if default is not None and default.expr.kind in (ExprKind.BOOL, ExprKind.NUMBER):
                continue
            sensitive = var.attr("sensitive")
            anchor = (sensitive.line, sensitive.column) if sensitive else (var.line, var.column)
            where = _loc(doc.path, *anchor)
            yield Hit(where, f"variable {name} is secret-named but not `sensitive = true`: Terraform prints its value "
                      "in plan/apply output and CI logs; add `sensitive = true` (or `ephemeral = true` on "
                      "Terraform >= 1.10 when it only feeds write-only arguments)",
                      name=f"variable.{name}", route=f"variable.{name}")


def _object_without_secrets(type_expr: Expr, ctx: RuleContext) -> bool:
    """``object({credentialsParameter = string})``: a structured type none of whose attributes is a secret."""
    members = [i.key for e in type_expr.walk() if e.kind is ExprKind.CALL and e.name == "object"
               for arg in e.elements for i in arg.items]
    return bool(members) and not any(_credential_name(m, ctx) for m in members)


# --- HCK-07 --------------------------------------------------------------------------------------------------

def secret_in_tracked_tfvars(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """HCK-07: a committed tfvars file giving a secret variable a real value."""
    modules = module_index(repo)
    for doc in repo.of_kind(DocKind.TFVARS):
        if not isinstance(doc.data, HclFile) or not repo.is_committed(doc.path):
            continue
        module = modules.get(posixpath.dirname(doc.path))
        for attr in doc.data.attrs.values():
            declared_sensitive = False
            if module is not None and attr.name in module.variables:
                declared_sensitive = _flag(module.variables[attr.name][1], "sensitive")
            expr = attr.expr
            if expr.kind is ExprKind.STRING and (declared_sensitive or _credential_name(attr.name, ctx)):
                text = _literal(Resolved(_value(expr), expr, doc.path))
                if text is None:
                    continue
                detector = _provider_key(text)
                yield Hit(_loc(doc.path, expr.line, expr.column),
                          f"{attr.name} is given a literal {detector.label if detector else 'secret'} in the committed "
                          f"variable file {doc.path}: remove the file from git (`git rm --cached`, ignore `*.tfvars`), "
                          f"rotate the value and pass it as TF_VAR_{attr.name} from CI secrets or a secret store",
                          value=Value(text, ValueKind.LITERAL), severity=Severity.CRITICAL if detector else None,
                          name=attr.name, route=attr.name)
            elif expr.kind in (ExprKind.OBJECT, ExprKind.TUPLE):
                for route, item in _leaves(expr, attr.name):
                    hit = _secret_item(doc.path, item, route, ctx, what=f"{attr.name}: committed tfvars member")
                    if hit is not None:
                        yield hit


# --- HCK-08 --------------------------------------------------------------------------------------------------

def secret_in_terraform_resource(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """HCK-08: secrets held by resources (and module calls) in code or in state."""
    for module in _modules(repo):
        for doc, block in module.blocks("locals"):
            yield from _credential_args(module, doc, block, rtype="locals", address="locals", route="local", ctx=ctx)
        for doc, block in module.blocks("resource", "module", "data"):
            if block.type in ("resource", "data") and len(block.labels) != 2:
                continue
            rtype = block.labels[0] if block.type != "module" else "module"
            address = block.address
            if rtype.startswith("random_") or (block.type == "data" and f"{address}.".startswith(STORE_PREFIXES)):
                continue
            if block.type == "data":
                yield from _credential_args(module, doc, block, rtype=rtype, address=address, route=address, ctx=ctx)
                continue
            if rtype in K8S_SECRET_TYPES:
                yield from _k8s_secret(module, doc, block, address)
            if rtype in GITHUB_SECRET_TYPES:
                yield from _github_secret(module, doc, block, address)
            if rtype == "aws_ssm_parameter":
                yield from _ssm_parameter(module, doc, block, address, ctx)
            yield from _credential_args(module, doc, block, rtype=rtype, address=address, route=address, ctx=ctx)
            yield from _user_data(doc, block, address, ctx)
            yield from _local_exec(module, doc, block, address, ctx)


def _k8s_secret(module: Module, doc: Document, block: Block, address: str) -> Iterator[Hit]:
    for field_name in K8S_SECRET_ATTRS:
        for route, item in map_items(block, field_name, address):
            resolved = resolve(item.value, doc.path, module)
            text = _literal(resolved) if resolved.value.kind is ValueKind.LITERAL else None
            if text is None:
                continue
            yield Hit(_loc(doc.path, item.value.line, item.value.column),
                      f"{address}: `{field_name}.{item.key}` is a literal{_via(resolved)}: it is committed here and "
                      "stored in plain text in the state; source it from a secret store (ExternalSecret, a "
                      "secret-manager data source, or an ephemeral resource with write-only `data_wo`)",
                      value=Value(text, ValueKind.LITERAL), severity=Severity.CRITICAL, name=route, route=route)


def _github_secret(module: Module, doc: Document, block: Block, address: str) -> Iterator[Hit]:
    attr = block.attr("plaintext_value")
    if attr is None:
        return
    resolved = resolve(attr.expr, doc.path, module)
    kind = resolved.value.kind
    if kind is ValueKind.EMPTY:
        return
    if kind is ValueKind.REFERENCE and resolved.value.ref_name and resolved.value.ref_name.startswith(
            GENERATED_SECRETS + STORE_PREFIXES):
        return
    text = _literal(resolved)
    where = _loc(doc.path, attr.line, attr.column)
    if text is not None:
        yield Hit(where, f"{address}: `plaintext_value` is a literal secret{_via(resolved)}: it is committed and kept "
                  "in the state; use `encrypted_value` (encrypted with the repository public key) or a write-only "
                  "source, and rotate the secret", value=Value(text, ValueKind.LITERAL), severity=Severity.CRITICAL,
                  name=f"{address}.plaintext_value", route=f"{address}.plaintext_value")
        return
    yield Hit(where, f"{address}: `plaintext_value` stores the secret unencrypted in the Terraform state; use "
              "`encrypted_value` instead", severity=Severity.HIGH, name=f"{address}.plaintext_value",
              route=f"{address}.plaintext_value")


def _ssm_parameter(module: Module, doc: Document, block: Block, address: str, ctx: RuleContext) -> Iterator[Hit]:
    type_attr = block.attr("type")
    ptype = type_attr.expr.string if type_attr is not None else None
    if ptype is None or ptype == "SecureString":
        return
    name_attr = block.attr("name")
    pname = name_attr.expr.string if name_attr is not None else None
    segment = pname.rstrip("/").rsplit("/", 1)[-1] if pname else ""
    label = block.labels[1] if len(block.labels) > 1 else ""
    if not ((segment and _credential_name(segment, ctx)) or _credential_name(label, ctx)):
        return
    value_attr = block.attr("value") or block.attr("insecure_value")
    literal: str | None = None
    if value_attr is not None:
        resolved = resolve(value_attr.expr, doc.path, module)
        literal = _literal(resolved)
    assert type_attr is not None
    yield Hit(_loc(doc.path, type_attr.line, type_attr.column),
              f"{address}: a secret-named SSM parameter is stored as `{ptype}`, readable without KMS decryption; "
              "use `type = \"SecureString\"` (with a customer-managed `key_id`) and a write-only `value_wo`",
              value=Value(literal, ValueKind.LITERAL) if literal else None,
              severity=Severity.CRITICAL if literal else Severity.HIGH, name=f"{address}.type", route=f"{address}.type")


def _credential_args(module: Module, doc: Document, block: Block, *, rtype: str, address: str, route: str,
                     ctx: RuleContext) -> Iterator[Hit]:
    """Any credential argument (``password``, ``admin_password``, ``client_secret``, ``raw_key``...) holding a
    literal, in the resource or its nested blocks, or inside object arguments (``jsonencode({...})``)."""
    known = RESOURCE_CREDENTIALS.get(rtype, frozenset())
    for attr in block.attrs.values():
        if attr.name.endswith(("_wo", "_wo_version")) or attr.name in ("provisioner", "connection"):
            continue
        if attr.name in known or _credential_name(attr.name, ctx):
            if rtype in GITHUB_SECRET_TYPES and attr.name == "plaintext_value":
                continue
            resolved = resolve(attr.expr, doc.path, module)
            text = _literal(resolved)
            if text is not None and resolved.expr.kind is ExprKind.STRING:
                detector = _provider_key(text)
                yield Hit(_loc(doc.path, attr.expr.line, attr.expr.column),
                          f"{address}: `{attr.name}` is a literal {detector.label if detector else 'credential'}"
                          f"{_via(resolved)}: it is committed and stored in the state; generate it "
                          "(`random_password` / `manage_master_user_password`), pass it through a write-only "
                          f"`{attr.name}_wo` argument from an ephemeral source, or read it from a secret manager",
                          value=Value(text, ValueKind.LITERAL), severity=Severity.CRITICAL,
                          confidence=_confidence(text), name=f"{route}.{attr.name}", route=f"{route}.{attr.name}")
                continue
        yield from _object_credentials(doc, attr.expr, f"{route}.{attr.name}", ctx, address)
    for nested in block.blocks:
        if nested.type in ("provisioner", "connection", "lifecycle", "dynamic"):
            continue
        yield from _credential_args(module, doc, nested, rtype=rtype, address=address, route=f"{route}.{nested.type}",
                                    ctx=ctx)


def _object_credentials(doc: Document, expr: Expr, route: str, ctx: RuleContext, address: str) -> Iterator[Hit]:
    if expr.kind is ExprKind.CALL and expr.name in ("jsonencode", "yamlencode", "sensitive", "tomap", "merge"):
        for arg in expr.elements:
            yield from _object_credentials(doc, arg, route, ctx, address)
        return
    if expr.kind not in (ExprKind.OBJECT, ExprKind.TUPLE):
        return
    for sub, item in _leaves(expr, route):
        hit = _secret_item(doc.path, item, sub, ctx, what=f"{address}:", severity=Severity.CRITICAL)
        if hit is not None:
            yield hit


def _user_data(doc: Document, block: Block, address: str, ctx: RuleContext) -> Iterator[Hit]:
    for b in block.walk():
        for attr in b.attrs.values():
            if attr.name not in USER_DATA_ATTRS and not (attr.name == "metadata" and attr.expr.kind is ExprKind.OBJECT):
                continue
            exprs = [attr.expr]
            if attr.name == "metadata":
                exprs = [i.value for i in attr.expr.items if i.key in USER_DATA_ATTRS]
            for expr in exprs:
                yield from _script_secrets(doc, expr, f"{address}.{attr.name}", ctx)


def _script_texts(expr: Expr) -> Iterator[tuple[str, int]]:
    """Literal script text of a user-data expression and the line its first character is on."""
    inner = expr
    while inner.kind is ExprKind.CALL and inner.name in ("base64encode", "base64gzip", "textencodebase64",
                                                        "trimspace", "chomp", "join", "format") and inner.elements:
        if inner.name in ("join", "format"):
            for el in inner.elements:
                yield from _script_texts(el)
            return
        inner = inner.elements[0]
    if inner.kind is ExprKind.TUPLE:
        for el in inner.elements:
            yield from _script_texts(el)
        return
    if inner.kind not in (ExprKind.STRING, ExprKind.TEMPLATE) or not isinstance(inner.value, str):
        return
    first = inner.line + 1 if inner.heredoc else inner.line
    text = inner.value
    yield text, first
    decoded = _maybe_base64(text)
    if decoded is not None:
        yield decoded.replace("\n", " "), inner.line


def _maybe_base64(text: str) -> str | None:
    stripped = text.strip()
    if len(stripped) < 16 or len(stripped) % 4 or not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", stripped):
        return None
    try:
        decoded = base64.b64decode(stripped, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded if decoded.isprintable() or "\n" in decoded else None


def _script_secrets(doc: Document, expr: Expr, route: str, ctx: RuleContext) -> Iterator[Hit]:
    seen: set[int] = set()
    for text, first in _script_texts(expr):
        lines = text.split("\n") if expr.heredoc or first != expr.line else [text.replace("\n", " ")]
        for offset, line in enumerate(lines):
            lineno = first + offset
            if lineno in seen:
                continue
            hit = _script_line(doc, line, lineno, route, ctx)
            if hit is not None:
                seen.add(lineno)
                yield hit


def _script_line(doc: Document, line: str, lineno: int, route: str, ctx: RuleContext) -> Hit | None:
    for token in re.findall(r"[^\s\"'=;,\[\]]{16,}", line):
        detector = _provider_key(token)
        if detector is not None and classify(token).kind is ValueKind.LITERAL:
            return Hit(_loc(doc.path, lineno), f"{route}: the boot script embeds a literal {detector.label}: "
                       "instance metadata is readable by any process on the machine and by anyone who can describe "
                       "the instance; attach an instance role / managed identity, or fetch the secret at boot from a "
                       "secret manager", value=Value(token, ValueKind.LITERAL), severity=Severity.CRITICAL,
                       name=f"{route}:{detector.id}", route=route)
    for m in _ASSIGNMENT.finditer(line):
        name, value = m.group(1), m.group(3)
        if not _credential_name(name.split(".")[-1], ctx) or value.startswith(("$", "%", "{", "(", "`")):
            continue
        if classify(value).kind is not ValueKind.LITERAL or _REFERENCE_LITERAL.match(value):
            continue
        return Hit(_loc(doc.path, lineno), f"{route}: the boot script sets {name} to a literal secret: instance "
                   "metadata is readable by any process on the machine; use an instance role / managed identity or "
                   "fetch the secret at boot from a secret manager", value=Value(value, ValueKind.LITERAL),
                   name=f"{route}:{name}", route=route)
    return None


def _local_exec(module: Module, doc: Document, block: Block, address: str, ctx: RuleContext) -> Iterator[Hit]:
    for prov in block.blocks_of("provisioner"):
        if prov.labels[:1] != ("local-exec",):
            continue
        command = prov.attr("command")
        if command is None:
            continue
        secret = [r for r in command.refs if _secret_ref(r, module, ctx)]
        if not secret:
            continue
        yield Hit(_loc(doc.path, command.line, command.column),
                  f"{address}: the local-exec command interpolates {', '.join(secret[:3])}: the secret lands in the "
                  "command line (process list, CI logs on failure); pass it through the provisioner's "
                  "`environment` map and read $VARIABLE in the command", name=f"{address}.local-exec",
                  route=f"{address}.provisioner.local-exec.command")


# --- HCK-09 --------------------------------------------------------------------------------------------------

def secret_output_not_sensitive(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """HCK-09: an output exposing a secret without ``sensitive = true``."""
    for module in _modules(repo):
        for doc, out in module.blocks("output"):
            if not out.labels or _flag(out, "sensitive") or _flag(out, "ephemeral"):
                continue
            name = out.labels[0]
            value = out.attr("value")
            refs = value.refs if value is not None else ()
            secret_refs = [r for r in refs if _secret_ref(r, module, ctx)]
            if not secret_refs and not _credential_name(name, ctx):
                continue
            if not secret_refs and value is not None and _only_identifiers(value.expr):
                continue
            why = f"it exposes {', '.join(secret_refs[:3])}" if secret_refs else "its name says it holds a secret"
            yield Hit(_loc(doc.path, out.line, out.column),
                      f"output {name} is not `sensitive = true` and {why}: Terraform prints it after apply and "
                      "in CI logs, and passes it unmarked to callers; add `sensitive = true`",
                      name=f"output.{name}", route=f"output.{name}")


def _only_identifiers(expr: Expr) -> bool:
    """The value is made only of non-secret attributes (``.id``, ``.arn``, ``.name``...)."""
    refs = expr.refs
    return bool(refs) and all(r.rsplit(".", 1)[-1] in ("id", "arn", "name", "version_id", "version", "key_id")
                              for r in refs)


# --- ROT-01 / ROT-02 -----------------------------------------------------------------------------------------

_RATE = re.compile(r"^\s*rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)\s*$", re.I)
_CRON = re.compile(r"^\s*cron\((.*)\)\s*$", re.I)


def secret_without_rotation(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """ROT-01: an AWS Secrets Manager secret with no rotation, or rotated less often than every N days."""
    limit = ctx.rotation_fail_days
    for module in _modules(repo):
        rotated: dict[str, list[tuple[Document, Block]]] = {}
        for doc, rot in module.resources("aws_secretsmanager_secret_rotation"):
            secret_id = rot.attr("secret_id")
            for ref in secret_id.refs if secret_id else ():
                parts = ref.split(".")
                if parts[0] == "aws_secretsmanager_secret" and len(parts) >= 2:
                    rotated.setdefault(f"aws_secretsmanager_secret.{parts[1]}", []).append((doc, rot))
        for doc, secret in module.resources("aws_secretsmanager_secret"):
            address = secret.address
            rotations = list(rotated.get(address, []))
            if secret.attr("rotation_lambda_arn") is not None or secret.block("rotation_rules") is not None:
                rotations.append((doc, secret))  # provider < 5: rotation configured on the secret itself
            if not rotations:
                yield Hit(_loc(doc.path, secret.line, secret.column),
                          f"{address} has no rotation: no aws_secretsmanager_secret_rotation refers to it; add one "
                          f"(rotation_rules.automatically_after_days <= {limit}) so a leaked value expires",
                          name=address, route=address)
                continue
            for rdoc, rot in rotations:
                rules = rot.block("rotation_rules")
                if rules is None:
                    continue
                yield from _rotation_interval(module, rdoc, rules, address, limit)


def _rotation_interval(module: Module, doc: Document, rules: Block, address: str, limit: int) -> Iterator[Hit]:
    days_attr = rules.attr("automatically_after_days")
    if days_attr is not None:
        resolved = resolve(days_attr.expr, doc.path, module)
        days = resolved.expr.value if resolved.expr.kind is ExprKind.NUMBER else None
        if isinstance(days, int | float) and days > limit:
            yield Hit(_loc(doc.path, days_attr.line, days_attr.column),
                      f"{address} rotates every {days:g} days{_via(resolved)}, more than {limit}: lower "
                      f"automatically_after_days to {limit} or less", name=f"{address}.rotation", route=address)
    sched = rules.attr("schedule_expression")
    if sched is not None:
        resolved = resolve(sched.expr, doc.path, module)
        text = resolved.expr.string
        interval = schedule_days(text) if text else None
        if interval is not None and interval > limit:
            yield Hit(_loc(doc.path, sched.line, sched.column),
                      f"{address}: the rotation schedule runs about every {interval:g} days, more than {limit}: "
                      "rotate more often", name=f"{address}.rotation", route=address)


def schedule_days(expr: str) -> float | None:
    """Longest interval, in days, between runs of an AWS ``rate()`` / ``cron()`` expression (None if unknown)."""
    m = _RATE.match(expr)
    if m:
        n, unit = int(m.group(1)), m.group(2).lower()
        return n / 1440 if unit.startswith("minute") else n / 24 if unit.startswith("hour") else float(n)
    m = _CRON.match(expr)
    if not m:
        return None
    fields = m.group(1).split()
    if len(fields) < 5:
        return None
    month = fields[3]
    year = fields[5] if len(fields) > 5 else "*"
    if year not in ("*", "?") and not any(c in year for c in "*/,-"):
        return 366.0  # a single year: runs within one year only
    return _month_gap(month) * 30.5


def _month_gap(field: str) -> float:
    """Largest gap, in months, between months a cron month field selects."""
    names = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    if field in ("*", "?"):
        return 1.0
    months: set[int] = set()
    for spec in field.upper().split(","):
        part, _, step_s = spec.partition("/")
        step = int(step_s) if step_s.isdigit() else 1
        if part in ("*", ""):
            lo, hi = 1, 12
        elif "-" in part:
            a, _, b = part.partition("-")
            lo, hi = _month(a, names), _month(b, names)
        else:
            lo = hi = _month(part, names)
            if step_s:  # "1/3": from January, every third month
                hi = 12
        if lo < 1 or hi < 1:
            return 1.0
        months.update(range(lo, hi + 1, step))
    ordered = sorted(months)
    if not ordered:
        return 1.0
    gaps = [b - a for a, b in itertools.pairwise(ordered)] + [ordered[0] + 12 - ordered[-1]]
    return float(max(gaps))


def _month(token: str, names: list[str]) -> int:
    if token.isdigit():
        return int(token)
    return names.index(token[:3]) + 1 if token[:3] in names else -1


def secret_without_expiry(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """ROT-02: Key Vault secrets without expiry, Google secrets without rotation, IAM user access keys."""
    for module in _modules(repo):
        for doc, res in module.resources("azurerm_key_vault_secret"):
            if res.attr("expiration_date") is None:
                yield Hit(_loc(doc.path, res.line, res.column),
                          f"{res.address} has no expiration_date: set one (and rotate before it) so a leaked value "
                          "stops working; Azure Policy can require it", name=res.address, route=res.address)
        for doc, res in module.resources("google_secret_manager_secret"):
            if res.block("rotation") is None and res.attr("rotation") is None:
                yield Hit(_loc(doc.path, res.line, res.column),
                          f"{res.address} has no rotation block: add `rotation {{ rotation_period, next_rotation_time "
                          "}` with a Pub/Sub topic so the value is rotated on schedule", name=res.address,
                          route=res.address)
        for doc, res in module.resources("aws_iam_access_key"):
            status = res.attr("status")
            if status is not None and status.expr.string == "Inactive":
                continue
            yield Hit(_loc(doc.path, res.line, res.column),
                      f"{res.address} creates a long-lived IAM user access key (it never expires and its secret "
                      "lands in the state): use an IAM role (instance profile, IRSA, OIDC federation for CI) instead",
                      name=res.address, route=res.address)
