"""GitLab CI, CircleCI, Bitbucket Pipelines and Azure Pipelines through the whole scan: parser + shared CI rules."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from auditor.config import Config
from auditor.findings import Finding
from auditor.model import Severity
from auditor.scan import ScanOptions, scan

from .conftest import FIXTURES, SHARED

CI_RULES = ("BLD-06", "HCK-02", "HCK-11", "LOG-01", "LOG-02", "LOG-03", "LOG-04", "LOG-05", "ENV-02", "ENV-05")
LABELED = SHARED / "corpora" / "labeled"


def run(tmp_path: Path, files: dict[str, str], *rule_ids: str) -> list[Finding]:
    root = tmp_path / "repo"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    result = scan(root, ScanOptions(config=Config(select=rule_ids or CI_RULES), jobs=1))
    assert not [d for d in result.diagnostics if d.level == "error"], result.diagnostics
    return result.findings


def hits(findings: list[Finding], rule_id: str | None = None) -> list[tuple[str, int]]:
    return sorted((f.rule_id, f.location.line) for f in findings if rule_id is None or f.rule_id == rule_id)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(textwrap.dedent(text).splitlines(), 1) if needle in line)


# ------------------------------------------------------------------------------------------- GitLab


GITLAB = """\
variables:
  CI_DEBUG_TRACE: "true"

default:
  before_script:
    - set -x

build:
  script:
    - docker build --build-arg NPM_TOKEN=$NPM_TOKEN .
    - echo "$NPM_TOKEN"
  artifacts:
    paths: [dist/, .env]

test:
  script:
    - npm test -- --api-key "$OPENAI_API_KEY"

release:
  script:
    - docker login -u ci -p "$CI_REGISTRY_PASSWORD" "$CI_REGISTRY"
"""


def test_gitlab_end_to_end(tmp_path: Path) -> None:
    findings = run(tmp_path, {".gitlab-ci.yml": GITLAB})
    assert hits(findings) == sorted([
        ("LOG-03", 2),
        ("LOG-01", line_of(GITLAB, "set -x")),  # once, although three jobs run the default before_script
        ("BLD-06", line_of(GITLAB, "--build-arg")),
        ("LOG-01", line_of(GITLAB, 'echo "$NPM_TOKEN"')),
        ("LOG-05", line_of(GITLAB, "paths: [dist/")),
        ("LOG-04", line_of(GITLAB, "--api-key")),
        ("LOG-04", line_of(GITLAB, "docker login")),
    ])
    login = next(f for f in findings if f.rule_id == "LOG-04" and f.location.line == line_of(GITLAB, "docker login"))
    assert login.severity is Severity.LOW  # CI_REGISTRY_PASSWORD is the job's own token


@pytest.mark.parametrize(("value", "fires"), [
    ('"true"', True), ("1", True), ('"t"', True), ('"T"', True), ("TRUE", True), ('"false"', False), ("0", False),
])
def test_gitlab_debug_trace_truthy_values(tmp_path: Path, value: str, fires: bool) -> None:
    text = f"variables:\n  CI_DEBUG_TRACE: {value}\njob:\n  script: [make]\n"
    assert bool(run(tmp_path, {".gitlab-ci.yml": text}, "LOG-03")) is fires


def test_gitlab_env_dump_with_ambient_secrets(tmp_path: Path) -> None:
    text = """\
        deploy:
          script:
            - ./deploy.sh --token-file <(printf %s "$DEPLOY_TOKEN")
            - env
        lint:
          script:
            - env
    """
    assert hits(run(tmp_path, {".gitlab-ci.yml": text}, "LOG-01")) == [("LOG-01", 4)]


def test_gitlab_env02_uses_extends_and_exempts_job_tokens(tmp_path: Path) -> None:
    text = """\
        .deploy:
          script:
            - ./deploy.sh --key-file <(printf %s "$SEARCH_KEY") --job-token-file <(printf %s "$CI_JOB_TOKEN")
        deploy-staging:
          extends: .deploy
          environment: staging
        deploy-production:
          extends: .deploy
        smoke-staging:
          script:
            - ./smoke.sh --key-file <(printf %s "$SEARCH_KEY")
    """
    found = run(tmp_path, {".gitlab-ci.yml": text}, "ENV-02")
    # deploy-production reaches SEARCH_KEY through the template (line 3); smoke-staging on its own line
    assert hits(found) == [("ENV-02", 3), ("ENV-02", 11)]
    assert {f.name for f in found} == {"SEARCH_KEY"}


def test_gitlab_local_include_is_its_own_document(tmp_path: Path) -> None:
    files = {
        ".gitlab-ci.yml": "include:\n  - local: .gitlab/ci/deploy.yml\nstages: [deploy]\n",
        ".gitlab/ci/deploy.yml": "deploy:\n  variables:\n    CI_DEBUG_SERVICES: \"1\"\n  script:\n    - echo $DEPLOY_TOKEN\n",
    }
    found = run(tmp_path, files)
    assert sorted((f.rule_id, f.location.path, f.location.line) for f in found) == [
        ("LOG-01", ".gitlab/ci/deploy.yml", 5), ("LOG-03", ".gitlab/ci/deploy.yml", 3)]


def test_checkov_gitlab_curl_case(tmp_path: Path) -> None:
    """CKV_GITLABCI_1 (checkov's GitLab curl fixture): the job JWT sent with curl --data is a secret on argv."""
    manifest = LABELED / "MANIFEST.json"
    if not manifest.is_file():
        pytest.skip("labeled corpus not available")
    cases = [c for c in json.loads(manifest.read_text(encoding="utf-8"))["cases"] if c["kind"] == "gitlab"]
    assert cases
    for case in cases:
        root = tmp_path / str(case["id"]).replace("/", "_")
        root.mkdir()
        shutil.copy(LABELED / str(case["local_path"]), root / ".gitlab-ci.yml")
        result = scan(root, ScanOptions(config=Config(select=CI_RULES), jobs=1))
        lines = {f.location.line for f in result.findings}
        expected = set(case.get("expected_lines") or [])
        if case["label"] == "positive":
            assert expected & lines, (case["id"], sorted(lines))
        else:
            assert not lines, case["id"]


# ----------------------------------------------------------------------------------------- CircleCI


CIRCLE = """\
version: 2.1
jobs:
  build:
    docker:
      - image: registry.acme.dev/node:20
        auth:
          username: ci
          password: Wypgsm0p37KXg0geA8nQ
    environment:
      TF_LOG: DEBUG
    steps:
      - run:
          shell: /bin/bash -x
          command: printf '%s' "$DEPLOY_KEY" | ./deploy.sh --key-stdin
      - run: curl -u "ci:$NEXUS_PASSWORD" https://nexus
      - store_artifacts:
          path: .npmrc
workflows:
  w:
    jobs: [build]
"""


def test_circleci_end_to_end(tmp_path: Path) -> None:
    findings = run(tmp_path, {".circleci/config.yml": CIRCLE})
    assert hits(findings) == sorted([
        ("HCK-11", line_of(CIRCLE, "password:")),
        ("LOG-03", line_of(CIRCLE, "TF_LOG")),
        ("LOG-01", line_of(CIRCLE, "shell: /bin/bash -x")),
        ("LOG-04", line_of(CIRCLE, "curl -u")),
        ("LOG-05", line_of(CIRCLE, "path: .npmrc")),
    ])
    hck11 = next(f for f in findings if f.rule_id == "HCK-11")
    assert "context" in hck11.message and "secrets.NAME" not in hck11.message


# ---------------------------------------------------------------------------------------- Bitbucket


BITBUCKET = """\
image: node:20
pipelines:
  branches:
    main:
      - step:
          name: Build
          script:
            - docker build --build-arg SENTRY_AUTH_TOKEN=$SENTRY_AUTH_TOKEN .
            - printenv
          artifacts:
            - terraform.tfstate
      - step:
          name: Deploy
          deployment: production
          script:
            - pipe: atlassian/ssh-run:0.8.1
              variables:
                SSH_KEY: pDI66C2QooMl3OHqeyz46npv
                COMMAND: ./restart.sh
"""


def test_bitbucket_end_to_end(tmp_path: Path) -> None:
    findings = run(tmp_path, {"bitbucket-pipelines.yml": BITBUCKET})
    assert hits(findings) == sorted([
        ("BLD-06", line_of(BITBUCKET, "--build-arg")),
        ("LOG-01", line_of(BITBUCKET, "printenv")),
        ("LOG-05", line_of(BITBUCKET, "terraform.tfstate")),
        ("HCK-02", line_of(BITBUCKET, "SSH_KEY")),
    ])


# -------------------------------------------------------------------------------------------- Azure


AZURE = """\
trigger: [main]
pool:
  vmImage: ubuntu-latest
variables:
  system.debug: true
steps:
  - script: |
      echo "key=$(storageKey)"
      echo "$(storageKey)" | base64
      echo "build $(Build.BuildId) $(buildLabel)"
  - bash: |
      set -x
      ./publish.sh
    env:
      NPM_TOKEN: $(npmToken)
  - task: Docker@2
    inputs:
      command: build
      arguments: --build-arg NUGET_KEY=$(nugetApiKey)
  - publish: secrets/.env.production
    artifact: env
  - script: git push https://build:$(System.AccessToken)@dev.azure.com/acme/x/_git/y HEAD:main
"""


def test_azure_end_to_end(tmp_path: Path) -> None:
    findings = run(tmp_path, {"azure-pipelines.yml": AZURE})
    assert hits(findings) == sorted([
        ("LOG-03", line_of(AZURE, "system.debug")),
        ("LOG-01", line_of(AZURE, 'echo "key=')),
        ("LOG-02", line_of(AZURE, "| base64")),
        ("LOG-01", line_of(AZURE, "set -x")),
        ("BLD-06", line_of(AZURE, "--build-arg")),
        ("LOG-05", line_of(AZURE, "publish:")),
        ("LOG-04", line_of(AZURE, "git push")),
    ])
    push = next(f for f in findings if f.rule_id == "LOG-04")
    assert push.name == "System.AccessToken"


def test_azure_secret_variables_are_not_ambient(tmp_path: Path) -> None:
    """Azure maps only plain variables into the environment: `$DEPLOY_TOKEN` alone is no secret in scope."""
    text = """\
        steps:
          - bash: |
              set -x
              echo "$DEPLOY_TOKEN"
    """
    assert run(tmp_path, {"azure-pipelines.yml": text}, "LOG-01") == []


# ------------------------------------------------------------------------------------------ fixtures


SYSTEM_FILES = (".gitlab-ci.yml", ".circleci/config.yml", "bitbucket-pipelines.yml", "azure-pipelines.yml")


@pytest.mark.parametrize("rule_id", ["LOG-01", "LOG-03", "LOG-04", "BLD-06", "HCK-02", "LOG-05"])
def test_every_system_has_bad_and_good_fixtures(rule_id: str) -> None:
    for kind in ("bad", "good"):
        for name in SYSTEM_FILES:
            path = FIXTURES / "rules" / rule_id / kind / name
            assert path.is_file(), f"missing {path.relative_to(FIXTURES)}"
            if kind == "bad":
                assert "keyaudit-expect: " + rule_id in path.read_text(encoding="utf-8"), path


def test_fixture_findings_never_quote_values(copy_tree) -> None:
    tree = copy_tree(FIXTURES / "rules" / "HCK-02" / "bad")
    literals = []
    for name in SYSTEM_FILES:
        for line in (tree / name).read_text(encoding="utf-8").splitlines():
            if "keyaudit-expect: HCK-02" in line and ":" in line.split("#")[0]:
                literals.append(line.split("#")[0].split(":", 1)[1].strip().strip('"'))
    assert len(literals) >= 8 and all(len(v) >= 16 for v in literals)
    result = scan(tree, ScanOptions(config=Config(select=CI_RULES), jobs=1))
    assert result.findings
    for finding in result.findings:
        rendered = " ".join(str(x) for x in (finding.message, finding.evidence, finding.name, finding.route))
        assert not any(v in rendered for v in literals), finding.rule_id


@pytest.mark.parametrize("name", SYSTEM_FILES)
def test_truncated_and_mangled_configs_never_break_the_parser(name: str) -> None:
    """Every prefix of a real-looking config (and a few mangled copies) parses without an internal error."""
    from auditor.loader import load_bytes
    from auditor.parsers import kind_of

    text = (FIXTURES / "rules" / "LOG-01" / "bad" / name).read_text(encoding="utf-8")
    variants = [text[:i] for i in range(0, len(text), 7)]
    variants += [text.replace(": ", ":", k) for k in (1, 5, 9)] + [text.replace("- ", "-", 3), text.replace("  ", "\t")]
    for variant in variants:
        outcome = load_bytes(name, variant.encode(), kind_of(name), None)
        diagnostics = outcome.document.diagnostics if outcome.document is not None else list(outcome.diagnostics)
        assert not [d for d in diagnostics if "internal error" in d.message], variant


def test_azure_persisted_checkout_with_workspace_upload(tmp_path: Path) -> None:
    text = """\
        steps:
          - checkout: self
            persistCredentials: true
          - publish: .
            artifact: everything
          - checkout: self
          - publish: dist
            artifact: web
    """
    (finding,) = run(tmp_path, {"azure-pipelines.yml": text}, "LOG-05")
    assert finding.location.line == 4
    assert "System.AccessToken" in finding.message and "GITHUB_TOKEN" not in finding.message
