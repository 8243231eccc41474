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
    for token in _SPLIT.split(path.lower()):
        env = _LOOKUP.get(token)
        if env:
            found = env
    return found


def canonical(name: str) -> str | None:
    """The canonical environment for a name like "production" or "stg"."""
    return _LOOKUP.get(name.lower())
