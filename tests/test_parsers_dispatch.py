"""Which parser reads which file."""

from __future__ import annotations

import pytest

from auditor.loader import load_bytes
from auditor.model import DocKind
from auditor.parsers import kind_of


@pytest.mark.parametrize(("path", "kind"), [
    ("Dockerfile", DocKind.DOCKERFILE), ("api/Dockerfile.prod", DocKind.DOCKERFILE),
    ("build/app.Dockerfile", DocKind.DOCKERFILE), ("Containerfile", DocKind.DOCKERFILE),
    ("auditor/rules/dockerfile.py", DocKind.TEXT), ("docs/Dockerfile.md", DocKind.TEXT),
    ("Dockerfile.dockerignore", DocKind.DOCKERIGNORE), (".dockerignore", DocKind.DOCKERIGNORE),
    (".gitignore", DocKind.GITIGNORE), ("docker-compose.prod.yml", DocKind.COMPOSE), ("compose.yaml", DocKind.COMPOSE),
    (".env", DocKind.ENV_FILE), (".env.production", DocKind.ENV_FILE), ("config/app.env", DocKind.ENV_FILE),
    ("envs/prod/main.tf", DocKind.TERRAFORM), ("prod.tfvars", DocKind.TFVARS), ("x.tf.json", DocKind.TERRAFORM),
    (".github/workflows/ci.yml", DocKind.GITHUB_WORKFLOW), ("action.yml", DocKind.GITHUB_ACTION),
    (".gitlab-ci.yml", DocKind.GITLAB_CI), (".circleci/config.yml", DocKind.CIRCLECI),
    ("bitbucket-pipelines.yml", DocKind.BITBUCKET), ("azure-pipelines.yml", DocKind.AZURE_PIPELINES),
    ("next.config.mjs", DocKind.FRONTEND_CONFIG), ("kustomization.yaml", DocKind.KUSTOMIZATION),
    ("charts/api/values-prod.yaml", DocKind.HELM_VALUES), ("k8s/deploy.yaml", DocKind.KUBERNETES),
    (".npmrc", DocKind.CREDENTIAL_FILE), ("src/main.py", DocKind.TEXT),
])
def test_kind_of(path: str, kind: DocKind) -> None:
    assert kind_of(path) is kind


def test_a_workflow_outside_github_workflows_is_read_as_a_workflow() -> None:
    text = b"name: ci\non:\n  push:\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n"
    outcome = load_bytes("workflow-templates/ci.yml", text, kind_of("workflow-templates/ci.yml"), None)
    assert outcome.document is not None
    assert outcome.document.kind is DocKind.GITHUB_WORKFLOW


def test_a_manifest_with_a_jobs_key_is_still_a_manifest() -> None:
    text = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  jobs: '3'\n"
    outcome = load_bytes("k8s/cm.yaml", text, kind_of("k8s/cm.yaml"), None)
    assert outcome.document is not None
    assert outcome.document.kind is DocKind.KUBERNETES


@pytest.mark.parametrize(("text", "kind"), [
    ("apiVersion: v1\nkind: Secret\n", DocKind.KUBERNETES),
    ("on: push\njobs:\n  a: {}\n", DocKind.KUBERNETES),  # the manifest parser hands workflows on
    ("# syntax=docker/dockerfile:1\nFROM python:3.12\n", DocKind.DOCKERFILE),
    ("services:\n  web:\n    image: x\n", DocKind.COMPOSE),
    ("# settings\nA=1\nexport B=2\n", DocKind.ENV_FILE),
    ("print('hello')\n", DocKind.TEXT),
])
def test_sniff_kind(text: str, kind: DocKind) -> None:
    from auditor.parsers import sniff_kind

    assert sniff_kind(text) is kind
