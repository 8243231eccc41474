"""HCK-02, BLD-05, IGN-01 and CLI-01 over parsed compose/env documents (and synthetic sites of other kinds)."""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from auditor.config import Config
from auditor.detect.values import classify
from auditor.model import (
    Confidence,
    DocKind,
    Document,
    Location,
    Phase,
    Repository,
    Severity,
    Site,
    SiteKind,
)
from auditor.parsers import kind_of, parse
from auditor.rules import Hit, RuleContext
from auditor.rules.client import secret_exposed_to_client
from auditor.rules.compose import compose_build_arg_secret
from auditor.rules.envfiles import env_file_committed, literal_secret_in_env
from auditor.scan import ScanOptions, scan

# Well-formed fake keys, generated so that no key-shaped literal sits in this file.
_rng = random.Random(1729)
_ALNUM = string.ascii_letters + string.digits


def _rand(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


OPENAI = "sk-proj-" + _rand(74, _ALNUM + "_-") + "T3Blb" + "kFJ" + _rand(74, _ALNUM + "_-")
STRIPE_SECRET = "sk_" + "live_" + _rand(24)
STRIPE_PUBLISHABLE = "pk_" + "live_" + _rand(24)
GOOGLE = "AI" + "za" + _rand(35, _ALNUM + "_-")
AWS_ID = "AK" + "IA" + _rand(16, string.ascii_uppercase + "234567")
PASSWORD = "Tq7-vLm29xKpR4sW"


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


SUPABASE_ANON = ".".join((_b64({"alg": "HS256", "typ": "JWT"}),
                          _b64({"iss": "supabase", "ref": _rand(20).lower(), "role": "anon", "exp": 2033576000}),
                          _rand(43, _ALNUM + "_-")))

CTX = RuleContext()
Check = Callable[[Repository, RuleContext], Iterable[Hit]]


def repo(files: dict[str, str], *, tracked: Iterable[str] | None = None,
         ignored: Iterable[str] = (), extra: Iterable[Document] = ()) -> Repository:
    docs = []
    for path, text in files.items():
        doc = Document(path, kind_of(path))
        parse(doc, text)
        docs.append(doc)
    ignored_set = frozenset(ignored)
    return Repository(".", [*docs, *extra], frozenset(files), frozenset(tracked) if tracked is not None else None,
                      git_ignored=lambda p: p in ignored_set)


def run(check: Check, repository: Repository, ctx: RuleContext = CTX) -> list[Hit]:
    hits = list(check(repository, ctx))
    for hit in hits:  # messages are built from names only
        for secret in (OPENAI, STRIPE_SECRET, STRIPE_PUBLISHABLE, GOOGLE, AWS_ID, PASSWORD, SUPABASE_ANON):
            assert secret not in hit.message
    return hits


def lines(hits: list[Hit]) -> list[tuple[str, int]]:
    return sorted((h.location.path, h.location.line) for h in hits)


def synthetic(kind: DocKind, path: str, sites: list[tuple[SiteKind, str, str | None, int]]) -> Document:
    doc = Document(path, kind)
    for site_kind, name, raw, line in sites:
        value = classify(raw) if raw is not None else None
        doc.sites.append(Site(site_kind, name, value, Location(path, line), Phase.RUNTIME, route=f"env.{name}"))
    return doc


# ---------------------------------------------------------------------------------------------- HCK-02

COMPOSE_BAD = f"""\
x-env: &env
  SESSION_SECRET: 9fK2mQ7xLp4Rz8Wc1Vb6Nd3T
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: "{PASSWORD}"
  api:
    environment:
      <<: *env
      OPENAI_API_KEY: {OPENAI}
      STRIPE_SECRET_KEY: ${{STRIPE_SECRET_KEY:-{STRIPE_SECRET}}}
      OPENAI_ORG: org-team
  worker:
    environment:
      <<: *env
      NODE_ENV: production
  cron:
    environment:
      - AWS_ACCESS_KEY_ID={AWS_ID}
      - LOG_LEVEL=debug
"""


def test_hck02_fires_on_literal_secrets_in_compose_environment() -> None:
    hits = run(literal_secret_in_env, repo({"compose.yaml": COMPOSE_BAD}))
    assert lines(hits) == [("compose.yaml", n) for n in (2, 7, 11, 12, 20)]
    by_line = {h.location.line: h for h in hits}
    assert by_line[11].severity is Severity.CRITICAL  # a provider key
    assert by_line[11].confidence is Confidence.HIGH
    assert by_line[7].severity is None  # the policy default (high)
    assert by_line[7].name == "POSTGRES_PASSWORD"
    assert by_line[7].route == "services.db.environment.POSTGRES_PASSWORD"
    assert "service db" in by_line[7].message
    assert "secrets:" in by_line[7].message
    # the default of ${VAR:-literal} is the evidence, so it matches HCK-01's report of the same key
    default_hit = by_line[12]
    assert default_hit.value is not None
    assert default_hit.value.text == STRIPE_SECRET
    assert ":?" in default_hit.message
    assert by_line[11].value is not None
    assert by_line[11].value.text == OPENAI


def test_hck02_reports_a_merged_anchor_once() -> None:
    text = "x-env: &env\n  JWT_SECRET: 9fK2mQ7xLp4Rz8Wc1Vb6Nd3T\nservices:\n" + "".join(
        f"  s{i}:\n    environment:\n      <<: *env\n" for i in range(4))
    assert lines(run(literal_secret_in_env, repo({"docker-compose.yml": text}))) == [("docker-compose.yml", 2)]


def test_hck02_does_not_fire_on_references_placeholders_and_file_paths() -> None:
    text = """\
services:
  api:
    environment:
      OPENAI_API_KEY: ${OPENAI_API_KEY}
      STRIPE_SECRET_KEY: ${STRIPE_SECRET_KEY:-}
      GITHUB_TOKEN: ${GITHUB_TOKEN:?required}
      DB_PASSWORD: changeme
      API_KEY: <your-api-key>
      SESSION_SECRET: ${SESSION_SECRET:-changeme}
      DB_PASSWORD_FILE: /run/secrets/db_password
      POSTGRES_PASSWORD:
      REDIS_PASSWORD: ""
      JWT_SECRET: $${JWT_SECRET}
      GIT_COMMIT: 4f1c9e2b7a0d63e8c5b1f9a2d7e4c0b8a6f3d1e9
      DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app
      TOKEN_URL: https://auth.example.com/oauth/token
    secrets: [db_password]
secrets:
  db_password:
    file: ./db_password.txt
"""
    assert run(literal_secret_in_env, repo({"compose.yaml": text})) == []


def test_hck02_escaped_dollar_password_is_still_a_literal() -> None:
    text = "services:\n  db:\n    environment:\n      - POSTGRES_PASSWORD=Xk82$$pqLw0zR4s\n"
    hits = run(literal_secret_in_env, repo({"compose.yaml": text}))
    assert lines(hits) == [("compose.yaml", 4)]


def test_hck02_is_generic_over_env_sites_but_leaves_dockerfiles_and_env_files_alone() -> None:
    k8s = synthetic(DocKind.KUBERNETES, "k8s/deploy.yaml", [
        (SiteKind.ENV, "OPENAI_API_KEY", OPENAI, 21),
        (SiteKind.ENV, "DB_PASSWORD", "${DB_PASSWORD}", 23),
        (SiteKind.CONFIG_KEY, "API_TOKEN", PASSWORD, 30),  # not an env site: other rules
    ])
    workflow = synthetic(DocKind.GITHUB_WORKFLOW, ".github/workflows/ci.yml", [
        (SiteKind.ENV, "NPM_TOKEN", PASSWORD, 12),
        (SiteKind.ENV, "NPM_TOKEN2", "${{ secrets.NPM_TOKEN }}", 13),
    ])
    dockerfile = synthetic(DocKind.DOCKERFILE, "Dockerfile", [(SiteKind.ENV, "OPENAI_API_KEY", OPENAI, 3)])
    r = repo({".env": f"OPENAI_API_KEY={OPENAI}\n"}, extra=[k8s, workflow, dockerfile])
    hits = run(literal_secret_in_env, r)
    assert lines(hits) == [(".github/workflows/ci.yml", 12), ("k8s/deploy.yaml", 21)]
    messages = {h.location.path: h.message for h in hits}
    assert "secretKeyRef" in messages["k8s/deploy.yaml"]
    assert "${{ secrets.NPM_TOKEN }}" in messages[".github/workflows/ci.yml"]


def test_hck02_respects_configured_names() -> None:
    text = f"services:\n  a:\n    environment:\n      SESSION_SECRET: {PASSWORD}\n      MY_CRED_BLOB: {PASSWORD}\n"
    r = repo({"compose.yaml": text})
    assert lines(run(literal_secret_in_env, r)) == [("compose.yaml", 4)]
    ctx = RuleContext(extra_secret_names=frozenset({"MY_CRED_BLOB"}), allowed_names=frozenset({"SESSION_SECRET"}))
    assert lines(run(literal_secret_in_env, r, ctx)) == [("compose.yaml", 5)]


# ---------------------------------------------------------------------------------------------- BLD-05

BUILD_ARGS = f"""\
services:
  web:
    build:
      context: ./web
      args:
        NPM_TOKEN: ${{NPM_TOKEN}}
        SENTRY_AUTH_TOKEN:
        NODE_VERSION: "20"
        API_KEY: ""
        DB_PASSWORD: changeme
        NPM_TOKEN_FILE: /run/secrets/npm
  api:
    build:
      context: ./api
      args:
        - PIP_INDEX_PASSWORD
        - OPENAI_API_KEY={OPENAI}
        - PYTHON_VERSION=3.12
      secrets: [pip]
    environment:
      GITHUB_TOKEN: ${{GITHUB_TOKEN}}
"""


def test_bld05_fires_on_secret_named_build_args_whatever_the_value() -> None:
    hits = run(compose_build_arg_secret, repo({"compose.yaml": BUILD_ARGS}))
    assert lines(hits) == [("compose.yaml", n) for n in (6, 7, 16, 17)]
    by_line = {h.location.line: h for h in hits}
    assert by_line[17].severity is Severity.CRITICAL
    assert by_line[6].severity is None
    assert by_line[6].route == "services.web.build.args.NPM_TOKEN"
    assert "build.secrets" in by_line[6].message
    assert "--mount=type=secret,id=npm_token" in by_line[6].message


def test_bld05_ignores_other_documents() -> None:
    dockerfile = synthetic(DocKind.DOCKERFILE, "Dockerfile", [(SiteKind.BUILD_ARG, "NPM_TOKEN", None, 2)])
    assert run(compose_build_arg_secret, repo({}, extra=[dockerfile])) == []


# ---------------------------------------------------------------------------------------------- IGN-01

DOTENV = f"""\
NEXT_PUBLIC_SITE_URL=http://localhost:3000
OPENAI_API_KEY={OPENAI}
NEXTAUTH_SECRET="q8Vd2Lr9sXw4Kt7Zb1Nm6Pj3"
ADMIN_PASSWORD=hunter2-shop-admin  # TODO vault
STRIPE_PUBLISHABLE_KEY={STRIPE_PUBLISHABLE}
GITHUB_TOKEN=${{GITHUB_TOKEN}}
DB_PASSWORD=changeme
DB_PASSWORD_FILE=/run/secrets/db
SUPABASE_KEY={SUPABASE_ANON}
LOG_LEVEL=debug
"""


def test_ign01_fires_per_line_of_a_committed_env_file() -> None:
    hits = run(env_file_committed, repo({".env": DOTENV}, tracked={".env"}))
    assert lines(hits) == [(".env", 2), (".env", 3), (".env", 4)]
    by_line = {h.location.line: h for h in hits}
    assert by_line[2].severity is Severity.CRITICAL
    assert by_line[3].severity is None
    assert "git rm --cached .env" in by_line[3].message


def test_ign01_outside_git_a_file_counts_as_committed_unless_ignored() -> None:
    assert lines(run(env_file_committed, repo({"app/.env": DOTENV}))) == [("app/.env", n) for n in (2, 3, 4)]
    assert run(env_file_committed, repo({"app/.env": DOTENV}, ignored={"app/.env"})) == []


def test_ign01_untracked_ignored_file_in_git_does_not_fire() -> None:
    r = repo({".env": DOTENV, ".env.production": DOTENV}, tracked={".env.production"}, ignored={".env"})
    assert {p for p, _ in lines(run(env_file_committed, r))} == {".env.production"}


def test_ign01_templates_fire_only_on_real_keys() -> None:
    template = (
        "OPENAI_API_KEY=\n"
        "NEXTAUTH_SECRET=changeme\n"
        "STRIPE_SECRET_KEY=<your-stripe-secret-key>\n"
        'ANTHROPIC_API_KEY="your-anthropic-key-here"\n'
        "DB_PASSWORD=postgres\n"
        "WEBHOOK_SECRET=whsec_xxxxxxxxxxxxxxxx\n"
    )
    assert run(env_file_committed, repo({".env.example": template}, tracked={".env.example"})) == []
    leaked = template + f"OPENAI_API_KEY={OPENAI}\n"
    hits = run(env_file_committed, repo({".env.example": leaked}, tracked={".env.example"}))
    assert lines(hits) == [(".env.example", 7)]
    assert hits[0].severity is Severity.CRITICAL
    assert "template" in hits[0].message


def test_ign01_non_secret_names_and_settings_only_file() -> None:
    r = repo({"config.env": "LOG_LEVEL=info\nFEATURE_X=true\nPORT=8080\n"}, tracked={"config.env"})
    assert run(env_file_committed, r) == []


def test_ign01_provider_key_under_any_name() -> None:
    hits = run(env_file_committed, repo({".env": f"OPENAI={OPENAI}\n"}, tracked={".env"}))
    assert lines(hits) == [(".env", 1)]
    assert hits[0].severity is Severity.CRITICAL


def test_ign01_envrc() -> None:
    text = f"use nix\nexport AWS_ACCESS_KEY_ID={AWS_ID}\nexport AWS_REGION=eu-west-1\n"
    assert lines(run(env_file_committed, repo({".envrc": text}, tracked={".envrc"}))) == [(".envrc", 2)]


# ---------------------------------------------------------------------------------------------- CLI-01

NEXT_ENV = f"""\
NEXT_PUBLIC_SITE_URL=https://shop.example.com
NEXT_PUBLIC_SUPABASE_URL=https://abc.supabase.co
NEXT_PUBLIC_SUPABASE_ANON_KEY={SUPABASE_ANON}
NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY={STRIPE_PUBLISHABLE}
NEXT_PUBLIC_OPENAI_API_KEY={OPENAI}
NEXT_PUBLIC_FIREBASE_API_KEY={GOOGLE}
NEXT_PUBLIC_GA_MEASUREMENT_ID=G-7KX2M9QZ4P
NEXT_PUBLIC_POSTHOG_KEY=phc_Jq3vT8mW2xR5zL9pN1sK4bY7cF6dG0hA2eU8iO3tQ5
NEXT_PUBLIC_ANALYTICS_KEY={STRIPE_SECRET}
VITE_ANTHROPIC_API_KEY=
REACT_APP_GITHUB_TOKEN=${{{{ secrets.GH_TOKEN }}}}
OPENAI_API_KEY={OPENAI}
NEXT_PUBLIC_STRIPE_PRICE_ID=price_1PqR2sT3uV4wX5yZ
"""


def test_cli01_env_file() -> None:
    hits = run(secret_exposed_to_client, repo({"web/.env.production": NEXT_ENV}))
    assert lines(hits) == [("web/.env.production", n) for n in (5, 6, 9, 10, 11)]
    by_line = {h.location.line: h for h in hits}
    assert by_line[5].severity is None  # the policy default: critical
    assert by_line[5].confidence is Confidence.HIGH
    assert "NEXT_PUBLIC_" in by_line[5].message
    assert "OPENAI_API_KEY" in by_line[5].message  # the server-only name to use
    assert by_line[6].severity is Severity.MEDIUM
    assert "referrer" in by_line[6].message
    assert "Stripe secret key" in by_line[9].message  # a secret-class key under an innocent name
    assert by_line[10].confidence is Confidence.MEDIUM  # an empty value: the design still ships the key
    ref = by_line[11].value  # a CI secret reference still ends up in the bundle
    assert ref is not None
    assert ref.ref_name == "GH_TOKEN"


def test_cli01_compose_dockerfile_and_ci_sites() -> None:
    compose_text = """\
services:
  web:
    build:
      context: ./web
      args:
        NEXT_PUBLIC_SITE_URL: https://x
        NEXT_PUBLIC_OPENAI_API_KEY: ${OPENAI_API_KEY}
    environment:
      - VITE_STRIPE_SECRET_KEY
      - OPENAI_API_KEY
"""
    dockerfile = synthetic(DocKind.DOCKERFILE, "web/Dockerfile", [
        (SiteKind.BUILD_ARG, "NEXT_PUBLIC_OPENAI_API_KEY", None, 4),
        (SiteKind.BUILD_ARG, "NEXT_PUBLIC_SITE_URL", None, 3),
        (SiteKind.ENV, "OPENAI_API_KEY", "${OPENAI_API_KEY}", 5),
    ])
    gitlab = synthetic(DocKind.GITLAB_CI, ".gitlab-ci.yml",
                       [(SiteKind.VARIABLE, "VITE_SENTRY_AUTH_TOKEN", "$SENTRY", 9)])
    hits = run(secret_exposed_to_client, repo({"compose.yaml": compose_text}, extra=[dockerfile, gitlab]))
    assert lines(hits) == [(".gitlab-ci.yml", 9), ("compose.yaml", 7), ("compose.yaml", 9), ("web/Dockerfile", 4)]


def test_cli01_custom_prefix_from_context() -> None:
    r = repo({".env": "MYAPP_PUBLIC_API_SECRET=abc\nMYAPP_PUBLIC_HOST=x\n"})
    assert run(secret_exposed_to_client, r) == []
    ctx = RuleContext(client_prefixes=("MYAPP_PUBLIC_",))
    assert lines(run(secret_exposed_to_client, r, ctx)) == [(".env", 1)]


def test_cli01_allowed_names() -> None:
    r = repo({".env": "VITE_API_TOKEN=abc\n"})
    assert lines(run(secret_exposed_to_client, r)) == [(".env", 1)]
    assert run(secret_exposed_to_client, r, RuleContext(allowed_names=frozenset({"VITE_API_TOKEN"}))) == []


# ----------------------------------------------------------------------------------- end to end (scan)


def test_scan_supersedes_general_reports_of_the_same_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"NEXT_PUBLIC_OPENAI_API_KEY={OPENAI}\nOPENAI_API_KEY={OPENAI}\n")
    (tmp_path / "compose.yaml").write_text(f"services:\n  api:\n    environment:\n      OPENAI_API_KEY: {OPENAI}\n")
    result = scan(tmp_path, ScanOptions(config=Config(select=("HCK-01", "HCK-02", "IGN-01", "CLI-01")), jobs=1))
    got = sorted((f.location.path, f.location.line, f.rule_id) for f in result.findings)
    assert got == [(".env", 1, "CLI-01"), (".env", 2, "IGN-01"), ("compose.yaml", 4, "HCK-02")]
    assert all(OPENAI not in f.message for f in result.findings)


@pytest.mark.parametrize("rule", [literal_secret_in_env, compose_build_arg_secret, env_file_committed,
                                  secret_exposed_to_client])
def test_rules_survive_documents_without_data(rule: Check) -> None:
    docs = [Document("compose.yaml", DocKind.COMPOSE), Document(".env", DocKind.ENV_FILE),
            synthetic(DocKind.COMPOSE, "c.yaml", [(SiteKind.ENV, "X", None, 1), (SiteKind.BUILD_ARG, "Y", None, 2)])]
    assert list(rule(Repository(".", docs, frozenset()), CTX)) == []


def test_ign01_password_in_url_is_high_not_critical() -> None:
    hits = run(env_file_committed, repo({".env": f"DATABASE_URL=postgres://shop:{PASSWORD}@db:5432/shop\n"}))
    assert lines(hits) == [(".env", 1)]
    assert hits[0].severity is None
    assert "URL with an embedded password" in hits[0].message


def test_cli01_public_key_and_public_token_name_public_values(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from auditor.config import Config
    from auditor.scan import ScanOptions, scan

    (tmp_path / "Dockerfile").write_text("FROM node:20\nENV PUBLIC_KEY=\nARG public_token\nARG PUBLIC_STRIPE_SECRET_KEY\n")
    result = scan(tmp_path, ScanOptions(config=Config(select=("CLI-01",)), jobs=1))
    assert [f.location.line for f in result.findings] == [4]


def test_hck02_weak_password_of_a_ci_service_container_is_not_reported(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from auditor.config import Config
    from auditor.scan import ScanOptions, scan

    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "t.yml").write_text(
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    services:\n      db:\n        image: postgres:16\n"
        "        env:\n          POSTGRES_PASSWORD: postgres\n    env:\n      ADMIN_PASSWORD: hunter\n"
        "    steps:\n      - run: make test\n")
    result = scan(tmp_path, ScanOptions(config=Config(select=("HCK-02",)), jobs=1))
    assert [(f.location.line, f.name) for f in result.findings] == [(11, "ADMIN_PASSWORD")]
