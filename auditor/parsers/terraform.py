"""Terraform (``.tf``, ``.tf.json``) and variable files (``.tfvars``, ``.tfvars.json``, ``.auto.tfvars``).

``doc.data`` is an :class:`~auditor.parsers.hcl_model.HclFile` (blocks, attributes, expressions with
exact positions). Sites recorded:

- ``variable`` blocks: ``SiteKind.VARIABLE`` (value = the classified default, or None without one;
  context ``sensitive`` / ``ephemeral`` / ``type``), at the default's line when there is one;
- ``output`` blocks: ``SiteKind.OUTPUT`` (context ``sensitive``);
- every argument of a ``provider`` block, nested blocks included: ``SiteKind.CONFIG_KEY`` with context
  ``{"block": "provider", "provider": <name>}``;
- runtime environment maps of resources: Lambda ``environment.variables``, ECS/Batch
  ``container_definitions``/``container_properties`` (inline ``jsonencode(...)`` or JSON heredocs;
  ``secrets[].valueFrom`` is a store reference), Azure ``app_settings``, Cloud Run / Cloud Functions /
  App Runner / CodeBuild / Kubernetes-provider ``env`` blocks: ``SiteKind.ENV``, phase runtime;
- ``kubernetes_secret(_v1)`` ``data``/``string_data``/``binary_data`` keys: ``SiteKind.SECRET_DATA``;
- tfvars assignments (and string leaves of object values): ``SiteKind.VARIABLE``, phase provision.

Values are classified once, here: ``var.x``/``local.x``/``data.x``/resource attributes are references
(``RefKind.VARIABLE``; secret-manager data sources and ``ephemeral.*`` are ``RefKind.STORE``).
Whether a ``var.x`` has a literal default is a module-level question: :func:`module_index` and
:func:`resolve` answer it over all ``.tf`` documents of one directory.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from auditor.detect.values import classify
from auditor.model import (
    Diagnostic,
    DocKind,
    Document,
    Location,
    Phase,
    RefKind,
    Repository,
    Site,
    SiteKind,
    Value,
    ValueKind,
)
from auditor.parsers.hcl_model import Attr, Block, Expr, ExprKind, HclFile, Item

__all__ = [
    "Module",
    "Resolved",
    "is_terraform_name",
    "is_tfvars_name",
    "module_index",
    "parse",
    "resolve",
    "value_of",
]

# data sources and prefixes whose values come from a secret store
STORE_PREFIXES = (
    "ephemeral.", "data.aws_secretsmanager_secret_version.", "data.aws_secretsmanager_secret.",
    "data.aws_ssm_parameter.", "data.aws_ssm_parameters_by_path.", "data.aws_kms_secrets.", "data.aws_kms_secret.",
    "data.google_secret_manager_secret_version.", "data.google_secret_manager_secret_version_access.",
    "data.azurerm_key_vault_secret.", "data.azurerm_key_vault_secrets.", "data.vault_", "data.hcp_vault_secrets_",
    "data.onepassword_", "data.doppler_", "data.sops_", "data.akeyless_", "data.infisical_", "data.bitwarden_",
    "data.conjur_", "data.kubernetes_secret.", "data.kubernetes_secret_v1.",
)
# calls whose value is their (single) argument's, for classification purposes
TRANSPARENT_CALLS = frozenset({
    "sensitive", "nonsensitive", "tostring", "trimspace", "chomp", "trim", "base64encode", "base64decode",
    "textencodebase64", "lower", "upper", "coalesce", "try", "one",
})
FILE_CALLS = frozenset({"file", "filebase64", "templatefile", "pathexpand", "fileexists"})
ENV_MAP_ATTRS = frozenset({
    "environment_variables", "build_environment_variables", "app_settings", "runtime_environment_variables",
    "env_vars", "environment_vars",
})
CONTAINER_JSON_ATTRS = frozenset({"container_definitions", "container_properties", "node_properties"})
K8S_SECRET_TYPES = frozenset({"kubernetes_secret", "kubernetes_secret_v1"})
K8S_SECRET_ATTRS = ("data", "string_data", "binary_data")
_MAX_DEPTH = 8


def is_tfvars_name(name: str) -> bool:
    lower = name.lower()
    return lower.endswith((".tfvars", ".tfvars.json"))


def is_terraform_name(name: str) -> bool:
    lower = name.lower()
    return lower.endswith((".tf", ".tf.json"))


# --- value classification -------------------------------------------------------------------------------

def ref_kind(dotted: str) -> RefKind:
    return RefKind.STORE if dotted.startswith(STORE_PREFIXES) else RefKind.VARIABLE


def value_of(expr: Expr) -> Value:
    """Classify an expression once: literal, reference, placeholder, interpolated or empty."""
    k = expr.kind
    if k is ExprKind.STRING:
        return classify(expr.value if isinstance(expr.value, str) else "")
    if k in (ExprKind.NUMBER, ExprKind.BOOL):
        return Value(expr.text, ValueKind.LITERAL)
    if k is ExprKind.NULL:
        return Value("", ValueKind.EMPTY)
    if k is ExprKind.TRAVERSAL:
        return Value(expr.text, ValueKind.REFERENCE, ref_kind(expr.name), expr.name)
    if k is ExprKind.TEMPLATE:
        text = expr.value if isinstance(expr.value, str) else expr.text
        sole = _sole_ref(text, expr.refs)
        if sole is not None:
            return Value(text, ValueKind.REFERENCE, ref_kind(sole), sole)
        return Value(text, ValueKind.INTERPOLATED)
    if k is ExprKind.CALL:
        if expr.name in TRANSPARENT_CALLS and len(expr.elements) >= 1:
            return value_of(expr.elements[0])
        if expr.name in FILE_CALLS and expr.elements:
            first = expr.elements[0]
            path = first.value if isinstance(first.value, str) else first.text
            return Value(expr.text, ValueKind.REFERENCE, RefKind.PATH, path)
        if expr.refs:
            return Value(expr.text, ValueKind.REFERENCE, ref_kind(expr.refs[0]), expr.refs[0])
        if any(e.kind is ExprKind.STRING for a in expr.elements for e in a.walk()):
            return Value(expr.text, ValueKind.LITERAL)
        return Value(expr.text, ValueKind.INTERPOLATED)
    if k in (ExprKind.OBJECT, ExprKind.TUPLE):
        if not expr.items and not expr.elements:
            return Value("", ValueKind.EMPTY)
        return Value(expr.text, ValueKind.INTERPOLATED if expr.refs else ValueKind.LITERAL)
    if expr.refs:
        return Value(expr.text, ValueKind.REFERENCE, ref_kind(expr.refs[0]), expr.refs[0])
    return Value(expr.text, ValueKind.INTERPOLATED)


def _sole_ref(text: str, refs: tuple[str, ...]) -> str | None:
    """``"${var.x}"`` (the whole template is one reference) -> ``var.x``."""
    stripped = text.strip()
    if len(refs) == 1 and stripped.startswith("${") and stripped.endswith("}") and stripped.count("${") == 1:
        inner = stripped[2:-1].strip()
        if inner.startswith(refs[0]) and all(c.isalnum() or c in "._-[]\"'*" for c in inner):
            return refs[0]
    return None


def literal_text(expr: Expr) -> str | None:
    """The decoded text of a string literal, through transparent calls (``sensitive("...")``)."""
    while expr.kind is ExprKind.CALL and expr.name in TRANSPARENT_CALLS and expr.elements:
        expr = expr.elements[0]
    return expr.string


# --- parse ------------------------------------------------------------------------------------------------

def parse(doc: Document, text: str) -> None:
    lower = doc.path.lower()
    is_json = lower.endswith(".json")
    tfvars = doc.kind is DocKind.TFVARS or is_tfvars_name(lower)
    hcl: HclFile
    if is_json:
        from auditor.parsers.hcl_json import JsonError, parse_json, terraform_json

        try:
            root = parse_json(text)
        except JsonError as exc:
            doc.diagnostics.append(Diagnostic(doc.path, exc.line, f"invalid JSON ({exc}); file not read"))
            doc.data = HclFile(syntax="json")
            return
        hcl = terraform_json(root, tfvars)
    else:
        from auditor.parsers.hcl_ts import parse_hcl

        hcl, error_line = parse_hcl(text)
        if error_line is not None:
            doc.diagnostics.append(Diagnostic(
                doc.path, error_line, "invalid HCL: syntax error here; the blocks that parsed were read", "warning"))
    doc.data = hcl
    if tfvars:
        doc.sites.extend(_tfvars_sites(doc, hcl))
        return
    for block in hcl.blocks:
        if block.type == "variable" and block.labels:
            doc.sites.append(_variable_site(doc, block))
        elif block.type == "output" and block.labels:
            site = _output_site(doc, block)
            if site is not None:
                doc.sites.append(site)
        elif block.type == "provider" and block.labels:
            doc.sites.extend(_provider_sites(doc, block, block, f"provider.{block.labels[0]}"))
        elif block.type == "resource" and len(block.labels) == 2:
            doc.sites.extend(_resource_sites(doc, block))


def _loc(doc: Document, line: int, column: int | None = None) -> Location:
    return Location(doc.path, line, column)


def _flag(block: Block, name: str) -> bool:
    attr = block.attr(name)
    return attr is not None and attr.expr.kind is ExprKind.BOOL and attr.expr.value is True


def _variable_site(doc: Document, block: Block) -> Site:
    default = block.attr("default")
    type_attr = block.attr("type")
    context = {"block": "variable", "sensitive": str(_flag(block, "sensitive")).lower(),
               "ephemeral": str(_flag(block, "ephemeral")).lower()}
    if type_attr is not None:
        context["type"] = type_attr.text
    name = block.labels[0]
    if default is None:
        return Site(SiteKind.VARIABLE, name, None, _loc(doc, block.line, block.column), Phase.PROVISION,
                    doc.environment, f"variable.{name}", context)
    return Site(SiteKind.VARIABLE, name, value_of(default.expr), _loc(doc, default.expr.line, default.expr.column),
                Phase.PROVISION, doc.environment, f"variable.{name}.default", context)


def _output_site(doc: Document, block: Block) -> Site | None:
    value = block.attr("value")
    name = block.labels[0]
    context = {"block": "output", "sensitive": str(_flag(block, "sensitive")).lower(),
               "ephemeral": str(_flag(block, "ephemeral")).lower()}
    return Site(SiteKind.OUTPUT, name, value_of(value.expr) if value else None, _loc(doc, block.line, block.column),
                Phase.PROVISION, doc.environment, f"output.{name}", context)


def _provider_sites(doc: Document, provider: Block, block: Block, route: str) -> Iterator[Site]:
    context = {"block": "provider", "provider": provider.labels[0]}
    alias = provider.attr("alias")
    if alias is not None and alias.expr.string:
        context["alias"] = alias.expr.string
    for attr in block.attrs.values():
        yield Site(SiteKind.CONFIG_KEY, attr.name, value_of(attr.expr), _loc(doc, attr.line, attr.column),
                   Phase.PROVISION, doc.environment, f"{route}.{attr.name}", context)
    for nested in block.blocks:
        yield from _provider_sites(doc, provider, nested, f"{route}.{nested.type}")


def _tfvars_sites(doc: Document, hcl: HclFile) -> Iterator[Site]:
    for attr in hcl.attrs.values():
        ctx = {"block": "tfvars"}
        yield Site(SiteKind.VARIABLE, attr.name, value_of(attr.expr), _loc(doc, attr.line, attr.column),
                   Phase.PROVISION, doc.environment, attr.name, ctx)
        for route, item in object_leaves(attr.expr, attr.name):
            yield Site(SiteKind.VARIABLE, item.key, value_of(item.value), _loc(doc, item.line, item.column),
                       Phase.PROVISION, doc.environment, route, ctx)


def object_leaves(expr: Expr, route: str) -> Iterator[tuple[str, Item]]:
    """``(route, item)`` for every scalar member of nested objects (and objects inside tuples)."""
    if expr.kind is ExprKind.OBJECT:
        for item in expr.items:
            sub = f"{route}.{item.key}"
            if item.value.kind in (ExprKind.OBJECT, ExprKind.TUPLE):
                yield from object_leaves(item.value, sub)
            elif not item.computed:
                yield sub, item
    elif expr.kind is ExprKind.TUPLE:
        for i, el in enumerate(expr.elements):
            yield from object_leaves(el, f"{route}[{i}]")


# --- resource environment maps ----------------------------------------------------------------------------

def _resource_sites(doc: Document, resource: Block) -> Iterator[Site]:
    rtype = resource.labels[0]
    address = resource.address
    ctx = {"block": "resource", "resource": rtype}
    if rtype in K8S_SECRET_TYPES:
        for name in K8S_SECRET_ATTRS:
            for route, item in map_items(resource, name, address):
                yield Site(SiteKind.SECRET_DATA, item.key, value_of(item.value), _loc(doc, item.line, item.column),
                           Phase.RUNTIME, doc.environment, route, {**ctx, "field": name})
    yield from _env_sites(doc, resource, resource, address, ctx)


def map_items(block: Block, name: str, route: str) -> Iterator[tuple[str, Item]]:
    """Members of a map argument, whether written ``name = {...}`` or (JSON syntax) as a nested block."""
    attr = block.attr(name)
    if attr is not None and attr.expr.kind is ExprKind.OBJECT:
        for item in attr.expr.items:
            if not item.computed:
                yield f"{route}.{name}.{item.key}", item
        return
    for nested in block.blocks_of(name):
        for a in nested.attrs.values():
            yield f"{route}.{name}.{a.name}", Item(a.name, a.line, a.column, a.expr)


def _env_sites(doc: Document, resource: Block, block: Block, route: str, ctx: dict[str, str]) -> Iterator[Site]:
    for attr in block.attrs.values():
        is_map = attr.name in ENV_MAP_ATTRS or (attr.name == "variables" and block.type == "environment") or (
            attr.name == "environment" and attr.expr.kind is ExprKind.OBJECT and block is not resource)
        if is_map:
            for sub, item in map_items(block, attr.name, route):
                yield _env_site(doc, item.key, item.value, line=item.line, column=item.column, route=sub, ctx=ctx)
        elif attr.name in CONTAINER_JSON_ATTRS:
            yield from _container_env(doc, attr.expr, f"{route}.{attr.name}", ctx)
    for nested in block.blocks:
        sub = f"{route}.{nested.type}"
        if nested.type in ENV_MAP_ATTRS or (nested.type == "variables" and block.type == "environment"):
            for a in nested.attrs.values():  # JSON syntax: the map became a block
                yield _env_site(doc, a.name, a.expr, line=a.line, column=a.column, route=f"{sub}.{a.name}", ctx=ctx)
            continue
        if nested.type in ("env", "environment_variable"):
            site = _env_block_site(doc, nested, sub, ctx)
            if site is not None:
                yield site
            continue
        yield from _env_sites(doc, resource, nested, sub, ctx)


def _env_site(doc: Document, name: str, expr: Expr, *, line: int, column: int, route: str,
              ctx: dict[str, str]) -> Site:
    return Site(SiteKind.ENV, name, value_of(expr), _loc(doc, line, column), Phase.RUNTIME, doc.environment, route, ctx)


def _env_block_site(doc: Document, block: Block, route: str, ctx: dict[str, str]) -> Site | None:
    """``env { name = "X" value = "..." }`` (Cloud Run, Kubernetes provider), ``environment_variable {...}``
    (CodeBuild: ``type`` PARAMETER_STORE / SECRETS_MANAGER makes the value a store path)."""
    name_attr = block.attr("name")
    name = literal_text(name_attr.expr) if name_attr else None
    if not name:
        return None
    value_attr = block.attr("value")
    route = f"{route}.{name}"
    type_attr = block.attr("type")
    store_type = type_attr is not None and literal_text(type_attr.expr) in ("PARAMETER_STORE", "SECRETS_MANAGER")
    if value_attr is not None and not store_type:
        return _env_site(doc, name, value_attr.expr, line=value_attr.expr.line, column=value_attr.expr.column,
                         route=route, ctx=ctx)
    if value_attr is not None:
        ref = value_attr.expr.string or value_attr.expr.text
        return Site(SiteKind.ENV, name, Value(value_attr.expr.text, ValueKind.REFERENCE, RefKind.STORE, ref),
                    _loc(doc, value_attr.expr.line, value_attr.expr.column), Phase.RUNTIME, doc.environment, route, ctx)
    source = block.block("value_from") or block.block("value_source")
    if source is not None or block.attr("value_from") is not None:
        return Site(SiteKind.ENV, name, Value(name, ValueKind.REFERENCE, RefKind.STORE, name),
                    _loc(doc, name_attr.line if name_attr else block.line), Phase.RUNTIME, doc.environment, route, ctx)
    return None


def container_definitions(expr: Expr) -> Expr | None:
    """The JSON structure of ``container_definitions``: ``jsonencode(...)`` argument or a JSON heredoc/string."""
    while expr.kind is ExprKind.CALL and expr.name in ("jsonencode", "tolist", "concat", "flatten") and expr.elements:
        if expr.name == "jsonencode":
            return expr.elements[0]
        expr = expr.elements[0]
    if expr.kind in (ExprKind.OBJECT, ExprKind.TUPLE):
        return expr
    if expr.kind in (ExprKind.STRING, ExprKind.TEMPLATE) and isinstance(expr.value, str):
        return _json_in_string(expr)
    return None


def _json_in_string(expr: Expr) -> Expr | None:
    from auditor.parsers.hcl_json import JsonError, parse_json, template

    raw = expr.value if isinstance(expr.value, str) else ""
    if not raw.lstrip().startswith(("[", "{")):
        return None
    first = expr.line + 1 if expr.heredoc else expr.line
    body = raw
    if not expr.heredoc and "\n" in raw:  # a quoted string with \n escapes: every value sits on the attribute line
        body = raw.replace("\n", " ")
    for candidate in (body, _neutralize_interpolations(body)):
        try:
            return template(parse_json(candidate, first))
        except JsonError:
            continue
    return None


def _neutralize_interpolations(text: str) -> str:
    """Replace ``${...}`` outside JSON strings (``"cpu": ${var.cpu}``) with ``0`` so the JSON parses."""
    out: list[str] = []
    i, n, in_str = 0, len(text), False
    while i < n:
        ch = text[i]
        if in_str:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_str = False
            i += 1
            continue
        if ch == '"':
            in_str = True
            out.append(ch)
            i += 1
            continue
        if text.startswith("${", i):
            depth, j = 0, i
            while j < n:
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            out.append("0")
            i = j + 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _container_env(doc: Document, expr: Expr, route: str, ctx: dict[str, str]) -> Iterator[Site]:
    data = container_definitions(expr)
    if data is None:
        return
    containers = data.elements if data.kind is ExprKind.TUPLE else (data,)
    for index, container in enumerate(containers):
        if container.kind is not ExprKind.OBJECT:
            continue
        cname_item = container.item("name")
        cname = literal_text(cname_item.value) if cname_item else None
        cctx = {**ctx, "container": cname} if cname else dict(ctx)
        croute = f"{route}[{index}]"
        holder = container.item("containerProperties") or container.item("container")
        props = holder.value if holder is not None and holder.value.kind is ExprKind.OBJECT else container
        env = props.item("environment")
        if env is not None:
            for entry in _entries(env.value):
                yield from _name_value_site(doc, entry, "value", route=f"{croute}.environment", ctx=cctx, store=False)
        secrets = props.item("secrets")
        if secrets is not None:
            for entry in _entries(secrets.value):
                yield from _name_value_site(doc, entry, "valueFrom", route=f"{croute}.secrets", ctx=cctx, store=True)


def _entries(expr: Expr) -> Iterable[Expr]:
    if expr.kind is ExprKind.TUPLE:
        return (e for e in expr.elements if e.kind is ExprKind.OBJECT)
    return ()


def _name_value_site(doc: Document, entry: Expr, value_key: str, *, route: str, ctx: dict[str, str],
                     store: bool) -> Iterator[Site]:
    name_item = entry.item("name")
    value_item = entry.item(value_key)
    name = literal_text(name_item.value) if name_item else None
    if not name or value_item is None:
        return
    expr = value_item.value
    if store:
        ref = expr.string or expr.text
        value = Value(expr.text, ValueKind.REFERENCE, RefKind.STORE, ref)
    else:
        value = value_of(expr)
    yield Site(SiteKind.ENV, name, value, _loc(doc, expr.line, expr.column), Phase.RUNTIME, doc.environment,
               f"{route}.{name}", ctx)


# --- module-level resolution ------------------------------------------------------------------------------

@dataclass(slots=True)
class Module:
    """All ``.tf``/``.tf.json`` documents of one directory: one Terraform module."""

    directory: str
    documents: list[Document] = field(default_factory=list)
    variables: dict[str, tuple[Document, Block]] = field(default_factory=dict)
    locals: dict[str, tuple[Document, Attr]] = field(default_factory=dict)

    def blocks(self, *types: str) -> Iterator[tuple[Document, Block]]:
        for doc in self.documents:
            if isinstance(doc.data, HclFile):
                for block in doc.data.blocks_of(*types):
                    yield doc, block

    def resources(self, *types: str) -> Iterator[tuple[Document, Block]]:
        for doc in self.documents:
            if isinstance(doc.data, HclFile):
                for block in doc.data.resources(*types):
                    yield doc, block


def module_index(repo: Repository) -> dict[str, Module]:
    """Terraform documents grouped by directory, with their variables and locals indexed."""
    modules: dict[str, Module] = {}
    for doc in repo.of_kind(DocKind.TERRAFORM):
        if not isinstance(doc.data, HclFile):
            continue
        directory = posixpath.dirname(doc.path)
        module = modules.setdefault(directory, Module(directory))
        module.documents.append(doc)
        for block in doc.data.blocks:
            if block.type == "variable" and block.labels:
                module.variables.setdefault(block.labels[0], (doc, block))
            elif block.type == "locals":
                for attr in block.attrs.values():
                    module.locals.setdefault(attr.name, (doc, attr))
    return modules


@dataclass(frozen=True, slots=True)
class Resolved:
    """What an expression stands for once ``var.``/``local.`` references inside the module are followed."""

    value: Value
    expr: Expr  # the expression holding the value (a variable default, a local, or the original)
    path: str  # the document holding ``expr``
    via: tuple[str, ...] = ()  # references followed: ("local.db", "var.db_password")

    @property
    def location(self) -> Location:
        return Location(self.path, self.expr.line, self.expr.column)


def resolve(expr: Expr, path: str, module: Module | None, _seen: tuple[str, ...] = ()) -> Resolved:
    """Follow ``var.x`` to its default and ``local.x`` to its value (through ``"${...}"`` and transparent
    calls), within one module. ``var.x`` without a default (or with ``null``) stays a reference."""
    inner = expr
    while inner.kind is ExprKind.CALL and inner.name in TRANSPARENT_CALLS and inner.elements:
        inner = inner.elements[0]
    ref: str | None = None
    if inner.kind is ExprKind.TRAVERSAL:
        ref = inner.name
    elif inner.kind is ExprKind.TEMPLATE and isinstance(inner.value, str):
        ref = _sole_ref(inner.value, inner.refs)
    if module is None or ref is None or len(_seen) >= _MAX_DEPTH:
        return Resolved(value_of(inner), inner, path, _seen)
    parts = ref.split(".")
    target: tuple[Document, Expr] | None = None
    key = ".".join(parts[:2])
    if key in _seen:
        return Resolved(value_of(inner), inner, path, _seen)
    if parts[0] == "var" and len(parts) >= 2 and parts[1] in module.variables:
        vdoc, vblock = module.variables[parts[1]]
        default = vblock.attr("default")
        if default is not None and default.expr.kind is not ExprKind.NULL:
            target = (vdoc, default.expr)
    elif parts[0] == "local" and len(parts) >= 2 and parts[1] in module.locals:
        ldoc, lattr = module.locals[parts[1]]
        target = (ldoc, lattr.expr)
    if target is None:
        return Resolved(value_of(inner), inner, path, _seen)
    tdoc, texpr = target
    for attr_name in parts[2:]:  # var.db.password -> the "password" member of an object default
        if texpr.kind is not ExprKind.OBJECT:
            return Resolved(value_of(inner), inner, path, _seen)
        item = texpr.item(attr_name)
        if item is None:
            return Resolved(value_of(inner), inner, path, _seen)
        texpr = item.value
    return resolve(texpr, tdoc.path, module, (*_seen, key))
