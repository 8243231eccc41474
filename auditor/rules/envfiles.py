"""Environment-variable rules: literal secrets in env maps (HCK-02) and committed env files (IGN-01).

Also the small predicates the compose and client-bundle rules share: whether a name is a secret name under
the rule context, and which literal (the value itself, or the default of ``${VAR:-default}``) a value puts
in the file.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from auditor.detect.names import analyze_name, tokens
from auditor.detect.providers import Detector, match_value
from auditor.detect.values import classify, is_literal_password, looks_secret
from auditor.model import Confidence, DocKind, Document, Repository, Severity, Site, SiteKind, Value, ValueKind
from auditor.parsers import is_env_template_name
from auditor.parsers.envfile import EnvFileData
from auditor.rules import Hit, RuleContext

# Names of keys that are public by design: the provider documents shipping them to browsers.
PUBLISHABLE_NAME_SUFFIXES = ("PUBLISHABLE_KEY", "ANON_KEY", "PUBLIC_KEY", "SITE_KEY", "SITEKEY")

# Where HCK-02 does not look: Dockerfile ENV belongs to the BLD rules, env files to IGN-01.
_HCK02_SKIP = frozenset({DocKind.DOCKERFILE, DocKind.ENV_FILE})

# What to use instead, per kind of document holding the env map.
_STORE_HINT: dict[DocKind, str] = {
    DocKind.COMPOSE: "declare it under top-level `secrets:` and grant it to the service (`secrets: [...]`, read "
                     "from /run/secrets/...), or pass it from the deploy environment as `${NAME}`",
    DocKind.KUBERNETES: "read it from a Secret with `valueFrom.secretKeyRef` (or mount it via the CSI driver / "
                        "External Secrets)",
    DocKind.HELM_VALUES: "reference an existing Secret (`existingSecret`/`secretKeyRef`) instead of a value",
    DocKind.GITHUB_WORKFLOW: "store it as an (environment) secret and use `${{ secrets.NAME }}`",
    DocKind.GITHUB_ACTION: "take it as an input fed from `${{ secrets.NAME }}` by the caller",
    DocKind.GITLAB_CI: "define it as a masked, protected CI/CD variable in the project settings",
    DocKind.CIRCLECI: "store it in a project environment variable or a context",
    DocKind.BITBUCKET: "store it as a secured repository or deployment variable",
    DocKind.AZURE_PIPELINES: "store it as a secret variable (variable group / Key Vault link)",
}


# ------------------------------------------------------------------------------------------ predicates


def secret_name(name: str, ctx: RuleContext) -> bool:
    """SECRET_NAME under the context (:meth:`RuleContext.name_info`: allowed and extra names applied)."""
    return ctx.name_info(name).secret


def holds_secret(name: str, ctx: RuleContext) -> bool:
    """A name whose value is itself a secret: SECRET_NAME, not publishable (``*_PUBLISHABLE_KEY``), not the path
    of a secret file (``*_FILE``)."""
    return secret_name(name, ctx) and not publishable_name(name) and not analyze_name(name).file_like


def publishable_name(name: str) -> bool:
    """``STRIPE_PUBLISHABLE_KEY``, ``SUPABASE_ANON_KEY``...: meant to be public."""
    return name.upper().endswith(PUBLISHABLE_NAME_SUFFIXES)


def literal_in(value: Value | None) -> Value | None:
    """The literal a value writes into the file: the value itself, or the default of ``${VAR:-default}``."""
    if value is None:
        return None
    if value.kind is ValueKind.LITERAL:
        return value
    if value.kind is ValueKind.REFERENCE and value.default:
        default = classify(value.default)
        return default if default.kind is ValueKind.LITERAL else None
    return None


def provider_match(text: str, name: str = "") -> Detector | None:
    """The provider detector matching ``text`` (assigned to ``name``), if it is a secret-class key.

    Publishable keys (Stripe ``pk_``, Supabase anon JWTs) are not secret-class. ``name`` gives context-only
    detectors (AWS secret access keys) the context they need.
    """
    detector = match_value(text, name=name)
    return detector if detector is not None and not detector.publishable else None


def secret_looking(literal: Value) -> bool:
    """SECRET_VALUE for a literal under a secret name.

    :func:`looks_secret` re-classifies its text, so a literal the parser knows is not interpolated
    (``pa$$word`` in compose, ``'pa$word'`` in a dotenv file) is judged with its dollars as plain characters.
    """
    text = literal.text
    if "$" in text and classify(text).kind is not ValueKind.LITERAL:
        text = text.replace("$", "S")
    return looks_secret(text, name_is_secret=True)


def path_valued(site: Site, literal: Value) -> bool:
    """A ``*_FILE``-style name whose value is an absolute path: the secret is in that file, not here."""
    return analyze_name(site.name).file_like and literal.text.strip().startswith("/")


# Detectors of credentials that are not provider API keys: reported at the rule's own severity.
_NOT_PROVIDER_KEYS = frozenset({"url-credentials"})


def key_severity(detector: Detector | None) -> tuple[Severity | None, Confidence | None]:
    """Critical and high-confidence when the value is a provider API key; else the policy's defaults."""
    if detector is None or detector.id in _NOT_PROVIDER_KEYS:
        return None, None
    return Severity.CRITICAL, Confidence.HIGH


def describe(detector: Detector | None, adjective: str = "") -> str:
    """``a literal OpenAI API key``, ``an AWS access key ID``, ``a secret`` (no detector): for messages."""
    if detector is None:
        noun = "secret"
    elif detector.id == "url-credentials":
        noun = "URL with an embedded password"
    else:
        noun = detector.label
    words = f"{adjective} {noun}".strip()
    return f"{'an' if words[:1].lower() in set('aeiou') else 'a'} {words}"


# -------------------------------------------------------------------------------------------- HCK-02


def literal_secret_in_env(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """HCK-02: a secret name given a literal secret value (or default) in an env-like map."""
    seen: set[tuple[str, int, str]] = set()
    for doc in repo.documents:
        if doc.kind in _HCK02_SKIP:
            continue
        for site in doc.sites_of(SiteKind.ENV):
            literal = literal_in(site.value)
            if literal is None or path_valued(site, literal):
                continue
            detector = provider_match(literal.text, site.name)
            weak = False
            if detector is None:
                if not secret_name(site.name, ctx) or publishable_name(site.name):
                    continue
                if not secret_looking(literal):
                    # a demo default such as POSTGRES_PASSWORD=gitea is weak, but still a working credential
                    weak = (password_name(site.name) and is_literal_password(literal.text)
                            and not _ci_service_container(doc, site))
                    if not weak:
                        continue
            key = (doc.path, site.location.line, site.name)
            if key in seen:  # one anchor merged into several services
                continue
            seen.add(key)
            severity, confidence = (Severity.MEDIUM, Confidence.MEDIUM) if weak else key_severity(detector)
            message = _hck02_message(doc, site, literal is not site.value, detector, weak)
            yield Hit(site.location, message, value=literal,
                      severity=severity, confidence=confidence, name=site.name, route=site.route or None)


_CI_KINDS = frozenset({DocKind.GITHUB_WORKFLOW, DocKind.GITHUB_ACTION, DocKind.GITLAB_CI, DocKind.CIRCLECI,
                       DocKind.BITBUCKET, DocKind.AZURE_PIPELINES})


def _ci_service_container(doc: Document, site: Site) -> bool:
    """A CI job's throwaway service container (``services: db: POSTGRES_PASSWORD: postgres``): it lives for one job
    on the runner and its weak password protects nothing."""
    return doc.kind in _CI_KINDS and site.context.get("level") == "service"


def password_name(name: str) -> bool:
    """``POSTGRES_PASSWORD``, ``dbPass``, ``MYSQL_ROOT_PWD``: names that can only hold a password."""
    return any(t in _PASSWORD_TOKENS for t in tokens(name))


_PASSWORD_TOKENS = frozenset({"password", "passwd", "pwd", "pass", "passphrase", "pword"})


def _hck02_message(doc: Document, site: Site, is_default: bool, detector: Detector | None, weak: bool = False) -> str:
    what = "a literal password (weak or a demo default, but a working credential once deployed)" if weak \
        else describe(detector, "literal")
    service = site.context.get("service")
    where = f"service {service}" if service else f"this {doc.kind.value} file"
    if is_default:
        return (f"{site.name} in {where} falls back to {what} (`${{{site.name}:-...}}`): remove the default, "
                f"require the variable instead (`${{{site.name}:?{site.name} is required}}`) and rotate the key")
    hint = _STORE_HINT.get(doc.kind, "load it from a secret store at runtime").replace("NAME", site.name)
    return f"{site.name} in {where} is set to {what}: {hint}; then rotate the key, it is in git history"


# -------------------------------------------------------------------------------------------- IGN-01


def env_file_committed(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """IGN-01: a committed env file holding real secret values (each such line)."""
    for doc in repo.of_kind(DocKind.ENV_FILE):
        if not repo.is_committed(doc.path):
            continue
        if isinstance(doc.data, EnvFileData):
            template = doc.data.template
        else:
            template = is_env_template_name(posixpath.basename(doc.path))
        for site in doc.sites_of(SiteKind.ENV):
            literal = literal_in(site.value)
            if literal is None or path_valued(site, literal):
                continue
            detector = match_value(literal.text, name=site.name)
            if detector is not None and detector.publishable:
                continue  # Stripe pk_, Supabase anon key: public by design, whatever the name
            if detector is None:
                if not secret_name(site.name, ctx) or publishable_name(site.name):
                    continue
                if template and not secret_looking(literal):
                    continue
            severity, confidence = key_severity(detector)
            yield Hit(site.location, _ign01_message(doc.path, site.name, template, detector), value=literal,
                      severity=severity, confidence=confidence, name=site.name, route=site.route or None)


def _ign01_message(path: str, name: str, template: bool, detector: Detector | None) -> str:
    what = describe(detector, "real") if detector is not None else "a real secret value"
    if template:
        return (f"{name} in the committed template {path} holds {what}: replace it with an empty value or a "
                f"placeholder (`{name}=`) and rotate the key, it is in git history")
    pattern = "`.envrc`" if posixpath.basename(path) == ".envrc" else "`.env*` with `!.env.example`"
    return (f"{name} in {path} holds {what} and the file is committed: run `git rm --cached {path}`, add the "
            f"file to .gitignore ({pattern}), rotate the key (it stays in git history) and commit a template "
            "with empty values instead")
