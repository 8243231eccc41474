"""GitHub Actions workflows and actions -> the shared CI model, with exact lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from auditor.model import DocKind, Document, Phase, RefKind, SiteKind, ValueKind
from auditor.parsers import kind_of
from auditor.parsers import parse as parse_document
from auditor.parsers.ci_model import (
    ROLE_CREDENTIAL,
    ROLE_INPUT,
    ROLE_INPUT_DEFAULT,
    ROLE_SECRET_FORWARD,
    CIDocument,
    Pipeline,
    Via,
    parse_expression,
    secret_env,
)
from auditor.parsers.github_actions import parse_uses

from .conftest import FIXTURES, SHARED

WORKFLOW = """\
name: deploy
on:
  push:
    branches: [main]
  workflow_dispatch:
    inputs:
      region:
        default: eu-west-1
permissions:
  contents: read
env:
  GLOBAL_TOKEN: ${{ secrets.GLOBAL_TOKEN }}
  LOG_LEVEL: info
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment:
      name: Production
      url: https://acme.dev
    permissions:
      contents: write
    env:
      JOB_KEY: ${{ secrets.JOB_KEY }}
    container:
      image: ghcr.io/acme/ci:1
      credentials:
        username: ${{ github.actor }}
        password: ${{ secrets.GITHUB_TOKEN }}
    services:
      redis:
        image: redis:7
        env:
          REDIS_PASSWORD: hunter2-but-longer
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
          ref: ${{ github.event.pull_request.head.sha }}
      - name: Build
        env:
          STEP_TOKEN: ${{ secrets.STEP_TOKEN }}
          JOB_KEY: overridden
        run: |
          echo start
          docker build \\
            --build-arg A=${{ secrets.INLINE }} .
      - uses: actions/upload-artifact@v3
        with:
          name: dist
          path: |
            dist/
            .env.production
  call:
    uses: acme/wf/.github/workflows/release.yml@v2
    with:
      api-key: ${{ secrets.API_KEY }}
    secrets: inherit
  call-explicit:
    uses: ./.github/workflows/reusable.yml
    secrets:
      NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
  win:
    runs-on: windows-latest
    steps:
      - run: Write-Host $env:TOKEN
      - shell: python
        run: print("${{ secrets.PY_SECRET }}")
"""


def parse(text: str, path: str = ".github/workflows/deploy.yml", kind: DocKind | None = None) -> Document:
    doc = Document(path, kind or kind_of(path), environment=None)
    parse_document(doc, text)
    return doc


def pipeline_of(doc: Document) -> Pipeline:
    assert isinstance(doc.data, CIDocument)
    (pipeline,) = doc.data.pipelines
    return pipeline


@pytest.fixture(scope="module")
def workflow() -> Document:
    return parse(WORKFLOW)


def line_of(text: str, needle: str, nth: int = 0) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[nth]


# ---------------------------------------------------------------------------------------- registration


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (".github/workflows/ci.yml", DocKind.GITHUB_WORKFLOW),
        (".github/workflows/docker-compose.yaml", DocKind.GITHUB_WORKFLOW),
        ("services/api/.github/workflows/ci.yml", DocKind.GITHUB_WORKFLOW),
        ("action.yml", DocKind.GITHUB_ACTION),
        (".github/actions/setup/action.yaml", DocKind.GITHUB_ACTION),
    ],
)
def test_kind_of(path: str, kind: DocKind) -> None:
    assert kind_of(path) is kind


def test_not_workflows() -> None:
    assert kind_of(".github/workflows/notes.md") is DocKind.TEXT
    assert kind_of(".github/dependabot.yml") is not DocKind.GITHUB_WORKFLOW
    assert kind_of("workflows/ci.yml") is not DocKind.GITHUB_WORKFLOW


# --------------------------------------------------------------------------------------------- workflow


def test_triggers_and_permissions(workflow: Document) -> None:
    pipeline = pipeline_of(workflow)
    assert pipeline.triggers == {"push": 3, "workflow_dispatch": 5}
    assert pipeline.permissions is not None
    assert not pipeline.permissions.writes
    deploy = pipeline.jobs[0]
    assert deploy.permissions is not None
    assert deploy.permissions.writes


@pytest.mark.parametrize(
    ("on", "expected"),
    [("on: push", ["push"]), ("on: [push, pull_request_target]", ["push", "pull_request_target"]),
     ("'on':\n  issue_comment:\n    types: [created]", ["issue_comment"])],
)
def test_trigger_forms(on: str, expected: list[str]) -> None:
    doc = parse(f"{on}\njobs: {{}}\n")
    assert list(pipeline_of(doc).triggers) == expected


def test_env_sites_at_every_level(workflow: Document) -> None:
    env_sites = {s.route: s for s in workflow.sites_of(SiteKind.ENV)}
    assert set(env_sites) == {
        "env.GLOBAL_TOKEN", "env.LOG_LEVEL", "jobs.deploy.env.JOB_KEY",
        "jobs.deploy.services.redis.env.REDIS_PASSWORD",
        "jobs.deploy.steps[1].env.STEP_TOKEN", "jobs.deploy.steps[1].env.JOB_KEY",
    }
    global_token = env_sites["env.GLOBAL_TOKEN"]
    assert global_token.phase is Phase.CI
    assert global_token.location.line == line_of(WORKFLOW, "GLOBAL_TOKEN:")
    assert global_token.value is not None
    assert global_token.value.kind is ValueKind.REFERENCE
    assert global_token.value.ref is RefKind.CI_SECRET
    assert global_token.value.ref_name == "GLOBAL_TOKEN"
    assert global_token.context["level"] == "workflow"
    redis = env_sites["jobs.deploy.services.redis.env.REDIS_PASSWORD"]
    assert redis.value is not None
    assert redis.value.kind is ValueKind.LITERAL
    assert redis.context == {"level": "service", "job": "deploy", "service": "redis"}


def test_job_environment_is_canonical_and_on_sites(workflow: Document) -> None:
    deploy = pipeline_of(workflow).jobs[0]
    assert deploy.environment is not None
    assert (deploy.environment.name, deploy.environment.canonical) == ("Production", "prod")
    assert deploy.environment.line == line_of(WORKFLOW, "name: Production")
    job_sites = [s for s in workflow.sites if s.route.startswith("jobs.deploy.")]
    assert job_sites
    assert all(s.environment == "prod" for s in job_sites)
    workflow_sites = [s for s in workflow.sites if s.route.startswith("env.")]
    assert all(s.environment is None for s in workflow_sites)


def test_dynamic_environment() -> None:
    doc = parse("on: push\njobs:\n  d:\n    runs-on: x\n    environment: ${{ inputs.env }}\n    steps: []\n")
    env = pipeline_of(doc).jobs[0].environment
    assert env is not None
    assert env.dynamic
    assert env.canonical is None


def test_inputs_credentials_and_forwarded_secrets_are_config_keys(workflow: Document) -> None:
    roles = {(s.route, s.context.get("role")) for s in workflow.sites_of(SiteKind.CONFIG_KEY)}
    assert ("jobs.deploy.container.credentials.password", ROLE_CREDENTIAL) in roles
    assert ("jobs.deploy.steps[0].with.persist-credentials", ROLE_INPUT) in roles
    assert ("jobs.call.with.api-key", ROLE_INPUT) in roles
    assert ("jobs.call-explicit.secrets.NPM_TOKEN", ROLE_SECRET_FORWARD) in roles
    assert ("on.workflow_dispatch.inputs.region.default", ROLE_INPUT_DEFAULT) in roles
    step_input = next(s for s in workflow.sites if s.route == "jobs.deploy.steps[0].with.persist-credentials")
    assert step_input.context["action"] == "actions/checkout"


def test_secret_uses_everywhere_with_exact_lines(workflow: Document) -> None:
    pipeline = pipeline_of(workflow)
    uses = {(u.name, u.via, u.location.line) for u in pipeline.all_secrets()}
    assert ("GLOBAL_TOKEN", Via.ENV, line_of(WORKFLOW, "GLOBAL_TOKEN:")) in uses
    assert ("JOB_KEY", Via.ENV, line_of(WORKFLOW, "JOB_KEY: ${{")) in uses
    assert ("GITHUB_TOKEN", Via.CREDENTIAL, line_of(WORKFLOW, "password: ${{")) in uses
    assert ("STEP_TOKEN", Via.ENV, line_of(WORKFLOW, "STEP_TOKEN:")) in uses
    assert ("INLINE", Via.SCRIPT, line_of(WORKFLOW, "--build-arg A=")) in uses
    assert ("API_KEY", Via.INPUT, line_of(WORKFLOW, "api-key:")) in uses
    assert ("NPM_TOKEN", Via.FORWARD, line_of(WORKFLOW, "NPM_TOKEN: ${{")) in uses
    assert ("PY_SECRET", Via.SCRIPT, line_of(WORKFLOW, "PY_SECRET")) in uses
    inherit = [u for u in pipeline.all_secrets() if u.whole]
    assert [(u.via, u.location.line) for u in inherit] == [(Via.FORWARD, line_of(WORKFLOW, "secrets: inherit"))]
    call = pipeline.jobs[1]
    assert call.uses is not None
    assert call.uses.kind == "workflow"
    assert call.uses.ref == "v2"
    assert call.secrets_inherit_line == line_of(WORKFLOW, "secrets: inherit")


def test_secret_env_scope_respects_shadowing(workflow: Document) -> None:
    pipeline = pipeline_of(workflow)
    deploy = pipeline.jobs[0]
    build = deploy.steps[1]
    assert set(secret_env(pipeline, deploy, build)) == {"GLOBAL_TOKEN", "STEP_TOKEN"}  # JOB_KEY overridden
    assert set(secret_env(pipeline, deploy)) == {"GLOBAL_TOKEN", "JOB_KEY"}


def test_run_script_parsed_with_source_lines(workflow: Document) -> None:
    build = pipeline_of(workflow).jobs[0].steps[1]
    assert build.shell == "bash"
    assert build.script is not None
    assert build.script_line == line_of(WORKFLOW, "echo start")
    docker = next(c for c in build.script.commands if c.program == "docker")
    assert docker.line == line_of(WORKFLOW, "docker build")
    assert [o.value.line for o in docker.options(["--build-arg"]) if o.value] == [line_of(WORKFLOW, "--build-arg A=")]


def test_shell_selection(workflow: Document) -> None:
    win = pipeline_of(workflow).jobs[3]
    pwsh, python = win.steps
    assert pwsh.shell == "pwsh"
    assert pwsh.script is not None
    assert [v.name for v in pwsh.script.vars()] == ["TOKEN"]
    assert python.shell == "python"
    assert python.script is None
    assert python.script_text


def test_checkout_and_artifacts(workflow: Document) -> None:
    steps = pipeline_of(workflow).jobs[0].steps
    checkout = steps[0].checkout
    assert checkout is not None
    assert checkout.persist_credentials is False
    assert checkout.ref == "${{ github.event.pull_request.head.sha }}"
    assert checkout.ref_line == line_of(WORKFLOW, "ref: ${{")
    (artifact,) = steps[2].artifacts
    assert artifact.kind == "artifact"
    assert artifact.action is not None
    assert artifact.action.major == 3
    assert artifact.paths == (("dist/", line_of(WORKFLOW, "dist/")),
                              (".env.production", line_of(WORKFLOW, ".env.production")))


def test_multiline_binding_lines() -> None:
    text = ("on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n      - uses: docker/build-push-action@v6\n"
            "        with:\n          build-args: |\n            A=1\n            B=${{ secrets.B }}\n")
    step = pipeline_of(parse(text)).jobs[0].steps[0]
    binding = step.inputs["build-args"]
    assert binding.lines == (9, 10, 11)
    assert binding.line_of(1) == 10
    assert [(u.name, u.location.line) for u in binding.secrets] == [("B", 10)]


@pytest.mark.parametrize(
    ("raw", "kind", "name", "ref", "major"),
    [
        ("actions/checkout@v4", "action", "actions/checkout", "v4", 4),
        ("actions/cache/save@v4.2.0", "action", "actions/cache/save", "v4.2.0", 4),
        ("Docker/Build-Push-Action@0123456789abcdef0123456789abcdef01234567", "action", "docker/build-push-action",
         "0123456789abcdef0123456789abcdef01234567", None),
        ("docker://alpine:3.20", "docker", "alpine:3.20", None, None),
        ("./.github/actions/setup", "local", "./.github/actions/setup", None, None),
        ("acme/wf/.github/workflows/x.yml@main", "workflow", "acme/wf/.github/workflows/x.yml", "main", None),
    ],
)
def test_parse_uses(raw: str, kind: str, name: str, ref: str | None, major: int | None) -> None:
    uses = parse_uses(raw, 1)
    assert (uses.kind, uses.name, uses.ref, uses.major) == (kind, name, ref, major)


# ------------------------------------------------------------------------------------------- actions


ACTION = """\
name: setup
inputs:
  token:
    description: API token
    default: ${{ github.token }}
  api-key:
    default: sk-not-a-real-key-0123456789
runs:
  using: composite
  steps:
    - shell: bash
      env:
        KEY: ${{ inputs.api-key }}
      run: |
        echo "$KEY" > key.txt
"""


def test_composite_action() -> None:
    doc = parse(ACTION, "action.yml")
    pipeline = pipeline_of(doc)
    assert pipeline.kind == "action"
    assert [(b.name, b.location.line) for b in pipeline.inputs] == [("token", 5), ("api-key", 7)]
    assert [(u.name, u.via) for u in pipeline.inputs[0].secrets] == [("GITHUB_TOKEN", Via.OTHER)]
    (job,) = pipeline.jobs
    (step,) = job.steps
    assert step.script is not None
    assert step.script.commands[0].line == 15
    assert [s.route for s in doc.sites_of(SiteKind.ENV)] == ["runs.steps[0].env.KEY"]


# ---------------------------------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    ("text", "name", "whole", "dynamic", "unredacted"),
    [
        ("secrets.NPM_TOKEN", "NPM_TOKEN", False, False, False),
        ("secrets['NPM_TOKEN']", "NPM_TOKEN", False, False, False),
        ("toJSON(secrets)", "*", True, False, False),
        ("format('{0}', toJSON(secrets))", "*", True, False, False),
        ("secrets[matrix.name]", "*", False, True, False),
        ("secrets[format('{0}_KEY', inputs.env)]", "*", False, True, False),
        ("fromJSON(secrets.CREDS).password", "CREDS", False, False, True),
        ("fromJson(secrets.CREDS)", "CREDS", False, False, True),
        ("github.token", "GITHUB_TOKEN", False, False, False),
    ],
)
def test_expression_secret_uses(text: str, name: str, whole: bool, dynamic: bool, unredacted: bool) -> None:
    from auditor.model import Location

    (use,) = list(parse_expression(text).secret_uses(Location("f", 1), Via.ENV))
    assert (use.name, use.whole, use.dynamic, use.unredacted) == (name, whole, dynamic, unredacted)


def test_expression_contexts() -> None:
    expression = parse_expression(
        "github.event.pull_request.head.sha || needs.build.outputs.tag && env.X == 'secrets.NOT' && vars.Y")
    assert [r.dotted for r in expression.refs] == [
        "github.event.pull_request.head.sha", "needs.build.outputs.tag", "env.X", "vars.Y"]
    labels = parse_expression("contains(github.event.pull_request.labels.*.name, 'ok')")
    assert labels.refs[0].path[-2:] == ("*", "name")
    assert not list(parse_expression("'secrets.X' == true").refs)


# ------------------------------------------------------------------------------------------ robustness


@pytest.mark.parametrize(
    "text",
    [
        "on: push\njobs:\n  a: [1, 2\n",  # syntax error
        "on: push\njobs: []\n",
        "- just\n- a list\n",
        "on: push\njobs:\n  a:\n    steps: {not: a list}\n",
        "on: push\njobs:\n  a:\n    env: ${{ fromJSON(needs.x.outputs.env) }}\n    steps:\n      - run: [1]\n",
        "on: push\njobs:\n  a:\n    steps:\n      - run: |\n          echo \"unterminated\n",
        "",
    ],
)
def test_bad_input_never_raises_and_never_quotes(text: str) -> None:
    doc = parse(text)
    assert isinstance(doc.data, CIDocument)
    for diagnostic in doc.diagnostics:
        assert "unterminated\n" not in diagnostic.message
        assert "[1, 2" not in diagnostic.message


def test_alias_bomb_is_cut() -> None:
    lines = ["on: push", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(10))}]")
    lines.append("jobs:\n  j:\n    steps:\n      - env: *a8\n        run: echo hi")
    doc = parse("\n".join(lines) + "\n")
    assert isinstance(doc.data, CIDocument)


# ---------------------------------------------------------------------------------- schema validation


def _fixture_files(pattern: str) -> list[Path]:
    return sorted(p for p in (FIXTURES / "rules").rglob(pattern) if p.is_file())


WORKFLOW_SCHEMA = SHARED / "schemas" / "github-workflow.json"
ACTION_SCHEMA = SHARED / "schemas" / "github-action.json"


@pytest.mark.parametrize("path", [p for p in _fixture_files("*.y*ml") if kind_of(
    p.relative_to(FIXTURES).as_posix()) is DocKind.GITHUB_WORKFLOW], ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fixture_workflows_are_schema_valid(path: Path) -> None:
    if not WORKFLOW_SCHEMA.is_file():
        pytest.skip("github-workflow.json schema not available")
    import jsonschema

    schema = json.loads(WORKFLOW_SCHEMA.read_text(encoding="utf-8"))
    instance = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in instance:  # YAML 1.1 reads the `on` key as a boolean
        instance["on"] = instance.pop(True)
    jsonschema.validate(instance, schema)


@pytest.mark.parametrize("path", list(_fixture_files("action.y*ml")),
                         ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fixture_actions_are_schema_valid(path: Path) -> None:
    if not ACTION_SCHEMA.is_file():
        pytest.skip("github-action.json schema not available")
    import jsonschema

    schema = json.loads(ACTION_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)
