"""GitLab CI -> the shared CI model, with exact lines."""

from __future__ import annotations

import pytest

from auditor.model import DocKind, Document, Phase, RefKind, SiteKind, ValueKind
from auditor.parsers import kind_of
from auditor.parsers.ci_model import ROLE_INPUT_DEFAULT, CIDocument, CISystem, Via, secret_env
from auditor.parsers.gitlab_ci import environment_canonical

from .ci_support import job, line_of, parse_ci, pipeline


def parse(text: str, path: str = ".gitlab-ci.yml") -> Document:
    return parse_ci(text, path)


@pytest.mark.parametrize(("path", "kind"), [
    (".gitlab-ci.yml", DocKind.GITLAB_CI),
    (".gitlab-ci.yaml", DocKind.GITLAB_CI),
    ("services/api/.gitlab-ci.yml", DocKind.GITLAB_CI),
    ("ci/deploy.gitlab-ci.yml", DocKind.GITLAB_CI),
    (".gitlab/ci/build.yml", DocKind.GITLAB_CI),
    (".gitlab/ci/jobs/test.yaml", DocKind.GITLAB_CI),
    (".gitlab/issue_templates/bug.yml", DocKind.TEXT),
    (".gitlab/ci/README.md", DocKind.TEXT),
    ("gitlab-ci.yml.bak", DocKind.TEXT),
])
def test_kind_of(path: str, kind: DocKind) -> None:
    got = kind_of(path)
    if kind is DocKind.TEXT:
        assert got is not DocKind.GITLAB_CI
    else:
        assert got is kind


FULL = """\
variables:
  CI_DEBUG_TRACE: "1"
  DEPLOY_ENV:
    value: staging
    description: where to deploy
  API_URL: https://api.acme.dev
  REGISTRY_AUTH: $REGISTRY_PASSWORD

default:
  image: node:20
  before_script:
    - set -x

.deploy:
  variables:
    KUBE_TOKEN: $PROD_KUBE_TOKEN
  environment:
    name: production/eu
  script:
    - echo "$KUBE_TOKEN"
    - ./deploy.sh

build:
  image:
    name: docker:27
  services:
    - name: postgres:16
      alias: db
      variables:
        POSTGRES_PASSWORD: $TEST_DB_PASSWORD
    - redis:7
  script:
    - npm ci
    - |
      docker build \\
        --build-arg NPM_TOKEN=$NPM_TOKEN .
  after_script:
    - echo done
  artifacts:
    paths:
      - dist/
      - .env
    exclude:
      - dist/*.map
  cache:
    - key: npm
      paths: [node_modules/]

deploy-prod:
  extends: .deploy
  variables:
    REGION: eu-west-1
  inherit:
    default: false
"""


def test_variables_sites_and_bindings() -> None:
    doc = parse(FULL)
    sites = {s.name: s for s in doc.sites_of(SiteKind.ENV)}
    assert sites["CI_DEBUG_TRACE"].location.line == 2
    assert sites["CI_DEBUG_TRACE"].phase is Phase.CI
    assert sites["DEPLOY_ENV"].location.line == 4  # the `value:` line of the long form
    assert sites["DEPLOY_ENV"].value is not None and sites["DEPLOY_ENV"].value.text == "staging"
    assert sites["REGISTRY_AUTH"].value is not None and sites["REGISTRY_AUTH"].value.kind is ValueKind.REFERENCE
    assert sites["POSTGRES_PASSWORD"].context["level"] == "service"
    assert sites["POSTGRES_PASSWORD"].context["service"] == "db"
    top = pipeline(doc)
    assert top.ambient_secrets is True
    assert top.system is CISystem.GITLAB
    by_name = {b.name: b for b in top.env}
    assert [u.name for u in by_name["REGISTRY_AUTH"].secrets] == ["REGISTRY_PASSWORD"]
    assert by_name["REGISTRY_AUTH"].secrets[0].location.line == 7
    assert by_name["API_URL"].secrets == ()
    assert [u.name for u in top.secrets] == ["REGISTRY_PASSWORD"]


def test_jobs_hidden_templates_and_extends() -> None:
    doc = parse(FULL)
    ids = [j.id for j in pipeline(doc).jobs]
    assert ids == [".deploy", "build", "deploy-prod"]
    prod = job(doc, "deploy-prod")
    assert prod.environment is not None
    assert prod.environment.name == "production/eu"
    assert prod.environment.canonical == "prod"
    assert [b.name for b in prod.env] == ["KUBE_TOKEN", "REGION"]  # merged: the template's, then the job's
    scope = secret_env(pipeline(doc), prod)
    assert set(scope) == {"REGISTRY_AUTH", "KUBE_TOKEN"}
    # the inherited script keeps the template's lines; `inherit: default: false` drops the default before_script
    (step,) = prod.steps
    assert step.script is not None
    assert [c.line for c in step.script.commands] == [line_of(FULL, 'echo "$KUBE_TOKEN"'), line_of(FULL, "./deploy.sh")]


def test_default_before_script_joins_the_script() -> None:
    doc = parse(FULL)
    build = job(doc, "build")
    main, after = build.steps
    assert main.route == "build.script"
    assert main.script is not None
    lines = [(c.program, c.line) for c in main.script.commands]
    assert lines == [("set", line_of(FULL, "set -x")), ("npm", line_of(FULL, "npm ci")),
                     ("docker", line_of(FULL, "docker build"))]
    build_arg = next(c for c in main.script.commands if c.program == "docker")
    (option,) = build_arg.options(["--build-arg"])
    assert option.flag.line == line_of(FULL, "--build-arg")
    assert after.route == "build.after_script"
    assert after.script is not None and after.script.commands[0].line == line_of(FULL, "echo done")
    assert [(u.name, u.location.line, u.via) for u in main.secrets] == [
        ("NPM_TOKEN", line_of(FULL, "--build-arg"), Via.SCRIPT)]


def test_containers_artifacts_and_caches() -> None:
    doc = parse(FULL)
    build = job(doc, "build")
    assert [(c.role, c.name, c.image) for c in build.containers] == [
        ("container", "image", "docker:27"), ("service", "db", "postgres:16"), ("service", "redis:7", "redis:7")]
    db = build.containers[1]
    assert [u.name for b in db.env for u in b.secrets] == ["TEST_DB_PASSWORD"]
    artifact, cache = build.artifacts
    assert artifact.kind == "artifact"
    assert artifact.paths == (("dist/", line_of(FULL, "- dist/")), (".env", line_of(FULL, "- .env")),
                              ("!dist/*.map", line_of(FULL, "dist/*.map")))
    assert cache.kind == "cache" and cache.paths == (("node_modules/", line_of(FULL, "node_modules/")),)


def test_environment_forms() -> None:
    doc = parse("""\
        a:
          environment: staging
          script: [x]
        b:
          environment:
            name: review/$CI_COMMIT_REF_SLUG
          script: [x]
        c:
          environment: $DEPLOY_TARGET
          script: [x]
        d:
          environment: {name: prod-eu, url: https://x}
          script: [x]
    """)
    envs = {j.id: j.environment for j in pipeline(doc).jobs}
    assert envs["a"] is not None and envs["a"].canonical == "staging" and envs["a"].line == 2
    assert envs["b"] is not None and envs["b"].canonical is None and envs["b"].dynamic
    assert envs["c"] is not None and envs["c"].dynamic
    assert envs["d"] is not None and envs["d"].canonical == "prod"


@pytest.mark.parametrize(("name", "expected"), [
    ("production", "prod"), ("Production", "prod"), ("production/eu-west", "prod"), ("smarthotel-dev.bookings", "dev"),
    ("stg", "staging"), ("review/feature", None), ("qa-eu", "test"),
])
def test_environment_canonical(name: str, expected: str | None) -> None:
    assert environment_canonical(name) == expected


def test_secrets_and_id_tokens_bind_variables() -> None:
    text = """\
        deploy:
          secrets:
            DATABASE_PASSWORD:
              vault: production/db/password@ops
              file: false
          id_tokens:
            VAULT_ID_TOKEN:
              aud: https://vault.acme.dev
          script:
            - echo "$DATABASE_PASSWORD"
    """
    doc = parse(text)
    deploy = job(doc, "deploy")
    sites = {s.name: s for s in doc.sites}
    assert sites["DATABASE_PASSWORD"].value is not None
    assert sites["DATABASE_PASSWORD"].value.ref is RefKind.STORE
    assert sites["DATABASE_PASSWORD"].location.line == 3
    assert sites["VAULT_ID_TOKEN"].value is not None and sites["VAULT_ID_TOKEN"].value.ref is RefKind.CI_SECRET
    assert set(secret_env(pipeline(doc), deploy)) == {"DATABASE_PASSWORD", "VAULT_ID_TOKEN"}
    # the id token is issued per job: not a stored secret the job shares with others
    assert [u.name for u in deploy.secrets] == ["DATABASE_PASSWORD"]


def test_script_forms_nested_lists_and_reference_tags() -> None:
    text = """\
        .setup:
          script:
            - apt-get update
        test:
          script:
            - !reference [.setup, script]
            - - make lint
              - make test
            - echo "$CI_JOB_TOKEN"
        single:
          script: make all
    """
    doc = parse(text)
    assert doc.diagnostics == []
    test = job(doc, "test")
    assert test.steps[0].script is not None
    assert [(c.program, c.line) for c in test.steps[0].script.commands] == [
        ("make", line_of(text, "make lint")), ("make", line_of(text, "make test")), ("echo", line_of(text, "CI_JOB"))]
    single = job(doc, "single")
    assert single.steps[0].script is not None and single.steps[0].script.commands[0].line == line_of(text, "make all")


def test_ambient_script_uses_skip_assigned_and_plain_variables() -> None:
    text = """\
        variables:
          API_TOKEN_URL: https://x
          SERVICE_TOKEN: plain-but-declared
        job:
          script:
            - MY_TOKEN=$(cat token.txt)
            - echo "$MY_TOKEN $SERVICE_TOKEN ${#DEPLOY_TOKEN} $DEPLOY_TOKEN $CI_COMMIT_SHA"
    """
    doc = parse(text)
    uses = job(doc, "job").steps[0].secrets
    assert [(u.name, u.location.line) for u in uses] == [("DEPLOY_TOKEN", line_of(text, "echo"))]


def test_spec_header_inputs_and_workflow_rules_variables() -> None:
    text = """\
        spec:
          inputs:
            stage:
              default: test
            api_key:
              default: oUJnGyb6LhDz0LwUfNeTtuvC
        ---
        workflow:
          rules:
            - if: $CI_COMMIT_BRANCH == "main"
              variables:
                CI_DEBUG_TRACE: "true"
        job:
          rules:
            - if: $CI_COMMIT_TAG
              variables:
                RELEASE_TOKEN: $RELEASE_BOT_TOKEN
          script: [make release]
    """
    doc = parse(text)
    top = pipeline(doc)
    assert top.line == line_of(text, "workflow:")
    assert [(b.name, b.location.line, b.site.context["role"]) for b in top.inputs] == [
        ("stage", 4, ROLE_INPUT_DEFAULT), ("api_key", 6, ROLE_INPUT_DEFAULT)]
    assert [(b.name, b.location.line) for b in top.env] == [("CI_DEBUG_TRACE", line_of(text, "CI_DEBUG_TRACE"))]
    (binding,) = job(doc, "job").env
    assert binding.name == "RELEASE_TOKEN" and [u.name for u in binding.secrets] == ["RELEASE_BOT_TOKEN"]


def test_anchors_merge_keys_register_each_site_once() -> None:
    text = """\
        .vars: &vars
          OPENAI_API_KEY: $OPENAI_KEY_CI
          LOG_LEVEL: debug
        a:
          variables:
            <<: *vars
          script: [x]
        b:
          variables:
            <<: *vars
            EXTRA: "1"
          script: [x]
    """
    doc = parse(text)
    assert sorted((s.name, s.location.line) for s in doc.sites) == [
        ("EXTRA", 11), ("LOG_LEVEL", 3), ("OPENAI_API_KEY", 2)]
    assert [b.name for b in job(doc, "a").env] == ["OPENAI_API_KEY", "LOG_LEVEL"]
    assert [b.name for b in job(doc, "b").env] == ["OPENAI_API_KEY", "LOG_LEVEL", "EXTRA"]


def test_extends_cycles_and_unknown_templates_do_not_hang() -> None:
    doc = parse("""\
        .a:
          extends: .b
          script: [echo a]
        .b:
          extends: [.a, .from-an-include]
          variables:
            X: "1"
        job:
          extends: .a
    """)
    j = job(doc, "job")
    assert [b.name for b in j.env] == ["X"]
    assert j.steps[0].script is not None and j.steps[0].script.commands[0].program == "echo"


MARK = "Zq8vLr2mXw9t"  # stands for a secret value: it must never appear in a diagnostic


@pytest.mark.parametrize("text", [
    "",
    "---\n",
    f"just a string {MARK}\n",
    f"- a\n- {MARK}\n",
    f"job: [1, {MARK}]\n",
    f"variables: [A, {MARK}]\njob:\n  script: {{a: {MARK}}}\n",
    f"job:\n  script:\n    - 'unterminated {MARK}\n",
    f"job:\n  script: [\"echo '{MARK}\"]\n  artifacts: [x]\n  cache: 5\n  services: nope\n  environment: [x]\n",
    "a: &a\n  extends: a\n  <<: *a\n",
    f"job:\n  variables:\n    X: {{description: {MARK}}}\n  secrets: [x]\n  id_tokens: 3\n  needs: [{{job: a}}, b]\n",
    f":\n  - [{MARK}",
    f"job:\n  script:\n    - echo \"$(printf {MARK}\n",
])
def test_bad_input_never_raises(text: str) -> None:
    doc = parse(text)
    assert isinstance(doc.data, CIDocument)
    assert all(MARK not in d.message for d in doc.diagnostics)


def test_diagnostics_do_not_quote_values() -> None:
    secret = "oUJnGyb6LhDz0LwUfNeTtuvC"
    doc = parse(f"variables: [\n  TOKEN: {secret}\n")
    assert doc.diagnostics
    assert all(secret not in d.message for d in doc.diagnostics)
    doc = parse(f"job: {secret}\n")
    assert doc.diagnostics and all(secret not in d.message for d in doc.diagnostics)


def test_unbalanced_script_is_reported_with_its_line() -> None:
    text = """\
        job:
          script:
            - echo ok
            - echo "oops
    """
    doc = parse(text)
    assert any(d.line == 4 and d.level == "warning" for d in doc.diagnostics)


def test_local_includes_are_read_as_gitlab_ci(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from auditor.config import Config
    from auditor.scan import ScanOptions, scan

    (tmp_path / "ci").mkdir()
    (tmp_path / ".gitlab-ci.yml").write_text(
        "include:\n  - local: /ci/deploy.yml\n  - 'ci/*.gitlab.yml'\n  - project: other/group\n    file: t.yml\n"
        "build:\n  script: make\n")
    (tmp_path / "ci" / "deploy.yml").write_text("deploy:\n  variables:\n    CI_DEBUG_TRACE: 'true'\n  script: [./d.sh]\n")
    (tmp_path / "ci" / "lint.gitlab.yml").write_text("lint:\n  variables:\n    CI_DEBUG_TRACE: '1'\n  script: [make]\n")
    (tmp_path / "ci" / "unrelated.yml").write_text("jobs:\n  variables:\n    CI_DEBUG_TRACE: 'true'\n")
    result = scan(tmp_path, ScanOptions(config=Config(select=("LOG-03",)), jobs=1))
    assert sorted((f.location.path, f.location.line) for f in result.findings) == [
        ("ci/deploy.yml", 3), ("ci/lint.gitlab.yml", 3)]
