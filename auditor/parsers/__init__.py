"""Which parser reads which file, and the lazy dispatch to it.

Each parser module exposes ``parse(doc: Document, text: str) -> None``: it fills ``doc.sites``,
``doc.data`` and ``doc.diagnostics`` with exact lines. Parsers are imported only when a file of their
kind is met, so start-up stays cheap. A parser never raises on bad input: it records a diagnostic
naming the line and returns what it could read.
"""

from __future__ import annotations

import fnmatch
import importlib
import posixpath

from auditor.model import DocKind, Document

_MODULES: dict[DocKind, str] = {
    DocKind.DOCKERFILE: "dockerfile",
    DocKind.COMPOSE: "compose",
    DocKind.ENV_FILE: "envfile",
    DocKind.GITIGNORE: "ignorefile",
    DocKind.DOCKERIGNORE: "ignorefile",
}

_ENV_TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults", ".tmpl", ".tpl")


def kind_of(path: str) -> DocKind:
    """The document kind of a repository path, from its name alone (content sniffing is the parser's job)."""
    name = posixpath.basename(path)
    lower = name.lower()
    if lower in {"dockerfile", "containerfile"} or lower.endswith(".dockerfile") or lower.endswith(".containerfile"):
        return DocKind.DOCKERFILE
    if (lower.startswith("dockerfile.") or lower.startswith("containerfile.")) and not lower.endswith(".dockerignore"):
        return DocKind.DOCKERFILE
    if lower == ".dockerignore" or lower.endswith(".dockerignore") or lower == ".containerignore":
        return DocKind.DOCKERIGNORE
    if lower == ".gitignore" or path == ".git/info/exclude":
        return DocKind.GITIGNORE
    if fnmatch.fnmatch(lower, "*compose*.y*ml") and lower.endswith((".yml", ".yaml")):
        return DocKind.COMPOSE
    if is_env_file_name(name):
        return DocKind.ENV_FILE
    return DocKind.TEXT


def is_env_file_name(name: str) -> bool:
    lower = name.lower()
    return lower in {".env", ".envrc"} or lower.startswith(".env.") or lower.endswith(".env")


def is_env_template_name(name: str) -> bool:
    return is_env_file_name(name) and name.lower().endswith(_ENV_TEMPLATE_SUFFIXES)


def parse(doc: Document, text: str) -> None:
    module = _MODULES.get(doc.kind)
    if module is None:
        return
    importlib.import_module(f"auditor.parsers.{module}").parse(doc, text)
