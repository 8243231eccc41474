"""Azure Pipelines -> the shared CI model, with exact lines."""

from __future__ import annotations

import pytest

from auditor.model import DocKind, Document, RefKind, SiteKind
from auditor.parsers import kind_of
from auditor.parsers.azure_pipelines import AZURE_EXPRESSIONS, env_name
from auditor.parsers.ci_model import (
    ROLE_INPUT,
    ROLE_INPUT_DEFAULT,
    CIDocument,
    CISystem,
    Via,
    secret_env,
)
from auditor.parsers.shell import parse_script

from .ci_support import job, line_of, parse_ci, pipeline

MARK = "Zq8vLr2mXw9t"


def parse(text: str, path: str = "azure-pipelines.yml") -> Document:
    return parse_ci(text, path)


@pytest.mark.parametrize(("path", "kind"), [
    ("azure-pipelines.yml", DocKind.AZURE_PIPELINES),
    ("azure-pipelines-release.yaml", DocKind.AZURE_PIPELINES),
    ("build/azure-pipelines.ci.yml", DocKind.AZURE_PIPELINES),
    (".azure-pipelines/templates/steps.yml", DocKind.AZURE_PIPELINES),
])
def test_kind_of(path: str, kind: DocKind) -> None:
    assert kind_of(path) is kind


def test_expression_pattern_keeps_shell_substitutions() -> None:
    script = parse_script('echo "$(Token)" $(date -u) ${{ variables.x }} $(Build.BuildId)', expressions=AZURE_EXPRESSIONS)
    (command,) = [c for c in script.commands if c.program == "echo"]
    assert [s.text for s in command.exprs()] == ["Token", "variables.x", "Build.BuildId"]
    assert [sub.commands[0].program for w in command.words for sub in w.subs] == ["date"]


def test_env_name() -> None:
    assert env_name("system.debug") == "SYSTEM_DEBUG"
    assert env_name("buildConfiguration") == "BUILDCONFIGURATION"


PIPE = """\
trigger:
  - main

parameters:
  - name: region
    type: string
    default: westeurope

variables:
  - name: system.debug
    value: true
  - group: release-kv
  - name: connection
    value: "Server=db;Password=$(dbPassword)"
  - name: plain
    value: hello

pool:
  vmImage: ubuntu-latest

stages:
  - stage: Build
    variables:
      stageVar: x
    jobs:
      - job: build
        displayName: Build it
        variables:
          tokenCopy: $[variables.apiToken]
        steps:
          - task: AzureKeyVault@2
            inputs:
              azureSubscription: prod
              KeyVaultName: acme-kv
              SecretsFilter: 'storageKey, sentryDsn'
          - checkout: self
            persistCredentials: true
          - script: |
              echo "$(storageKey) $(plain) $(Build.BuildId)"
              echo "##vso[task.setvariable variable=sessionCookie;issecret=true]$(cookie)"
            displayName: Show
          - bash: |
              curl -H "Authorization: Bearer $TOKEN" https://x
            env:
              TOKEN: $(System.AccessToken)
          - pwsh: Write-Host "$(sessionCookie)"
          - task: Docker@2
            inputs:
              command: buildAndPush
              arguments: --build-arg KEY=$(apiKey) --build-arg V=1
          - task: PublishPipelineArtifact@1
            inputs:
              targetPath: $(Build.ArtifactStagingDirectory)/drop
          - publish: out/.env
            artifact: env
          - task: AzureCLI@2
            inputs:
              scriptType: pscore
              inlineScript: Write-Host $(deployKey)
          - task: acme.notify@1
            inputs:
              apiToken: $(notifyToken)
  - stage: Deploy
    jobs:
      - deployment: web
        environment: smarthotel-prod.vm1
        strategy:
          runOnce:
            preDeploy:
              steps:
                - script: echo pre
            deploy:
              steps:
                - script: echo "$(connection)"
            on:
              failure:
                steps:
                  - script: echo failed
      - template: jobs/other.yml
"""


def test_variables_groups_and_macros() -> None:
    doc = parse(PIPE)
    assert doc.diagnostics == []
    top = pipeline(doc)
    assert top.system is CISystem.AZURE and top.ambient_secrets is False
    assert "trigger" in top.triggers
    sites = {s.name: s for s in doc.sites}
    assert sites["system.debug"].kind is SiteKind.ENV
    assert sites["system.debug"].location.line == line_of(PIPE, "value: true")
    group = sites["release-kv"]
    assert group.kind is SiteKind.CONFIG_KEY and group.context["role"] == "variable-group"
    assert group.value is not None and group.value.ref is RefKind.STORE
    by_name = {b.name: b for b in top.env}
    assert set(by_name) == {"SYSTEM_DEBUG", "CONNECTION", "PLAIN"}
    assert [(u.name, u.location.line) for u in by_name["CONNECTION"].secrets] == [
        ("dbPassword", line_of(PIPE, "Password=$(dbPassword)"))]
    assert [(b.name, b.site.context["role"]) for b in top.inputs] == [("region", ROLE_INPUT_DEFAULT)]
    build = job(doc, "build")
    assert [b.name for b in build.env] == ["STAGEVAR", "TOKENCOPY"]
    assert [u.name for u in build.env[1].secrets] == ["apiToken"]  # $[variables.apiToken]
    assert set(secret_env(top, build)) == {"CONNECTION", "TOKENCOPY"}


def test_script_steps_and_macro_secrets() -> None:
    doc = parse(PIPE)
    build = job(doc, "build")
    show = next(s for s in build.steps if s.name == "Show")
    assert show.shell == "bash"
    assert show.script is not None and show.script.commands[0].line == line_of(PIPE, "echo \"$(storageKey)")
    # storageKey: listed by the Key Vault task; plain: a plain variable of the file; Build.BuildId: predefined
    assert [(u.name, u.location.line, u.via) for u in show.secrets] == [
        ("storageKey", line_of(PIPE, "$(storageKey)"), Via.SCRIPT)]
    curl = build.steps[3]
    assert [(b.name, [u.name for u in b.secrets]) for b in curl.env] == [("TOKEN", ["System.AccessToken"])]
    pwsh = build.steps[4]
    assert pwsh.shell == "pwsh"
    assert [u.name for u in pwsh.secrets] == ["sessionCookie"]  # set with issecret=true by an earlier script
    docker = build.steps[5]
    assert docker.uses is not None and docker.uses.name == "docker@2"
    assert docker.script is not None
    (command,) = docker.script.commands
    assert command.program == "docker" and command.subcommand("build")
    assert [o.text for o in command.options(["--build-arg"])] == ["KEY=$(apiKey)", "V=1"]
    assert command.options(["--build-arg"]).__next__().flag.line == line_of(PIPE, "arguments:")
    assert [u.name for u in docker.secrets] == ["apiKey"]
    assert "arguments" not in docker.inputs and "command" in docker.inputs
    cli = build.steps[8]
    assert cli.shell == "pwsh" and cli.script is not None
    assert [u.name for u in cli.secrets] == ["deployKey"]
    notify = build.steps[9]
    assert notify.inputs["apiToken"].site.context["role"] == ROLE_INPUT
    assert [(u.name, u.via) for u in notify.secrets] == [("notifyToken", Via.INPUT)]
    assert "SecretsFilter" not in build.steps[0].inputs


def test_checkout_artifacts_and_deployment_jobs() -> None:
    doc = parse(PIPE)
    build = job(doc, "build")
    checkout = build.steps[1].checkout
    assert checkout is not None and checkout.persist_credentials is True
    artifacts = [(a.kind, a.paths) for s in build.steps for a in s.artifacts]
    assert artifacts == [
        ("artifact", (("$(Build.ArtifactStagingDirectory)/drop", line_of(PIPE, "targetPath:")),)),
        ("artifact", (("out/.env", line_of(PIPE, "publish: out/.env")),)),
    ]
    web = job(doc, "web")
    assert web.environment is not None
    assert (web.environment.name, web.environment.canonical) == ("smarthotel-prod.vm1", "prod")
    assert [s.route.split(".strategy.")[1] for s in web.steps] == [
        "runOnce.preDeploy.steps[0]", "runOnce.deploy.steps[0]", "runOnce.on.failure.steps[0]"]
    deploy_step = web.steps[1]
    assert [u.name for u in deploy_step.secrets] == ["dbPassword"]  # $(connection) holds $(dbPassword)
    assert [j.id for j in pipeline(doc).jobs] == ["build", "web"]


def test_windows_pool_script_is_cmd_and_root_steps_are_one_job() -> None:
    doc = parse("""\
        pool:
          vmImage: windows-2022
        variables:
          apiSecret: ''
        steps:
          - script: echo %API_SECRET%
          - powershell: Write-Host $env:API_SECRET
    """)
    (only,) = pipeline(doc).jobs
    assert only.id == "job"
    assert [s.shell for s in only.steps] == ["cmd", "powershell"]


@pytest.mark.parametrize("text", [
    "",
    f"steps: {MARK}\n",
    f"steps:\n  - script: [{MARK}]\n  - task: {{a: 1}}\n  - {MARK}\n",
    f"variables:\n  - name: {MARK}\n  - group: [x]\n  - {MARK}\n",
    f"stages: {MARK}\njobs: [{MARK}]\n",
    f"jobs:\n  - job: a\n    steps: {MARK}\n    strategy: {MARK}\n    services: [1]\n",
    f"jobs:\n  - deployment: a\n    strategy:\n      runOnce:\n        deploy: {MARK}\n        on: [x]\n",
    f"steps:\n  - task: Docker@2\n    inputs:\n      command: build\n      arguments: [{MARK}]\n",
    f"steps:\n  - bash: echo \"{MARK}\n",
    f"resources:\n  containers:\n    - container: c\n      env: {MARK}\n    - {MARK}\n",
])
def test_bad_input_never_raises(text: str) -> None:
    doc = parse(text)
    assert isinstance(doc.data, CIDocument)
    assert all(MARK not in d.message for d in doc.diagnostics)
