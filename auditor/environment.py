"""Infers the deployment environment (dev, staging, prod...) a file belongs to from its path."""

from __future__ import annotations

import re
from collections.abc import Mapping

# canonical name -> spellings seen in paths, file names and namespaces
ALIASES: dict[str, tuple[str, ...]] = {
    "prod": ("prod", "production", "prd", "live"),
    "staging": ("staging", "stage", "stg", "preprod", "pre-prod", "uat"),
    "dev": ("dev", "development", "develop"),
    "test": ("test", "testing", "qa"),
    "local": ("local",),
}
_LOOKUP = {alias: env for env, aliases in ALIASES.items() for alias in aliases}
_NOT_IN_FILE_NAMES = frozenset({"test", "testing", "qa", "live"})
_SPLIT = re.compile(r"[/._\-]+")


def infer_environment(path: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """``envs/prod/main.tf`` -> prod; ``.env.production`` -> prod; ``values-stg.yaml`` -> staging.

    ``overrides`` maps glob patterns (fnmatch) to environment names and wins over inference.
    The innermost path component that names an environment decides.
    """
    if overrides:
        import fnmatch

        for pattern, env in overrides.items():
            if fnmatch.fnmatch(path, pattern):
                return env
    found: str | None = None
    *dirs, name = path.lower().split("/")
    for component in dirs:
        for token in _SPLIT.split(component):
            found = _LOOKUP.get(token, found)
    for token in _SPLIT.split(name):
        # "test_client.py" names a test, not an environment; directories such as envs/test/ still count
        if token not in _NOT_IN_FILE_NAMES:
            found = _LOOKUP.get(token, found)
    return found


def canonical(name: str) -> str | None:
    """The canonical environment for a name like "production" or "stg"."""
    return _LOOKUP.get(name.lower())


def namespace_environment(namespace: str, mapping: Mapping[str, str] | None = None) -> str | None:
    """A Kubernetes namespace's environment: the first matching configured glob (``*-prod: prod``), else inferred."""
    if mapping:
        import fnmatch

        for pattern, env in mapping.items():
            if fnmatch.fnmatchcase(namespace, pattern):
                return env
    return infer_environment(namespace)
