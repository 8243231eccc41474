"""Which parser reads which file, and the lazy dispatch to it.

Each parser module exposes ``parse(doc: Document, text: str) -> None``: it fills ``doc.sites``,
``doc.data`` and ``doc.diagnostics`` with exact lines. Parsers are imported only when a file of their
kind is met, so start-up stays cheap. A parser never raises on bad input: it records a diagnostic
naming the line and returns what it could read.
"""

from __future__ import annotations

import fnmatch
import importlib
import itertools
import posixpath
import re

from auditor.detect.credfiles import is_env_file_name, is_env_template_name
from auditor.model import DocKind, Document

__all__ = ["is_env_file_name", "is_env_template_name", "kind_of", "parse", "sniff_kind"]

_MODULES: dict[DocKind, str] = {
    DocKind.DOCKERFILE: "dockerfile",
    DocKind.COMPOSE: "compose",
    DocKind.ENV_FILE: "envfile",
    DocKind.GITIGNORE: "ignorefile",
    DocKind.DOCKERIGNORE: "ignorefile",
    DocKind.CREDENTIAL_FILE: "credfile",
    DocKind.KUBERNETES: "kubernetes",
    DocKind.KUSTOMIZATION: "kustomize",
    DocKind.HELM_VALUES: "kubernetes",
    DocKind.TERRAFORM: "terraform",
    DocKind.TFVARS: "terraform",
    DocKind.GITHUB_WORKFLOW: "github_actions",
    DocKind.GITHUB_ACTION: "github_actions",
    DocKind.GITLAB_CI: "gitlab_ci",
    DocKind.CIRCLECI: "circleci",
    DocKind.BITBUCKET: "bitbucket",
    DocKind.AZURE_PIPELINES: "azure_pipelines",
    DocKind.FRONTEND_CONFIG: "frontend",
}

# Dockerfile.prod is a Dockerfile; dockerfile.py (a module about Dockerfiles) is not
_NOT_DOCKERFILE_SUFFIXES = frozenset({".py", ".go", ".js", ".ts", ".rs", ".rb", ".java", ".md", ".rst", ".txt", ".json",
                                      ".yaml", ".yml", ".toml", ".sh", ".html", ".snap"})


def kind_of(path: str) -> DocKind:
    """The document kind of a repository path, from its name alone (content sniffing is the parser's job)."""
    name = posixpath.basename(path)
    lower = name.lower()
    if lower in {"dockerfile", "containerfile"} or lower.endswith(".dockerfile") or lower.endswith(".containerfile"):
        return DocKind.DOCKERFILE
    if (lower.startswith(("dockerfile.", "containerfile.")) and not lower.endswith(".dockerignore")
            and posixpath.splitext(lower)[1] not in _NOT_DOCKERFILE_SUFFIXES):
        return DocKind.DOCKERFILE
    if lower == ".dockerignore" or lower.endswith(".dockerignore") or lower == ".containerignore":
        return DocKind.DOCKERIGNORE
    if lower == ".gitignore" or path == ".git/info/exclude":
        return DocKind.GITIGNORE
    from auditor.parsers.credfile import is_credential_file

    if is_credential_file(path):
        return DocKind.CREDENTIAL_FILE
    if lower.endswith((".yml", ".yaml")) and posixpath.basename(posixpath.dirname(path)) == "workflows" \
            and posixpath.basename(posixpath.dirname(posixpath.dirname(path))) == ".github":
        return DocKind.GITHUB_WORKFLOW  # .github/workflows/*.yml (anywhere in a monorepo), before compose names
    if lower in {"action.yml", "action.yaml"}:
        return DocKind.GITHUB_ACTION
    ci = _ci_kind(path, lower)
    if ci is not None:
        return ci
    if fnmatch.fnmatch(lower, "*compose*.y*ml") and lower.endswith((".yml", ".yaml")):
        return DocKind.COMPOSE
    if lower.endswith((".tf", ".tf.json")):
        return DocKind.TERRAFORM
    if lower.endswith((".tfvars", ".tfvars.json")):
        return DocKind.TFVARS
    if is_env_file_name(name):
        return DocKind.ENV_FILE
    from auditor.parsers.frontend import frontend_framework

    if frontend_framework(path) is not None:  # next.config.*, vite.config.*, angular.json, src/environments/*.ts
        return DocKind.FRONTEND_CONFIG
    # Kubernetes: last, any YAML/JSON nobody claimed above (the parser sniffs apiVersion + kind, else TEXT)
    if lower in {"kustomization.yaml", "kustomization.yml", "kustomization"}:
        return DocKind.KUSTOMIZATION
    if lower.endswith((".yaml", ".yml")) and (lower.startswith("values") or lower.rsplit(".", 1)[0].endswith("values")):
        return DocKind.HELM_VALUES
    if lower.endswith((".yaml", ".yml", ".json")) and not _ci_or_terraform_name(path, lower):
        return DocKind.KUBERNETES
    return DocKind.TEXT


def _ci_kind(path: str, lower: str) -> DocKind | None:
    """GitLab CI, CircleCI, Bitbucket Pipelines and Azure Pipelines files, by name and folder."""
    if not lower.endswith((".yml", ".yaml")):
        return None
    parts = path.lower().split("/")[:-1]
    if lower.endswith((".gitlab-ci.yml", ".gitlab-ci.yaml")) or any(
            a == ".gitlab" and b == "ci" for a, b in itertools.pairwise(parts)):
        return DocKind.GITLAB_CI  # .gitlab-ci.yml, *.gitlab-ci.yml, local includes under .gitlab/ci/
    if parts[-1:] == [".circleci"] and lower in {"config.yml", "config.yaml"}:
        return DocKind.CIRCLECI
    if lower in {"bitbucket-pipelines.yml", "bitbucket-pipelines.yaml"}:
        return DocKind.BITBUCKET
    if lower.startswith("azure-pipelines") or ".azure-pipelines" in parts:
        return DocKind.AZURE_PIPELINES
    return None


def _ci_or_terraform_name(path: str, lower: str) -> bool:
    """CI configs and Terraform JSON: other parsers' files, never Kubernetes manifests."""
    parts = path.lower().split("/")[:-1]
    return (
        any(part in {".github", ".circleci", ".gitlab", ".azure-pipelines"} for part in parts)
        or lower.endswith((".tf.json", ".tfvars.json", "gitlab-ci.yml", "gitlab-ci.yaml"))
        or lower.startswith(("bitbucket-pipelines.", "azure-pipelines"))
        or lower in {"action.yml", "action.yaml"}
    )


_SNIFF_MANIFEST = re.compile(r"(?m)^(?:apiVersion|kind)[ \t]*:")
_SNIFF_DOCKERFILE = re.compile(r"(?im)^FROM[ \t]+\S")
_SNIFF_COMPOSE = re.compile(r"(?m)^services[ \t]*:")
_SNIFF_ENV = re.compile(r"(?m)^(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_]*=")


def sniff_kind(text: str) -> DocKind:
    """The kind of content that arrives without a file name (``helm template ... | keyaudit scan -``)."""
    head = text[:65536]
    if _SNIFF_MANIFEST.search(head) or (_WORKFLOW_JOBS.search(head) and _WORKFLOW_ON.search(head)):
        return DocKind.KUBERNETES  # the manifest parser hands workflows on and declines other YAML
    if _SNIFF_DOCKERFILE.search(head):
        return DocKind.DOCKERFILE
    if _SNIFF_COMPOSE.search(head):
        return DocKind.COMPOSE
    lines = [line for line in head.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if lines and all(_SNIFF_ENV.match(line) for line in lines):
        return DocKind.ENV_FILE
    return DocKind.TEXT




# A GitHub Actions workflow kept outside .github/workflows/ (workflow templates, starter workflows, a monorepo's
# copies): top-level `on:` and `jobs:` keys. Only YAML nobody else claimed is sniffed.
_WORKFLOW_ON = re.compile(r"""(?m)^["']?on["']?[ \t]*:""")
_WORKFLOW_JOBS = re.compile(r"(?m)^jobs[ \t]*:")


def parse(doc: Document, text: str) -> None:
    if doc.kind is DocKind.KUBERNETES and _WORKFLOW_JOBS.search(text) and _WORKFLOW_ON.search(text):
        doc.kind = DocKind.GITHUB_WORKFLOW
    module = _MODULES.get(doc.kind)
    if module is None:
        return
    importlib.import_module(f"auditor.parsers.{module}").parse(doc, text)
