"""Keys shared across environments: the same secret value, or the same store path, in dev and prod.

Values are compared by SHA-256 in memory only; the engine fingerprints what it reports.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from auditor.detect.providers import match_value
from auditor.detect.values import looks_secret
from auditor.environment import ALIASES
from auditor.model import DocKind, Location, Repository, SiteKind, Value, ValueKind
from auditor.rules import Hit, RuleContext

_VALUE_SITES = (SiteKind.ENV, SiteKind.BUILD_ARG, SiteKind.VARIABLE, SiteKind.CONFIG_KEY, SiteKind.SECRET_DATA)
_ENV_TOKENS = frozenset(alias for aliases in ALIASES.values() for alias in aliases)


@dataclass(frozen=True, slots=True)
class _Use:
    environment: str
    location: Location
    name: str
    value: Value | None


def _secret_values(repo: Repository, ctx: RuleContext) -> Iterator[tuple[str, _Use]]:
    for doc in repo.documents:
        for site in doc.sites_of(*_VALUE_SITES):
            env = site.environment or doc.environment
            value = site.value
            if env is None or value is None or value.kind is not ValueKind.LITERAL:
                continue
            secret_name = ctx.name_info(site.name).secret
            if not (match_value(value.text) or (secret_name and looks_secret(value.text, name_is_secret=True))):
                continue
            digest = hashlib.sha256(value.text.encode("utf-8", "surrogatepass")).hexdigest()
            yield digest, _Use(env, site.location, site.name, value)


def _shared(groups: Iterable[list[_Use]]) -> Iterator[tuple[_Use, list[_Use]]]:
    """Each use whose group spans two or more environments, with the first use in each other environment."""
    for uses in groups:
        environments = {u.environment for u in uses}
        if len(environments) < 2:
            continue
        firsts: dict[str, _Use] = {}
        for use in sorted(uses, key=lambda u: (u.location.path, u.location.line)):
            firsts.setdefault(use.environment, use)
        for use in uses:
            yield use, [u for env, u in sorted(firsts.items()) if env != use.environment]


def same_value_across_environments(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """ENV-01: one secret value configured for several environments."""
    groups: dict[str, list[_Use]] = defaultdict(list)
    seen: set[tuple[str, int, str]] = set()
    for digest, use in _secret_values(repo, ctx):
        key = (use.location.path, use.location.line, digest)
        if key not in seen:
            seen.add(key)
            groups[digest].append(use)
    for use, others in _shared(groups.values()):
        where = ", ".join(f"{o.environment} ({o.location.path}:{o.location.line})" for o in others)
        yield Hit(
            use.location,
            f"{use.name} in {use.environment} holds the same secret value as {where}: a leak of the weakest "
            "environment exposes all of them and none can be rotated alone; issue a separate key per environment "
            "(e.g. one OpenAI project or service account each)",
            value=use.value, name=use.name,
        )


def _store_refs(repo: Repository) -> Iterator[tuple[str, _Use]]:
    """(store kind + path, use) for every reference to an external secret store with an environment."""
    from auditor.parsers.kubernetes import KubeData

    for doc in repo.of_kind(DocKind.KUBERNETES):
        data = doc.data
        if not isinstance(data, KubeData):
            continue
        for es in data.external_secrets:
            env = es.obj.environment or doc.environment
            for ref in es.refs:
                if env:
                    yield (f"eso:{es.store_kind}/{es.store}:{ref.key}:{ref.property or ''}",
                           _Use(env, Location(doc.path, ref.line), ref.key, None))
        for pc in data.provider_classes:
            env = pc.obj.environment or doc.environment
            for obj in pc.objects:
                if env:
                    yield f"csi:{pc.provider}:{obj}", _Use(env, Location(doc.path, pc.line), obj, None)
        for vi in data.vault_injections:
            env = vi.obj.environment or doc.environment
            for _file, path, line in vi.secrets:
                if env:
                    yield f"vault:{path}", _Use(env, Location(doc.path, line), path, None)
    from auditor.parsers.hcl_model import HclFile

    for doc in repo.of_kind(DocKind.TERRAFORM):
        if doc.environment is None or not isinstance(doc.data, HclFile):
            continue
        for block in doc.data.blocks_of("data"):
            attr_name = _TF_STORE_DATA.get(block.labels[0] if block.labels else "")
            attr = block.attr(attr_name) if attr_name else None
            if attr is not None and isinstance(attr.literal, str) and attr.literal:
                yield (f"tf:{block.labels[0]}:{attr.literal}",
                       _Use(doc.environment, Location(doc.path, attr.line, attr.column), attr.literal, None))


# Terraform data sources that read a secret, and the argument naming it
_TF_STORE_DATA = {
    "aws_secretsmanager_secret": "name",
    "aws_secretsmanager_secret_version": "secret_id",
    "aws_ssm_parameter": "name",
    "google_secret_manager_secret_version": "secret",
    "azurerm_key_vault_secret": "name",
    "vault_generic_secret": "path",
    "vault_kv_secret_v2": "name",
}


def _names_an_environment(path: str) -> bool:
    lowered = path.lower().replace("_", "/").replace("-", "/").replace(".", "/").replace(":", "/")
    return any(token in _ENV_TOKENS for token in lowered.split("/"))


def same_store_path_across_environments(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """ENV-03: dev and prod read the same path of a secret store."""
    groups: dict[str, list[_Use]] = defaultdict(list)
    for key, use in _store_refs(repo):
        if not _names_an_environment(use.name):
            groups[key].append(use)
    for use, others in _shared(groups.values()):
        where = ", ".join(f"{o.environment} ({o.location.path}:{o.location.line})" for o in others)
        yield Hit(
            use.location,
            f"{use.environment} reads the store path '{use.name}', as does {where}: both environments share one "
            "credential; use environment-specific paths (prod/..., dev/...), stores or accounts",
            name=use.name,
        )
