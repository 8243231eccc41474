"""CircleCI -> the shared CI model, with exact lines."""

from __future__ import annotations

import pytest

from auditor.model import DocKind, Document, SiteKind
from auditor.parsers import kind_of
from auditor.parsers.ci_model import (
    ROLE_CREDENTIAL,
    ROLE_INPUT,
    ROLE_INPUT_DEFAULT,
    CIDocument,
    CISystem,
    Via,
    secret_env,
)

from .ci_support import job, line_of, parse_ci, pipeline

MARK = "Zq8vLr2mXw9t"


def parse(text: str, path: str = ".circleci/config.yml") -> Document:
    return parse_ci(text, path)


@pytest.mark.parametrize(("path", "kind"), [
    (".circleci/config.yml", DocKind.CIRCLECI),
    (".circleci/config.yaml", DocKind.CIRCLECI),
    ("sub/.circleci/config.yml", DocKind.CIRCLECI),
])
def test_kind_of(path: str, kind: DocKind) -> None:
    assert kind_of(path) is kind


def test_other_files_under_circleci_are_not_configs() -> None:
    assert kind_of(".circleci/files/backend.yml") is not DocKind.CIRCLECI
    assert kind_of("config.yml") is not DocKind.CIRCLECI


CONFIG = """\
version: 2.1

orbs:
  aws-cli: circleci/aws-cli@4.1

parameters:
  deploy-env:
    type: string
    default: staging

executors:
  node:
    docker:
      - image: registry.acme.dev/node:20
        auth:
          username: ci
          password: $REGISTRY_PASSWORD
    environment:
      NODE_ENV: production

commands:
  notify:
    parameters:
      channel:
        type: string
        default: "#deploys"
    steps:
      - run: echo "hook $SLACK_TOKEN << parameters.channel >>"

jobs:
  build:
    executor: node
    environment:
      NPM_AUTH: ${NPM_TOKEN}
    steps:
      - checkout
      - run:
          name: Build
          shell: /bin/bash -xeo pipefail
          environment:
            STEP_LEVEL: "1"
          command: |
            npm ci
            docker build --build-arg NPM_TOKEN="$NPM_TOKEN" -t app:<< pipeline.parameters.deploy-env >> .
      - run: make test
      - when:
          condition: << pipeline.parameters.deploy-env >>
          steps:
            - run: echo nested
      - save_cache:
          key: deps
          paths: [node_modules, .npmrc]
      - persist_to_workspace:
          root: .
          paths:
            - dist
      - store_artifacts:
          path: reports/
      - aws-cli/setup:
          role_arn: arn:aws:iam::1:role/ci
      - notify:
          channel: "#ops"
  deploy:
    docker:
      - image: cimg/base:2024.06
        environment:
          TZ: UTC
      - image: postgres:16
        name: db
    steps:
      - run: ./deploy.sh

workflows:
  main:
    jobs:
      - build
      - deploy:
          context:
            - shared
            - aws-production
          requires: [build]
"""


def test_pipeline_shape_and_template_jobs() -> None:
    doc = parse(CONFIG)
    assert doc.diagnostics == []
    top = pipeline(doc)
    assert top.system is CISystem.CIRCLECI and top.ambient_secrets
    assert [j.id for j in top.jobs] == ["executors.node", "commands.notify", "build", "deploy"]
    assert [(b.name, b.location.line, b.site.context["role"]) for b in top.inputs] == [
        ("deploy-env", line_of(CONFIG, "default: staging"), ROLE_INPUT_DEFAULT),
        ("channel", line_of(CONFIG, 'default: "#deploys"'), ROLE_INPUT_DEFAULT)]


def test_executor_credentials_and_environment() -> None:
    doc = parse(CONFIG)
    executor = job(doc, "executors.node")
    (container,) = executor.containers
    assert container.role == "container" and container.image == "registry.acme.dev/node:20"
    assert [(b.name, b.location.line, b.site.context["role"]) for b in container.credentials] == [
        ("username", line_of(CONFIG, "username: ci"), ROLE_CREDENTIAL),
        ("password", line_of(CONFIG, "password: $REGISTRY_PASSWORD"), ROLE_CREDENTIAL)]
    assert [(u.name, u.via) for u in executor.secrets] == [("REGISTRY_PASSWORD", Via.CREDENTIAL)]
    # a job using the executor sees its environment
    assert [b.name for b in job(doc, "build").env] == ["NODE_ENV", "NPM_AUTH"]


def test_job_environment_bindings_and_run_steps() -> None:
    doc = parse(CONFIG)
    build = job(doc, "build")
    sites = {s.name: s for s in doc.sites_of(SiteKind.ENV)}
    assert sites["NPM_AUTH"].location.line == line_of(CONFIG, "NPM_AUTH:")
    assert sites["STEP_LEVEL"].route == "jobs.build.steps[1].run.environment.STEP_LEVEL"
    assert set(secret_env(pipeline(doc), build)) == {"NPM_AUTH"}
    run = build.steps[1]
    assert run.name == "Build"
    assert run.shell == "/bin/bash -xeo pipefail"
    assert run.shell_line == line_of(CONFIG, "shell:")
    assert [b.name for b in run.env] == ["STEP_LEVEL"]
    assert run.script is not None
    docker = next(c for c in run.script.commands if c.program == "docker")
    assert docker.line == line_of(CONFIG, "docker build")
    (span,) = list(docker.exprs())
    assert span.text == "pipeline.parameters.deploy-env"
    assert [(u.name, u.location.line) for u in run.secrets] == [("NPM_TOKEN", line_of(CONFIG, "docker build"))]
    assert build.steps[2].shell == "/bin/bash -eo pipefail"


def test_when_blocks_artifacts_orbs_and_commands() -> None:
    doc = parse(CONFIG)
    build = job(doc, "build")
    names = [s.name for s in build.steps]
    assert names[:4] == ["checkout", "Build", None, None]  # the `when:` step is read in place
    nested = build.steps[3]
    assert nested.script is not None and nested.script.commands[0].line == line_of(CONFIG, "echo nested")
    kinds = {s.name: (s.uses.kind if s.uses else None) for s in build.steps}
    assert kinds["checkout"] == "builtin"
    assert kinds["aws-cli/setup"] == "orb"
    assert kinds["notify"] == "command"
    artifacts = [(a.kind, a.paths) for s in build.steps for a in s.artifacts]
    assert artifacts == [
        ("cache", (("node_modules", line_of(CONFIG, "paths: [node_modules")), (".npmrc", line_of(CONFIG, ".npmrc")))),
        ("workspace", (("dist", line_of(CONFIG, "- dist")),)),
        ("artifact", (("reports/", line_of(CONFIG, "path: reports/")),)),
    ]
    orb = next(s for s in build.steps if s.name == "aws-cli/setup")
    assert orb.inputs["role_arn"].site.context["role"] == ROLE_INPUT
    command_job = job(doc, "commands.notify")
    assert [(u.name, u.location.line) for s in command_job.steps for u in s.secrets] == [
        ("SLACK_TOKEN", line_of(CONFIG, "hook $SLACK_TOKEN"))]


def test_contexts_as_environment_and_service_containers() -> None:
    doc = parse(CONFIG)
    deploy = job(doc, "deploy")
    assert deploy.environment is not None
    assert (deploy.environment.name, deploy.environment.canonical) == ("aws-production", "prod")
    assert deploy.environment.line == line_of(CONFIG, "- aws-production")
    assert [(c.role, c.name) for c in deploy.containers] == [("container", "cimg/base:2024.06"), ("service", "db")]
    assert job(doc, "build").environment is None  # no context


@pytest.mark.parametrize("text", [
    "",
    f"version: {MARK}\n",
    f"jobs: [{MARK}]\n",
    f"jobs:\n  a:\n    steps: {MARK}\n",
    f"jobs:\n  a:\n    steps:\n      - run: {{command: [{MARK}]}}\n      - {MARK}\n      - when: 3\n",
    f"jobs:\n  a:\n    docker: {MARK}\n    environment: [{MARK}]\n",
    f"jobs:\n  a:\n    docker:\n      - image: x\n        auth: {MARK}\n",
    f"workflows:\n  w:\n    jobs:\n      - a:\n          context: {{x: {MARK}}}\n",
    f"executors: {MARK}\ncommands: [1]\nparameters: 5\n",
    f"jobs:\n  a:\n    steps:\n      - run: |\n          echo \"{MARK}\n",
    f"jobs:\n  a: [\n{MARK}",
])
def test_bad_input_never_raises(text: str) -> None:
    doc = parse(text)
    assert isinstance(doc.data, CIDocument)
    assert all(MARK not in d.message for d in doc.diagnostics)
