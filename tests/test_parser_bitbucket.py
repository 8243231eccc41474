"""Bitbucket Pipelines -> the shared CI model, with exact lines."""

from __future__ import annotations

import pytest

from auditor.model import DocKind, Document, SiteKind
from auditor.parsers import kind_of
from auditor.parsers.ci_model import ROLE_CREDENTIAL, ROLE_INPUT_DEFAULT, CIDocument, CISystem, Via

from .ci_support import job, line_of, parse_ci, pipeline

MARK = "Zq8vLr2mXw9t"


def parse(text: str, path: str = "bitbucket-pipelines.yml") -> Document:
    return parse_ci(text, path)


def test_kind_of() -> None:
    assert kind_of("bitbucket-pipelines.yml") is DocKind.BITBUCKET
    assert kind_of("apps/web/bitbucket-pipelines.yml") is DocKind.BITBUCKET
    assert kind_of("bitbucket-pipelines.yml.orig") is not DocKind.BITBUCKET


PIPELINES = """\
image:
  name: registry.acme.dev/build:4
  username: ci
  password: $REGISTRY_PASSWORD

definitions:
  services:
    mysql:
      image: mysql:8.4
      variables:
        MYSQL_ROOT_PASSWORD: $TEST_MYSQL_PASSWORD
  caches:
    sonar: ~/.sonar/cache
  steps:
    - step: &test
        name: Test
        services: [mysql]
        script:
          - npm ci
          - npm test -- --token "$NPM_TOKEN"

pipelines:
  default:
    - step: *test
  branches:
    main:
      - step: *test
      - parallel:
          steps:
            - step:
                name: Lint
                script:
                  - npm run lint
      - stage:
          name: Release
          deployment: production
          steps:
            - step:
                name: Push
                image:
                  name: 123.dkr.ecr.eu-west-1.amazonaws.com/pusher:1
                  aws:
                    access-key: $AWS_ACCESS_KEY_ID
                    secret-key: $AWS_SECRET_ACCESS_KEY
                script:
                  - docker build -t app .
                  - pipe: atlassian/aws-s3-deploy:1.1.0
                    variables:
                      AWS_DEFAULT_REGION: eu-west-1
                      S3_BUCKET: $BUCKET
                  - echo "$HEROKU_API_KEY"
                after-script:
                  - echo "exit $BITBUCKET_EXIT_CODE"
                artifacts:
                  paths:
                    - dist/**
                    - .env
      - step:
          name: Smoke
          deployment: staging
          script:
            - ./smoke.sh
  custom:
    rotate:
      - variables:
          - name: TARGET
            default: staging
      - step:
          script:
            - ./rotate.sh "$TARGET"
"""


def test_steps_are_jobs_anchors_read_once() -> None:
    doc = parse(PIPELINES)
    assert doc.diagnostics == []
    top = pipeline(doc)
    assert top.system is CISystem.BITBUCKET and top.ambient_secrets
    routes = [j.route for j in top.jobs]
    assert routes == [
        "image", "definitions", "definitions.steps[0].step", "pipelines.branches.main[1].parallel[0].step",
        "pipelines.branches.main[2].stage.steps[0].step", "pipelines.branches.main[3].step",
        "pipelines.custom.rotate[1].step"]
    assert [j.id for j in top.jobs][2:6] == ["Test", "Lint", "Push", "Smoke"]
    test = job(doc, "Test")
    assert [(u.name, u.location.line) for s in test.steps for u in s.secrets] == [
        ("NPM_TOKEN", line_of(PIPELINES, "npm test"))]


def test_deployments_are_environments() -> None:
    doc = parse(PIPELINES)
    push, smoke = job(doc, "Push"), job(doc, "Smoke")
    assert push.environment is not None and push.environment.canonical == "prod"
    assert push.environment.line == line_of(PIPELINES, "deployment: production")  # from the stage
    assert smoke.environment is not None and smoke.environment.canonical == "staging"
    assert job(doc, "Lint").environment is None


def test_script_pipes_and_after_script() -> None:
    doc = parse(PIPELINES)
    push = job(doc, "Push")
    shell, pipe, after = push.steps
    assert shell.script is not None
    assert [(c.program, c.line) for c in shell.script.commands] == [
        ("docker", line_of(PIPELINES, "docker build")), ("echo", line_of(PIPELINES, "HEROKU_API_KEY"))]
    assert [(u.name, u.via) for u in shell.secrets] == [("HEROKU_API_KEY", Via.SCRIPT)]
    assert pipe.uses is not None and (pipe.uses.kind, pipe.uses.name, pipe.uses.ref) == (
        "pipe", "atlassian/aws-s3-deploy", "1.1.0")
    assert [(b.name, b.location.line) for b in pipe.env] == [
        ("AWS_DEFAULT_REGION", line_of(PIPELINES, "AWS_DEFAULT_REGION")), ("S3_BUCKET", line_of(PIPELINES, "S3_BUCKET"))]
    assert all(s.kind is SiteKind.ENV for s in (b.site for b in pipe.env))
    assert after.route.endswith("after-script")
    assert push.artifacts[0].paths == (("dist/**", line_of(PIPELINES, "dist/**")), (".env", line_of(PIPELINES, "- .env")))


def test_images_services_caches_and_custom_variables() -> None:
    doc = parse(PIPELINES)
    top = pipeline(doc)
    (image,) = job(doc, "image").containers
    assert image.name == "registry.acme.dev/build:4"
    assert [(b.name, b.location.line, b.site.context["role"]) for b in image.credentials] == [
        ("username", 3, ROLE_CREDENTIAL), ("password", 4, ROLE_CREDENTIAL)]
    assert [u.name for u in job(doc, "image").secrets] == ["REGISTRY_PASSWORD"]
    definitions = job(doc, "definitions")
    (mysql,) = definitions.containers
    assert (mysql.role, mysql.name, mysql.image) == ("service", "mysql", "mysql:8.4")
    assert [(b.name, b.site.context["level"]) for b in mysql.env] == [("MYSQL_ROOT_PASSWORD", "service")]
    assert definitions.artifacts[0].kind == "cache"
    assert definitions.artifacts[0].paths == (("~/.sonar/cache", line_of(PIPELINES, "sonar:")),)
    push = job(doc, "Push")
    aws = push.containers[0]
    assert [b.name for b in aws.credentials] == ["access-key", "secret-key"]
    assert [(b.name, b.site.context["role"]) for b in top.inputs] == [("TARGET", ROLE_INPUT_DEFAULT)]


@pytest.mark.parametrize("text", [
    "",
    f"pipelines: {MARK}\n",
    f"pipelines:\n  default: {MARK}\n",
    f"pipelines:\n  default:\n    - step: {MARK}\n    - parallel: {MARK}\n    - stage: [1]\n",
    f"pipelines:\n  branches:\n    main:\n      - step:\n          script: {{a: {MARK}}}\n          artifacts: 3\n",
    f"image: [{MARK}]\ndefinitions: {MARK}\n",
    f"definitions:\n  services:\n    db: {MARK}\n  caches: [1]\n",
    f"pipelines:\n  default:\n    - step:\n        script:\n          - pipe: {{x: 1}}\n          - echo \"{MARK}\n",
    f"pipelines:\n  default:\n    - step: &s\n        script: [x]\n    - step: *s\n    - step:\n        <<: *s\n        name: {MARK}\n",
])
def test_bad_input_never_raises(text: str) -> None:
    doc = parse(text)
    assert isinstance(doc.data, CIDocument)
    assert all(MARK not in d.message for d in doc.diagnostics)
